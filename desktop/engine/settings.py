"""Generation settings with the names, defaults and validation of transformers' text-generation pipeline.

Precedence, as in transformers: the pipeline's defaults < the model's own generation config
(written into the GGUF as ``general.sampling.*``) < values the user set explicitly.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from exaone_convert.gguf_keys import SAMPLING_KEYS


class SettingsError(ValueError):
    """An out-of-range generation setting; the message names the valid range."""


@dataclass(frozen=True)
class GenerationSettings:
    """What transformers' ``pipeline("text-generation")`` accepts, plus OpenAI's two penalties."""

    max_new_tokens: int = 256
    return_full_text: bool = True
    do_sample: bool = False
    temperature: float = 1.0
    top_k: int = 50
    top_p: float = 1.0
    min_p: float | None = None
    repetition_penalty: float = 1.0
    num_return_sequences: int = 1
    seed: int | None = None
    stop: tuple[str, ...] = field(default_factory=tuple)
    presence_penalty: float = 0.0
    frequency_penalty: float = 0.0
    enable_thinking: bool | None = None
    truncate: str = "error"  # a chat longer than the context: "error", or "oldest" (drop the oldest turns)

    def __post_init__(self) -> None:
        if isinstance(self.stop, str):
            object.__setattr__(self, "stop", (self.stop,))
        elif not isinstance(self.stop, tuple):
            object.__setattr__(self, "stop", tuple(self.stop))
        validate(self)

    def replace(self, **changes: Any) -> GenerationSettings:
        """A copy with ``changes`` applied (validated); unknown names raise SettingsError."""
        unknown = set(changes) - FIELD_NAMES
        if unknown:
            raise SettingsError(
                f"unknown generation setting(s) {sorted(unknown)}; valid names are {sorted(FIELD_NAMES)}"
            )
        return dataclasses.replace(self, **changes)

    def to_dict(self) -> dict[str, Any]:
        data = dataclasses.asdict(self)
        data["stop"] = list(self.stop)
        return data


TRUNCATE_MODES: tuple[str, ...] = ("error", "oldest")
FIELD_NAMES: frozenset[str] = frozenset(f.name for f in dataclasses.fields(GenerationSettings))

# GGUF sampling keys (written by exaone-convert from generation_config.json) -> GenerationSettings fields.
MODEL_DEFAULT_KEYS: Mapping[str, str] = {key: name for name, (key, _) in SAMPLING_KEYS.items()}


def resolve_settings(
    model_defaults: Mapping[str, Any] | None = None, **user_values: Any
) -> GenerationSettings:
    """Pipeline defaults, then the model's generation config, then the user's explicit values.

    ``model_defaults`` maps GenerationSettings field names to values (see ``MODEL_DEFAULT_KEYS``);
    ``None`` values among ``user_values`` mean "not set" and do not override.
    """
    merged: dict[str, Any] = {}
    for name, value in (model_defaults or {}).items():
        if name in FIELD_NAMES and value is not None:
            merged[name] = value
    merged.update({k: v for k, v in user_values.items() if v is not None})
    return GenerationSettings().replace(**merged)


def _check(condition: bool, message: str) -> None:
    if not condition:
        raise SettingsError(message)


def _is_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _is_number(value: object) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def validate(s: GenerationSettings) -> None:
    """Raise SettingsError for the first out-of-range value, as transformers' GenerationConfig does."""
    _check(_is_int(s.max_new_tokens) and s.max_new_tokens >= 1,
           f"max_new_tokens must be an integer >= 1, got {s.max_new_tokens!r}")
    _check(_is_number(s.temperature) and s.temperature >= 0,
           f"temperature must be a number >= 0, got {s.temperature!r}")
    _check(not s.do_sample or s.temperature > 0,
           f"temperature must be > 0 when do_sample is true (got {s.temperature!r}); "
           "use do_sample=False for greedy decoding")
    _check(_is_int(s.top_k) and s.top_k >= 0, f"top_k must be an integer >= 0 (0 disables it), got {s.top_k!r}")
    _check(_is_number(s.top_p) and 0 < s.top_p <= 1, f"top_p must be in (0, 1], got {s.top_p!r}")
    _check(s.min_p is None or (_is_number(s.min_p) and 0 <= s.min_p <= 1),
           f"min_p must be in [0, 1] or unset, got {s.min_p!r}")
    _check(_is_number(s.repetition_penalty) and s.repetition_penalty > 0,
           f"repetition_penalty must be a number > 0 (1.0 disables it), got {s.repetition_penalty!r}")
    _check(_is_int(s.num_return_sequences) and s.num_return_sequences >= 1,
           f"num_return_sequences must be an integer >= 1, got {s.num_return_sequences!r}")
    _check(s.do_sample or s.num_return_sequences == 1,
           "num_return_sequences > 1 needs do_sample=True: greedy decoding gives the same sequence every time")
    _check(s.seed is None or (_is_int(s.seed) and 0 <= s.seed < 2**32),
           f"seed must be an integer in [0, 2**32), got {s.seed!r}")
    _check(all(isinstance(x, str) and x for x in s.stop), f"stop must be non-empty strings, got {list(s.stop)!r}")
    for name in ("presence_penalty", "frequency_penalty"):
        value = getattr(s, name)
        _check(_is_number(value) and -2 <= value <= 2, f"{name} must be in [-2, 2], got {value!r}")
    _check(s.enable_thinking is None or isinstance(s.enable_thinking, bool),
           f"enable_thinking must be true, false or unset, got {s.enable_thinking!r}")
    _check(s.truncate in TRUNCATE_MODES, f"truncate must be one of {', '.join(TRUNCATE_MODES)}, got {s.truncate!r}")
