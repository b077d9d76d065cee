"""--verify: passes on faithful conversions, fails on deliberately broken ones."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from exaone_convert.errors import ConversionError
from exaone_convert.quantize import quantize_gguf
from exaone_convert.verify import VERIFY_TEXT, Thresholds, hf_metrics, quant_metrics, verify_conversion

from tests.support.quant_fixtures import convert_to, hub_env, run_cli, run_py, swap_tensors


@pytest.fixture(scope="module")
def files(tiny_checkpoint, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    ckpt = tiny_checkpoint("exaone3_tied_sharded")
    d = tmp_path_factory.mktemp("verify")
    bf16 = convert_to(ckpt, d / "bf16.gguf")
    q8 = quantize_gguf(bf16, d / "q8.gguf", "q8_0", threads=1)
    return {"ckpt": ckpt, "bf16": bf16, "q8": q8, "dir": d}


def test_good_conversion_passes(files: dict[str, Path]) -> None:
    report = verify_conversion(files["q8"], unquantized=files["bf16"], hf_dir=files["ckpt"], n_threads=1)
    assert report.ok, report.table()
    names = {m.name for m in report.metrics}
    assert {"mean KLD", "max KLD", "top-1 agreement", "perplexity (unquantized)", "perplexity (quantized)",
            "max |Δlogit|", "greedy agreement", "same tokenization"} <= names
    data = report.to_json()
    assert data["ok"] is True and data["n_tokens"] == report.n_tokens > 50
    assert "PASS" in report.table()


def test_swapped_tensor_in_the_quantized_file_fails(files: dict[str, Path]) -> None:
    broken = swap_tensors(files["q8"], files["dir"] / "q8-broken.gguf", "blk.0.ffn_gate.weight", "blk.0.ffn_up.weight")
    report = verify_conversion(broken, unquantized=files["bf16"], hf_dir=None, n_threads=1)
    assert not report.ok
    failed = {m.name for m in report.metrics if not m.ok}
    assert "mean KLD" in failed, report.table()
    assert "FAIL" in report.table()


def test_swapped_tensor_in_the_unquantized_file_fails_against_transformers(files: dict[str, Path]) -> None:
    broken = swap_tensors(files["bf16"], files["dir"] / "bf16-broken.gguf", "blk.1.ffn_gate.weight",
                          "blk.1.ffn_up.weight")
    report = verify_conversion(broken, unquantized=None, hf_dir=files["ckpt"], n_threads=1)
    failed = {m.name for m in report.metrics if not m.ok}
    assert "max |Δlogit|" in failed, report.table()


def test_thresholds_can_be_overridden(files: dict[str, Path]) -> None:
    broken = files["dir"] / "q8-broken.gguf"
    if not broken.exists():
        swap_tensors(files["q8"], broken, "blk.0.ffn_gate.weight", "blk.0.ffn_up.weight")
    loose = Thresholds.with_overrides(["max_mean_kld=1e9", "max_max_kld=1e9", "min_top1_agreement=0",
                                       "max_ppl_ratio=1e9"])
    assert verify_conversion(broken, unquantized=files["bf16"], hf_dir=None, thresholds=loose, n_threads=1).ok
    with pytest.raises(ConversionError, match="max_mean_kld"):
        Thresholds.with_overrides(["no_such=1"])


def test_quant_metrics_on_known_logits() -> None:
    import numpy as np

    ref = np.zeros((3, 4), dtype=np.float32)
    ref[:, 0] = 5.0
    same = quant_metrics(ref, ref.copy(), [0, 0, 0], Thresholds())
    by = {m.name: m.value for m in same}
    assert by["mean KLD"] == pytest.approx(0.0, abs=1e-12) and by["top-1 agreement"] == 1.0
    assert by["perplexity ratio"] == pytest.approx(1.0)
    flipped = ref[:, ::-1].copy()
    by = {m.name: m.value for m in quant_metrics(ref, flipped, [0, 0, 0], Thresholds())}
    assert by["mean KLD"] > 1.0 and by["top-1 agreement"] == 0.0 and by["perplexity ratio"] > 10


def test_a_mixture_of_experts_is_judged_by_its_distributions_not_its_worst_logit() -> None:
    """One position whose router picked another expert (its logits move by more than 1) fails a dense
    model's max |Δlogit| but not a mixture of experts; a conversion wrong everywhere fails both."""
    import numpy as np

    rng = np.random.default_rng(0)
    hf = (3.0 * rng.standard_normal((200, 64))).astype(np.float32)
    hf[np.arange(200), rng.integers(0, 64, 200)] += 12.0  # a clear most likely token at every position
    one_flip = hf + 1e-4 * rng.standard_normal(hf.shape).astype(np.float32)
    one_flip[17] += 1.5 * rng.standard_normal(64).astype(np.float32)
    wrong = hf + 1.5 * rng.standard_normal(hf.shape).astype(np.float32)
    t = Thresholds()

    def judged(gguf: np.ndarray, routed: bool) -> dict[str, Any]:
        return {m.name: m for m in hf_metrics(gguf, hf, True, t, routed_experts=routed)}

    dense, moe = judged(one_flip, False), judged(one_flip, True)
    assert dense["max |Δlogit|"].value > t.max_abs_logit_diff and not dense["max |Δlogit|"].ok
    assert moe["max |Δlogit|"].limit is None and all(m.ok for m in moe.values())
    assert 0 < moe["mean KLD"].value < t.max_hf_mean_kld
    broken = judged(wrong, True)
    assert broken["mean KLD"].value > t.max_hf_mean_kld and not broken["mean KLD"].ok


def test_builtin_text_is_bilingual() -> None:
    assert any("\uac00" <= c <= "\ud7a3" for c in VERIFY_TEXT) and "Seoul" in VERIFY_TEXT


def test_cli_verify_writes_json_and_exits_zero(files: dict[str, Path], tmp_path: Path) -> None:
    env = hub_env("http://127.0.0.1:9", tmp_path / "hf")
    proc = run_cli([str(files["ckpt"]), "--outtype", "q6_k", "--outfile", "o.gguf", "--verify-json", "v.json",
                    "--threads", "1"], env, tmp_path)
    data = json.loads((tmp_path / "v.json").read_text())
    # q6_k of this 64-wide model falls back to q8_0 blocks: close enough to pass the default thresholds
    assert proc.returncode == 0 and data["ok"] is True, proc.stdout + proc.stderr
    assert {m["section"] for m in data["metrics"]} == {"quantized vs unquantized", "GGUF vs transformers"}
    assert "mean KLD" in proc.stdout


def test_without_the_test_extra_the_transformers_part_is_skipped(files: dict[str, Path], tmp_path: Path) -> None:
    code = ("import sys; sys.modules['torch'] = None; from pathlib import Path; "
            "from exaone_convert.verify import verify_conversion as v; "
            f"r = v(Path({str(files['q8'])!r}), unquantized=Path({str(files['bf16'])!r}), "
            f"hf_dir=Path({str(files['ckpt'])!r}), n_threads=1); print(r.table())")
    proc = run_py(code, hub_env("http://127.0.0.1:9", tmp_path / "hf"))
    assert proc.returncode == 0, proc.stderr
    assert "pip install 'exaone-desktop[test]'" in proc.stdout and "max |Δlogit|" not in proc.stdout
    assert "verify: PASS" in proc.stdout and "mean KLD" in proc.stdout


def test_nothing_to_compare_with_is_not_verified(files: dict[str, Path]) -> None:
    report = verify_conversion(files["q8"], unquantized=None, hf_dir=None, n_threads=1)
    assert not report.verified and not report.ok and report.metrics == []
    assert report.verdict.startswith("NOT VERIFIED: nothing to compare q8.gguf with")
    assert report.table() == report.verdict
    assert report.to_json()["verified"] is False and report.to_json()["ok"] is False


# The CLI as a runtime-only install runs it: torch and transformers cannot be imported.
WITHOUT_TRANSFORMERS = ("import sys; sys.modules['torch'] = None; sys.modules['transformers'] = None; "
                        "from exaone_convert.cli import main; raise SystemExit(main(sys.argv[1:]))")


def _cli_without_transformers(args: list[str], cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-c", WITHOUT_TRANSFORMERS, *args], cwd=cwd, capture_output=True,
                          text=True, timeout=300, env=hub_env("http://127.0.0.1:9", cwd / "hf"))


def test_cli_q8_0_verify_without_transformers_measures_against_a_temporary_reference(
        files: dict[str, Path], tmp_path: Path) -> None:
    """q8_0 is written straight from the checkpoint: --verify makes a bf16 GGUF of it to measure against."""
    proc = _cli_without_transformers([str(files["ckpt"]), "--outtype", "q8_0", "--outfile", "o.gguf", "--verify",
                                      "--verify-json", "v.json", "--threads", "1"], tmp_path)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    data = json.loads((tmp_path / "v.json").read_text())
    assert data["ok"] is True and data["verified"] is True
    measured = {m["name"]: m["value"] for m in data["metrics"]}
    assert {m["section"] for m in data["metrics"]} == {"quantized vs unquantized"}
    assert 0 < measured["mean KLD"] < 0.1 and measured["top-1 agreement"] > 0.8  # q8_0 differs from bf16, a little
    assert "transformers comparison skipped" in proc.stdout and "pip install 'exaone-desktop[test]'" in proc.stdout
    assert proc.stdout.rstrip().endswith("verification PASSED")
    assert sorted(p.name for p in tmp_path.iterdir() if p.name != "hf") == ["o.gguf", "v.json"]  # reference gone


def test_cli_unquantized_verify_without_transformers_says_not_verified(files: dict[str, Path],
                                                                       tmp_path: Path) -> None:
    """An f32/f16/bf16 file is measured against transformers only: without it, nothing passes."""
    proc = _cli_without_transformers([str(files["ckpt"]), "--outtype", "bf16", "--outfile", "o.gguf", "--verify"],
                                     tmp_path)
    assert proc.returncode == 3, proc.stdout + proc.stderr
    assert "Traceback" not in proc.stderr and "PASS" not in proc.stdout
    verdicts = [ln for ln in proc.stdout.splitlines() if "VERIFIED" in ln]
    assert verdicts == [proc.stdout.rstrip().splitlines()[-1]], proc.stdout
    assert verdicts[0].startswith("NOT VERIFIED: nothing to compare o.gguf with") and \
        "pip install 'exaone-desktop[test]'" in verdicts[0]
    assert (tmp_path / "o.gguf").is_file()  # the conversion itself is kept
