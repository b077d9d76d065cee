"""Helpers for the hub / quantize / verify tests: a tiny checkpoint wide enough for K-quants
(rows of 256), its bf16 GGUF, byte-level tensor swaps for "broken" files, and a subprocess runner
for the CLI with a clean Hub environment."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import gguf

from tests.support import tiny_checkpoints as tc

# hidden 256 and ffn 512: every 2-D weight has rows of 256, so K-quants apply for real
# (the stock tiny kinds use hidden 64, where llama.cpp falls back to legacy quant types).
WIDE = tc.Kind("exaone", tc.EXAONE35_TEMPLATE, layers=2, hidden=256, heads=4, kv_heads=2, head_dim=64, ffn=512)


def build_wide_checkpoint(out_dir: Path, seed: int = 0) -> Path:
    tok = tc.train_tokenizer(WIDE.family)
    vocab = tok.get_vocab_size(with_added_tokens=True)
    return tc.write_checkpoint(out_dir, WIDE, tok, tc.random_weights(WIDE, vocab, seed))


def convert_to(ckpt: Path, out: Path, outtype: str = "bf16") -> Path:
    from exaone_convert.convert import convert_checkpoint

    return convert_checkpoint(ckpt, out, outtype, force=True)


def swap_tensors(src: Path, dst: Path, a: str, b: str) -> Path:
    """Copy ``src`` to ``dst`` with the data of tensors ``a`` and ``b`` (same type and size) swapped."""
    reader = gguf.GGUFReader(src)
    info = {t.name: (int(t.data_offset), int(t.n_bytes)) for t in reader.tensors}
    (off_a, n_a), (off_b, n_b) = info[a], info[b]
    assert n_a == n_b, "swap needs tensors of the same byte size"
    del reader
    shutil.copyfile(src, dst)
    with open(dst, "r+b") as f:
        f.seek(off_a)
        data_a = f.read(n_a)
        f.seek(off_b)
        data_b = f.read(n_b)
        f.seek(off_a)
        f.write(data_b)
        f.seek(off_b)
        f.write(data_a)
    return dst


def hub_env(endpoint: str, hf_home: Path, **extra: str) -> dict[str, str]:
    """Environment for a child process talking to the stand-in Hub only."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("HF_", "HUGGING"))}
    env.update(HF_ENDPOINT=endpoint, HF_HOME=str(hf_home), HF_HUB_DISABLE_XET="1",
               HF_HUB_DISABLE_TELEMETRY="1", HF_HUB_DISABLE_PROGRESS_BARS="1", **extra)
    return env


def run_cli(args: list[str], env: dict[str, str], cwd: Path, timeout: float = 300) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "exaone_convert.cli", *args], env=env, cwd=cwd,
                          capture_output=True, text=True, timeout=timeout)


def run_py(code: str, env: dict[str, str], timeout: float = 120) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=timeout)


def one_line_error(proc: subprocess.CompletedProcess[str]) -> str:
    """The error line of a failed CLI run; asserts there is exactly one and no traceback."""
    assert proc.returncode != 0, proc.stdout + proc.stderr
    assert "Traceback" not in proc.stderr, proc.stderr
    lines = [ln for ln in proc.stderr.splitlines() if ln.startswith("exaone-convert: error:")]
    assert len(lines) == 1, proc.stderr
    return lines[0]
