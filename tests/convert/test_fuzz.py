"""A CI-sized sample of the GGUF fuzz campaign (tests/support/fuzz_gguf.py): no crash, hang or traceback reaches
the user."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import pytest

from tests.support import fuzz_gguf as fuzz
from tests.support.generation_models import tiny_gguf
from tests.support.gguf_mutants import duplicate_vocabulary

SAMPLE = 120  # mutants per test run: 30 of each mutator
posix_only = pytest.mark.skipif(sys.platform == "win32", reason="the harness pool uses select() on pipes")


@pytest.fixture(scope="module")
def model(tiny_checkpoint: Any) -> Path:
    return tiny_gguf("exaone4", tiny_checkpoint)


def test_mutants_are_reproducible_and_change_only_the_header_region(model: Path) -> None:
    base = fuzz.load_base(model)
    assert 0 < base.header_end < len(base.data) and base.int_fields
    for index in range(40):
        kind, data = fuzz.mutant(base, 7, index)
        assert (kind, data) == fuzz.mutant(base, 7, index)
        assert data != base.data or kind == "boundary"  # a boundary value may equal the field's own
        if kind in ("bitflip", "boundary"):
            assert len(data) == len(base.data) and data[base.header_end:] == base.data[base.header_end:]
        if kind == "truncate":
            assert base.data.startswith(data)
    assert {fuzz.mutant(base, 7, i)[0] for i in range(4)} == {name for name, _ in fuzz.MUTATORS}


@pytest.mark.parametrize(
    ("code", "stderr", "outcome"),
    [
        (0, "", "generated"),
        (1, "exaone-generate: error: cannot use m.gguf: truncated\n", "clean error"),
        (2, "exaone-generate: error: --n-ctx must be at most 64\n", "clean error"),
        (1, "exaone-generate: error: unexpected KeyError: 'x'\n", "traceback"),
        (1, "Traceback (most recent call last):\n  ...\nValueError\n", "traceback"),
        (1, "exaone-generate: error: a\nsecond line\n", "other output"),
        (0, "llama.cpp chatter\n", "other output"),
        (3, "exaone-generate: error: x\n", "other output"),
    ],
)
def test_outcomes_are_classified(code: int, stderr: str, outcome: str) -> None:
    assert fuzz.classify(code, stderr) == outcome


@posix_only
def test_sample_campaign_has_no_crash_hang_or_traceback(model: Path) -> None:
    report = fuzz.campaign(model, mutants=SAMPLE, seed=2026, processes=2, timeout=120.0)
    assert sum(report.counts.values()) == SAMPLE
    assert report.findings == []
    assert all(report.counts[o] == 0 for o in fuzz.BAD)
    assert report.counts["clean error"] > 0 and report.counts["generated"] > 0  # both paths were exercised


@posix_only
def test_the_harness_sees_crashes_and_hangs(model: Path, tmp_path: Path) -> None:
    """Without the worker, a file that aborts llama.cpp kills the user's process: the harness counts it."""
    bad = tmp_path / "duplicate-vocab.gguf"
    duplicate_vocabulary(model, bad)
    report = fuzz.campaign(bad, mutants=8, seed=0, processes=1, timeout=120.0, in_process=True)
    assert report.counts["crash"] >= 1 and all(f["stderr"] == "SIGABRT" for f in report.findings
                                               if f["outcome"] == "crash")
    report = fuzz.campaign(bad, mutants=8, seed=0, processes=1, timeout=120.0)  # the same files, with the worker
    assert report.counts["crash"] == 0 and report.counts["clean error"] == 8
    report = fuzz.campaign(model, mutants=2, seed=0, processes=1, timeout=0.001)
    assert report.counts["hang"] == 2
