"""Sampling presets, without Qt: LG's recommended settings for the loaded family, Precise, Balanced, Creative.

A preset sets the sampling settings only (``SAMPLING_NAMES``): the reply length, the seed and the stop
strings stay as the user set them. "Recommended" is the family table's ``sampling`` row (what LG publishes
for the family; a family without one is answered greedily, as LG's examples are); the others are fixed rows.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, fields
from typing import Any

from exaone_convert import FAMILIES

from .settings_state import PIPELINE_DEFAULTS, SettingsState

__all__ = ["PRESETS", "SAMPLING_NAMES", "Preset", "apply_preset", "matching_preset", "preset_values"]

# The settings a preset decides; every other setting keeps the user's value.
SAMPLING_NAMES: tuple[str, ...] = ("do_sample", "temperature", "top_k", "top_p", "min_p", "repetition_penalty",
                                   "presence_penalty", "frequency_penalty")


@dataclass(frozen=True)
class Preset:
    key: str
    values: Mapping[str, Any]  # for "recommended": filled in from the family table


PRESETS: tuple[Preset, ...] = (
    Preset("recommended", {}),
    Preset("precise", {"do_sample": False}),
    Preset("balanced", {"do_sample": True, "temperature": 0.7, "top_p": 0.9, "top_k": 40}),
    Preset("creative", {"do_sample": True, "temperature": 1.1, "top_p": 0.98, "top_k": 0, "min_p": 0.05}),
)
_BY_KEY = {p.key: p for p in PRESETS}


def recommended(family: str) -> dict[str, Any]:
    """LG's recommended sampling for the family ``family`` (a family-table key; "" or unknown: greedy)."""
    row = next((f for f in FAMILIES if f.key == family), None)
    if row is None:
        return {"do_sample": False}
    given = {f.name: getattr(row.sampling, f.name) for f in fields(row.sampling)}
    given = {k: v for k, v in given.items() if v is not None}
    return {"do_sample": True, **given} if given else {"do_sample": False}


def preset_values(key: str, family: str = "") -> dict[str, Any]:
    """Every sampling setting a preset decides: the preset's own values, the pipeline's defaults for the rest."""
    if key not in _BY_KEY:
        raise KeyError(f"unknown preset {key!r}; use one of {sorted(_BY_KEY)}")
    base = PIPELINE_DEFAULTS
    own = recommended(family) if key == "recommended" else dict(_BY_KEY[key].values)
    return {name: own.get(name, getattr(base, name)) for name in SAMPLING_NAMES}


def apply_preset(state: SettingsState, key: str, family: str = "") -> None:
    """Set the preset's sampling settings as the user's (SettingsError, and nothing changed, if one is refused)."""
    values = preset_values(key, family)
    trial = SettingsState(dict(state.overrides, **values), state.model_defaults)
    state.overrides = trial.overrides


def matching_preset(state: SettingsState, family: str = "") -> str | None:
    """The preset the current sampling settings are exactly (None: the user's own mix)."""
    effective = state.effective()
    current = {name: getattr(effective, name) for name in SAMPLING_NAMES}
    candidates = [p for p in PRESETS if family or p.key != "recommended"]  # no family: no recommendation to be
    return next((p.key for p in candidates if preset_values(p.key, family) == current), None)
