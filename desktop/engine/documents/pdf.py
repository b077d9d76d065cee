"""PDF through pypdf: one unit per page, numbered as a viewer numbers them (1, 2, ...). Pages with no text
layer (scans) are listed in ``Document.empty_pages`` so that a vision model can be offered their images."""

from __future__ import annotations

import io
import re
from typing import Any

from .model import Document, DocumentError, Unit

FIX = "open it in a PDF viewer and save or print it to a new PDF"


def read_pdf(data: bytes, name: str) -> Document:
    import pypdf
    from pypdf.errors import DependencyError, FileNotDecryptedError, PdfReadError

    try:
        reader = pypdf.PdfReader(io.BytesIO(data), strict=False)
        if reader.is_encrypted:
            try:  # many PDFs are encrypted with an empty user password only to restrict printing
                if not reader.decrypt(""):
                    raise FileNotDecryptedError("a password is needed")
            except (FileNotDecryptedError, DependencyError, NotImplementedError):
                raise DocumentError(f"{name} is password-protected; {FIX} without the password, then attach "
                                    "that") from None
        units: list[Unit] = []
        empty: list[int] = []
        for i, page in enumerate(reader.pages):
            _two_byte_cmaps_as_identity(page)
            text = (page.extract_text() or "").strip()
            if not text:
                empty.append(i + 1)
            units.append(Unit("page", i + 1, text))
    except DocumentError:
        raise
    except (PdfReadError, ValueError, KeyError, TypeError, IndexError, AttributeError, AssertionError,
            RecursionError, OSError) as err:
        raise DocumentError(f"{name} is not a readable PDF ({_short(err)}); {FIX}") from None
    if not units:
        raise DocumentError(f"{name} has no pages; {FIX}")
    return Document(name, "PDF", tuple(units), tuple(empty))


_TWO_BYTE_SPACE = re.compile(rb"1\s+begincodespacerange\s*<0000>\s*<FFFF>\s*endcodespacerange", re.IGNORECASE)


def _two_byte_cmaps_as_identity(page: Any) -> None:
    """pypdf reads a composite (Type0) font whose encoding is an embedded CMap one byte at a time, which turns
    text into NULs and wrong characters (fpdf2 writes CJK fonts so). When that CMap's only code space is two
    bytes and the font maps codes to text with /ToUnicode, reading it as Identity-H gives the right text: only
    the code width matters for extraction. The change stays in this reader's memory."""
    from pypdf.generic import NameObject, StreamObject

    resources = page.get("/Resources")
    fonts = resources.get_object().get("/Font") if resources is not None else None
    if fonts is None:
        return
    for ref in fonts.get_object().values():
        font = ref.get_object()
        encoding = font.get("/Encoding")
        encoding = encoding.get_object() if encoding is not None else None
        if font.get("/Subtype") == "/Type0" and isinstance(encoding, StreamObject) and "/ToUnicode" in font \
                and _TWO_BYTE_SPACE.search(encoding.get_data()):
            font[NameObject("/Encoding")] = NameObject("/Identity-H")


def _short(err: BaseException) -> str:
    return (" ".join(str(err).split()) or type(err).__name__)[:120]


MAX_SCAN_PAGES = 8  # pages offered to a vision model at most: each is an image of about a thousand tokens


def page_images(data: bytes, name: str, pages: list[int]) -> list[tuple[int, bytes]]:
    """(page, image bytes) for the scanned ``pages``: the largest image drawn on each page, as PNG or JPEG."""
    import pypdf
    from pypdf.errors import DependencyError, PdfReadError

    out: list[tuple[int, bytes]] = []
    try:
        reader = pypdf.PdfReader(io.BytesIO(data), strict=False)
        if reader.is_encrypted:
            reader.decrypt("")
        for number in pages[:MAX_SCAN_PAGES]:
            images = list(reader.pages[number - 1].images)
            if not images:
                continue
            best = max(images, key=lambda im: im.image.width * im.image.height if im.image is not None else 0)
            if best.data[:3] == b"\xff\xd8\xff" or best.data[:8] == b"\x89PNG\r\n\x1a\n":
                out.append((number, best.data))
            elif best.image is not None:
                buffer = io.BytesIO()
                best.image.convert("RGB").save(buffer, format="PNG")
                out.append((number, buffer.getvalue()))
    except (ImportError, DependencyError):  # pypdf decodes images with Pillow: without it, no page images
        return []
    except (PdfReadError, ValueError, KeyError, TypeError, IndexError, AttributeError, OSError) as err:
        raise DocumentError(f"the scanned pages of {name} cannot be read as images ({_short(err)}); {FIX}") from None
    return out
