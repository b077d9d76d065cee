"""Word (.docx) through python-docx, after the zip container is checked for bombs. Paragraphs and tables
(cells joined by `` | ``, one row a line) in document order. Units are pages where the file marks page
breaks (explicit breaks, or the breaks Word records when it lays the document out), otherwise sections
that start at each level-1 or level-2 heading."""

from __future__ import annotations

import io
from collections.abc import Iterator

from .model import Document, DocumentError, Unit, UnitKind
from .zipguard import open_zip

OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
_W = "{http://schemas.openxmlformats.org/wordprocessingml/2006/main}"
FIX = "open it in Word (or LibreOffice) and save it again as .docx"


def _blocks(document: object) -> Iterator[tuple[str, str, int]]:
    """(style name, text, page breaks before it) for each paragraph and table row, in order."""
    from docx.table import Table
    from docx.text.paragraph import Paragraph

    body = document.element.body  # type: ignore[attr-defined]
    for child in body.iterchildren():
        if child.tag == f"{_W}p":
            para = Paragraph(child, document)  # type: ignore[arg-type]
            breaks = sum(1 for el in child.iter(f"{_W}br") if el.get(f"{_W}type") == "page")
            breaks += sum(1 for _ in child.iter(f"{_W}lastRenderedPageBreak"))
            style = para.style.name if para.style is not None else ""
            yield str(style or ""), para.text, breaks
        elif child.tag == f"{_W}tbl":
            table = Table(child, document)  # type: ignore[arg-type]
            for row in table.rows:
                cells: list[str] = []
                for cell in row.cells:
                    text = cell.text.strip()
                    if not cells or cells[-1] != text:  # a merged cell repeats in every column it spans
                        cells.append(text)
                yield "", " | ".join(cells), 0


def read_docx(data: bytes, name: str) -> Document:
    if data.startswith(OLE_MAGIC):
        raise DocumentError(f"{name} is password-protected or an old .doc file; remove the password, or {FIX}, "
                            "then attach it again")
    open_zip(data, name, "DOCX")  # refuses bombs before python-docx inflates anything
    import docx
    from docx.opc.exceptions import PackageNotFoundError

    try:
        document = docx.Document(io.BytesIO(data))
        blocks = list(_blocks(document))
    except (PackageNotFoundError, KeyError, ValueError, AttributeError, TypeError) as err:
        raise DocumentError(f"{name} is not a readable .docx file ({err}); {FIX}") from None
    except Exception as err:  # noqa: BLE001 - lxml's XMLSyntaxError and other parse failures of a damaged file
        raise DocumentError(f"{name} is not a readable .docx file ({type(err).__name__}); {FIX}") from None
    paged = any(breaks for _, _, breaks in blocks)
    pieces: list[list[str]] = [[]]
    for style, text, breaks in blocks:
        if paged:
            for _ in range(breaks):
                pieces.append([])
        elif style.startswith(("Heading 1", "Heading 2", "Title")) and any(t.strip() for t in pieces[-1]):
            pieces.append([])
        pieces[-1].append(text)
    kind: UnitKind = "page" if paged else "section"
    units = tuple(Unit(kind, i + 1, "\n".join(p).strip()) for i, p in enumerate(pieces))
    if not paged:
        units = tuple(Unit(kind, i + 1, u.text) for i, u in enumerate(u for u in units if u.text))
    return Document(name, "DOCX", units or (Unit(kind, 1, ""),))
