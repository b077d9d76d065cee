"""What the window says when something is refused or fails, in the UI's language (translations in the
"Wording" context). The engine's own technical line is quoted after the sentence, or kept for a tooltip."""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import QObject

from ..session.settings_state import SPECS, SettingsState, why_refused
from ..session.turns import Refused


class Wording(QObject):
    def image_refusal(self, err: Refused) -> str:
        """An attached image the model cannot take, in whole sentences."""
        if err.reason == "no_projector":
            return self.tr("This model cannot read images: it has no vision projector (mmproj) beside it. Put its "
                           "mmproj-*.gguf file in the same folder, or load a model that reads images, such as "
                           "EXAONE 4.5. The image stays attached.")
        return self.tr("The attached file could not be used as an image: {0}. Attach a PNG, JPEG or WebP image "
                       "of at most 20 MB.").format(str(err).rstrip("."))

    def no_projector_tip(self) -> str:
        return self.tr("This model cannot read images: it has no vision projector (mmproj) beside it. Load a model "
                       "that reads images, such as EXAONE 4.5, or put the model's mmproj-*.gguf file beside it.")

    def not_attached(self) -> str:
        return self.tr("This was not attached: only PNG, JPEG and WebP images of at most 20 MB can be attached.")

    def document_not_attached(self, detail: str) -> str:
        return self.tr("This document was not attached: {0}").format(detail)

    def refused_setting(self, state: SettingsState, name: str, value: Any, err: Exception) -> str:
        """Why a generation setting was refused (names as the panel shows them)."""
        from .setting_field import field_label

        def named(n: str) -> str:
            return f"“{field_label(SPECS[n])}” ({n})" if n in SPECS else n

        kind, valid = why_refused(state, name, value)
        if kind == "range":
            return self.tr("{0} must be within {1}; it keeps its value.").format(named(name), valid)
        if kind == "greedy_temperature":
            return self.tr("{0} must be above 0 while {1} is on; for the same answer every time, turn {1} off."
                           ).format(named("temperature"), named("do_sample"))
        if kind == "greedy_sequences":
            return self.tr("More than one reply ({0}) needs {1} on.").format(named("num_return_sequences"),
                                                                         named("do_sample"))
        return self.value_refused(err)

    def refused_load(self, name: str, trained: int, err: Exception) -> str:
        if name == "n_ctx" and trained:
            return self.tr("The context can be at most {0} tokens with this model (or automatic).").format(
                f"{trained:,}")
        return self.value_refused(err)

    def value_refused(self, err: Exception) -> str:
        return self.tr("This value cannot be used: {0}").format(err)

    def model_failed(self, message: str) -> str:
        return self.tr("The model could not be loaded: {0}").format(message)
