"""Documents for the next message: an attach button, one chip per attached document (click to remove), and
the reading of a dropped or chosen file in a worker thread (a bounded child process) with its progress and a
Cancel button. Widgets only: what a document holds is read by ``engine.documents`` via the controller."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from PySide6.QtCore import Signal
from PySide6.QtWidgets import QFileDialog, QLabel, QProgressBar, QPushButton, QWidget

from ..engine import EXTENSIONS
from ..session.controller import ChatController
from ..session.turns import AttachedDocument
from .tray import Tray
from .workers import Job

SUFFIXES = EXTENSIONS


class DocumentReadWorker(Job):
    """Reads one document file off the GUI thread; Cancel ends its reader process at once."""

    def __init__(self, path: Path, parent: Any = None) -> None:
        super().__init__(parent)
        self.path = path

    def work(self) -> AttachedDocument:
        self.report_stage("reading", 0.0)
        return ChatController.read_document(self.path, cancel=self.cancel_event)


def chip_text(filename: str, detail: str = "") -> str:
    return f"📄 {filename}" + (f" · {detail}" if detail else "")


def describe(document: Any) -> str:
    units = len(document.units)
    if units and document.units[0].kind == "page":
        return f"{units} p."
    return f"{units} §"


class DocumentTray(Tray[AttachedDocument]):
    """The documents attached to the message being written, as chips, with Attach and a reading row."""

    read_done = Signal()  # a file finished reading (attached, refused or cancelled)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__("documents", "attach-document", parent)
        self.queue: list[Path] = []
        self.worker: DocumentReadWorker | None = None
        self.attach_button.setText(self.tr("Attach document…"))
        self.reading = QLabel("")
        self.reading.setObjectName("document-reading")
        self.progress = QProgressBar()
        self.progress.setRange(0, 0)  # busy: a reader reports no fraction
        self.progress.setMaximumWidth(120)
        self.cancel_button = QPushButton(self.tr("Cancel"))
        self.cancel_button.setObjectName("cancel-document")
        self.cancel_button.clicked.connect(self.cancel)
        self.chips: list[QPushButton] = []
        self._redraw()

    def choose_files(self) -> None:
        pattern = " ".join(f"*{s}" for s in SUFFIXES)
        names, _ = QFileDialog.getOpenFileNames(self, self.tr("Attach documents"), "",
                                                self.tr("Documents ({0})").format(pattern))
        self.add_files([Path(n) for n in names])

    def add_files(self, paths: list[Path]) -> None:
        """Read ``paths`` one after another in a worker thread; each becomes a chip when it is read."""
        self.queue += paths
        self._next()

    def busy(self) -> bool:
        return self.worker is not None

    def cancel(self) -> None:
        """Stop reading the current file and forget the waiting ones; nothing of them is attached."""
        self.queue.clear()
        if self.worker is not None:
            self.worker.cancel()

    def cancel_and_wait(self, ms: int = 10000) -> None:
        """The window closes: the file being read stops (its reader process ends) before the tray is deleted, so
        no thread of it is destroyed while it runs."""
        self.queue.clear()
        worker, self.worker = self.worker, None
        if worker is not None:
            self._unfollow(worker)
            worker.cancel()
            if not worker.wait(ms):
                worker.setParent(None)  # still running: Job keeps it until its thread ends

    def put_back(self, documents: list[AttachedDocument]) -> None:
        """Documents read earlier (a draft put aside while editing) return to the tray."""
        if documents:
            self.pending.extend(documents)
            self._redraw()

    def remove(self, index: int) -> None:
        if 0 <= index < len(self.pending):
            del self.pending[index]
            self._redraw()

    def hand_over(self, other: DocumentTray) -> None:
        """A new window takes over (a language switch): the file being read and those waiting go on in
        ``other``'s tray (the read is not restarted, and its thread outlives this tray)."""
        other.queue, self.queue = other.queue + self.queue, []
        worker, self.worker = self.worker, None
        if worker is not None:
            self._unfollow(worker)
            worker.setParent(other)
            other._follow(worker)
        other._redraw()
        other._next()

    def _next(self) -> None:
        if self.worker is not None or not self.queue:
            return
        path = self.queue.pop(0)
        worker = DocumentReadWorker(path, self)
        self._follow(worker)
        self._redraw()
        worker.start()

    def _follow(self, worker: DocumentReadWorker) -> None:
        worker.succeeded.connect(self._read)
        worker.failed.connect(self._failed)
        worker.cancelled.connect(self._finished)
        self.worker = worker
        self.reading.setText(self.tr("Reading {0}…").format(worker.path.name))

    def _unfollow(self, worker: DocumentReadWorker) -> None:
        worker.succeeded.disconnect(self._read)
        worker.failed.disconnect(self._failed)
        worker.cancelled.disconnect(self._finished)

    def _read(self, attached: AttachedDocument) -> None:
        self.pending.append(attached)
        self._finished()

    def _failed(self, line: str) -> None:
        self.refused.emit(line)
        self._finished()

    def _finished(self) -> None:
        self.worker = None
        self._redraw()
        self.read_done.emit()
        self._next()

    def _redraw(self) -> None:
        self._empty_row(self.attach_button, self.reading, self.progress, self.cancel_button)
        self.row.addWidget(self.attach_button)
        self.chips = []
        for i, attached in enumerate(self.pending):
            chip = QPushButton(chip_text(attached.filename, describe(attached.document)) + "  ✕")
            chip.setObjectName("document-chip")
            chip.setFlat(True)
            chip.setToolTip(self.tr("Remove {0}").format(attached.filename))
            chip.clicked.connect(lambda _=False, i=i: self.remove(i))
            self.chips.append(chip)
            self.row.addWidget(chip)
        for w in (self.reading, self.progress, self.cancel_button):
            self.row.addWidget(w)
            w.setVisible(self.worker is not None)
        self.row.addStretch(1)
        self.changed.emit()
