"""The consent dialog shown before the cloud fallback is switched on: what is sent, and where."""

from __future__ import annotations

from PySide6.QtWidgets import QCheckBox, QDialog, QDialogButtonBox, QLabel, QVBoxLayout, QWidget


class CloudConsentDialog(QDialog):
    """Accepting requires ticking the box; nothing is sent before that."""

    def __init__(self, host: str, model: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("cloud-consent")
        self.setWindowTitle(self.tr("Send messages to the cloud?"))
        layout = QVBoxLayout(self)
        text = self.tr(
            "<p>With the cloud fallback on, <b>the conversation you send</b> (its system prompt, your messages "
            "and the previous answers, without reasoning) and the generation settings are sent over HTTPS to "
            "<b>{host}</b> and answered by the model <b>{model}</b>.</p>"
            "<p>Your API key is kept in the OS keychain. Nothing else leaves this computer, and nothing is "
            "sent while the switch is off. Every cloud reply is marked in the chat.</p>"
        ).format(host=host, model=model)
        self.body = QLabel(text)
        self.body.setObjectName("consent-text")
        self.body.setWordWrap(True)
        layout.addWidget(self.body)
        self.agree = QCheckBox(self.tr("I understand and agree to send messages to this service"))
        self.agree.setObjectName("consent-agree")
        layout.addWidget(self.agree)
        self.buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel)
        self.ok_button = self.buttons.button(QDialogButtonBox.StandardButton.Ok)
        self.ok_button.setText(self.tr("Turn on"))
        self.ok_button.setEnabled(False)
        self.agree.toggled.connect(self.ok_button.setEnabled)
        self.buttons.accepted.connect(self.accept)
        self.buttons.rejected.connect(self.reject)
        layout.addWidget(self.buttons)
