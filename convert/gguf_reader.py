"""Bounded GGUF header parser: reads a GGUF's header with plain file reads, checks every length against the
bytes left in the file before reading or allocating, and never touches tensor data.

``parse`` returns the raw header (metadata by key, the token list, the tensor table); ``get``/``get_int``/
``get_str`` give typed access to its metadata. Problems are raised as ``Corrupt`` (a problem and its fix), which
``gguf_check`` turns into one line naming the file.
"""

from __future__ import annotations

import struct
from collections.abc import Container
from dataclasses import dataclass
from typing import Any, BinaryIO

from gguf import GGML_QUANT_SIZES, GGMLQuantizationType, GGUFValueType

from .families import LLAMA_MAX_LAYERS
from .gguf_keys import EOS_IDS_KEY

SUPPORTED_VERSIONS: tuple[int, ...] = (2, 3)
GGUF_MAGIC = b"GGUF"
MAX_DIMS = 4  # GGML_MAX_DIMS
MAX_TENSOR_NAME = 63  # GGML_MAX_NAME - 1
MAX_KEY_LENGTH = 65535  # GGUF spec
MAX_KEPT_STRING = 16 << 20  # longer metadata strings are skipped, never read into memory
# Absolute caps, checked before anything is read or allocated, so a hostile header cannot cost unbounded memory
# or time even when the file is large enough to "hold" what it claims. Real files are far below them: the
# largest EXAONE vocabulary has 153,600 tokens (the largest common ones about 262,000), tokens are a few dozen
# bytes, a header has about 50 metadata entries, and a model a few thousand tensors.
MAX_TOKEN_LENGTH = 64 << 10  # bytes in one string of a string array (a token, a merge)
MAX_STRING_ARRAY = 1 << 22  # strings in one string array (the vocabulary, the merges): 4,194,304
MAX_KV_COUNT = 1 << 16  # metadata entries
MAX_TENSOR_COUNT = 1 << 17  # tensors
DEFAULT_ALIGNMENT = 32
INT64_MAX = 2**63 - 1
_CHUNK = 1 << 20

FIX_CORRUPT = "re-download the file or convert it again with exaone-convert"
FIX_VERSION = "convert the model again with exaone-convert (GGUF versions 2 and 3 are supported)"

# Fixed-size GGUF value types -> struct format.
_SCALAR_FORMATS: dict[GGUFValueType, struct.Struct] = {
    GGUFValueType.UINT8: struct.Struct("<B"),
    GGUFValueType.INT8: struct.Struct("<b"),
    GGUFValueType.UINT16: struct.Struct("<H"),
    GGUFValueType.INT16: struct.Struct("<h"),
    GGUFValueType.UINT32: struct.Struct("<I"),
    GGUFValueType.INT32: struct.Struct("<i"),
    GGUFValueType.FLOAT32: struct.Struct("<f"),
    GGUFValueType.BOOL: struct.Struct("<?"),
    GGUFValueType.UINT64: struct.Struct("<Q"),
    GGUFValueType.INT64: struct.Struct("<q"),
    GGUFValueType.FLOAT64: struct.Struct("<d"),
}
INT_TYPES = frozenset(
    {GGUFValueType.UINT8, GGUFValueType.INT8, GGUFValueType.UINT16, GGUFValueType.INT16, GGUFValueType.UINT32,
     GGUFValueType.INT32, GGUFValueType.UINT64, GGUFValueType.INT64}
)
FLOAT_TYPES = frozenset({GGUFValueType.FLOAT32, GGUFValueType.FLOAT64})
_U32 = struct.Struct("<I")
_U64 = struct.Struct("<Q")
_MIN_KV_BYTES = 8 + 4 + 1  # key length, value type, smallest value
_MIN_TENSOR_BYTES = 8 + 4 + 4 + 8  # name length, n_dims, type, offset
TOKENS_KEY = "tokenizer.ggml.tokens"
SWA_PATTERN_SUFFIX = ".attention.sliding_window_pattern"  # a bool per layer (or one integer period)

KV = dict[str, tuple[GGUFValueType, Any]]  # metadata by key: (value type, value)


@dataclass(frozen=True)
class KeptArray:
    """Which arrays of a key are read into ``ArrayInfo.ints``: element types and the largest count."""

    types: frozenset[GGUFValueType]
    max_count: int


# The arrays whose contents are kept, by key (or, starting with '.', by the key's end); every other array is
# skipped. An array of another element type or longer than ``max_count`` is skipped too.
KEPT_ARRAYS: dict[str, KeptArray] = {
    EOS_IDS_KEY: KeptArray(INT_TYPES, 64),
    SWA_PATTERN_SUFFIX: KeptArray(frozenset({GGUFValueType.BOOL}), LLAMA_MAX_LAYERS),
}


def _kept(key: str, elem_type: GGUFValueType, count: int) -> bool:
    """Whether ``KEPT_ARRAYS`` keeps the contents of ``key``'s array of ``count`` ``elem_type`` elements."""
    rules = (rule for name, rule in KEPT_ARRAYS.items()
             if key == name or name.startswith(".") and key.endswith(name))
    return any(elem_type in rule.types and count <= rule.max_count for rule in rules)


class Corrupt(Exception):
    """A problem found while parsing; turned into an InvalidGGUF with the file name and a fix."""

    def __init__(self, problem: str, fix: str = FIX_CORRUPT) -> None:
        super().__init__(problem)
        self.problem = problem
        self.fix = fix


@dataclass(frozen=True)
class ArrayInfo:
    """An array value: its element type and length (contents are kept only for the short arrays that
    ``KEPT_ARRAYS`` names)."""

    elem_type: GGUFValueType
    count: int
    ints: tuple[int, ...] | None = None


class TooLong:
    """A metadata string longer than MAX_KEPT_STRING, skipped without reading."""

    def __init__(self, length: int) -> None:
        self.length = length


class _BoundedReader:
    """Sequential reads from a file of known size; every read is checked against the bytes left."""

    def __init__(self, f: BinaryIO, size: int) -> None:
        self._f = f
        self.size = size
        self._buf = b""
        self._off = 0
        self._buf_start = 0  # absolute file position of _buf[0]

    @property
    def pos(self) -> int:
        return self._buf_start + self._off

    @property
    def left(self) -> int:
        return self.size - self.pos

    def _need(self, n: int, what: str) -> None:
        if n < 0 or n > self.left:
            raise Corrupt(
                f"{what} needs {n} bytes at offset {self.pos} but only {self.left} are left "
                "(the file is truncated or corrupt)"
            )

    def take(self, n: int, what: str) -> bytes:
        self._need(n, what)
        end = self._off + n
        if end <= len(self._buf):
            out = self._buf[self._off:end]
            self._off = end
            return out
        rest = self._buf[self._off:]
        more = self._f.read(max(_CHUNK, n - len(rest)))
        self._buf_start = self.pos
        self._buf, self._off = rest + more, 0
        if len(self._buf) < n:
            raise Corrupt(f"{what}: the file ended early (it is truncated or was changed while being read)")
        out = self._buf[:n]
        self._off = n
        return out

    def skip(self, n: int, what: str) -> None:
        self._need(n, what)
        if self._off + n <= len(self._buf):
            self._off += n
            return
        target = self.pos + n
        self._f.seek(target)
        self._buf, self._off, self._buf_start = b"", 0, target

    def unpack(self, fmt: struct.Struct, what: str) -> Any:
        return fmt.unpack(self.take(fmt.size, what))[0]

    def string_length(self, what: str) -> int:
        n = int(self.unpack(_U64, f"length of {what}"))
        if n > self.left:
            raise Corrupt(
                f"{what} claims {n} bytes at offset {self.pos} but only {self.left} bytes are left in the file "
                "(the file is truncated or corrupt)"
            )
        return n


def _value_type(raw: int, what: str) -> GGUFValueType:
    try:
        return GGUFValueType(raw)
    except ValueError:
        raise Corrupt(f"{what} has unknown value type {raw}") from None


def _read_array(r: _BoundedReader, key: str) -> tuple[ArrayInfo, list[str] | None]:
    """Read an array header and walk its elements; returns the strings only for the token list."""
    elem_type = _value_type(int(r.unpack(_U32, f"element type of {key}")), f"array {key!r}")
    count = int(r.unpack(_U64, f"length of array {key!r}"))
    if elem_type == GGUFValueType.ARRAY:
        raise Corrupt(f"array {key!r} holds arrays, which GGUF loaders do not support")
    if elem_type == GGUFValueType.STRING and count > MAX_STRING_ARRAY:
        raise Corrupt(f"array {key!r} claims {count} elements (the limit is {MAX_STRING_ARRAY} strings; "
                      "the file is corrupt or not a usable model)")
    min_size = 8 if elem_type == GGUFValueType.STRING else _SCALAR_FORMATS[elem_type].size
    if count > r.left // min_size:
        raise Corrupt(
            f"array {key!r} claims {count} elements, more than the {r.left} bytes left in the file can hold "
            "(the file is truncated or corrupt)"
        )
    info = ArrayInfo(elem_type, count)
    if _kept(key, elem_type, count):
        fmt = _SCALAR_FORMATS[elem_type]
        return ArrayInfo(elem_type, count, tuple(int(r.unpack(fmt, f"array {key!r}")) for _ in range(count))), None
    if elem_type != GGUFValueType.STRING:
        r.skip(count * min_size, f"array {key!r}")
        return info, None
    if key == TOKENS_KEY:
        return info, [r.take(_element_length(r, key, i), f"element {i} of {key!r}").decode("utf-8", errors="replace")
                      for i in range(count)]
    for i in range(count):
        r.skip(_element_length(r, key, i), f"element {i} of {key!r}")
    return info, None


def _element_length(r: _BoundedReader, key: str, i: int) -> int:
    """The length of string ``i`` of the array ``key``: at most MAX_TOKEN_LENGTH bytes, else Corrupt."""
    n = r.string_length(f"element {i} of {key!r}")
    if n > MAX_TOKEN_LENGTH:
        raise Corrupt(f"element {i} of array {key!r} claims {n} bytes (the limit is {MAX_TOKEN_LENGTH}; "
                      "the file is corrupt or not a usable model)")
    return n


def _read_value(r: _BoundedReader, key: str, vtype: GGUFValueType) -> Any:
    if vtype == GGUFValueType.STRING:
        n = r.string_length(f"value of {key!r}")
        if n > MAX_KEPT_STRING:
            r.skip(n, f"value of {key!r}")
            return TooLong(n)
        return r.take(n, f"value of {key!r}").decode("utf-8", errors="replace")
    return r.unpack(_SCALAR_FORMATS[vtype], f"value of {key!r}")


@dataclass
class Header:
    version: int
    kv: KV
    tokens: list[str] | None
    tensors: list[tuple[str, tuple[int, ...], GGMLQuantizationType, int, int]]  # name, dims, type, offset, nbytes
    data_start: int


def _read_preamble(r: _BoundedReader) -> tuple[int, int, int]:
    magic = r.take(4, "magic") if r.left >= 4 else b""
    if magic != GGUF_MAGIC:
        raise Corrupt(
            f"not a GGUF file (starts with {magic!r}, expected {GGUF_MAGIC!r})",
            "pick a .gguf model file, or convert a Hugging Face checkpoint with exaone-convert",
        )
    version = int(r.unpack(_U32, "GGUF version"))
    if version not in SUPPORTED_VERSIONS:
        swapped = int.from_bytes(version.to_bytes(4, "little"), "big")
        if swapped in SUPPORTED_VERSIONS:
            raise Corrupt("big-endian GGUF files are not supported", "use a little-endian GGUF (the usual kind)")
        raise Corrupt(f"unsupported GGUF version {version}", FIX_VERSION)
    n_tensors = int(r.unpack(_U64, "tensor count"))
    n_kv = int(r.unpack(_U64, "metadata count"))
    if n_tensors > r.left // _MIN_TENSOR_BYTES or n_kv > r.left // _MIN_KV_BYTES or (
        n_tensors * _MIN_TENSOR_BYTES + n_kv * _MIN_KV_BYTES > r.left
    ):
        raise Corrupt(
            f"the header claims {n_tensors} tensors and {n_kv} metadata entries, "
            f"more than a {r.size}-byte file can hold (the file is truncated or corrupt)"
        )
    if n_tensors > MAX_TENSOR_COUNT or n_kv > MAX_KV_COUNT:
        raise Corrupt(
            f"the header claims {n_tensors} tensors and {n_kv} metadata entries (the limits are "
            f"{MAX_TENSOR_COUNT} tensors and {MAX_KV_COUNT} entries; the file is corrupt or not a usable model)"
        )
    return version, n_tensors, n_kv


def _read_name(r: _BoundedReader, what: str, limit: int, seen: Container[str], too_long: str, twice: str) -> str:
    """A metadata key or a tensor name: at most ``limit`` bytes (else ``too_long``, with ``{n}`` its length) and
    not one of ``seen`` (else ``twice``, with ``{name}`` the name quoted)."""
    n = r.string_length(what)
    if n > limit:
        raise Corrupt(too_long.format(n=n))
    name = r.take(n, what).decode("utf-8", errors="replace")
    if name in seen:
        raise Corrupt(twice.format(name=repr(name)))
    return name


def _read_kv(r: _BoundedReader, n_kv: int) -> tuple[KV, list[str] | None]:
    kv: KV = {}
    tokens: list[str] | None = None
    for i in range(n_kv):
        key = _read_name(r, f"key of metadata entry {i}", MAX_KEY_LENGTH, kv,
                         f"metadata key {i} is {{n}} bytes long (the GGUF limit is {MAX_KEY_LENGTH})",
                         "metadata key {name} appears twice")
        vtype = _value_type(int(r.unpack(_U32, f"type of {key!r}")), f"metadata {key!r}")
        if vtype == GGUFValueType.ARRAY:
            info, strings = _read_array(r, key)
            kv[key] = (vtype, info)
            if strings is not None:
                tokens = strings
        else:
            kv[key] = (vtype, _read_value(r, key, vtype))
    return kv, tokens


def _tensor_nbytes(name: str, dims: tuple[int, ...], qtype: GGMLQuantizationType) -> int:
    block, type_size = GGML_QUANT_SIZES[qtype]
    n = 1
    for d in dims:
        if d > INT64_MAX:
            raise Corrupt(f"tensor {name!r} has a negative or huge dimension {d}")
        if d and n > INT64_MAX // d:
            raise Corrupt(f"tensor {name!r} has dimensions {list(dims)} whose product overflows 64 bits")
        n *= d
    if dims and dims[0] % block:
        raise Corrupt(f"tensor {name!r} has first dimension {dims[0]}, not a multiple of {qtype.name}'s "
                       f"block size {block}")
    return n // block * type_size


def _read_tensor_infos(
    r: _BoundedReader, n_tensors: int
) -> list[tuple[str, tuple[int, ...], GGMLQuantizationType, int, int]]:
    infos = []
    seen: set[str] = set()
    for i in range(n_tensors):
        name = _read_name(r, f"name of tensor {i}", MAX_TENSOR_NAME, seen,
                          f"tensor {i} has a {{n}}-byte name (llama.cpp allows {MAX_TENSOR_NAME})",
                          "tensor {name} appears twice")
        seen.add(name)
        n_dims = int(r.unpack(_U32, f"dimension count of tensor {name!r}"))
        if n_dims > MAX_DIMS:
            raise Corrupt(f"tensor {name!r} has {n_dims} dimensions (at most {MAX_DIMS} are allowed)")
        dims = tuple(int(r.unpack(_U64, f"dimensions of tensor {name!r}")) for _ in range(n_dims))
        raw_type = int(r.unpack(_U32, f"type of tensor {name!r}"))
        try:
            qtype = GGMLQuantizationType(raw_type)
        except ValueError:
            raise Corrupt(f"tensor {name!r} has unknown ggml type {raw_type}",
                           "update exaone-desktop, or convert the model again with exaone-convert") from None
        if qtype not in GGML_QUANT_SIZES:
            raise Corrupt(f"tensor {name!r} has ggml type {qtype.name}, which has no known block size")
        offset = int(r.unpack(_U64, f"data offset of tensor {name!r}"))
        infos.append((name, dims, qtype, offset, _tensor_nbytes(name, dims, qtype)))
    return infos


def _alignment(kv: KV) -> int:
    if "general.alignment" not in kv:
        return DEFAULT_ALIGNMENT
    vtype, value = kv["general.alignment"]
    if vtype not in INT_TYPES or value <= 0 or value & (value - 1):
        raise Corrupt(f"general.alignment is {value!r}; it must be a power of two")
    return int(value)


def _check_tensor_data(header: Header, size: int) -> None:
    alignment = _alignment(header.kv)
    if header.data_start > size and header.tensors:
        raise Corrupt(f"tensor data should start at byte {header.data_start}, past the end of the "
                       f"{size}-byte file (the file is truncated)")
    data_size = max(size - header.data_start, 0)
    for name, _dims, _qtype, offset, nbytes in header.tensors:
        if offset % alignment:
            raise Corrupt(f"tensor {name!r} starts at offset {offset}, not a multiple of the alignment {alignment}")
        if offset > data_size or nbytes > data_size - offset:
            raise Corrupt(
                f"tensor {name!r} data (bytes {offset}..{offset + nbytes} of the data section) runs past the end "
                f"of the file, whose data section has {data_size} bytes (the file is truncated or corrupt)"
            )


def parse(f: BinaryIO, size: int) -> Header:
    """Read and check a GGUF header from ``f`` (``size`` bytes long); Corrupt names the first problem."""
    r = _BoundedReader(f, size)
    version, n_tensors, n_kv = _read_preamble(r)
    kv, tokens = _read_kv(r, n_kv)
    tensors = _read_tensor_infos(r, n_tensors)
    alignment = _alignment(kv)
    data_start = -(-r.pos // alignment) * alignment
    header = Header(version, kv, tokens, tensors, data_start)
    _check_tensor_data(header, size)
    return header


# ------------------------------------------------------------------------------------------------
# Typed access to metadata

def get(kv: KV, key: str, kinds: frozenset[GGUFValueType], what: str) -> Any:
    """The value at ``key`` (None when absent); Corrupt when it is not one of ``kinds`` or was too long to keep."""
    if key not in kv:
        return None
    vtype, value = kv[key]
    if vtype not in kinds:
        raise Corrupt(f"metadata {key!r} is a {vtype.name.lower()}, expected {what}")
    if isinstance(value, TooLong):
        raise Corrupt(f"metadata {key!r} is {value.length} bytes long (the limit is {MAX_KEPT_STRING})")
    return value


def get_int(kv: KV, key: str) -> int | None:
    """An integer value, or None when absent."""
    value = get(kv, key, INT_TYPES, "an integer")
    return None if value is None else int(value)


def get_str(kv: KV, key: str) -> str | None:
    """A string value, or None when absent."""
    value = get(kv, key, frozenset({GGUFValueType.STRING}), "a string")
    return None if value is None else str(value)
