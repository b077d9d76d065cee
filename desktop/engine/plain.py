"""Caller data rebuilt out of builtin types, for where it crosses a boundary: the model worker's pipe (a class only
the caller has would not load there) and the chat template's sandbox (which must see no rich objects)."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

# a subclass of one of these becomes the base type's own value (its own __str__ or __int__ is not asked)
_BASES: tuple[tuple[type, Callable[[Any], Any]], ...] = (
    (bool, bool), (str, str.__str__), (int, int.__int__), (float, float.__float__))


def plain(value: Any, other: Callable[[Any], Any]) -> Any:
    """``value`` as None, str, int, float, bool, dict, list and tuple (containers rebuilt all the way down);
    anything else becomes ``other(value)``."""
    if value is None or type(value) in (str, int, float, bool):
        return value
    for base, own in _BASES:
        if isinstance(value, base):
            return own(value)
    if isinstance(value, Mapping):
        return {plain(k, other): plain(v, other) for k, v in value.items()}
    if isinstance(value, tuple):
        return tuple(plain(v, other) for v in value)
    if isinstance(value, list):
        return [plain(v, other) for v in value]
    return other(value)
