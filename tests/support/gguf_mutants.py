"""Byte-level edits of a good GGUF's header (same length, so tensor offsets stay valid) for crash tests."""

from __future__ import annotations

import struct
from pathlib import Path

_STRING, _ARRAY = 8, 9


def _value_offset(data: bytes, key: str) -> int:
    """Offset of the value type field that follows metadata ``key``."""
    raw = key.encode()
    at = data.find(struct.pack("<Q", len(raw)) + raw)
    if at < 0:
        raise KeyError(key)
    return at + 8 + len(raw)


def string_array(data: bytes, key: str) -> list[tuple[int, bytes]]:
    """(offset, bytes) of each string of the array ``key``."""
    at = _value_offset(data, key)
    vtype, etype, count = struct.unpack_from("<IIQ", data, at)
    assert vtype == _ARRAY and etype == _STRING, key
    pos, out = at + 16, []
    for _ in range(count):
        (n,) = struct.unpack_from("<Q", data, pos)
        out.append((pos + 8, bytes(data[pos + 8: pos + 8 + n])))
        pos += 8 + n
    return out


def duplicate_vocabulary(src: Path, dst: Path) -> tuple[bytes, bytes]:
    """Copy ``src`` with one token string overwritten by another of the same length: llama.cpp's vocabulary
    then has two equal strings (GGML_ASSERT in llama-vocab.cpp). Returns (replaced, duplicated)."""
    data = bytearray(src.read_bytes())
    seen: dict[int, bytes] = {}
    for offset, token in string_array(data, "tokenizer.ggml.tokens")[100:]:
        other = seen.get(len(token))
        if other is not None and other != token:
            data[offset: offset + len(token)] = other
            dst.write_bytes(bytes(data))
            return token, other
        seen[len(token)] = token
    raise AssertionError("no two tokens of the same length")


def set_uint32(src: Path, dst: Path, key: str, value: int) -> Path:
    """Copy ``src`` with the uint32 metadata ``key`` set to ``value``."""
    data = bytearray(src.read_bytes())
    at = _value_offset(data, key)
    (vtype,) = struct.unpack_from("<I", data, at)
    assert vtype == 4, f"{key} is not a uint32"
    struct.pack_into("<I", data, at + 4, value)
    dst.write_bytes(bytes(data))
    return dst


def architecture(path: Path) -> str:
    data = path.read_bytes()[:1 << 16]
    at = _value_offset(data, "general.architecture")
    (n,) = struct.unpack_from("<Q", data, at + 4)
    return data[at + 12: at + 12 + n].decode()
