"""HWP 5.0 (Hangul's binary format) through olefile: an OLE compound file whose ``FileHeader`` stream says
the version and whether the body is compressed or encrypted, and whose ``BodyText/Section0``,
``Section1`` ... streams hold the body as records, raw-deflate compressed when the header says so.

A record is a 32-bit header (tag: bits 0-9, level: bits 10-19, size: bits 20-31; size 0xFFF means the
real size follows as a 32-bit number) and its data. Paragraph text is the ``PARA_TEXT`` record: UTF-16LE
with control characters (codes below 32), some of which occupy 8 code units (``CONTROL_WIDTH``).
Table cells are paragraphs of their own, so their text comes out with the rest. One unit per section.
"""

from __future__ import annotations

import struct
import zlib
from collections.abc import Iterator, Mapping

from .model import Document, DocumentError, Unit

SIGNATURE = b"HWP Document File"
OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
HWPTAG_BEGIN = 0x10
HWPTAG_PARA_TEXT = HWPTAG_BEGIN + 51  # 67
MAX_SECTION_BYTES = 256 * 2**20  # one section's records, inflated

# FileHeader properties (bit -> meaning) that this reader cannot get past, and what to do instead.
COMPRESSED = 1 << 0
REFUSED_FLAGS: Mapping[int, str] = {
    1 << 1: "is password-protected; remove the password in Hangul (한글) and attach it again",
    1 << 2: "is a distribution document (배포용 문서), whose text is encrypted; ask its author for an editable "
            "copy, or save it as PDF",
    1 << 4: "is DRM-protected; open it in Hangul (한글) with its licence and save an unprotected copy",
}
FIX = "open it in Hangul (한글) and save it again, as .hwp (HWP 5) or .hwpx, or save it as PDF"

# Control characters in PARA_TEXT: how many UTF-16 code units each occupies (1 or 8) and the text it stands
# for. Codes 0-31 not listed are one unit and stand for nothing.
CONTROL_WIDTH: Mapping[int, int] = {c: 8 for c in (1, 2, 3, 4, 5, 6, 7, 8, 9, 11, 12, 14, 15, 16, 17, 18, 19, 20,
                                                    21, 22, 23)}
CONTROL_TEXT: Mapping[int, str] = {9: "\t", 10: "\n", 13: "\n", 24: "-", 30: " ", 31: " "}


def _records(data: bytes, name: str) -> Iterator[tuple[int, bytes]]:
    """(tag, data) of each record in a section stream."""
    pos, end = 0, len(data)
    while pos + 4 <= end:
        (header,) = struct.unpack_from("<I", data, pos)
        pos += 4
        tag, size = header & 0x3FF, header >> 20
        if size == 0xFFF:
            if pos + 4 > end:
                break
            (size,) = struct.unpack_from("<I", data, pos)
            pos += 4
        if pos + size > end:
            raise DocumentError(f"{name} is damaged (a record runs past the end of its section); {FIX}")
        yield tag, data[pos:pos + size]
        pos += size


def para_text(raw: bytes) -> str:
    """The text of a PARA_TEXT record: code units, with control characters turned into what they stand for."""
    units = len(raw) // 2
    out: list[str] = []
    start = i = 0
    while i < units:
        (code,) = struct.unpack_from("<H", raw, 2 * i)
        if code >= 32:
            i += 1
            continue
        out.append(raw[2 * start:2 * i].decode("utf-16-le", "replace"))
        out.append(CONTROL_TEXT.get(code, ""))
        i += CONTROL_WIDTH.get(code, 1)
        start = i
    out.append(raw[2 * start:2 * min(i, units)].decode("utf-16-le", "replace"))
    return "".join(out)


def _inflate(data: bytes, name: str, stream: str) -> bytes:
    inflater = zlib.decompressobj(-15)
    try:
        out = inflater.decompress(data, MAX_SECTION_BYTES)
    except zlib.error as err:
        raise DocumentError(f"{name} is damaged ({stream} does not decompress: {err}); {FIX}") from None
    if inflater.unconsumed_tail:
        raise DocumentError(f"{name} looks like a decompression bomb ({stream} unpacks to over "
                            f"{MAX_SECTION_BYTES // 2**20} MB); it was not read: {FIX}")
    return out


def _section_number(path: list[str]) -> int | None:
    if len(path) == 2 and path[0] == "BodyText" and path[1].startswith("Section") and path[1][7:].isdigit():
        return int(path[1][7:])
    return None


def read_hwp(data: bytes, name: str) -> Document:
    if data.startswith(SIGNATURE):  # HWP 3 and older: a plain file starting with the signature and "V3.00"
        raise DocumentError(f"{name} is an old HWP file (before HWP 5.0); {FIX}")
    if not data.startswith(OLE_MAGIC):
        raise DocumentError(f"{name} is not an HWP file; {FIX}")
    import olefile

    try:
        ole = olefile.OleFileIO(data)
    except (OSError, ValueError, struct.error, IndexError) as err:
        raise DocumentError(f"{name} is damaged (its container cannot be read: {err}); {FIX}") from None
    try:
        return _read(ole, name)
    except DocumentError:
        raise
    except (OSError, ValueError, struct.error, IndexError, KeyError, TypeError) as err:
        raise DocumentError(f"{name} is damaged ({err}); {FIX}") from None
    finally:
        ole.close()


def _read(ole: object, name: str) -> Document:
    import olefile

    assert isinstance(ole, olefile.OleFileIO)
    if not ole.exists("FileHeader"):
        raise DocumentError(f"{name} is not an HWP file (it has no FileHeader; a Word .doc file?); {FIX}")
    header = ole.openstream("FileHeader").read(256)
    if len(header) < 40 or not header.startswith(SIGNATURE):
        raise DocumentError(f"{name} is not an HWP 5.0 file (its header has no HWP signature); {FIX}")
    version, flags = struct.unpack_from("<II", header, 32)
    major = version >> 24
    if major != 5:
        raise DocumentError(f"{name} is HWP version {major}.{(version >> 16) & 0xFF}, not 5.x; {FIX}")
    for bit, reason in REFUSED_FLAGS.items():
        if flags & bit:
            raise DocumentError(f"{name} {reason}")
    sections = sorted((n, "/".join(p)) for p in ole.listdir(streams=True, storages=False)
                      if (n := _section_number(p)) is not None)
    if not sections:
        if ole.exists("ViewText"):
            raise DocumentError(f"{name} {REFUSED_FLAGS[1 << 2]}")
        raise DocumentError(f"{name} has no body text (no BodyText sections); {FIX}")
    units: list[Unit] = []
    for number, stream in sections:
        if ole.get_size(stream) > MAX_SECTION_BYTES:
            raise DocumentError(f"{name} has a section over {MAX_SECTION_BYTES // 2**20} MB; {FIX}")
        raw = ole.openstream(stream).read()
        body = _inflate(raw, name, stream) if flags & COMPRESSED else raw
        paragraphs = [para_text(chunk).strip() for tag, chunk in _records(body, name) if tag == HWPTAG_PARA_TEXT]
        units.append(Unit("section", number + 1, "\n".join(p for p in paragraphs if p)))
    return Document(name, "HWP", tuple(units))
