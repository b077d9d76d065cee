"""A minimal writer of OLE compound files (MS-CFB version 3, 512-byte sectors), enough to build HWP 5.0 test
files: olefile only reads them. Streams under 4096 bytes go to the mini stream (64-byte sectors), as the
format requires; each storage's children are chained through right siblings in the format's name order."""

from __future__ import annotations

import math
import struct
from dataclasses import dataclass, field

SECTOR = 512
MINI = 64
CUTOFF = 4096
FREE, END, FATSECT, NOSTREAM = 0xFFFFFFFF, 0xFFFFFFFE, 0xFFFFFFFD, 0xFFFFFFFF


@dataclass
class _Entry:
    name: str
    kind: int  # 1 storage, 2 stream, 5 root
    data: bytes = b""
    children: list[_Entry] = field(default_factory=list)
    start: int = END
    left: int = NOSTREAM
    right: int = NOSTREAM
    child: int = NOSTREAM


def _order(e: _Entry) -> tuple[int, str]:
    return len(e.name), e.name.upper()


def write_cfb(streams: dict[str, bytes]) -> bytes:
    """A compound file holding ``streams`` ({"BodyText/Section0": bytes, ...}; storages are made as needed)."""
    root = _Entry("Root Entry", 5)
    for path, data in streams.items():
        node = root
        *folders, leaf = path.split("/")
        for folder in folders:
            found = next((c for c in node.children if c.name == folder), None)
            if found is None:
                found = _Entry(folder, 1)
                node.children.append(found)
            node = found
        node.children.append(_Entry(leaf, 2, data))
    entries: list[_Entry] = []

    def number(e: _Entry) -> None:
        entries.append(e)
        for c in sorted(e.children, key=_order):
            number(c)

    number(root)
    ids = {id(e): i for i, e in enumerate(entries)}
    for e in entries:
        kids = sorted(e.children, key=_order)
        if kids:
            e.child = ids[id(kids[0])]
            for a, b in zip(kids, kids[1:], strict=False):
                a.right = ids[id(b)]
    # the mini stream and its FAT
    mini_stream = bytearray()
    mini_fat: list[int] = []
    for e in entries:
        if e.kind == 2 and len(e.data) < CUTOFF:
            if not e.data:
                continue
            first = len(mini_fat)
            n = math.ceil(len(e.data) / MINI)
            mini_fat += [first + k + 1 for k in range(n - 1)] + [END]
            mini_stream += e.data + b"\0" * (n * MINI - len(e.data))
            e.start = first
    root.data = bytes(mini_stream)
    # regular sectors: big streams, the mini stream, the mini FAT, the directory, then the FAT
    sectors: list[bytes] = []
    fat: list[int] = []

    def place(data: bytes, marker: int | None = None) -> int:
        if not data:
            return END
        first = len(sectors)
        n = math.ceil(len(data) / SECTOR)
        padded = data + b"\0" * (n * SECTOR - len(data))
        sectors.extend(padded[k * SECTOR:(k + 1) * SECTOR] for k in range(n))
        fat.extend([first + k + 1 for k in range(n - 1)] + [END] if marker is None else [marker] * n)
        return first

    for e in entries:
        if e.kind == 2 and len(e.data) >= CUTOFF:
            e.start = place(e.data)
    root.start = place(root.data)
    mini_fat_bytes = struct.pack(f"<{len(mini_fat)}I", *mini_fat) if mini_fat else b""
    if mini_fat_bytes:
        mini_fat_bytes += struct.pack("<I", FREE) * ((-len(mini_fat)) % (SECTOR // 4))
    mini_fat_start = place(mini_fat_bytes)
    directory = b"".join(_dir_entry(e) for e in entries)
    directory += _dir_entry(None) * ((-len(entries)) % (SECTOR // 128))
    dir_start = place(directory)
    n_fat = 1
    while (len(sectors) + n_fat) > n_fat * (SECTOR // 4):
        n_fat += 1
    assert n_fat <= 109, "too big for a header-only DIFAT"
    fat_start = len(sectors)
    fat += [FATSECT] * n_fat
    fat += [FREE] * (n_fat * (SECTOR // 4) - len(fat))
    fat_bytes = struct.pack(f"<{len(fat)}I", *fat)
    sectors.extend(fat_bytes[k * SECTOR:(k + 1) * SECTOR] for k in range(n_fat))
    difat = [fat_start + k for k in range(n_fat)] + [FREE] * (109 - n_fat)
    header = (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\0" * 16
              + struct.pack("<HHHHH", 0x3E, 3, 0xFFFE, 9, 6) + b"\0" * 6
              + struct.pack("<IIIIIIIII", 0, n_fat, dir_start, 0, CUTOFF,
                            mini_fat_start if mini_fat else END, len(mini_fat_bytes) // SECTOR, END, 0)
              + struct.pack("<109I", *difat))
    assert len(header) == SECTOR
    return header + b"".join(sectors)


def _dir_entry(e: _Entry | None) -> bytes:
    if e is None:
        return b"\0" * 64 + struct.pack("<HBBIII", 0, 0, 0, NOSTREAM, NOSTREAM, NOSTREAM) + b"\0" * 36 + \
            struct.pack("<IQ", 0, 0)
    name = e.name.encode("utf-16-le")
    size = len(e.data)
    return (name + b"\0" * (64 - len(name)) + struct.pack("<HBBIII", len(name) + 2, e.kind, 1, e.left, e.right,
                                                               e.child)
            + b"\0" * 16 + b"\0" * 4 + b"\0" * 16 + struct.pack("<IQ", e.start if size or e.kind == 5 else END, size))
