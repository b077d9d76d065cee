"""The cloud's questions: consent before the fallback is switched on (what is sent, and where), and before
each send that would carry attached files to the cloud (naming each file)."""

from __future__ import annotations

import html
from collections.abc import Sequence

from PySide6.QtCore import Qt
from PySide6.QtGui import QShowEvent
from PySide6.QtWidgets import QCheckBox, QDialog, QDialogButtonBox, QLabel, QVBoxLayout, QWidget

from ..session.cloud_files import CloudFile


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


class CloudFilesDialog(QDialog):
    """Asked at each send that may carry attached files to the cloud, naming each file; Keep local (the default
    button, Esc and closing too) sends nothing; the answer holds for this send only."""

    def __init__(self, host: str, model: str, files: Sequence[CloudFile], parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("cloud-files")
        self.setWindowTitle(self.tr("Send the attached files to the cloud?"))
        layout = QVBoxLayout(self)
        self.names = [self._name(f, sum(g.kind == "image" for g in files[: i + 1])) for i, f in enumerate(files)]
        intro = self.tr(
            "<p>This message would go to <b>{host}</b> (the model <b>{model}</b>) with the conversation's "
            "attached files: their text and images would leave this computer.</p>"
        ).format(host=html.escape(host), model=html.escape(model))
        items = "".join(f"<li>{html.escape(name)}</li>" for name in self.names)
        closing = self.tr("<p>You are asked at every send with files. Keep local answers with the local model "
                          "and sends nothing.</p>")
        self.body = QLabel(f"{intro}<ul>{items}</ul>{closing}")
        self.body.setObjectName("cloud-files-text")
        self.body.setTextFormat(Qt.TextFormat.RichText)
        self.body.setWordWrap(True)
        layout.addWidget(self.body)
        self.buttons = QDialogButtonBox()
        self.send_button = self.buttons.addButton(self.tr("Send to cloud"), QDialogButtonBox.ButtonRole.AcceptRole)
        self.keep_button = self.buttons.addButton(self.tr("Keep local"), QDialogButtonBox.ButtonRole.RejectRole)
        self.keep_button.setDefault(True)
        self.buttons.accepted.connect(self.accept)
        self.buttons.rejected.connect(self.reject)
        layout.addWidget(self.buttons)

    def showEvent(self, event: QShowEvent) -> None:  # noqa: N802 - Qt's name
        super().showEvent(event)
        self.keep_button.setFocus()  # the focused button answers Enter: Keep local, never Send
        self.keep_button.setDefault(True)

    def _name(self, file: CloudFile, image_number: int) -> str:
        if file.kind == "image":
            return self.tr("image {0} ({1})").format(image_number, file.name)
        return file.name
