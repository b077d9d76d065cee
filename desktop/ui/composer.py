"""The chat page's input box with its actions, and the first-run welcome page (widgets only)."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QHBoxLayout, QLabel, QPushButton, QVBoxLayout, QWidget

from .attachments import AttachmentTray, ImageInput
from .documents import DocumentTray


class Composer(QWidget):
    """The input box and the chat actions."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(12, 0, 12, 8)
        self.editing_label = QLabel(self.tr("Editing your last message: Send replaces it and asks again."))
        self.editing_label.setVisible(False)
        self.attachments = AttachmentTray()  # images for the next message: attach, paste, drop
        self.documents = DocumentTray()  # documents for the next message: attach, drop
        self.input = ImageInput(self.attachments, self.documents)
        self.input.setObjectName("input")
        self.input.setPlaceholderText(self.tr("Type a message (Ctrl+Enter sends)"))
        self.input.setFixedHeight(84)
        row = QHBoxLayout()
        self.send_button = QPushButton(self.tr("Send"))
        self.send_button.setObjectName("send")
        self.send_button.setDefault(True)
        self.stop_button = QPushButton(self.tr("Stop"))
        self.stop_button.setObjectName("stop")
        self.regenerate_button = QPushButton(self.tr("Regenerate"))
        self.regenerate_button.setObjectName("regenerate")
        self.edit_button = QPushButton(self.tr("Edit last message"))
        self.edit_button.setObjectName("edit-last")
        for b in (self.regenerate_button, self.edit_button):
            row.addWidget(b)
        row.addStretch(1)
        row.addWidget(self.stop_button)
        row.addWidget(self.send_button)
        layout.addWidget(self.editing_label)
        layout.addWidget(self.input)
        layout.addWidget(self.attachments)
        layout.addWidget(self.documents)
        layout.addLayout(row)


class WelcomePage(QWidget):
    """First run: no model yet. Offers the demo model, a download or a conversion."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("welcome")
        layout = QVBoxLayout(self)
        layout.addStretch(1)
        title = QLabel(self.tr("Welcome to EXAONE Desktop"))
        title.setStyleSheet("font-size: 20px; font-weight: bold;")
        text = QLabel(self.tr("There is no model on this computer yet. Start with the small demo model (it runs "
                              "offline, made for trying the app), or download or convert an EXAONE model."))
        text.setWordWrap(True)
        text.setAlignment(Qt.AlignmentFlag.AlignHCenter)
        text.setFixedWidth(440)  # a word-wrapped label under an alignment flag otherwise gets too little height
        text.setMinimumHeight(text.heightForWidth(440))
        self.demo_button = QPushButton(self.tr("Set up the demo model"))
        self.demo_button.setObjectName("welcome-demo")
        self.manager_button = QPushButton(self.tr("Download or convert a model…"))
        self.manager_button.setObjectName("welcome-manager")
        for w in (title, text, self.demo_button, self.manager_button):
            layout.addWidget(w, 0, Qt.AlignmentFlag.AlignHCenter)
        layout.addStretch(2)
