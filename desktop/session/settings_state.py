"""The settings panel's model, without Qt: one row per generation setting the panel shows.

The rows are ``engine.settings_table``'s (kind of editor, range, step, English and Korean help). Each
setting has the pipeline's default, the model's own default (from the GGUF's ``general.sampling.*``) and
the user's override. ``effective()`` is what the engine receives: ``resolve_settings(model_defaults,
**overrides)``.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from ..engine import FIELD_NAMES, GENERATION_ROWS, GenerationSettings, Setting, SettingsError, resolve_settings
from ..engine import model_defaults as model_defaults_from

__all__ = ["FIELDS", "SPECS", "FieldSpec", "SettingsState", "model_defaults_from", "why_refused"]

FieldSpec = Setting
# The panel's rows, in the table's order.
FIELDS: tuple[Setting, ...] = tuple(row for row in GENERATION_ROWS if row.panel)
SPECS: Mapping[str, Setting] = {f.name: f for f in FIELDS}

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
        # The last settings resolved, with the defaults and overrides they came from: the panel, the presets
        # and a send all ask for effective() after one change, and each resolve validates every row.
        self._resolved: tuple[dict[str, Any], dict[str, Any], GenerationSettings] | None = None
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
        last = self._resolved
        if last is not None and last[0] == self.model_defaults and last[1] == overrides:
            return last[2]
        base = resolve_settings(self.model_defaults)
        settings = base.replace(**dict(overrides)) if overrides else base
        self._resolved = (dict(self.model_defaults), dict(overrides), settings)
        return settings

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


def why_refused(state: SettingsState, name: str, value: Any) -> tuple[str, str]:
    """Why ``state.set(name, value)`` is refused, for the UI to word: (kind, the valid range) with kind
    ``range`` (outside the setting's own range), ``greedy_temperature`` (sampling needs a temperature above 0),
    ``greedy_sequences`` (several replies need sampling) or ``other``."""
    from ..engine import ROWS

    row = ROWS.get(name)
    if row is not None and row.problem(_normalise(name, value)) is not None:
        return "range", row.range_text() if row.minimum is not None or row.maximum is not None else row.summary()
    trial = dict(state.effective().to_dict(), **{name: value})
    if trial.get("do_sample") and not float(trial.get("temperature") or 0) > 0:
        return "greedy_temperature", ""
    if not trial.get("do_sample") and int(trial.get("num_return_sequences") or 1) > 1:
        return "greedy_sequences", ""
    return "other", ""
