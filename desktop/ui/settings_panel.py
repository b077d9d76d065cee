"""Settings: every GenerationSettings field (pipeline name, defaults, explanation, reset), the
conversation's system prompt, the cloud fallback and the UI language.

The panel only shows state and emits what the user changed; the window applies it to the
``SettingsState`` (Qt-free) and the engine.
"""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import QT_TRANSLATE_NOOP, QCoreApplication, Qt, QTimer, Signal
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QFormLayout,
    QGridLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPlainTextEdit,
    QPushButton,
    QScrollArea,
    QSizePolicy,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from ..session.settings_state import FIELDS, SettingsState
from .guarded import GuardedComboBox
from .language import LANGUAGES, SYSTEM
from .load_panel import LoadPanel
from .setting_field import FieldRow

CLOUD_MODES: dict[str, str] = {
    "ask": str(QT_TRANSLATE_NOOP("SettingsPanel", "Local first, ask before using the cloud")),
    "cloud": str(QT_TRANSLATE_NOOP("SettingsPanel", "Always the cloud")),
    "auto": str(QT_TRANSLATE_NOOP("SettingsPanel", "Local first, then the cloud without asking")),
}

PRESET_NAMES: dict[str, str] = {
    "recommended": str(QT_TRANSLATE_NOOP("SettingsPanel", "LG's recommended settings")),
    "precise": str(QT_TRANSLATE_NOOP("SettingsPanel", "Precise (the same answer every time)")),
    "balanced": str(QT_TRANSLATE_NOOP("SettingsPanel", "Balanced")),
    "creative": str(QT_TRANSLATE_NOOP("SettingsPanel", "Creative")),
}


class SettingsPanel(QTabWidget):
    setting_changed = Signal(str, object)
    setting_reset = Signal(str)
    reset_all_requested = Signal()
    system_prompt_changed = Signal(str)
    cloud_toggle_requested = Signal(bool)
    cloud_mode_changed = Signal(str)
    cloud_model_changed = Signal(str)
    cloud_base_url_changed = Signal(str)
    api_key_entered = Signal(str)
    api_key_cleared = Signal()
    language_changed = Signal(str)
    enter_sends_changed = Signal(bool)
    preset_chosen = Signal(str)
    network_changed = Signal(str, str)  # mirror, proxy

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("settings-panel")
        self.rows: dict[str, FieldRow] = {}
        self.tabBar().setElideMode(Qt.TextElideMode.ElideNone)
        self.tabBar().setUsesScrollButtons(False)
        # Short names: the five fit the panel's width in English and in Korean (tests/ui/test_app_settings.py).
        self.addTab(self._generation_tab(), self.tr("Replies"))
        self.setTabToolTip(0, self.tr("How replies are written: presets and every sampling setting"))
        self.addTab(self._conversation_tab(), self.tr("Chat"))
        self.load_panel = LoadPanel()
        self.addTab(self._scrolled(self.load_panel), self.tr("Model"))
        self.addTab(self._cloud_tab(), self.tr("Cloud"))
        self.addTab(self._interface_tab(), self.tr("App"))

    # -- tabs ------------------------------------------------------------------------------------

    @staticmethod
    def _scrolled(inner: QWidget) -> QScrollArea:
        """``inner`` in a scroll area that scrolls up and down only: its contents wrap to the panel's width."""
        scroll = QScrollArea()
        scroll.setWidgetResizable(True)
        scroll.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        # As wide as the panel, whatever its parts' size hints add up to: labels wrap instead
        inner.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
        scroll.setWidget(inner)
        return scroll

    def _generation_tab(self) -> QWidget:
        inner = QWidget()
        grid = QGridLayout(inner)
        grid.setColumnStretch(0, 1)
        self.reasoning_label = QLabel(self.tr("Reasoning switch"))
        self.reasoning_label.setStyleSheet("font-weight: bold;")
        preset_row = QHBoxLayout()
        self.preset = GuardedComboBox()
        self.preset.setObjectName("preset")
        self.preset.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
        self.preset.setMinimumContentsLength(12)
        for key in PRESET_NAMES:
            self.preset.addItem(self.tr(PRESET_NAMES[key]), key)
        self.preset.addItem(self.tr("Your own settings"), None)
        self.preset.activated.connect(self._preset_activated)
        preset_label = QLabel(self.tr("Preset"))
        preset_label.setStyleSheet("font-weight: bold;")
        preset_row.addWidget(preset_label)
        preset_row.addWidget(self.preset, 1)
        grid.addLayout(preset_row, 0, 0, 1, 3)
        self.preset_note = QLabel("")
        self.preset_note.setObjectName("preset-note")
        self.preset_note.setWordWrap(True)
        self.preset_note.setStyleSheet("color: #666666; font-size: small;")
        grid.addWidget(self.preset_note, 1, 0, 1, 3)
        row = 2
        for spec in FIELDS:
            fr = FieldRow(spec, self.setting_changed.emit, self.setting_reset.emit)
            self.rows[spec.name] = fr
            if spec.name == "enable_thinking":
                grid.addWidget(self.reasoning_label, row, 0, 1, 3)
                row += 1
            controls = QHBoxLayout()  # the editor and its Reset, one cell: the plain name takes the rest
            controls.addWidget(fr.editor)
            controls.addWidget(fr.reset_button)
            grid.addWidget(fr.label, row, 0)
            grid.addLayout(controls, row, 1, 1, 2, Qt.AlignmentFlag.AlignRight)
            grid.addWidget(fr.name_label, row + 1, 0, 1, 3)  # the transformers name, under the plain one
            grid.addWidget(fr.help_label, row + 2, 0, 1, 3)
            grid.addWidget(fr.defaults_label, row + 3, 0, 1, 2)
            grid.addWidget(fr.cloud_label, row + 3, 1, 1, 2, Qt.AlignmentFlag.AlignRight)
            row += 4
        self.error_label = QLabel("")
        self.error_label.setObjectName("settings-error")
        self.error_label.setWordWrap(True)
        self.error_label.setStyleSheet("color: #b00020;")
        self.reset_all_button = QPushButton(self.tr("Reset all"))
        self.reset_all_button.clicked.connect(self.reset_all_requested)
        grid.addWidget(self.error_label, row, 0, 1, 3)
        grid.addWidget(self.reset_all_button, row + 1, 0, 1, 3)
        grid.setRowStretch(row + 2, 1)
        self.set_reasoning_support(False)
        self.generation_scroll = self._scrolled(inner)
        return self.generation_scroll

    def _preset_activated(self, index: int) -> None:
        key = self.preset.itemData(index)
        if key is not None:
            self.preset_chosen.emit(key)

    def show_preset(self, key: str | None, family_label: str) -> None:
        """Which preset the settings are (None: the user's own), and whose recommendation "recommended" is."""
        self.preset.blockSignals(True)
        self.preset.setCurrentIndex(max(0, self.preset.findData(key)) if key is not None
                                    else self.preset.count() - 1)
        self.preset.blockSignals(False)
        self.preset.setItemText(0, self.tr("LG's recommended for {0}").format(family_label) if family_label
                                else self.tr(PRESET_NAMES["recommended"]))
        self.preset_note.setText(self.tr("A preset sets the sampling settings below; the reply length, seed and "
                                         "stop texts stay yours."))

    def _conversation_tab(self) -> QWidget:
        page = QWidget()
        layout = QVBoxLayout(page)
        layout.addWidget(QLabel(self.tr("System prompt for this conversation")))
        self.system_prompt = QPlainTextEdit()
        self.system_prompt.setObjectName("system-prompt")
        self.system_prompt.setPlaceholderText(self.tr("For example: You are a helpful assistant."))
        self._prompt_timer = QTimer(self)
        self._prompt_timer.setSingleShot(True)
        self._prompt_timer.setInterval(400)
        self._prompt_timer.timeout.connect(self.commit_system_prompt)
        self._prompt_edited = False  # typed since it was last committed or shown
        self.system_prompt.textChanged.connect(self._system_prompt_typed)
        layout.addWidget(self.system_prompt, 1)
        return page

    def _system_prompt_typed(self) -> None:
        self._prompt_edited = True
        self._prompt_timer.start()

    def commit_system_prompt(self) -> None:
        """What was typed (if anything) is said at once: on a pause in typing, before a send, on closing."""
        self._prompt_timer.stop()
        if self._prompt_edited:
            self._prompt_edited = False
            self.system_prompt_changed.emit(self.system_prompt.toPlainText())

    def _cloud_tab(self) -> QWidget:
        page = self.cloud_page = QWidget()
        scroll = self._scrolled(page)
        self.cloud_scroll = scroll
        layout = QVBoxLayout(page)
        self.cloud_switch = QCheckBox(self.tr("Use the cloud fallback (OpenAI)"))
        self.cloud_switch.setObjectName("cloud-switch")
        self.cloud_switch.clicked.connect(self._cloud_clicked)
        layout.addWidget(self.cloud_switch)
        note = QLabel(self.tr("Off by default. When on, your messages may be sent to the cloud service below; "
                              "every cloud reply is marked."))
        self.cloud_switch.setStyleSheet("QCheckBox { font-weight: bold; }")
        note.setWordWrap(True)
        layout.addWidget(note)
        box = QGroupBox(self.tr("Cloud settings"))
        form = QFormLayout(box)
        self.cloud_mode = GuardedComboBox()
        self.cloud_mode.setObjectName("cloud-mode")
        for mode, text in CLOUD_MODES.items():
            self.cloud_mode.addItem(QCoreApplication.translate("SettingsPanel", text), mode)
        self.cloud_mode.currentIndexChanged.connect(
            lambda _i: self.cloud_mode_changed.emit(self.cloud_mode.currentData()))
        self.cloud_model = QLineEdit()
        self.cloud_model.setObjectName("cloud-model")
        self.cloud_model.editingFinished.connect(lambda: self.cloud_model_changed.emit(self.cloud_model.text().strip()))
        self.cloud_base_url = QLineEdit()
        self.cloud_base_url.setPlaceholderText("https://api.openai.com/v1")
        self.cloud_base_url.editingFinished.connect(
            lambda: self.cloud_base_url_changed.emit(self.cloud_base_url.text().strip()))
        key_row = QHBoxLayout()
        self.api_key = QLineEdit()
        self.api_key.setObjectName("api-key")
        self.api_key.setEchoMode(QLineEdit.EchoMode.Password)
        self.api_key.setPlaceholderText(self.tr("Paste an API key"))
        self.save_key = QPushButton(self.tr("Save in keychain"))
        self.save_key.clicked.connect(self._save_key)
        self.clear_key = QPushButton(self.tr("Remove"))
        self.clear_key.clicked.connect(self.api_key_cleared)
        key_row.addWidget(self.api_key, 1)
        key_row.addWidget(self.save_key)
        key_row.addWidget(self.clear_key)
        self.key_status = QLabel("")
        self.key_status.setObjectName("key-status")
        form.addRow(self.tr("Routing"), self.cloud_mode)
        form.addRow(self.tr("Model"), self.cloud_model)
        form.addRow(self.tr("Base URL"), self.cloud_base_url)
        form.addRow(self.tr("API key"), key_row)
        form.addRow("", self.key_status)
        layout.addWidget(box)
        layout.addStretch(1)
        return scroll

    def _interface_tab(self) -> QWidget:
        page = QWidget()
        form = QFormLayout(page)
        self.language = GuardedComboBox()
        self.language.setObjectName("language")
        self.language.addItem(self.tr("Follow the system"), SYSTEM)
        for code, name in LANGUAGES.items():
            self.language.addItem(name, code)
        self.language.currentIndexChanged.connect(lambda _i: self.language_changed.emit(self.language.currentData()))
        form.addRow(self.tr("Language"), self.language)
        self.enter_sends = QCheckBox(self.tr("Enter sends the message (Shift+Enter starts a new line)"))
        self.enter_sends.setObjectName("enter-sends")
        self.enter_sends.setToolTip(self.tr("Off: Enter starts a new line and Ctrl+Enter sends."))
        self.enter_sends.toggled.connect(self.enter_sends_changed)
        form.addRow(self.enter_sends)
        network = QGroupBox(self.tr("Network"))
        net = QFormLayout(network)
        net.setRowWrapPolicy(QFormLayout.RowWrapPolicy.WrapAllRows)
        self.mirror = QLineEdit()
        self.mirror.setObjectName("hub-mirror")
        self.mirror.setPlaceholderText("https://huggingface.co")
        self.mirror.setToolTip(self.tr("A mirror of the Hugging Face Hub for downloads (HF_ENDPOINT)."))
        self.proxy = QLineEdit()
        self.proxy.setObjectName("https-proxy")
        self.proxy.setPlaceholderText("http://proxy.example:8080")
        self.proxy.setToolTip(self.tr("The proxy your network needs for HTTPS (HTTPS_PROXY)."))
        for edit in (self.mirror, self.proxy):
            edit.editingFinished.connect(
                lambda: self.network_changed.emit(self.mirror.text().strip(), self.proxy.text().strip()))
        self.network_error = QLabel("")
        self.network_error.setObjectName("network-error")
        self.network_error.setWordWrap(True)
        self.network_error.setStyleSheet("color: #b00020;")
        net.addRow(self.tr("Hub mirror (HF_ENDPOINT)"), self.mirror)
        net.addRow(self.tr("HTTPS proxy (HTTPS_PROXY)"), self.proxy)
        net.addRow(self.network_error)
        form.addRow(network)
        return page

    def show_network(self, mirror: str, proxy: str, error: str = "") -> None:
        for edit, value in ((self.mirror, mirror), (self.proxy, proxy)):
            edit.blockSignals(True)
            edit.setText(value)
            edit.blockSignals(False)
        self.network_error.setText(error)

    def show_enter_sends(self, on: bool) -> None:
        self.enter_sends.blockSignals(True)
        self.enter_sends.setChecked(on)
        self.enter_sends.blockSignals(False)

    # -- showing state ---------------------------------------------------------------------------

    def show_state(self, state: SettingsState) -> None:
        effective = state.effective()
        for name, fr in self.rows.items():
            fr.show(getattr(effective, name), state)

    def show_error(self, message: str) -> None:
        self.error_label.setText(message)

    def set_reasoning_support(self, supported: bool) -> None:
        """The reasoning switch appears only for models that can turn reasoning on and off."""
        self.reasoning_label.setVisible(supported)
        self.rows["enable_thinking"].set_visible(supported)

    def mark_not_applied(self, names: list[str] | None) -> None:
        """With the cloud engine active, flag the settings the API does not apply (None: local engine)."""
        for name, fr in self.rows.items():
            fr.cloud_label.setVisible(names is not None and name in names and fr.shown)

    def show_system_prompt(self, text: str) -> None:
        self._prompt_timer.stop()
        self._prompt_edited = False
        self.system_prompt.blockSignals(True)
        self.system_prompt.setPlainText(text)
        self.system_prompt.blockSignals(False)

    def show_cloud(self, policy: dict[str, Any], key_text: str) -> None:
        for widget in (self.cloud_switch, self.cloud_mode, self.cloud_model, self.cloud_base_url):
            widget.blockSignals(True)
        self.cloud_switch.setChecked(bool(policy.get("enabled")) and bool(policy.get("consented")))
        self.cloud_mode.setCurrentIndex(max(0, self.cloud_mode.findData(policy.get("mode", "ask"))))
        self.cloud_model.setText(str(policy.get("model", "")))
        self.cloud_base_url.setText(str(policy.get("base_url", "")))
        for widget in (self.cloud_switch, self.cloud_mode, self.cloud_model, self.cloud_base_url):
            widget.blockSignals(False)
        self.key_status.setText(key_text)

    def show_language(self, choice: str) -> None:
        self.language.blockSignals(True)
        self.language.setCurrentIndex(max(0, self.language.findData(choice)))
        self.language.blockSignals(False)

    def _cloud_clicked(self, checked: bool) -> None:
        # The window decides (consent dialog); until then the switch shows the old state.
        self.cloud_switch.setChecked(not checked)
        self.cloud_toggle_requested.emit(checked)

    def _save_key(self) -> None:
        key = self.api_key.text()
        self.api_key.clear()
        self.api_key_entered.emit(key)
