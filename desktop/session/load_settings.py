"""How the app loads the model, without Qt: context size, KV cache type, GPU layers, CPU threads, the
kept-conversation memory budget. Each model file keeps its own choices (``for_model`` / ``remember``).

These are rows of the engine's settings table (scope "load"): defaults, ranges and help texts come from
there, and the values travel as the engine's ``LoadSettings``. The engine takes them when it loads the
model, so changing one means loading it again; ``kv_estimate`` tells the user what a choice costs first.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Mapping
from typing import Any

from ..engine import ROWS, GenerationError, LoadSettings, Setting, SettingsError

__all__ = ["APP_LOAD_ROWS", "KV_CACHE_TYPES", "LoadSettings", "change", "for_model", "from_json", "kv_estimate",
           "remember", "to_json"]

# The load settings the app keeps: those the Settings > Model tab offers, and the draft model the model manager
# offers (``session.draft_offer``). Flash attention is not among them: the engine turns
# it on where the KV cache type needs it (a quantized V cache) and leaves it off otherwise.
APP_LOAD_ROWS: tuple[Setting, ...] = (ROWS["n_ctx"], ROWS["kv_cache_type"], ROWS["n_gpu_layers"],
                                      ROWS["n_threads"], ROWS["state_cache_mb"],
                                      ROWS["assistant_model"])  # set by the model manager's draft-model offer
APP_LOAD_NAMES: frozenset[str] = frozenset(row.name for row in APP_LOAD_ROWS)
KV_CACHE_TYPES: tuple[str, ...] = ROWS["kv_cache_type"].choices


def change(load: LoadSettings, name: str, value: Any, *, trained: int = 0) -> LoadSettings:
    """``load`` with one value changed; SettingsError names the valid range (``trained``: the loaded model's
    context length, the most ``n_ctx`` may be; 0 or None means automatic)."""
    if name not in APP_LOAD_NAMES:
        raise SettingsError(f"unknown load setting {name!r}; valid names are {sorted(APP_LOAD_NAMES)}")
    if name in ("n_ctx", "n_threads") and value == 0:
        value = None  # 0 in the panel: automatic
    if name == "n_ctx" and value is not None and trained and not (isinstance(value, int) and 1 <= value <= trained):
        raise SettingsError(f"n_ctx must be from 1 to {trained}, this model's trained context length "
                            f"(or automatic), got {value!r}")
    return dataclasses.replace(load, **{name: value})


def to_json(load: LoadSettings) -> str:
    """What the user changed from the table's defaults (only the app's rows)."""
    return json.dumps({k: v for k, v in load.changed().items() if k in APP_LOAD_NAMES})


def from_json(text: str | None) -> LoadSettings:
    """Saved choices; an unreadable or invalid one is dropped (the default applies) rather than blocking."""
    try:
        data = json.loads(text) if text else {}
    except ValueError:
        return LoadSettings()
    load = LoadSettings()
    for name, value in (data.items() if isinstance(data, Mapping) else ()):
        try:
            load = change(load, name, value)
        except (SettingsError, TypeError):
            continue
    return load


def for_model(saved: Mapping[str, Any], path: str, fallback: LoadSettings) -> LoadSettings:
    """The load settings kept for the model file ``path`` (``fallback`` when it has none yet, less its
    ``assistant_model``: a draft model belongs to the model it was chosen for)."""
    mine = saved.get(path)
    if isinstance(mine, Mapping):
        return from_json(json.dumps(mine))
    return dataclasses.replace(fallback, assistant_model=None)


def remember(saved: Mapping[str, Any], path: str, load: LoadSettings) -> dict[str, Any]:
    """``saved`` with ``load`` kept for the model file ``path``."""
    return {**saved, path: json.loads(to_json(load))}


def kv_estimate(info: Any, n_ctx: int, kv_cache_type: str) -> int | None:
    """Bytes the KV cache of ``info``'s model takes at ``n_ctx`` tokens; None when the engine cannot say."""
    if info is None or n_ctx <= 0:
        return None
    from ..engine import kv_cache_bytes

    try:
        return int(kv_cache_bytes(info, n_ctx, kv_cache_type))
    except (GenerationError, ValueError, TypeError, AttributeError):
        return None
