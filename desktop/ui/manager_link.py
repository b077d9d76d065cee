"""The model manager of one window: its dialog, built on first use, and what the manager's choices lead to.

A model chosen in the manager (or one it has just downloaded or converted, when no other model answers yet)
is asked to load through ``load_requested``; a draft model taken from its offer is set through the settings
link. A language switch while the manager works (a download, a Hub check) hands it to the new window's link,
where its job carries on (in the old language until it is idle and opened again, when it is built anew).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from PySide6.QtCore import QObject, Signal
from PySide6.QtWidgets import QDialog, QVBoxLayout, QWidget

from ..session.controller import ChatController
from .context import AppContext
from .settings_link import SettingsLink


class ManagerLink(QObject):
    load_requested = Signal(str)  # the path of a model to load now
    progress_shown = Signal(float, str)  # the manager's progress (fraction, line), for the welcome page

    def __init__(self, ctx: AppContext, controller: ChatController, settings_link: SettingsLink,
                 window: QWidget) -> None:
        super().__init__(window)
        self.ctx, self.controller, self.settings_link, self.window = ctx, controller, settings_link, window
        self.manager: Any = None
        self.dialog: QDialog | None = None
        self._adopted = False  # the manager came from the window a language switch replaced

    def get(self) -> Any:
        """The manager, built (with its dialog, not shown) on first use."""
        if self.manager is None:
            from .model_manager import ModelManager

            self.manager = ModelManager(self.ctx.models_dir)
            self._follow(self.manager)
            self.manager.draft_offer.show_loaded(self.controller.model_path)
            dialog = QDialog(self.window)
            dialog.setWindowTitle(self.tr("Models"))
            dialog.resize(760, 640)
            QVBoxLayout(dialog).addWidget(self.manager)
            self.dialog = dialog
        return self.manager

    def show(self) -> None:
        if self._adopted and self.manager is not None and not self.manager.working():
            assert self.dialog is not None
            self.dialog.deleteLater()  # idle now: built again in this window's language
            self.manager = self.dialog = None
            self._adopted = False
        self.get()
        assert self.dialog is not None
        self.dialog.show()
        self.dialog.raise_()

    def show_loaded(self, path: str) -> None:
        """``path`` answers now: the draft offer follows it."""
        if self.manager is not None:
            self.manager.draft_offer.show_loaded(path)

    def adopt(self, old: ManagerLink) -> None:
        """Take ``old``'s manager, its job and its dialog when it works; an idle one closes with its window."""
        manager, dialog = old.manager, old.dialog
        if manager is None or dialog is None or not manager.working():
            return
        for signal in (manager.model_chosen, manager.job_finished, manager.progress_shown,
                       manager.draft_offer.chosen):
            signal.disconnect()
        shown = dialog.isVisible()
        dialog.setParent(self.window, dialog.windowFlags())
        old.manager = old.dialog = None
        self.manager, self.dialog, self._adopted = manager, dialog, True
        self._follow(manager)
        if shown:
            dialog.show()

    def cancel_and_wait(self) -> None:
        """The window closes: a download, a conversion or a Hub check ends with the app."""
        if self.manager is not None:
            self.manager.cancel_and_wait()

    def _follow(self, manager: Any) -> None:
        manager.model_chosen.connect(self.load_requested)
        manager.job_finished.connect(self._made)
        manager.draft_offer.chosen.connect(self._draft_chosen)
        manager.progress_shown.connect(self.progress_shown)

    def _made(self, path: str) -> None:
        if self.controller.takes_new_model(path) and not self.manager.draft_offer.is_draft(path):
            self.load_requested.emit(path)

    def _draft_chosen(self, model: str, draft: str) -> None:
        """The offer's draft model taken: it drafts for ``model`` (speculative decoding) from its next load."""
        self.settings_link.set_draft_model(model, draft)
        self.manager.show_message(self.tr("{0} will draft for {1} from its next load (Reload applies it now).")
                                  .format(Path(draft).name, Path(model).name))
