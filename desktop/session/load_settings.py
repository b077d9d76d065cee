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

from ..engine.settings import SettingsError

KV_CACHE_TYPES: tuple[str, ...] = ("f16", "q8_0", "q4_0")  # q8_0 and q4_0 need flash attention
MAX_CONTEXT = 1 << 20  # the widget's ceiling before a model is loaded; the model's own length caps it after
MAX_STATE_CACHE_MB = 1 << 20
NAMES: tuple[str, ...] = ("n_ctx", "kv_cache_type", "state_cache_mb")


@dataclass(frozen=True)
class LoadSettings:
    n_ctx: int | None = None  # tokens of context; None: automatic
    kv_cache_type: str | None = None  # one of KV_CACHE_TYPES; None: the engine's default (f16)
    state_cache_mb: int | None = None  # MB for kept conversation states; None: the engine's default

    def __post_init__(self) -> None:
        n, kv, mb = self.n_ctx, self.kv_cache_type, self.state_cache_mb
        if n is not None and not (_is_int(n) and 1 <= n <= MAX_CONTEXT):
            raise SettingsError(f"n_ctx must be an integer from 1 to {MAX_CONTEXT} (or automatic), got {n!r}")
        if kv is not None and kv not in KV_CACHE_TYPES:
            raise SettingsError(f"kv_cache_type must be one of {', '.join(KV_CACHE_TYPES)}, got {kv!r}")
        if mb is not None and not (_is_int(mb) and 0 <= mb <= MAX_STATE_CACHE_MB):
            raise SettingsError(f"state_cache_mb must be an integer from 0 to {MAX_STATE_CACHE_MB}, got {mb!r}")

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


def _is_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


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
