"""The chat controller's settings side: generation settings and presets, and the load settings chosen per model
file with the figures they give. A part of ``ChatController`` (which holds the state it reads), kept apart by
concern."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

from ..engine import GenerationSettings, Generator, KeepsStates, StateCacheUsage
from .load_settings import LoadSettings, change, for_model, kv_estimate, remember
from .settings_state import SettingsState
from .turns import LoadFigures

if TYPE_CHECKING:
    from ..engine import ModelInfo  # the GGUF reader's record: loaded with the first model, not at start-up


class SettingsControls:
    """What the settings panel changes and shows; mixed into ``ChatController``."""

    state: SettingsState
    load: LoadSettings
    load_by_model: dict[str, Any]
    model_path: str
    loaded_with: LoadSettings | None
    state_dir: Path | None
    local: Generator | None

    @property
    def model_info(self) -> ModelInfo | None:
        return self.local.model_info if self.local is not None else None

    def context_size(self) -> int:
        """Tokens the loaded model's context holds (0 with no model)."""
        info = self.model_info
        return int((self.local.n_ctx if self.local is not None else 0) or (info.context_length if info else 0))

    def change_setting(self, name: str, value: Any) -> GenerationSettings:
        """Raises SettingsError (and changes nothing) for a value out of range."""
        return self.state.set(name, value)

    def family(self) -> str:
        """The loaded model's row of the family table ("" with none, or a model no row fits)."""
        return self.model_info.family if self.model_info is not None else ""

    def family_label(self) -> str:
        """The loaded model's family as people name it ("EXAONE 4.5"; "" when none is loaded or none fits)."""
        return self.model_info.family_label if self.model_info is not None else ""

    def apply_preset(self, key: str) -> GenerationSettings:
        """Set a preset's sampling settings (``session.presets``); SettingsError when one is refused."""
        from .presets import apply_preset

        apply_preset(self.state, key, self.family())
        return self.state.effective()

    def preset(self) -> str | None:
        """The preset the sampling settings are now (None: the user's own mix)."""
        from .presets import matching_preset

        return matching_preset(self.state, self.family())

    def change_load(self, name: str, value: Any) -> LoadSettings:
        """A load setting chosen (applies at the next load); SettingsError names the valid range."""
        trained = self.model_info.context_length if self.model_info is not None else 0
        self.load = change(self.load, name, value, trained=trained)
        if self.model_path:
            self.load_by_model = remember(self.load_by_model, self.model_path, self.load)
        live = self.local if self.local is not None and self.local.capabilities.state_cache else None
        if name == "state_cache_mb" and live is not None and self.loaded_with is not None:
            # the kept-conversation budget changes without a reload
            cast(KeepsStates, live).set_state_cache_mb(self.load.state_cache_mb)
            self.loaded_with = dataclasses.replace(self.loaded_with, state_cache_mb=self.load.state_cache_mb)
        return self.load

    def set_draft_model(self, model: str, draft: str) -> LoadSettings:
        """``draft`` as the ``assistant_model`` of the model file ``model``: in the load settings now chosen when
        ``model`` is the one loaded (or being loaded), else in those kept with that file (used when it loads)."""
        if model == self.model_path:
            return self.change_load("assistant_model", draft)
        kept = change(for_model(self.load_by_model, model, self.load), "assistant_model", draft)
        self.load_by_model = remember(self.load_by_model, model, kept)
        return self.load

    def choose_model(self, path: str) -> LoadSettings:
        """About to load the model file ``path``: its own load choices (else the current ones) apply."""
        self.model_path = str(path)
        self.load = for_model(self.load_by_model, self.model_path, self.load)
        return self.load

    def chosen(self) -> tuple[str, LoadSettings]:
        """The model file chosen last and its load settings (to put back when a load of another fails)."""
        return self.model_path, self.load

    def choose_back(self, chosen: tuple[str, LoadSettings]) -> None:
        """A load failed or was cancelled: the model file and load settings chosen before it apply again."""
        self.model_path, self.load = chosen

    def load_options(self) -> dict[str, Any]:
        """The keywords the local model is loaded with: the user's load choices, and the folder where the
        engine keeps conversation states on disk (within its own budget) for the next session."""
        options = self.load.changed()
        if self.state_dir is not None:
            options["state_cache_dir"] = str(self.state_dir)
        return options

    def load_figures(self) -> LoadFigures:
        trained = self.model_info.context_length if self.model_info is not None else 0
        chosen = self.load.n_ctx or None
        n_ctx = chosen if chosen is not None else (self.context_size() if self.local is not None else 0)
        kv_type = self.load.kv_cache_type
        pending = self.local is not None and self.loaded_with is not None and self.loaded_with != self.load
        return LoadFigures(n_ctx, chosen is None, trained, kv_type, kv_estimate(self.model_info, n_ctx, kv_type),
                           pending)

    def kept_states(self) -> StateCacheUsage | None:
        """What the engine reports about the conversation states it keeps (None: it keeps none)."""
        if self.local is None or not self.local.capabilities.state_cache:
            return None
        return cast(KeepsStates, self.local).state_cache_usage()
