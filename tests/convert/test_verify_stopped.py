"""A failure or Ctrl+C during ``--verify`` comes after the outputs are written whole: both the text GGUF and its
vision projector are kept, and the one line says which files were written."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from exaone_convert import pipeline
from exaone_convert.cli import main
from exaone_convert.errors import ConversionError


def _boom(exc: BaseException) -> Any:
    def measure(*_args: Any, **_kwargs: Any) -> Any:
        raise exc
    return measure


@pytest.mark.parametrize(("exc", "code", "said"), [
    (KeyboardInterrupt(), 130, "exaone-convert: --verify was interrupted; the conversion had finished: wrote "),
    (ConversionError("the reference model could not be loaded; install the test extra"), 1,
     "exaone-convert: error: --verify stopped: the reference model could not be loaded; install the test extra "
     "(the conversion had finished: wrote "),
    (RuntimeError("llama_decode returned -1"), 1,
     "exaone-convert: error: --verify stopped: RuntimeError: llama_decode returned -1 (the conversion had finished: "
     "wrote "),
])  # fmt: skip
def test_outputs_are_kept_and_named_when_verify_stops(exc: BaseException, code: int, said: str, tiny_checkpoint: Any,
                                                     tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                     capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setattr(pipeline, "_measure", _boom(exc))
    text, mmproj = tmp_path / "t-F32.gguf", tmp_path / "mmproj-t-F32.gguf"
    rc = main([str(tiny_checkpoint("exaone4_5")), "--outfile", str(text), "--outtype", "f32", "--verify", "--quiet"])
    out, err = capsys.readouterr()
    assert rc == code and out == ""
    assert sorted(p.name for p in tmp_path.iterdir()) == [mmproj.name, text.name]
    line = err.strip()
    assert len(err.splitlines()) == 1 and line.startswith(said), line
    assert f"{text} and {mmproj}" in line and "not verified" in line
    assert "no output file was written" not in line


def test_a_quantized_output_names_the_kept_intermediate(tiny_checkpoint: Any, tmp_path: Path,
                                                       monkeypatch: pytest.MonkeyPatch,
                                                       capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setattr(pipeline, "_measure", _boom(KeyboardInterrupt()))
    out = tmp_path / "t-Q4_K_M.gguf"
    rc = main([str(tiny_checkpoint("exaone4")), "--outfile", str(out), "--verify", "--keep-intermediate", "--quiet"])
    line = capsys.readouterr().err.strip()
    assert rc == 130
    assert sorted(p.name for p in tmp_path.iterdir()) == ["t-Q4_K_M-BF16.gguf", out.name]
    assert f"wrote {out} and {tmp_path / 't-Q4_K_M-BF16.gguf'} (not verified" in line
