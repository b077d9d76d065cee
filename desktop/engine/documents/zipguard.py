"""Reading a zip container (DOCX, HWPX) without letting a decompression bomb through.

Before anything is inflated, every member's declared size and compression ratio are checked against the
limits below, and every read is bounded again by what was declared (a member that lies about its size is
cut off and refused), so a hostile archive costs at most ``MAX_UNZIPPED_BYTES`` of memory.
"""

from __future__ import annotations

import io
import zipfile
import zlib
from typing import IO

from .model import DocumentError

MAX_MEMBERS = 10_000
MAX_UNZIPPED_BYTES = 512 * 2**20  # all members together, as declared
MAX_MEMBER_BYTES = 256 * 2**20
MAX_RATIO = 200  # uncompressed / compressed size of a member; XML compresses ~5-30x, bombs ~1000x
RATIO_FLOOR_BYTES = 2**20  # members this small are never a bomb, whatever their ratio


def _bomb(name: str, what: str) -> DocumentError:
    return DocumentError(f"{name} looks like a decompression bomb ({what}); it was not opened: "
                         "save the document again from its editor, or attach a PDF of it")


def open_zip(data: bytes, name: str, kind: str) -> zipfile.ZipFile:
    """The checked archive of a ``kind`` (DOCX, HWPX) file called ``name``."""
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
    except zipfile.BadZipFile:
        raise DocumentError(f"{name} is not a valid {kind} file (its zip container is damaged); "
                            f"save it again as {kind}") from None
    members = archive.infolist()
    if len(members) > MAX_MEMBERS:
        raise _bomb(name, f"{len(members)} files inside")
    total = 0
    for info in members:
        total += info.file_size
        if info.file_size > MAX_MEMBER_BYTES:
            raise _bomb(name, f"{info.filename} would unpack to {info.file_size / 2**20:.0f} MB")
        if info.file_size > RATIO_FLOOR_BYTES and info.file_size > MAX_RATIO * max(info.compress_size, 1):
            raise _bomb(name, f"{info.filename} is compressed {info.file_size // max(info.compress_size, 1)}:1")
        if info.flag_bits & 0x1:
            raise DocumentError(f"{name} is password-protected; remove the password in its editor and attach "
                                "it again")
    if total > MAX_UNZIPPED_BYTES:
        raise _bomb(name, f"it would unpack to {total / 2**20:.0f} MB")
    return archive


def read_member(archive: zipfile.ZipFile, member: str, name: str) -> bytes:
    """A member's bytes, never more than it declared (a lying member is refused)."""
    info = archive.getinfo(member)
    try:
        with archive.open(info) as fh:
            data = _bounded_read(fh, info.file_size)
    except (zipfile.BadZipFile, zlib.error, OSError, EOFError, ValueError, NotImplementedError) as err:
        raise DocumentError(f"{name} is damaged ({member}: {err}); save it again from its editor") from None
    return data


def _bounded_read(fh: IO[bytes], declared: int) -> bytes:
    data = fh.read(declared + 1)
    if len(data) > declared:
        raise ValueError("it holds more than its declared size")
    return data
