"""exaone-generate run in the test's own process: its ``--json`` answer, and the ``--messages`` file it reads."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from exaone_desktop.cli import generate as cli


def generate_json(capsys: Any, *argv: str) -> dict[str, Any]:
    """``exaone-generate ARGV --json --threads 1`` in this process (it must exit 0); the JSON it printed."""
    code = cli.main([*argv, "--json", "--threads", "1"])
    captured = capsys.readouterr()
    assert code == 0, captured.err
    return dict(json.loads(captured.out))


def write_messages(folder: Path, messages: list[dict[str, Any]]) -> Path:
    """``messages`` as a ``--messages`` file (UTF-8 JSON) in ``folder``."""
    path = folder / "messages.json"
    path.write_text(json.dumps(messages, ensure_ascii=False), encoding="utf-8")
    return path
