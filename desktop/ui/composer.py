"""The chat page's input box with its actions (widgets only).

Keys: with "Enter sends" on (the default), Enter sends and Shift+Enter breaks the line; off, Enter breaks the
line and Ctrl+Enter sends. Ctrl+Enter always sends. Escape cancels an edit.

Editing a message puts the draft being written aside (its text and its attachments) and brings it back when
the edit is sent or cancelled: nothing typed is lost. Attachments are the tray's (``AttachmentTray``);
another kind of attachment joins the draft by adding itself to ``Draft`` and ``Composer.take_draft``.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QKeyEvent
from PySide6.QtWidgets import QHBoxLayout, QLabel, QPushButton, QVBoxLayout, QWidget

from .attachments import AttachmentTray, ImageInput
from .documents import AttachedDocument, DocumentTray


@dataclass
class Draft:
    """What the composer holds for a message not sent yet."""

    text: str = ""
    images: list[bytes] = field(default_factory=list)
    documents: list[AttachedDocument] = field(default_factory=list)


class MessageInput(ImageInput):
    """The message box: Enter / Shift+Enter / Ctrl+Enter / Escape as the module says."""

    submitted = Signal()
    escaped = Signal()

    def __init__(self, tray: AttachmentTray, documents: DocumentTray, parent: QWidget | None = None) -> None:
        super().__init__(tray, documents, parent)
        self.enter_sends = True

    def keyPressEvent(self, event: QKeyEvent) -> None:  # noqa: N802 - Qt override
        key, mods = event.key(), event.modifiers()
        if key in (Qt.Key.Key_Return, Qt.Key.Key_Enter):
            ctrl = bool(mods & Qt.KeyboardModifier.ControlModifier)
            shift = bool(mods & Qt.KeyboardModifier.ShiftModifier)
            if ctrl or (self.enter_sends and not shift):
                self.submitted.emit()
                return
            if self.enter_sends and shift:  # Shift+Enter is a plain new line, not Qt's line separator
                self.insertPlainText("\n")
                return
        if key == Qt.Key.Key_Escape:
            self.escaped.emit()
            return
        super().keyPressEvent(event)


class Composer(QWidget):
    """The input box and the chat actions."""

    edit_cancelled = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(12, 0, 12, 8)
        self.editing_bar = QWidget()
        self.editing_bar.setObjectName("editing-bar")
        bar = QHBoxLayout(self.editing_bar)
        bar.setContentsMargins(0, 0, 0, 0)
        self.editing_label = QLabel(self.tr("Editing a message: Send asks again on a new branch (the old one is "
                                            "kept). Escape cancels."))
        self.editing_label.setWordWrap(True)
        self.cancel_edit_button = QPushButton(self.tr("Cancel"))
        self.cancel_edit_button.setObjectName("cancel-edit")
        self.cancel_edit_button.clicked.connect(self.edit_cancelled)
        bar.addWidget(self.editing_label, 1)
        bar.addWidget(self.cancel_edit_button)
        self.editing_bar.setVisible(False)
        self.notice = QLabel("")  # a refusal (an image the model cannot read...), in whole sentences
        self.notice.setObjectName("composer-notice")
        self.notice.setWordWrap(True)
        self.notice.setStyleSheet("color: #b00020;")
        self.notice.setVisible(False)
        self.attachments = AttachmentTray()  # images for the next message: attach, paste, drop
        self.documents = DocumentTray()  # documents for the next message: attach, drop
        self.input = MessageInput(self.attachments, self.documents)
        self.input.setObjectName("input")
        self.input.setFixedHeight(84)
        self.input.escaped.connect(self._escape)
        row = QHBoxLayout()
        self.send_button = QPushButton(self.tr("Send"))
        self.send_button.setObjectName("send")
        self.send_button.setDefault(True)
        self.stop_button = QPushButton(self.tr("Stop"))
        self.stop_button.setObjectName("stop")
        self.regenerate_button = QPushButton(self.tr("Regenerate"))
        self.regenerate_button.setObjectName("regenerate")
        self.regenerate_button.setToolTip(self.tr("Ask again; the earlier replies are kept (‹ › on the reply)"))
        self.edit_button = QPushButton(self.tr("Edit last message"))
        self.edit_button.setObjectName("edit-last")
        for b in (self.regenerate_button, self.edit_button):
            row.addWidget(b)
        row.addStretch(1)
        row.addWidget(self.stop_button)
        row.addWidget(self.send_button)
        layout.addWidget(self.editing_bar)
        layout.addWidget(self.notice)
        layout.addWidget(self.input)
        layout.addWidget(self.attachments)
        layout.addWidget(self.documents)
        layout.addLayout(row)
        self.editing: int | None = None  # the message being edited
        self._draft: Draft | None = None  # the draft put aside while editing
        self.set_enter_sends(True)

    def set_enter_sends(self, on: bool) -> None:
        self.input.enter_sends = on
        self.input.setPlaceholderText(self.tr("Type a message (Enter sends, Shift+Enter: new line)") if on
                                      else self.tr("Type a message (Ctrl+Enter sends)"))

    # -- drafts and editing ------------------------------------------------------------------------

    def take_draft(self) -> Draft:
        """The text and attachments written so far; the composer is emptied."""
        draft = Draft(self.input.toPlainText(), self.attachments.take(), self.documents.take())
        self.input.clear()
        return draft

    def put_draft(self, draft: Draft) -> None:
        self.input.setPlainText(draft.text)
        for data in draft.images:
            self.attachments.add(data)
        self.documents.put_back(draft.documents)

    def begin_edit(self, message_id: int, text: str) -> None:
        """Edit ``text`` (the message ``message_id``); the draft is put aside (once, however many edits)."""
        if self.editing is None:
            self._draft = self.take_draft()
        else:
            self.take_draft()
        self.editing = message_id
        self.input.setPlainText(text)
        self.editing_bar.setVisible(True)
        self.input.setFocus()

    def end_edit(self) -> None:
        """Leave editing (sent or cancelled): the draft put aside comes back."""
        if self.editing is None:
            return
        self.editing = None
        self.editing_bar.setVisible(False)
        self.take_draft()
        draft, self._draft = self._draft, None
        if draft is not None:
            self.put_draft(draft)

    def _escape(self) -> None:
        if self.editing is not None:
            self.edit_cancelled.emit()

    def show_notice(self, text: str) -> None:
        self.notice.setText(text)
        self.notice.setVisible(bool(text))
