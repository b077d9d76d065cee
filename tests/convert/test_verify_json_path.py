"""``--verify-json`` at a path that cannot be written is refused in one line before any work (it was a
traceback after the whole conversion)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from exaone_convert.cli import main


@pytest.mark.parametrize(("report", "said"), [
    ("somefile/report.json", "somefile is a file, not a folder; choose another --verify-json"),
    ("somefile/deeper/report.json", "somefile is a file, not a folder; choose another --verify-json"),
    ("afolder", "afolder is a folder; --verify-json must be a file path ending in .json"),
])  # fmt: skip
def test_an_unwritable_report_path_is_refused_before_converting(report: str, said: str, tiny_checkpoint: Any,
                                                                tmp_path: Path,
                                                                capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "somefile").write_text("mine\n")
    (tmp_path / "afolder").mkdir()
    out = tmp_path / "m-F32.gguf"
    rc = main([str(tiny_checkpoint("exaone4")), "--outfile", str(out), "--outtype", "f32",
               "--verify-json", str(tmp_path / report), "--quiet"])
    err = capsys.readouterr().err
    assert rc == 1 and len(err.splitlines()) == 1 and err.startswith("exaone-convert: error: ") and said in err, err
    assert not out.exists()  # refused before converting
    assert (tmp_path / "somefile").read_text() == "mine\n"


def test_a_report_in_a_new_folder_is_still_written(tiny_checkpoint: Any, tmp_path: Path) -> None:
    out, report = tmp_path / "m-F32.gguf", tmp_path / "new" / "sub" / "report.json"
    rc = main([str(tiny_checkpoint("exaone4")), "--outfile", str(out), "--outtype", "f32",
               "--verify-json", str(report), "--quiet"])
    assert rc in (0, 3) and report.is_file() and out.is_file()
