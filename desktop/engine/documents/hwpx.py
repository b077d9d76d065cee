"""HWPX (Hangul's OWPML: a zip of XML) with the standard library: the body sections are
``Contents/section0.xml``, ``section1.xml`` ..., paragraphs are ``hp:p`` elements and their text is in
``hp:t`` runs (``hp:tab`` and ``hp:lineBreak`` inside a run are a tab and a line break).
Table cells are paragraphs of their own. One unit per section.
The zip is checked for bombs before anything is inflated."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET

from .model import Document, DocumentError, Unit
from .zipguard import open_zip, read_member

FIX = "open it in Hangul (한글) and save it again as .hwpx, or save it as PDF"
_SECTION = re.compile(r"^Contents/section(\d+)\.xml$", re.IGNORECASE)


def _local(tag: object) -> str:
    return tag.rsplit("}", 1)[-1] if isinstance(tag, str) else ""


def _paragraphs(root: ET.Element) -> list[str]:
    """The text of each ``p`` in document order (a paragraph holding a table comes after the table's cells)."""
    out: list[str] = []

    def walk(element: ET.Element, buffer: list[str]) -> None:
        for child in element:
            name = _local(child.tag)
            if name == "p":
                own: list[str] = []
                walk(child, own)
                text = "".join(own).strip()
                if text:
                    out.append(text)
            elif name == "t":
                buffer.append(child.text or "")
                for inner in child:  # tabs and line breaks inside a run, and the text after them
                    kind = _local(inner.tag)
                    buffer.append("\t" if kind == "tab" else "\n" if kind == "lineBreak" else "")
                    buffer.append(inner.tail or "")
            else:
                walk(child, buffer)

    walk(root, [])
    return out


def read_hwpx(data: bytes, name: str) -> Document:
    archive = open_zip(data, name, "HWPX")
    sections = sorted(((int(m.group(1)), info.filename) for info in archive.infolist()
                       if (m := _SECTION.match(info.filename))), key=lambda s: s[0])
    if not sections:
        raise DocumentError(f"{name} is not an HWPX document (it has no Contents/section*.xml); {FIX}")
    units: list[Unit] = []
    for number, (_, member) in enumerate(sections, start=1):
        raw = read_member(archive, member, name)
        if b"<!DOCTYPE" in raw[:4096] or b"<!ENTITY" in raw[:65536]:
            raise DocumentError(f"{name} declares XML entities ({member}); this reader refuses them: {FIX}")
        try:
            root = ET.fromstring(raw)
        except ET.ParseError as err:
            raise DocumentError(f"{name} is damaged ({member}: {err}); {FIX}") from None
        units.append(Unit("section", number, "\n".join(_paragraphs(root))))
    return Document(name, "HWPX", tuple(units))
