"""What the composer's trays (images, documents) share: a row with an Attach button, the things attached to the
next message, and taking them all when it is sent."""

from __future__ import annotations

from typing import Generic, TypeVar

from PySide6.QtCore import Signal
from PySide6.QtWidgets import QHBoxLayout, QPushButton, QWidget

T = TypeVar("T")


class Tray(QWidget, Generic[T]):
    """A row of what is attached (``pending``); a subclass chooses files and draws the row (``_redraw``)."""

    changed = Signal()
    refused = Signal(str)  # one line: why a file (or a paste) was not attached

    def __init__(self, name: str, attach_name: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName(name)
        self.pending: list[T] = []
        self.row = QHBoxLayout(self)
        self.row.setContentsMargins(0, 0, 0, 0)
        self.attach_button = QPushButton()
        self.attach_button.setObjectName(attach_name)
        self.attach_button.clicked.connect(self.choose_files)

    def choose_files(self) -> None:
        raise NotImplementedError

    def take(self) -> list[T]:
        """What is attached; the tray is emptied."""
        taken, self.pending = self.pending, []
        if taken:  # an empty tray is drawn empty already
            self._redraw()
        return taken

    def clear(self) -> None:
        self.take()

    def _redraw(self) -> None:
        raise NotImplementedError

    def _empty_row(self, *keep: QWidget) -> None:
        """Take every widget out of the row; those not in ``keep`` are deleted (``_redraw`` makes them anew)."""
        while self.row.count():
            item = self.row.takeAt(0)
            widget = item.widget() if item is not None else None
            if widget is not None and widget not in keep:
                widget.deleteLater()
