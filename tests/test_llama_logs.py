"""llama.cpp's and mtmd's log lines: warnings and errors reach standard error, the chatter does not (each
case in its own process: the log callbacks are process-wide)."""

from __future__ import annotations

import io
import subprocess
import sys
from pathlib import Path
from typing import Any

from exaone_convert.cli import main as convert_main
from PIL import Image

TESTS = Path(__file__).resolve().parent


def _stderr(code: str, *args: str) -> str:
    proc = subprocess.run([sys.executable, "-c", code, *args], capture_output=True, text=True, timeout=300,
                          cwd=TESTS)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert proc.stdout.strip().endswith("DONE"), proc.stdout[-500:]
    return proc.stderr


def test_llama_cpp_errors_are_shown_and_its_info_lines_are_not(tiny_checkpoint: Any, tmp_path: Path) -> None:
    """As the model worker sets it up: errors of a file llama.cpp refuses are kept (they explain a crash),
    the load's INFO lines (``llama_context: n_ctx = ...``) are not. Verbose shows everything."""
    bad = tmp_path / "bad.gguf"
    bad.write_bytes(b"GGUF" + (3).to_bytes(4, "little") + b"\xff" * 64)
    good = tmp_path / "m.gguf"
    assert convert_main([str(tiny_checkpoint("exaone4")), "--outfile", str(good), "--outtype", "f32", "--quiet"]) == 0
    code = (
        "import sys, llama_cpp\n"
        "from exaone_desktop.engine.llama import logs as llama_logs\n"
        "llama_logs.install(sys.argv[3] == 'verbose')\n"
        "try:\n"
        "    llama_cpp.Llama(sys.argv[1], n_ctx=64, verbose=True)\n"
        "except ValueError:\n"
        "    pass\n"
        "llama_cpp.Llama(sys.argv[2], n_ctx=64, n_threads=1, verbose=True).close()\n"
        "print('DONE')\n"
    )
    quiet = _stderr(code, str(bad), str(good), "quiet")
    assert "error loading model" in quiet and "failed to read header" in quiet
    assert "llama_context:" not in quiet and "n_ctx" not in quiet
    assert "llama_context: n_ctx" in _stderr(code, str(bad), str(good), "verbose")


def test_the_vision_encoder_is_quiet_unless_verbose(tiny_checkpoint: Any, tmp_path: Path) -> None:
    """mtmd's own default would print every step of reading an image (``clip_encode``, ``add_text``)."""
    model = tmp_path / "vl-F32.gguf"
    assert convert_main([str(tiny_checkpoint("exaone4_5")), "--outfile", str(model), "--outtype", "f32",
                         "--quiet"]) == 0
    picture = io.BytesIO()
    Image.new("RGB", (32, 24), (10, 200, 30)).save(picture, format="PNG")
    (tmp_path / "p.png").write_bytes(picture.getvalue())
    code = (
        "import sys\n"
        "from exaone_desktop.engine.llama.local import LocalGenerator\n"
        "gen = LocalGenerator(sys.argv[1], n_ctx=512, n_threads=1, verbose=sys.argv[3] == 'verbose')\n"
        "gen.generate('What is this?', gen.default_settings(max_new_tokens=2), images=[sys.argv[2]])\n"
        "gen.close()\n"
        "print('DONE')\n"
    )
    quiet = _stderr(code, str(model), str(tmp_path / "p.png"), "quiet")
    assert "clip_" not in quiet and "add_text" not in quiet and "encoding image" not in quiet, quiet[-1500:]
    assert "encoding image" in _stderr(code, str(model), str(tmp_path / "p.png"), "verbose")
