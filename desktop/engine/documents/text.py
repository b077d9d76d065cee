"""Plain text and Markdown: decoded (UTF-8, UTF-16 with a BOM, or the Korean legacy code page CP949), one
section per Markdown heading of level 1 or 2 (a file without headings is one section)."""

from __future__ import annotations

import codecs
import re

from .model import Document, DocumentError, Unit

_HEADING = re.compile(r"^#{1,2} \S", re.MULTILINE)


def decode(data: bytes, name: str) -> str:
    boms = ((codecs.BOM_UTF8, "utf-8-sig"), (codecs.BOM_UTF16_LE, "utf-16"), (codecs.BOM_UTF16_BE, "utf-16"))
    for bom, codec in boms:
        if data.startswith(bom):
            return data.decode(codec, "replace")
    if b"\x00" in data[:4096]:
        raise DocumentError(f"{name} is not a text file (it holds binary data); attach a .txt, .md, .pdf, .docx, "
                            ".hwp or .hwpx file")
    for codec in ("utf-8", "cp949"):
        try:
            return data.decode(codec)
        except UnicodeDecodeError:
            continue
    return data.decode("utf-8", "replace")


def read_text(data: bytes, name: str) -> Document:
    text = decode(data, name).replace("\r\n", "\n").replace("\r", "\n")
    starts = [m.start() for m in _HEADING.finditer(text)] if name.lower().endswith((".md", ".markdown")) else []
    if not starts or starts[0] != 0:
        starts = [0, *starts]
    bounds = [*starts, len(text)]
    pieces = [text[a:b].strip("\n") for a, b in zip(bounds, bounds[1:], strict=False)]
    units = tuple(Unit("section", i + 1, p) for i, p in enumerate(p for p in pieces if p.strip()))
    return Document(name, "text", units or (Unit("section", 1, ""),))
