"""Which reader takes which file: one row per format (extensions, MIME type, reader), and the checks every
document passes before a reader sees it (size, extension)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import PurePath

from .model import Document, DocumentError

MAX_DOCUMENT_BYTES = 64 * 2**20


@dataclass(frozen=True)
class Format:
    name: str
    extensions: tuple[str, ...]
    mime: str
    reader: str  # "module:function" in this package, imported when a file of the format is read

    def read(self, data: bytes, filename: str) -> Document:
        import importlib

        module, function = self.reader.split(":")
        read: Callable[[bytes, str], Document] = getattr(importlib.import_module(f".{module}", __package__), function)
        return read(data, filename)


FORMATS: tuple[Format, ...] = (
    Format("PDF", (".pdf",), "application/pdf", "pdf:read_pdf"),
    Format("DOCX", (".docx",), "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
           "docx:read_docx"),
    Format("HWPX", (".hwpx",), "application/hwp+zip", "hwpx:read_hwpx"),
    Format("HWP", (".hwp",), "application/x-hwp", "hwp:read_hwp"),
    Format("text", (".txt", ".md", ".markdown"), "text/plain", "text:read_text"),
)
EXTENSIONS: tuple[str, ...] = tuple(e for f in FORMATS for e in f.extensions)
FIX_KIND = "attach a " + ", ".join(EXTENSIONS[:-1]) + " or " + EXTENSIONS[-1] + " file"


def format_for(filename: str) -> Format:
    """The format of ``filename`` by its extension; unknown ones are refused in one line."""
    suffix = PurePath(filename).suffix.lower()
    for f in FORMATS:
        if suffix in f.extensions:
            return f
    what = f"{suffix} files" if suffix else "files without an extension"
    raise DocumentError(f"{filename}: {what} cannot be read as documents; {FIX_KIND}")


def format_for_mime(mime: str) -> Format | None:
    return next((f for f in FORMATS if f.mime == mime.lower()), None)


def check_size(size: int, filename: str) -> None:
    if size > MAX_DOCUMENT_BYTES:
        raise DocumentError(f"{filename} is {size / 2**20:.0f} MB; documents are limited to "
                            f"{MAX_DOCUMENT_BYTES // 2**20} MB: split it or attach a smaller one")


def read_document(data: bytes, filename: str) -> Document:
    """Read a document in this process (see ``extract.extract_document`` for the bounded child process)."""
    check_size(len(data), filename)
    return format_for(filename).read(data, filename)
