"""The sidebar of past conversations: search, new, rename, delete, export; each chat with its date.

It renames, deletes and exports through the controller and the store itself; opening a chat and starting a
new one change the chat page too, so it asks for those (``selected``, ``new_requested``)."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QDateTime, QLocale, QStandardPaths, Qt, Signal
from PySide6.QtWidgets import (
    QFileDialog,
    QHBoxLayout,
    QInputDialog,
    QLabel,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QMessageBox,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from ..session.controller import ChatController
from ..session.store import SearchHit, StoreError


class ConversationSidebar(QWidget):
    """Shows the controller's conversations and does what the user asks of them."""

    selected = Signal(int)
    new_requested = Signal()
    rename_requested = Signal(int)
    delete_requested = Signal(int)
    export_requested = Signal(int)
    search_changed = Signal(str)
    said = Signal(str, bool)  # a line for the status line, and whether it is an error

    def __init__(self, controller: ChatController, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.controller = controller
        self.setObjectName("sidebar")
        layout = QVBoxLayout(self)
        layout.setContentsMargins(6, 6, 6, 6)
        self.new_button = QPushButton(self.tr("New chat"))
        self.new_button.clicked.connect(self.new_requested)
        self.search = QLineEdit()
        self.search.setPlaceholderText(self.tr("Search chats"))
        self.search.setClearButtonEnabled(True)
        self.search.textChanged.connect(self.search_changed)
        self.list = QListWidget()
        self.list.setObjectName("conversations")
        self.list.currentRowChanged.connect(self._current_changed)
        self.empty_label = QLabel("")
        self.empty_label.setObjectName("no-match")
        self.empty_label.setWordWrap(True)
        self.empty_label.setStyleSheet("color: #666666;")
        self.empty_label.setVisible(False)
        buttons = QHBoxLayout()
        self.rename_button = QPushButton(self.tr("Rename"))
        self.delete_button = QPushButton(self.tr("Delete"))
        self.export_button = QPushButton(self.tr("Export"))
        for button, signal in ((self.rename_button, self.rename_requested), (self.delete_button, self.delete_requested),
                               (self.export_button, self.export_requested)):
            button.clicked.connect(lambda _=False, s=signal: self._emit_current(s))
            buttons.addWidget(button)
        layout.addWidget(self.new_button)
        layout.addWidget(self.search)
        layout.addWidget(self.empty_label)
        layout.addWidget(self.list, 1)
        layout.addLayout(buttons)
        self.search_changed.connect(lambda _text: self.refresh())
        self.rename_requested.connect(lambda cid: self.rename(cid))
        self.delete_requested.connect(lambda cid: self.delete(cid))
        self.export_requested.connect(lambda cid: self.export(cid))

    # -- what it does ------------------------------------------------------------------------------

    def refresh(self) -> None:
        c = self.controller
        self.set_items(c.store.search(self.search.text()), c.session.conversation_id)

    def rename(self, conversation_id: int, title: str | None = None) -> None:
        store = self.controller.store
        if title is None:
            current = store.conversation(conversation_id).title
            title, ok = QInputDialog.getText(self, self.tr("Rename chat"), self.tr("New name:"), text=current)
            if not ok:
                return
        store.rename(conversation_id, title)
        self.refresh()

    def delete(self, conversation_id: int, *, confirm: bool = True) -> None:
        if confirm:
            answer = QMessageBox.question(self, self.tr("Delete chat"),
                                          self.tr("Delete this chat and all its messages?"))
            if answer != QMessageBox.StandardButton.Yes:
                return
        was_open = conversation_id == self.controller.session.conversation_id
        if self.controller.delete_conversation(conversation_id) and was_open:
            self.new_requested.emit()
        self.refresh()

    def export(self, conversation_id: int, path: Path | None = None) -> Path | None:
        if path is None:
            name, _ = QFileDialog.getSaveFileName(self, self.tr("Export chat"), str(self.export_suggestion(
                conversation_id)), "Markdown (*.md);;JSON (*.json)")
            if not name:
                return None
            path = Path(name)
        try:
            written = self.controller.store.export(conversation_id, path)
        except (StoreError, OSError) as err:
            self.said.emit(str(err), True)
            return None
        self.said.emit(self.tr("Exported to {0}").format(str(written)), False)
        return written

    def export_suggestion(self, conversation_id: int) -> Path:
        """Where the export dialog opens: the user's documents folder, the chat's title as the name."""
        title = self.controller.store.conversation(conversation_id).title or "chat"
        safe = "".join("_" if ch in '/\\:*?"<>|' else ch for ch in title).strip() or "chat"
        folder = QStandardPaths.writableLocation(QStandardPaths.StandardLocation.DocumentsLocation) or str(Path.home())
        return Path(folder) / f"{safe}.md"

    # -- showing -----------------------------------------------------------------------------------

    def set_items(self, hits: list[SearchHit], current: int | None) -> None:
        # Signals stay blocked while items are replaced: clear() would hand deleted items to Python.
        self.list.blockSignals(True)
        self.list.clear()
        for hit in hits:
            title = hit.title or self.tr("New chat")
            when = self.when(hit.updated_at)
            item = QListWidgetItem(f"{title}\n{when}" if when else title)
            item.setData(Qt.ItemDataRole.UserRole, hit.conversation_id)
            item.setToolTip(hit.snippet or title)
            self.list.addItem(item)
            if hit.conversation_id == current:
                self.list.setCurrentItem(item)
        self.list.blockSignals(False)
        query = self.search.text().strip()
        self.empty_label.setText(self.tr("No chat contains “{0}”.").format(query) if query and not hits else "")
        self.empty_label.setVisible(bool(query) and not hits)

    def when(self, timestamp: float) -> str:
        """The time today, else the date, in the UI language's short format."""
        if timestamp <= 0:
            return ""
        moment = QDateTime.fromSecsSinceEpoch(int(timestamp))
        locale = QLocale()
        if moment.date() == QDateTime.currentDateTime().date():
            return self.tr("Today {0}").format(locale.toString(moment.time(), QLocale.FormatType.ShortFormat))
        return locale.toString(moment.date(), QLocale.FormatType.ShortFormat)

    def current_id(self) -> int | None:
        item = self.list.currentItem()
        return int(item.data(Qt.ItemDataRole.UserRole)) if item is not None else None

    def ids(self) -> list[int]:
        return [int(self.list.item(i).data(Qt.ItemDataRole.UserRole)) for i in range(self.list.count())]

    def _current_changed(self, row: int) -> None:
        item = self.list.item(row) if row >= 0 else None
        if item is not None:
            self.selected.emit(int(item.data(Qt.ItemDataRole.UserRole)))

    def _emit_current(self, signal: Signal) -> None:
        current = self.current_id()
        if current is not None:
            signal.emit(current)  # type: ignore[attr-defined]
