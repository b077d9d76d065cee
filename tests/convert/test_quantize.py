"""quantize_gguf: every quant type through llama.cpp's quantizer, progress, cancel, atomic output."""

from __future__ import annotations

import threading
from pathlib import Path

import numpy as np
import pytest
from exaone_convert.errors import ConversionError
from exaone_convert.gguf_check import inspect_gguf
from exaone_convert.quantize import QUANT_TYPES, quantize_gguf

from tests.support.quant_fixtures import build_wide_checkpoint, convert_to, hub_env, run_cli


@pytest.fixture(scope="module")
def wide(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_wide_checkpoint(tmp_path_factory.mktemp("wide"))


@pytest.fixture(scope="module")
def bf16(wide: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    return convert_to(wide, tmp_path_factory.mktemp("bf16") / "wide-bf16.gguf")


@pytest.mark.parametrize("outtype", sorted(QUANT_TYPES))
def test_each_quant_type_loads_in_llama_cpp(bf16: Path, tmp_path: Path, outtype: str) -> None:
    from llama_cpp import Llama

    seen: list[float] = []
    out = quantize_gguf(bf16, tmp_path / f"{outtype}.gguf", outtype, threads=1, progress=seen.append)
    info = inspect_gguf(out)
    assert info.quant_type == outtype.upper()
    assert out.stat().st_size < bf16.stat().st_size
    assert seen and seen[-1] == 1.0 and seen == sorted(seen) and any(0 < f < 1 for f in seen)
    llm = Llama(model_path=str(out), n_ctx=64, n_threads=1, logits_all=True, verbose=False)
    tokens = llm.tokenize("안녕하세요, hello world".encode(), add_bos=True)
    llm.eval(tokens)
    logits = np.array(llm.scores[: len(tokens)])
    assert np.isfinite(logits).all() and logits.std() > 0
    llm.close()
    assert [p.name for p in tmp_path.iterdir()] == [out.name]  # no temp files left


def test_k_quants_really_use_k_types(bf16: Path, tmp_path: Path) -> None:
    import gguf

    out = quantize_gguf(bf16, tmp_path / "q4km.gguf", "q4_k_m", threads=1)
    types = {t.tensor_type.name for t in gguf.GGUFReader(out).tensors if t.name.startswith("blk.")}
    assert "Q4_K" in types


def test_cancel_leaves_no_file(bf16: Path, tmp_path: Path) -> None:
    cancel = threading.Event()
    cancel.set()
    with pytest.raises(ConversionError, match="cancelled"):
        quantize_gguf(bf16, tmp_path / "c.gguf", "q4_k_m", cancel=cancel)
    assert list(tmp_path.iterdir()) == []


def test_failure_keeps_an_existing_destination(tmp_path: Path) -> None:
    bad = tmp_path / "bad.gguf"
    bad.write_bytes(b"GGUF" + b"\0" * 100)
    dst = tmp_path / "dst.gguf"
    dst.write_bytes(b"previous")
    with pytest.raises(ConversionError, match="cannot use bad.gguf: unsupported GGUF version"):
        quantize_gguf(bad, dst, "q4_k_m")
    assert dst.read_bytes() == b"previous"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["bad.gguf", "dst.gguf"]


@pytest.mark.parametrize(
    ("outtype", "threads", "match"), [("q3_k_s", None, "choose one of"), ("q4_k_m", 0, "--threads")]
)
def test_bad_arguments(bf16: Path, tmp_path: Path, outtype: str, threads: int | None, match: str) -> None:
    with pytest.raises(ConversionError, match=match):
        quantize_gguf(bf16, tmp_path / "x.gguf", outtype, threads=threads)


def test_cli_intermediate_is_deleted_unless_kept(wide: Path, tmp_path: Path) -> None:
    env = hub_env("http://127.0.0.1:9", tmp_path / "hf")
    first = run_cli([str(wide), "--outtype", "q4_k_m", "--outfile", "a.gguf", "--threads", "1"], env, tmp_path)
    assert first.returncode == 0, first.stderr
    assert sorted(p.name for p in tmp_path.glob("*.gguf")) == ["a.gguf"]
    kept = run_cli([str(wide), "--outfile", "b.gguf", "--keep-intermediate", "--threads", "1"], env, tmp_path)
    assert kept.returncode == 0, kept.stderr
    names = sorted(p.name for p in tmp_path.glob("*.gguf"))
    assert "b.gguf" in names and len(names) == 3  # the default type is quantized, so a bf16 file was kept
    assert inspect_gguf(tmp_path / "b.gguf").quant_type == "Q4_K_M"


def test_cli_rejects_unsupported_outtype(wide: Path, tmp_path: Path) -> None:
    proc = run_cli([str(wide), "--outtype", "q2_k"], hub_env("http://127.0.0.1:9", tmp_path / "hf"), tmp_path)
    assert proc.returncode != 0 and "q2_k" in proc.stderr and "Traceback" not in proc.stderr
    assert not list(tmp_path.glob("*.gguf"))
