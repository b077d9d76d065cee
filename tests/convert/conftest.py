"""Fixtures the conversion tests share."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest


@pytest.fixture(scope="module")
def reference_model(tiny_checkpoint: Any) -> Callable[[str], tuple[Any, Any]]:
    """Factory: reference_model(kind) -> (transformers model, tokenizer) of that tiny checkpoint, loaded once per
    test module."""
    from tests.support.reference import load_reference

    models: dict[str, tuple[Any, Any]] = {}

    def get(kind: str) -> tuple[Any, Any]:
        if kind not in models:
            models[kind] = load_reference(tiny_checkpoint(kind))
        return models[kind]

    return get
