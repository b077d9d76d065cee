"""The settings panel's model, without Qt: one row per GenerationSettings field.

Each row knows the pipeline's default, the model's own default (from the GGUF's ``general.sampling.*``),
the user's override, and a one-line English explanation (the UI translates it). ``effective()`` is what
the engine receives: ``resolve_settings(model_defaults, **overrides)``.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

from .engine.settings import FIELD_NAMES, GenerationSettings, SettingsError, resolve_settings

Kind = Literal["int", "float", "bool", "optional_int", "optional_float", "stop", "tristate"]


@dataclass(frozen=True)
class FieldSpec:
    name: str
    kind: Kind
    help: str
    minimum: float = 0
    maximum: float = 0
    step: float = 1
    decimals: int = 0


# Declarative table: the widget kind, range and explanation of every field (order = panel order).
FIELDS: tuple[FieldSpec, ...] = (
    FieldSpec("max_new_tokens", "int", "Most tokens to generate for one reply.", 1, 131072),
    FieldSpec("do_sample", "bool", "Sample at random; off always picks the most likely token (greedy)."),
    FieldSpec("temperature", "float", "Higher is more random; used only when sampling.", 0, 2, 0.05, 2),
    FieldSpec("top_k", "int", "Sample only from the k most likely tokens (0 turns it off).", 0, 100000),
    FieldSpec("top_p", "float", "Sample from the smallest set of tokens whose probability reaches p.",
              0.01, 1, 0.05, 2),
    FieldSpec("min_p", "optional_float", "Drop tokens less likely than this fraction of the top one (unset: off).",
              0, 1, 0.01, 2),
    FieldSpec("repetition_penalty", "float", "Above 1 discourages repeating earlier tokens (1 turns it off).",
              0.01, 10, 0.05, 2),
    FieldSpec("presence_penalty", "float", "Penalise tokens that already appeared at all.", -2, 2, 0.1, 2),
    FieldSpec("frequency_penalty", "float", "Penalise tokens by how often they already appeared.", -2, 2, 0.1, 2),
    FieldSpec("seed", "optional_int", "Makes sampling repeatable (unset: a new random seed each time).",
              0, 2**31 - 1),
    FieldSpec("stop", "stop", "Stop the reply when one of these strings appears (one per line; \\n is a newline)."),
    FieldSpec("num_return_sequences", "int", "How many replies to generate (needs sampling); the chat shows the first.",
              1, 16),
    FieldSpec("return_full_text", "bool", "Plain prompts only: return the prompt together with the reply."),
    FieldSpec("enable_thinking", "tristate", "Reasoning models: think before answering (unset: the model's default)."),
)
SPECS: Mapping[str, FieldSpec] = {f.name: f for f in FIELDS}
# truncate has no panel row: the app always drops the oldest turns of a chat that outgrows the context.
assert set(SPECS) == FIELD_NAMES - {"truncate"}, "every GenerationSettings field needs a row in FIELDS"

PIPELINE_DEFAULTS = GenerationSettings()


def _normalise(name: str, value: Any) -> Any:
    """JSON round-trips turn tuples into lists; keep the dataclass's types."""
    if name == "stop" and value is not None:
        return tuple(value)
    return value


class SettingsState:
    """User overrides on top of the model's and the pipeline's defaults."""

    def __init__(self, overrides: Mapping[str, Any] | None = None,
                 model_defaults: Mapping[str, Any] | None = None) -> None:
        self.model_defaults: dict[str, Any] = {}
        self.overrides: dict[str, Any] = {}
        self.set_model_defaults(model_defaults or {})
        for name, value in (overrides or {}).items():
            if name in FIELD_NAMES:
                self.overrides[name] = _normalise(name, value)
        self.effective()  # validates; a bad saved value raises SettingsError

    def set_model_defaults(self, defaults: Mapping[str, Any]) -> None:
        self.model_defaults = {k: _normalise(k, v) for k, v in defaults.items() if k in FIELD_NAMES and v is not None}

    def pipeline_default(self, name: str) -> Any:
        return getattr(PIPELINE_DEFAULTS, name)

    def model_default(self, name: str) -> Any | None:
        return self.model_defaults.get(name)

    def value(self, name: str) -> Any:
        return getattr(self.effective(), name)

    def is_overridden(self, name: str) -> bool:
        return name in self.overrides

    def set(self, name: str, value: Any) -> GenerationSettings:
        """Override one field; raises SettingsError (and changes nothing) when the result is invalid."""
        if name not in FIELD_NAMES:
            raise SettingsError(f"unknown generation setting {name!r}")
        trial = dict(self.overrides, **{name: _normalise(name, value)})
        # None means "unset" for the optional fields: keep it as an explicit override of the defaults.
        settings = self._resolve(trial)
        self.overrides = trial
        return settings

    def reset(self, name: str) -> None:
        self.overrides.pop(name, None)

    def reset_all(self) -> None:
        self.overrides.clear()

    def _resolve(self, overrides: Mapping[str, Any]) -> GenerationSettings:
        base = resolve_settings(self.model_defaults)
        return base.replace(**dict(overrides)) if overrides else base

    def effective(self) -> GenerationSettings:
        return self._resolve(self.overrides)

    def to_json(self) -> str:
        return json.dumps({k: list(v) if isinstance(v, tuple) else v for k, v in self.overrides.items()})

    @classmethod
    def from_json(cls, text: str | None, model_defaults: Mapping[str, Any] | None = None) -> SettingsState:
        """Saved overrides; unreadable or invalid ones are dropped rather than blocking the app."""
        try:
            data = json.loads(text) if text else {}
            return cls(data if isinstance(data, dict) else {}, model_defaults)
        except (ValueError, SettingsError, TypeError):
            return cls({}, model_defaults)


def model_defaults_from(sampling: Mapping[str, Any] | None) -> dict[str, Any]:
    """A model's sampling defaults as GenerationSettings field names (accepts GGUF keys too)."""
    from .engine.settings import MODEL_DEFAULT_KEYS

    out: dict[str, Any] = {}
    for key, value in (sampling or {}).items():
        name = MODEL_DEFAULT_KEYS.get(key, key)
        if name in FIELD_NAMES and value is not None:
            out[name] = value
    return out
