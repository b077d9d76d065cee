"""Interrupted work leaves nothing behind: a ``kill -9`` mid-write, then the next run removes the partial file."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
from exaone_convert.writer import PARTIAL_NAME, partial_path, remove_stale_partials

pytestmark = pytest.mark.skipif(os.name != "posix", reason="kill -9")

# Converts the checkpoint argv[1] to argv[2] and SIGKILLs itself once a third of the tensor data is written.
KILLED_CONVERSION = """
import os, signal, sys
from exaone_convert.convert import convert_checkpoint

def progress(fraction):
    if fraction > 0.3:
        os.kill(os.getpid(), signal.SIGKILL)

convert_checkpoint(sys.argv[1], sys.argv[2], "f32", progress=progress)
"""


def partials(folder: Path) -> list[Path]:
    return [p for p in folder.iterdir() if PARTIAL_NAME.match(p.name)]


def test_kill_9_mid_conversion_then_next_run_leaves_no_partial(tiny_checkpoint: Any, tmp_path: Path) -> None:
    from exaone_convert.convert import convert_checkpoint

    ckpt = tiny_checkpoint("exaone4")
    out = tmp_path / "model.gguf"
    done = subprocess.run([sys.executable, "-c", KILLED_CONVERSION, str(ckpt), str(out)], capture_output=True,
                          timeout=300)
    assert done.returncode == -signal.SIGKILL
    [left] = partials(tmp_path)  # what the killed run left: .model.gguf.PID.partial, part-written
    assert left.name.startswith(".model.gguf.") and left.stat().st_size > 0 and not out.exists()
    convert_checkpoint(ckpt, out, "f32")
    assert partials(tmp_path) == [] and out.is_file()


def test_kill_9_mid_quantization_then_next_run_leaves_no_partial(tiny_checkpoint: Any, tmp_path: Path) -> None:
    from exaone_convert.convert import convert_checkpoint
    from exaone_convert.quantize import quantize_gguf

    src = Path(convert_checkpoint(tiny_checkpoint("exaone4"), tmp_path / "src-f32.gguf", "f32"))
    out_dir = tmp_path / "out"
    out_dir.mkdir()
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    stale = out_dir / f".model-q8_0.gguf.{dead.pid}.partial"  # what a killed quantizer leaves
    stale.write_bytes(b"\0" * 4096)
    quantize_gguf(src, out_dir / "model-q8_0.gguf", "q8_0")
    assert partials(out_dir) == [] and (out_dir / "model-q8_0.gguf").is_file()


def test_only_stale_partials_are_removed(tmp_path: Path) -> None:
    running = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        time.sleep(0.1)
        dead = subprocess.Popen([sys.executable, "-c", "pass"])
        dead.wait()
        live = tmp_path / f".a.gguf.{running.pid}.partial"  # its owner is still writing
        live.write_bytes(b"x")
        gone = tmp_path / f".b.gguf.{dead.pid}.partial"
        gone.write_bytes(b"x")
        reused = tmp_path / f".c.gguf.{running.pid}.partial"  # written before that PID's process started
        reused.write_bytes(b"x")
        os.utime(reused, (time.time() - 3600, time.time() - 3600))
        mine = partial_path(tmp_path / "d.gguf")  # this process's own, maybe being written by another thread
        mine.write_bytes(b"x")
        other = tmp_path / ".notes.txt"
        other.write_bytes(b"x")
        assert sorted(remove_stale_partials(tmp_path)) == sorted([gone, reused])
        assert live.exists() and mine.exists() and other.exists()
    finally:
        running.kill()
        running.wait()
