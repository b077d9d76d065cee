"""The settings panel wired to the controller: generation settings and presets, the load settings, the cloud
and its API key. The controller decides and keeps; each choice is saved in
QSettings; refusals are worded here (``Wording``) and shown on the panel or the status line."""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import QObject, Signal
from PySide6.QtWidgets import QDialog, QWidget

from ..engine import GenerationError, SettingsError
from ..session import load_settings
from ..session.controller import ChatController
from .cloud_dialog import CloudConsentDialog
from .context import KEY_CLOUD, KEY_GENERATION, KEY_LOAD, KEY_LOAD_BY_MODEL, AppContext
from .settings_panel import SettingsPanel
from .status_line import StatusLine
from .wording import Wording


class SettingsLink(QObject):
    cloud_changed = Signal()  # the cloud policy changed: the status line and the attach button may change
    load_shown = Signal()  # the load settings were shown again (the server panel shows the same model's figures)

    def __init__(self, ctx: AppContext, controller: ChatController, panel: SettingsPanel, status: StatusLine,
                 window: QWidget) -> None:
        super().__init__(panel)
        self.ctx, self.controller, self.panel, self.status, self.window = ctx, controller, panel, status, window
        self.words = Wording(self)
        self.consent_dialog: CloudConsentDialog | None = None
        p = panel
        p.setting_changed.connect(self.change_setting)
        p.setting_reset.connect(self.reset_setting)
        p.reset_all_requested.connect(self.reset_all_settings)
        p.preset_chosen.connect(self.apply_preset)
        p.cloud_toggle_requested.connect(self.request_cloud)
        p.cloud_mode_changed.connect(lambda mode: self.set_cloud(mode=mode))
        p.cloud_model_changed.connect(lambda model: self.set_cloud(model=model))
        p.cloud_base_url_changed.connect(lambda url: self.set_cloud(base_url=url))
        p.api_key_entered.connect(self.save_api_key)
        p.api_key_cleared.connect(self.clear_api_key)
        p.currentChanged.connect(self._tab_changed)
        p.load_panel.load_setting_changed.connect(self.change_load_setting)
        self.show_settings()
        panel.show_cloud(controller.cloud, "")

    # -- generation settings -----------------------------------------------------------------------

    def change_setting(self, name: str, value: Any) -> None:
        try:
            self.controller.change_setting(name, value)
        except SettingsError as err:
            self.panel.show_error(self.words.refused_setting(self.controller.state, name, value, err))
            return
        self.panel.show_error("")
        self._save_settings()

    def apply_preset(self, key: str) -> None:
        try:
            self.controller.apply_preset(key)
        except SettingsError as err:
            self.panel.show_error(str(err))
            return
        self.panel.show_error("")
        self._save_settings()

    def reset_setting(self, name: str) -> None:
        self.controller.state.reset(name)
        self._save_settings()

    def reset_all_settings(self) -> None:
        self.controller.state.reset_all()
        self._save_settings()

    def _save_settings(self) -> None:
        self.ctx.put(KEY_GENERATION, self.controller.state.to_json())
        self.show_settings()
        self.refresh_cloud_marks()

    def show_settings(self) -> None:
        self.panel.show_state(self.controller.state)
        self.panel.show_preset(self.controller.preset(), self.controller.family_label())

    # -- load settings and the local server --------------------------------------------------------

    def change_load_setting(self, name: str, value: Any) -> None:
        try:
            self.controller.change_load(name, value)
        except SettingsError as err:
            info = self.controller.model_info
            trained = info.context_length if info is not None else 0
            self.panel.load_panel.show_error(self.words.refused_load(name, trained, err))
            self.show_load()
            return
        self.panel.load_panel.show_error("")
        self._keep_load()

    def set_draft_model(self, model: str, draft: str) -> None:
        """The model manager's offer taken: ``draft`` drafts for ``model`` from its next load."""
        self.controller.set_draft_model(model, draft)
        self._keep_load()

    def _keep_load(self) -> None:
        """The load settings as the controller now has them, kept in QSettings and shown."""
        self.ctx.put(KEY_LOAD, load_settings.to_json(self.controller.load))
        self.ctx.put_json(KEY_LOAD_BY_MODEL, self.controller.load_by_model)
        self.show_load()

    def show_load(self) -> None:
        c, panel = self.controller, self.panel.load_panel
        panel.show_load(c.load, c.load_figures(), c.kept_states())
        self.load_shown.emit()

    def show_kept(self) -> None:
        """After a reply only the kept conversations' figures change (the worker sent them with the reply)."""
        self.panel.load_panel.show_kept(self.controller.kept_states())

    # -- the cloud and its API key -----------------------------------------------------------------

    def request_cloud(self, on: bool) -> None:
        """The switch: turning it on goes through the consent dialog; off needs nothing."""
        if not on:
            self.set_cloud(enabled=False)
            return
        dialog = CloudConsentDialog(self.controller.cloud_host(), self.controller.cloud_model(), self.window)
        dialog.finished.connect(lambda result: self._consent_given(result == QDialog.DialogCode.Accepted))
        self.consent_dialog = dialog
        dialog.open()

    def _consent_given(self, accepted: bool) -> None:
        self.consent_dialog = None
        self._cloud_changed(self.controller.consent(accepted))

    def set_cloud(self, **changes: Any) -> None:
        self._cloud_changed(self.controller.update_cloud(**changes))

    def _cloud_changed(self, policy: dict[str, Any]) -> None:
        self.ctx.put_json(KEY_CLOUD, policy)
        self.panel.show_cloud(policy, self.key_text())
        self.refresh_cloud_marks()
        self.cloud_changed.emit()

    def refresh_cloud_marks(self) -> None:
        """Mark the settings the cloud API does not apply, while the cloud answers."""
        try:
            names = self.controller.cloud_not_applied()
        except Exception as err:  # noqa: BLE001 - e.g. a temperature the API refuses
            self.panel.show_error(str(err))
            names = []
        self.panel.mark_not_applied(names)

    def key_text(self, *, force: bool = False) -> str:
        """Where the API key comes from (never the key)."""
        texts = {"env": self.tr("Using OPENAI_API_KEY from the environment."),
                 "keyring": self.tr("A key is stored in the OS keychain."), "none": self.tr("No API key set.")}
        try:
            source = self.controller.key_source(force=force)
        except GenerationError as err:  # a broken keychain (KeyStoreError) must not break the panel
            return str(err)
        return "" if source is None else texts[source]

    def save_api_key(self, key: str) -> None:
        try:
            self.controller.save_api_key(key)
        except GenerationError as err:  # KeyStoreError: its one line
            self.status.say(str(err), error=True)
        self.panel.show_cloud(self.controller.cloud, self.key_text())

    def clear_api_key(self) -> None:
        try:
            self.controller.clear_api_key()
        except GenerationError as err:  # KeyStoreError: its one line
            self.status.say(str(err), error=True)
        self.panel.show_cloud(self.controller.cloud, self.key_text())

    def _tab_changed(self, index: int) -> None:
        if self.panel.widget(index) is self.panel.cloud_scroll:
            self.panel.show_cloud(self.controller.cloud, self.key_text(force=True))
