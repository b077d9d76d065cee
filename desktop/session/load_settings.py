"""How the model is loaded, without Qt: context size, KV cache type, the kept-conversation memory budget.

These are "load" settings: the engine takes them when it loads the model, so changing them means loading
it again. Each is an override of the engine's choice (None: the engine decides, e.g. the context size
from the machine's free memory). ``kv_estimate`` tells the user what a choice costs before loading.
"""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass
from typing import Any

from ..engine.settings import SettingsError, check_value
from ..engine.settings_table import ROWS

# Facts from the engine's settings table (its "load" rows).
KV_CACHE_TYPES: tuple[str, ...] = ROWS["kv_cache_type"].choices  # the first is the engine's default
MAX_CONTEXT = int(ROWS["n_ctx"].maximum or 0)  # the widget's ceiling before a model is loaded; then the model's
MAX_STATE_CACHE_MB = int(ROWS["state_cache_mb"].maximum or 0)
NAMES: tuple[str, ...] = ("n_ctx", "kv_cache_type", "state_cache_mb")


@dataclass(frozen=True)
class LoadSettings:
    n_ctx: int | None = None  # tokens of context; None: automatic
    kv_cache_type: str | None = None  # one of KV_CACHE_TYPES; None: the engine's default (f16)
    state_cache_mb: int | None = None  # MB for kept conversation states; None: the engine's default

    def __post_init__(self) -> None:
        for name in NAMES:  # each against its row of the engine's table (None: the engine decides)
            if getattr(self, name) is not None:
                check_value(name, getattr(self, name))
        if self.n_ctx == 0:  # the table's "0: automatic"
            object.__setattr__(self, "n_ctx", None)

    def replace(self, **changes: Any) -> LoadSettings:
        unknown = set(changes) - set(NAMES)
        if unknown:
            raise SettingsError(f"unknown load setting(s) {sorted(unknown)}; valid names are {list(NAMES)}")
        return dataclasses.replace(self, **changes)

    def generator_kwargs(self) -> dict[str, Any]:
        """The keywords the generator is loaded with: only what the user chose."""
        return {name: value for name in NAMES if (value := getattr(self, name)) is not None}

    def to_json(self) -> str:
        return json.dumps(self.generator_kwargs())

    @classmethod
    def from_json(cls, text: str | None) -> LoadSettings:
        """Saved choices; an unreadable or invalid one is dropped (the engine decides) rather than blocking."""
        try:
            data = json.loads(text) if text else {}
        except ValueError:
            return cls()
        out = cls()
        for name, value in (data.items() if isinstance(data, dict) else ()):
            try:
                out = out.replace(**{name: value})
            except (SettingsError, TypeError):
                continue
        return out


def kv_estimate(info: Any, n_ctx: int, kv_cache_type: str | None) -> int | None:
    """Bytes the KV cache of ``info``'s model takes at ``n_ctx`` tokens; None when the engine cannot say."""
    if info is None or n_ctx <= 0:
        return None
    try:
        from ..engine.local import kv_cache_bytes  # type: ignore[attr-defined]
    except ImportError:
        return None
    try:
        return int(kv_cache_bytes(info, n_ctx, kv_cache_type or KV_CACHE_TYPES[0]))
    except (ValueError, TypeError, AttributeError):
        return None
