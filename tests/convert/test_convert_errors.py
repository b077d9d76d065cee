"""Bad input to exaone-convert: one line naming the fix, a non-zero exit, no traceback, no file left."""

from __future__ import annotations

import json
import os
import shutil
import signal
import struct
import subprocess
import sys
import threading
from pathlib import Path

import pytest
import torch
from exaone_convert import writer as writer_mod
from exaone_convert.cli import main
from exaone_convert.convert import convert_checkpoint
from exaone_convert.writer import ConversionCancelled
from safetensors.torch import load_file, save_file


@pytest.fixture
def ckpt(tiny_checkpoint, tmp_path) -> Path:
    """A private, editable copy of a small single-file checkpoint."""
    dst = tmp_path / "ckpt"
    shutil.copytree(tiny_checkpoint("exaone3_untied"), dst)
    return dst


@pytest.fixture
def sharded(tiny_checkpoint, tmp_path) -> Path:
    dst = tmp_path / "sharded"
    shutil.copytree(tiny_checkpoint("exaone3_tied_sharded"), dst)
    return dst


def run_cli(capsys, *args: str) -> tuple[int, str]:
    with pytest.raises(SystemExit) as exc:
        raise SystemExit(main(list(args)))
    err = capsys.readouterr().err
    return int(exc.value.code or 0), err


def assert_clean_failure(capsys, outdir: Path, *args: str, match: str) -> str:
    rc, err = run_cli(capsys, *args)
    assert rc != 0
    lines = [line for line in err.splitlines() if line.strip()]
    assert len(lines) == 1, err
    assert lines[0].startswith("exaone-convert: error:"), err
    assert "Traceback" not in err
    assert match in lines[0], lines[0]
    leftovers = [p.name for p in outdir.iterdir() if p.suffix in (".gguf", ".partial")]
    assert leftovers == [], leftovers
    return lines[0]


def _edit_json(path: Path, **changes) -> None:
    data = json.loads(path.read_text())
    data.update(changes)
    path.write_text(json.dumps(data))


def test_missing_config(ckpt, tmp_path, capsys):
    (ckpt / "config.json").unlink()
    assert_clean_failure(capsys, tmp_path, str(ckpt), "--outfile", str(tmp_path / "o.gguf"), "--outtype", "f16",
                         match="config.json not found")


def test_unreadable_config(ckpt, tmp_path, capsys):
    (ckpt / "config.json").write_text("{not json")
    assert_clean_failure(capsys, tmp_path, str(ckpt), "--outfile", str(tmp_path / "o.gguf"), "--outtype", "f16",
                         match="not valid JSON")


def test_unsupported_model_type(ckpt, tmp_path, capsys):
    _edit_json(ckpt / "config.json", model_type="llama", architectures=["LlamaForCausalLM"])
    assert_clean_failure(capsys, tmp_path, str(ckpt), "--outfile", str(tmp_path / "o.gguf"), "--outtype", "f16",
                         match="unsupported model_type 'llama'")


def test_truncated_safetensors(ckpt, tmp_path, capsys):
    weights = ckpt / "model.safetensors"
    os.truncate(weights, weights.stat().st_size - 1000)
    assert_clean_failure(capsys, tmp_path, str(ckpt), "--outfile", str(tmp_path / "o.gguf"), "--outtype", "f16",
                         match="truncated")


def test_corrupted_safetensors_header(ckpt, tmp_path, capsys):
    weights = ckpt / "model.safetensors"
    data = bytearray(weights.read_bytes())
    data[8:40] = b"\xff" * 32
    weights.write_bytes(bytes(data))
    assert_clean_failure(capsys, tmp_path, str(ckpt), "--outfile", str(tmp_path / "o.gguf"), "--outtype", "f16",
                         match="corrupted header")


def test_shard_missing(sharded, tmp_path, capsys):
    shard = sorted(sharded.glob("model-*.safetensors"))[-1]
    shard.unlink()
    assert_clean_failure(capsys, tmp_path, str(sharded), "--outfile", str(tmp_path / "o.gguf"), "--outtype", "f16",
                         match=f"shard {shard.name} is named in model.safetensors.index.json but missing")


def _rewrite_tensor(ckpt: Path, name: str, tensor: torch.Tensor) -> None:
    path = ckpt / "model.safetensors"
    tensors = load_file(path)
    tensors[name] = tensor
    save_file(tensors, path)


def test_tensor_with_wrong_shape(ckpt, tmp_path, capsys):
    name = "transformer.h.0.mlp.c_fc_0.weight"
    _rewrite_tensor(ckpt, name, torch.zeros(3, 7, dtype=torch.bfloat16))
    assert_clean_failure(capsys, tmp_path, str(ckpt), "--outfile", str(tmp_path / "o.gguf"), "--outtype", "f16",
                         match=f"tensor '{name}' has shape [3, 7]")


def test_tensor_with_wrong_dtype(ckpt, tmp_path, capsys):
    name = "transformer.h.0.ln_1.weight"
    _rewrite_tensor(ckpt, name, torch.zeros(64, dtype=torch.int8))
    assert_clean_failure(capsys, tmp_path, str(ckpt), "--outfile", str(tmp_path / "o.gguf"), "--outtype", "f16",
                         match="has dtype I8; only BF16, F16 and F32")


def test_missing_tensor(ckpt, tmp_path, capsys):
    path = ckpt / "model.safetensors"
    tensors = load_file(path)
    del tensors["transformer.h.1.ln_2.weight"]
    save_file(tensors, path)
    assert_clean_failure(capsys, tmp_path, str(ckpt), "--outfile", str(tmp_path / "o.gguf"), "--outtype", "f16",
                         match="blk.1.ffn_norm.weight")


def test_missing_tokenizer(ckpt, tmp_path, capsys):
    (ckpt / "tokenizer.json").unlink()
    assert_clean_failure(capsys, tmp_path, str(ckpt), "--outfile", str(tmp_path / "o.gguf"), "--outtype", "f16",
                         match="tokenizer.json is missing")


def test_unsupported_outtype(ckpt, tmp_path, capsys):
    assert_clean_failure(capsys, tmp_path, str(ckpt), "--outfile", str(tmp_path / "o.gguf"), "--outtype", "q3_k",
                         match="invalid choice: 'q3_k'")


def test_existing_outfile_needs_force(ckpt, tmp_path, capsys):
    out = tmp_path / "out" / "model.gguf"
    out.parent.mkdir()
    out.write_bytes(b"precious")
    rc, err = run_cli(capsys, str(ckpt), "--outfile", str(out), "--outtype", "f16")
    assert rc == 1 and "pass --force" in err and err.count("\n") == 1
    assert out.read_bytes() == b"precious"  # nothing the user had is lost
    rc, _ = run_cli(capsys, str(ckpt), "--outfile", str(out), "--outtype", "f16", "--force", "--quiet")
    assert rc == 0 and out.read_bytes()[:4] == b"GGUF"


def test_hybrid_sliding_window_refused_unless_64_layers(tiny_checkpoint, tmp_path, capsys):
    src = tmp_path / "hybrid"
    shutil.copytree(tiny_checkpoint("exaone4"), src)
    n = json.loads((src / "config.json").read_text())["num_hidden_layers"]
    _edit_json(src / "config.json", sliding_window=8,
               layer_types=["sliding_attention"] * (n - 1) + ["full_attention"])
    assert_clean_failure(capsys, tmp_path, str(src), "--outfile", str(tmp_path / "o.gguf"), "--outtype", "f16",
                         match="would run it wrong")


def _tmpfs(path: Path, size: str):
    path.mkdir()
    res = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(path)], capture_output=True)
    if res.returncode != 0:
        pytest.skip("cannot mount a tmpfs here (needs root)")


def test_disk_full_mid_write_leaves_nothing(ckpt, tmp_path, capsys, monkeypatch):
    small = tmp_path / "small"
    _tmpfs(small, "128k")  # the f32 model is larger: the disk fills up mid-write
    try:
        monkeypatch.setattr(writer_mod, "check_free_space", lambda folder, needed: None)
        assert_clean_failure(capsys, small, str(ckpt), "--outfile", str(small / "o.gguf"), "--outtype", "f32",
                             match="disk filled up")
        assert list(small.iterdir()) == []
        monkeypatch.undo()
        # ... and without the patch the free-space check refuses before writing anything
        assert_clean_failure(capsys, small, str(ckpt), "--outfile", str(small / "o.gguf"), "--outtype", "f32",
                             match="not enough disk space")
    finally:
        subprocess.run(["umount", str(small)], check=False)


def test_cancel_leaves_no_file(ckpt, tmp_path):
    cancel = threading.Event()
    out = tmp_path / "o.gguf"

    def progress(fraction: float) -> None:
        if fraction > 0:
            cancel.set()

    with pytest.raises(ConversionCancelled):
        convert_checkpoint(ckpt, out, "f32", progress=progress, cancel=cancel)
    assert list(tmp_path.glob("*o.gguf*")) == []


KILL_SCRIPT = """
import sys, time
from exaone_convert.convert import convert_checkpoint
def progress(fraction):
    if fraction > 0:
        print("writing", flush=True)
        time.sleep(60)
convert_checkpoint(sys.argv[1], sys.argv[2], "f32", progress=progress)
"""


def test_killed_conversion_never_leaves_a_complete_looking_file(ckpt, tmp_path):
    out = tmp_path / "o.gguf"
    proc = subprocess.Popen([sys.executable, "-c", KILL_SCRIPT, str(ckpt), str(out)], stdout=subprocess.PIPE,
                            text=True)
    assert proc.stdout is not None
    assert proc.stdout.readline().strip() == "writing"
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert not out.exists()
    assert [p.name for p in tmp_path.iterdir() if p.name.endswith(".gguf")] == []


def test_unknown_verify_threshold_is_one_line(ckpt, tmp_path, capsys):
    assert_clean_failure(capsys, tmp_path, str(ckpt), "--outfile", str(tmp_path / "o.gguf"), "--outtype", "f16",
                         "--verify-threshold", "max_kld=1", match="bad threshold 'max_kld=1'")


def test_generation_config_becomes_the_models_sampling_defaults(ckpt, tmp_path):
    from exaone_convert.gguf_check import inspect_gguf
    from exaone_desktop.engine.settings import resolve_settings

    _edit_json(ckpt / "generation_config.json", do_sample=True, temperature=0.6, top_k=20, top_p=0.95,
               repetition_penalty=1.1)
    info = inspect_gguf(convert_checkpoint(ckpt, tmp_path / "o.gguf", "f16"))
    assert info.sampling_defaults["do_sample"] is True
    assert info.sampling_defaults["top_k"] == 20
    settings = resolve_settings(info.sampling_defaults, top_k=5)  # the user's value wins
    assert settings.do_sample and settings.top_k == 5 and abs(settings.temperature - 0.6) < 1e-6


def test_sampling_keys_are_gguf_py_keys():
    from exaone_convert.gguf_keys import DO_SAMPLE_KEY, SAMPLING_KEYS
    from gguf import Keys

    standard = {v for k, v in vars(Keys.General).items() if k.startswith("SAMPLING_")}
    assert {key for key, _ in SAMPLING_KEYS.values()} - standard == {DO_SAMPLE_KEY}


def _rewrite_header_entry(weights: Path, field: str, raw_value: str) -> str:
    """Give the first tensor of ``weights``'s safetensors header ``field`` = ``raw_value`` (JSON text as is);
    the tensor data stays where it was. Returns the tensor's name."""
    data = weights.read_bytes()
    (n,) = struct.unpack("<Q", data[:8])
    header = json.loads(data[8:8 + n])
    name = next(k for k in header if k != "__metadata__")
    header[name][field] = "@PLACEHOLDER@"
    raw = json.dumps(header).replace('"@PLACEHOLDER@"', raw_value).encode()
    raw += b" " * (-len(raw) % 8)
    begin = 8 + n
    weights.write_bytes(struct.pack("<Q", len(raw)) + raw + data[begin:])
    return name


@pytest.mark.parametrize(("field", "raw_value"), [
    ("data_offsets", '["0", "4"]'),  # strings: a TypeError reached the user
    ("data_offsets", "[0.0, 4.0]"),  # floats were accepted as offsets
    ("data_offsets", "[0]"),
    ("data_offsets", "7"),
    ("dtype", '["BF16"]'),  # a list: an unhashable-type TypeError
    ("dtype", "null"),
    ("shape", "[1e400]"),  # infinity: an OverflowError
    ("shape", "[2.5, 3]"),
    ("shape", "[true]"),
    ("shape", '"64"'),
])  # fmt: skip
def test_malformed_safetensors_entry_is_one_line(ckpt, tmp_path, capsys, field: str, raw_value: str):
    name = _rewrite_header_entry(ckpt / "model.safetensors", field, raw_value)
    assert_clean_failure(capsys, tmp_path, str(ckpt), "--outfile", str(tmp_path / "o.gguf"), "--outtype", "f16",
                         match=f"model.safetensors: tensor {name!r} has a malformed entry; re-download it")


def test_keep_intermediate_does_not_overwrite_an_existing_file_without_force(ckpt, tmp_path, capsys):
    out, kept = tmp_path / "o-Q4_K_M.gguf", tmp_path / "o-Q4_K_M-BF16.gguf"
    kept.write_bytes(b"the user's own file")
    rc, err = run_cli(capsys, str(ckpt), "--outfile", str(out), "--keep-intermediate", "--quiet")
    assert rc == 1 and err.count("\n") == 1, err
    assert f"{kept} already exists; pass --force to overwrite it" in err
    assert kept.read_bytes() == b"the user's own file" and not out.exists()
    assert [p.name for p in tmp_path.iterdir() if p.name != "ckpt"] == [kept.name]  # nothing else was written
    rc, _ = run_cli(capsys, str(ckpt), "--outfile", str(out), "--keep-intermediate", "--force", "--quiet")
    assert rc == 0 and out.is_file() and kept.read_bytes()[:4] == b"GGUF"
