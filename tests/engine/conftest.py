"""The worker tests' model (the tiny EXAONE 4.0 checkpoint as a GGUF) and one WorkerGenerator over it, each built
once per test module."""

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from exaone_desktop.engine.llama.worker import WorkerGenerator

from tests.support.generation_models import tiny_gguf


@pytest.fixture(scope="module")
def model(tiny_checkpoint: Any) -> Path:
    return tiny_gguf("exaone4", tiny_checkpoint)


@pytest.fixture(scope="module")
def worker(model: Path) -> Iterator[WorkerGenerator]:
    gen = WorkerGenerator(model, n_threads=1)
    yield gen
    gen.close()
