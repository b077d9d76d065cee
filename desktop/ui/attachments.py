"""Images for the next message: an attach button, thumbnails of what is attached, and an input box that takes
pasted or dropped images (PNG, JPEG, WebP files, or image data on the clipboard). Widgets only: whether an
image is one, and whether the model can read it, is decided by ``engine.chat.image_parts`` and the controller."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from PySide6.QtCore import QBuffer, QByteArray, QIODevice, QMimeData, Qt
from PySide6.QtGui import QImage, QPixmap
from PySide6.QtWidgets import QFileDialog, QLabel, QPlainTextEdit, QPushButton, QWidget

from ..engine import GenerationError, read_image
from .tray import Tray

THUMBNAIL_PX = 96
SUFFIXES = (".png", ".jpg", ".jpeg", ".webp")


def thumbnail(source: str | bytes, size: int = THUMBNAIL_PX) -> QPixmap:
    """A pixmap of the image scaled to fit ``size`` x ``size`` (empty when it cannot be decoded)."""
    pixmap = QPixmap()
    if isinstance(source, bytes):
        pixmap.loadFromData(source)
    else:
        pixmap.load(source)
    if pixmap.isNull():
        return pixmap
    return pixmap.scaled(size, size, Qt.AspectRatioMode.KeepAspectRatio, Qt.TransformationMode.SmoothTransformation)


def png_bytes(image: QImage) -> bytes:
    data = QByteArray()
    buffer = QBuffer(data)
    buffer.open(QIODevice.OpenModeFlag.WriteOnly)
    image.save(buffer, "PNG")  # type: ignore[call-overload]  # the stubs say bytes; PySide6 takes str
    buffer.close()
    return bytes(data.data())


def thumbnail_row(sources: list[str] | list[bytes], object_name: str = "thumbnail") -> list[QLabel]:
    labels = []
    for source in sources:
        label = QLabel()
        label.setObjectName(object_name)
        label.setPixmap(thumbnail(source))
        if isinstance(source, str):
            label.setToolTip(Path(source).name)
        labels.append(label)
    return labels


class AttachmentTray(Tray[bytes]):
    """The images attached to the message being written, shown as thumbnails, with Attach and Remove."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__("attachments", "attach", parent)
        self.attach_button.setText(self.tr("Attach image…"))
        self.clear_button = QPushButton(self.tr("Remove images"))
        self.clear_button.setObjectName("clear-attachments")
        self.clear_button.clicked.connect(self.clear)
        self.thumbs: list[QLabel] = []
        self._redraw()

    def set_allowed(self, allowed: bool, reason: str = "") -> None:
        """The attach button is off (``reason`` as its tooltip) when the model that would answer reads no images."""
        self.attach_button.setEnabled(allowed)
        self.attach_button.setToolTip("" if allowed else reason)

    def choose_files(self) -> None:
        names, _ = QFileDialog.getOpenFileNames(self, self.tr("Attach images"), "",
                                                self.tr("Images (*.png *.jpg *.jpeg *.webp)"))
        self.add_files([Path(n) for n in names])

    def add_files(self, paths: list[Path]) -> None:
        for path in paths:
            try:
                self.add(read_image(path))
            except GenerationError as err:
                self.refused.emit(str(err))

    def add(self, data: bytes) -> None:
        self.pending.append(data)
        self._redraw()

    def _redraw(self) -> None:
        self._empty_row(self.attach_button, self.clear_button)
        self.thumbs = thumbnail_row(self.pending, "attached")
        self.row.addWidget(self.attach_button)
        for label in self.thumbs:
            self.row.addWidget(label)
        self.row.addWidget(self.clear_button)
        self.row.addStretch(1)
        self.clear_button.setVisible(bool(self.pending))
        self.changed.emit()


class ImageInput(QPlainTextEdit):
    """The message box; a pasted or dropped image (data, or PNG/JPEG/WebP files) goes to ``tray``, a dropped
    document (PDF, Word, HWP, HWPX, text) to ``documents``."""

    def __init__(self, tray: AttachmentTray, documents: Any = None, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.tray = tray
        self.documents = documents  # a documents.DocumentTray (add_files)

    def canInsertFromMimeData(self, source: QMimeData) -> bool:  # noqa: N802 - Qt override
        return source.hasImage() or bool(self._files(source)) or bool(self._documents(source)) or \
            super().canInsertFromMimeData(source)

    def insertFromMimeData(self, source: QMimeData) -> None:  # noqa: N802 - Qt override
        files, documents = self._files(source), self._documents(source)
        if documents:
            self.documents.add_files(documents)
        if files:
            self.tray.add_files(files)
        elif documents:
            return
        elif source.hasImage():
            image = QImage(source.imageData())
            if image.isNull():
                self.tray.refused.emit("the pasted data is not an image; attach a PNG, JPEG or WebP image")
            else:
                self.tray.add(png_bytes(image))
        else:
            super().insertFromMimeData(source)

    def _documents(self, source: QMimeData) -> list[Path]:
        from ..engine import EXTENSIONS

        if self.documents is None or not source.hasUrls():
            return []
        paths = [Path(u.toLocalFile()) for u in source.urls() if u.isLocalFile()]
        return [p for p in paths if p.suffix.lower() in EXTENSIONS]

    @staticmethod
    def _files(source: QMimeData) -> list[Path]:
        if not source.hasUrls():
            return []
        paths = [Path(u.toLocalFile()) for u in source.urls() if u.isLocalFile()]
        return [p for p in paths if p.suffix.lower() in SUFFIXES]

