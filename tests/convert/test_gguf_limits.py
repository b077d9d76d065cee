"""A hostile GGUF header cannot cost unbounded memory or time: absurd token lengths, vocabulary sizes and
key/value or tensor counts are refused with one line before anything is read or allocated."""

from __future__ import annotations

import struct
from pathlib import Path

import pytest
from exaone_convert import InvalidGGUF, inspect_gguf
from exaone_convert.gguf_reader import MAX_KV_COUNT, MAX_STRING_ARRAY, MAX_TENSOR_COUNT, MAX_TOKEN_LENGTH

_STRING, _ARRAY = 8, 9


def _str(text: str | bytes) -> bytes:
    raw = text.encode() if isinstance(text, str) else text
    return struct.pack("<Q", len(raw)) + raw


def _header(n_tensors: int, n_kv: int) -> bytes:
    return b"GGUF" + struct.pack("<IQQ", 3, n_tensors, n_kv)


def _kv_string(key: str, value: str) -> bytes:
    return _str(key) + struct.pack("<I", _STRING) + _str(value)


def _tokens(count: int, body: bytes) -> bytes:
    return _str("tokenizer.ggml.tokens") + struct.pack("<IIQ", _ARRAY, _STRING, count) + body


def _refused(path: Path, data: bytes, size: int = 0) -> str:
    """inspect_gguf's one line for ``data`` (a file of at least ``size`` bytes: the rest is a sparse hole)."""
    path.write_bytes(data)
    if size > len(data):
        with path.open("r+b") as f:
            f.truncate(size)
    with pytest.raises(InvalidGGUF) as info:
        inspect_gguf(path)
    line = str(info.value)
    assert "\n" not in line and path.name in line
    assert "re-download the file or convert it again with exaone-convert" in line
    return line


def test_a_token_longer_than_the_limit_is_refused_though_the_file_holds_it(tmp_path: Path) -> None:
    n = MAX_TOKEN_LENGTH + 1
    data = _header(0, 2) + _kv_string("general.architecture", "exaone") + _tokens(1, _str(b"a" * n))
    line = _refused(tmp_path / "long-token.gguf", data)
    assert f"element 0 of array 'tokenizer.ggml.tokens' claims {n} bytes" in line
    assert f"limit is {MAX_TOKEN_LENGTH}" in line


def test_a_token_at_the_limit_is_read(tmp_path: Path) -> None:
    """The cap refuses only what is past it: a vocabulary with a token of exactly the limit passes the token
    read and is refused later for what the file lacks (no tensors, no required metadata)."""
    data = _header(0, 2) + _kv_string("general.architecture", "exaone") + _tokens(
        2, _str(b"a" * MAX_TOKEN_LENGTH) + _str("b"))
    line = _refused(tmp_path / "ok-token.gguf", data)
    assert "claims" not in line and "required metadata" in line


def test_a_huge_vocabulary_count_is_refused_before_reading(tmp_path: Path) -> None:
    count = 20_000_000  # two-byte tokens: a file of 200 MB holds them (a sparse one here)
    data = _header(0, 2) + _kv_string("general.architecture", "exaone") + _tokens(count, _str("ab") * 4)
    line = _refused(tmp_path / "many-tokens.gguf", data, size=count * 10 + 4096)
    assert f"claims {count} elements (the limit is {MAX_STRING_ARRAY} strings" in line


def test_the_vocabulary_limit_leaves_room_for_real_vocabularies() -> None:
    assert MAX_STRING_ARRAY >= 10 * 262_144  # the largest EXAONE vocabulary is 153,600 tokens


@pytest.mark.parametrize(("n_tensors", "n_kv"), [(MAX_TENSOR_COUNT + 1, 1), (0, MAX_KV_COUNT + 1)])
def test_huge_key_value_and_tensor_counts_are_refused_though_the_file_could_hold_them(
        tmp_path: Path, n_tensors: int, n_kv: int) -> None:
    data = _header(n_tensors, n_kv) + _kv_string("general.architecture", "exaone")
    line = _refused(tmp_path / "counts.gguf", data, size=64 << 20)
    assert f"claims {n_tensors} tensors and {n_kv} metadata entries (the limits are {MAX_TENSOR_COUNT}" in line
