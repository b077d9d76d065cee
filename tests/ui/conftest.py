"""Fixtures the app's tests share."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest


@pytest.fixture(scope="module")
def real_generator(tiny_gguf: Path) -> Iterator[Any]:
    """The tiny EXAONE GGUF loaded in llama.cpp, in this process, for a module's tests."""
    from exaone_desktop.engine import LocalGenerator

    gen = LocalGenerator(tiny_gguf, n_threads=1)
    yield gen
    gen.close()
