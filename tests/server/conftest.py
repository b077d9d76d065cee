"""The server tests' model: the tiny EXAONE 4.0 checkpoint as a GGUF, built once per test module."""

from pathlib import Path
from typing import Any

import pytest

from tests.support.generation_models import tiny_gguf


@pytest.fixture(scope="module")
def model_path(tiny_checkpoint: Any) -> Path:
    return tiny_gguf("exaone4", tiny_checkpoint)
