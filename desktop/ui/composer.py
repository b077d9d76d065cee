"""The chat page's input box with its actions (widgets only).

Keys: with "Enter sends" on (the default), Enter sends and Shift+Enter breaks the line; off, Enter breaks the
line and Ctrl+Enter sends. Ctrl+Enter always sends. Escape cancels an edit.

The composer shows the session's ``Drafting`` (the draft, the message being edited) and writes what the user
types and attaches into it; editing and putting the draft aside are decided there (``session.turns``), so a
window rebuilt for another language shows the same draft. Attachments are the trays' (``AttachmentTray``,
``DocumentTray``); another kind of attachment joins the draft by adding itself to ``Draft`` and ``_keep``.
"""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QKeyEvent
from PySide6.QtWidgets import QHBoxLayout, QLabel, QPushButton, QVBoxLayout, QWidget

from ..session.turns import Drafting
from .attachments import AttachmentTray, ImageInput
from .documents import DocumentTray


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

    def __init__(self, drafting: Drafting, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.drafting = drafting
        self._showing = False
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
        self.set_enter_sends(True)
        self.show_draft()
        self.input.textChanged.connect(self._keep)
        self.attachments.changed.connect(self._keep)
        self.documents.changed.connect(self._keep)

    @property
    def editing(self) -> int | None:
        """The message being edited (None: a new message is being written)."""
        return self.drafting.editing

    def set_enter_sends(self, on: bool) -> None:
        self.input.enter_sends = on
        self.input.setPlaceholderText(self.tr("Type a message (Enter sends, Shift+Enter: new line)") if on
                                      else self.tr("Type a message (Ctrl+Enter sends)"))

    # -- the draft ---------------------------------------------------------------------------------

    def show_draft(self) -> None:
        """Show the session's draft (after an edit began or ended, a send, or in a rebuilt window)."""
        draft = self.drafting.draft
        self._showing = True
        try:
            self.input.setPlainText(draft.text)
            self.attachments.take()
            for data in draft.images:
                self.attachments.add(data)
            self.documents.take()
            self.documents.put_back(list(draft.documents))
        finally:
            self._showing = False
        self.editing_bar.setVisible(self.drafting.editing is not None)
        if self.drafting.editing is not None:
            self.input.setFocus()

    def _keep(self) -> None:
        """What the user typed or attached goes into the session's draft."""
        if self._showing:
            return
        draft = self.drafting.draft
        draft.text = self.input.toPlainText()
        draft.images = list(self.attachments.pending)
        draft.documents = list(self.documents.pending)

    def _escape(self) -> None:
        if self.editing is not None:
            self.edit_cancelled.emit()

    def show_notice(self, text: str) -> None:
        self.notice.setText(text)
        self.notice.setVisible(bool(text))
