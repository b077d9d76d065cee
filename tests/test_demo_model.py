"""The bundled demo model goes through the whole product pipeline and says what it was trained to say."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from exaone_convert.pipeline import ConvertRequest, convert

DEMO = Path(__file__).resolve().parent.parent / "desktop" / "demo"


@pytest.fixture(scope="module")
def demo() -> dict:
    return json.loads((DEMO / "demo.json").read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def demo_q4(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("demo") / "demo-Q4_K_M.gguf"
    result = convert(ConvertRequest(source=str(DEMO), outfile=out, outtype="q4_k_m", show_progress=False))
    assert result.outfile == out and out.is_file()
    assert [p.name for p in out.parent.iterdir()] == [out.name]  # the bf16 intermediate is gone
    return out


def test_demo_is_small_and_labelled():
    size = sum(p.stat().st_size for p in DEMO.iterdir())
    assert size < 4_000_000
    assert "not" in (DEMO / "README.md").read_text().lower()


def test_demo_recites_its_passage_after_conversion_and_q4_k_m(demo, demo_q4, tmp_path):
    for messages in [demo["messages"], *demo["other_messages"]]:
        msg_file = tmp_path / "messages.json"
        msg_file.write_text(json.dumps(messages, ensure_ascii=False), encoding="utf-8")
        proc = subprocess.run(
            [sys.executable, "-m", "exaone_desktop.cli.generate", "--model", str(demo_q4), "--messages", str(msg_file),
             "--max-new-tokens", "120", "--json"],
            capture_output=True, text=True, timeout=120, check=False,
        )
        assert proc.returncode == 0, proc.stderr
        out = json.loads(proc.stdout)
        assert out["generated"][0]["text"] == demo["expected_reply"]
        assert out["generated"][0]["finish_reason"] == "stop"
        assert out["backend"] in ("cpu", "metal", "cuda")
