"""Bounded GGUF header check: refuse broken or hostile files before llama.cpp sees them, and read model info.

llama.cpp trusts parts of a GGUF header (a ``block_count`` of 100000 aborts the whole process in
llama-cpp-python 0.3.36), so every file goes through ``inspect_gguf`` first. The parser here reads
the header with plain file reads, checks every length against the bytes left in the file before
reading or allocating, and never touches tensor data.
"""

from __future__ import annotations

import math
import struct
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, BinaryIO

from gguf import GGML_QUANT_SIZES, GGMLQuantizationType, GGUFValueType, LlamaFileType

from .errors import ConversionError
from .families import (
    ARCH_CLIP,
    END_OF_TURN,
    FAMILIES,
    LLAMA_MAX_LAYERS,
    Family,
    GGUFFacts,
    family_for_gguf,
    known_reasoning_tags,
    recommended_defaults,
    supported_gguf_architectures,
)
from .gguf_keys import CLEAN_UP_SPACES_KEY, EOS_IDS_KEY, FAMILY_KEY, IMAGE_TOKEN_KEY, SAMPLING_KEYS

SUPPORTED_ARCHITECTURES: tuple[str, ...] = supported_gguf_architectures()
SUPPORTED_VERSIONS: tuple[int, ...] = (2, 3)
GGUF_MAGIC = b"GGUF"
MAX_LAYERS = LLAMA_MAX_LAYERS
MAX_DIMS = 4  # GGML_MAX_DIMS
MAX_TENSOR_NAME = 63  # GGML_MAX_NAME - 1
MAX_KEY_LENGTH = 65535  # GGUF spec
MAX_KEPT_STRING = 16 << 20  # longer metadata strings are skipped, never read into memory
DEFAULT_ALIGNMENT = 32
REASONING_MARKERS: tuple[str, ...] = tuple(tags[0] for tags in known_reasoning_tags())
_GUESSED_FILE_TYPE = 1024
_CHUNK = 1 << 20
_INT64_MAX = 2**63 - 1

FIX_CORRUPT = "re-download the file or convert it again with exaone-convert"
FIX_PATH = "check the path, or get a model with exaone-convert (convert or --file download)"
FIX_VERSION = "convert the model again with exaone-convert (GGUF versions 2 and 3 are supported)"
FIX_ARCH = f"use an EXAONE model (supported architectures: {', '.join(SUPPORTED_ARCHITECTURES)})"

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
_INT_TYPES = frozenset(
    {GGUFValueType.UINT8, GGUFValueType.INT8, GGUFValueType.UINT16, GGUFValueType.INT16, GGUFValueType.UINT32,
     GGUFValueType.INT32, GGUFValueType.UINT64, GGUFValueType.INT64}
)
_FLOAT_TYPES = frozenset({GGUFValueType.FLOAT32, GGUFValueType.FLOAT64})
_U32 = struct.Struct("<I")
_U64 = struct.Struct("<Q")
_MIN_KV_BYTES = 8 + 4 + 1  # key length, value type, smallest value
_MIN_TENSOR_BYTES = 8 + 4 + 4 + 8  # name length, n_dims, type, offset

# Integer keys every supported model needs, with their smallest allowed value and upper bound.
_REQUIRED_INTS: tuple[tuple[str, int, int], ...] = (
    ("{arch}.block_count", 1, MAX_LAYERS),
    ("{arch}.context_length", 1, _INT64_MAX),
    ("{arch}.embedding_length", 1, _INT64_MAX),
)
# Mixture-of-experts keys llama.cpp asserts on (SIGABRT) when out of range: expert counts above its
# LLAMA_MAX_EXPERTS (1024 in llama-cpp-python 0.3.36), or more experts per token than there are.
MAX_EXPERTS = 1024
_MOE_ARCHES = frozenset(f.gguf_arch for f in FAMILIES if f.moe)
# Per-token tokenizer arrays: llama.cpp indexes them with token ids without checking their length.
_TOKEN_ARRAYS: dict[str, tuple[GGUFValueType, ...]] = {
    "tokenizer.ggml.tokens": (GGUFValueType.STRING,),
    "tokenizer.ggml.scores": (GGUFValueType.FLOAT32,),
    "tokenizer.ggml.token_type": (GGUFValueType.INT32,),
}
_OTHER_ARRAYS: dict[str, tuple[GGUFValueType, ...]] = {"tokenizer.ggml.merges": (GGUFValueType.STRING,)}
_TOKENS_KEY = "tokenizer.ggml.tokens"
_KEPT_INT_ARRAYS = frozenset({EOS_IDS_KEY})
_MAX_KEPT_INTS = 64
_SWA_PATTERN_SUFFIX = ".attention.sliding_window_pattern"  # a bool per layer (or one integer period)


@dataclass(frozen=True)
class ModelInfo:
    """What the app and the generator need to know about a GGUF, read from its header only."""

    path: Path
    architecture: str
    name: str
    n_layers: int
    context_length: int
    embedding_length: int
    n_vocab: int
    file_size: int
    quant_type: str
    chat_template: str | None
    bos_token_id: int | None
    eos_token_ids: list[int]
    add_bos: bool
    sampling_defaults: dict[str, Any]
    sliding_window: int | None
    parameter_count: int
    tensor_count: int
    reasoning: bool = False
    family: str = ""  # the EXAONE family table row (exaone_convert.families), "" when none fits
    family_label: str = ""  # that row's name for people ("EXAONE 4.5")
    image_token_id: int | None = None  # multimodal models: the id transformers puts at image positions
    bos_token: str = ""
    eos_token: str = ""
    clean_up_spaces: bool = False  # decoded text gets transformers' clean_up_tokenization (see gguf_keys)
    metadata_keys: tuple[str, ...] = field(default=(), repr=False)
    # Attention shape, for KV-cache sizing (0 = not in the header).
    head_count: int = 0
    head_count_kv: int = 0
    key_length: int = 0
    value_length: int = 0
    # {arch}.attention.sliding_window_pattern as written: a flag per layer (True: sliding), or one period
    # (every n-th layer global); () when absent. ``families.sliding_layers`` says what llama.cpp runs.
    sliding_window_pattern: tuple[bool, ...] | int = ()
    mtp_layers: int = 0  # of n_layers, the multi-token-prediction layers at the end (nextn_predict_layers)

    def describe(self) -> str:
        return f"{self.path.name}: {self.architecture}, {self.quant_type}, {self.file_size / 1e6:.1f} MB"


class InvalidGGUF(ConversionError):
    """The file is missing, unreadable, corrupt, hostile or not a supported EXAONE GGUF (one line)."""


class _Corrupt(Exception):
    """A problem found while parsing; turned into an InvalidGGUF with the file name and a fix."""

    def __init__(self, problem: str, fix: str = FIX_CORRUPT) -> None:
        super().__init__(problem)
        self.problem = problem
        self.fix = fix


@dataclass(frozen=True)
class _ArrayInfo:
    """An array value: its element type and length (contents are kept only for the short integer arrays
    in ``_KEPT_INT_ARRAYS``)."""

    elem_type: GGUFValueType
    count: int
    ints: tuple[int, ...] | None = None


class _TooLong:
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
            raise _Corrupt(
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
            raise _Corrupt(f"{what}: the file ended early (it is truncated or was changed while being read)")
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
            raise _Corrupt(
                f"{what} claims {n} bytes at offset {self.pos} but only {self.left} bytes are left in the file "
                "(the file is truncated or corrupt)"
            )
        return n

    def string(self, what: str) -> str:
        return self.take(self.string_length(what), what).decode("utf-8", errors="replace")


def _value_type(raw: int, what: str) -> GGUFValueType:
    try:
        return GGUFValueType(raw)
    except ValueError:
        raise _Corrupt(f"{what} has unknown value type {raw}") from None


def _read_array(r: _BoundedReader, key: str) -> tuple[_ArrayInfo, list[str] | None]:
    """Read an array header and walk its elements; returns the strings only for the token list."""
    elem_type = _value_type(int(r.unpack(_U32, f"element type of {key}")), f"array {key!r}")
    count = int(r.unpack(_U64, f"length of array {key!r}"))
    if elem_type == GGUFValueType.ARRAY:
        raise _Corrupt(f"array {key!r} holds arrays, which GGUF loaders do not support")
    min_size = 8 if elem_type == GGUFValueType.STRING else _SCALAR_FORMATS[elem_type].size
    if count > r.left // min_size:
        raise _Corrupt(
            f"array {key!r} claims {count} elements, more than the {r.left} bytes left in the file can hold "
            "(the file is truncated or corrupt)"
        )
    info = _ArrayInfo(elem_type, count)
    if key in _KEPT_INT_ARRAYS and elem_type in _INT_TYPES and count <= _MAX_KEPT_INTS or (
            key.endswith(_SWA_PATTERN_SUFFIX) and elem_type == GGUFValueType.BOOL and count <= LLAMA_MAX_LAYERS):
        fmt = _SCALAR_FORMATS[elem_type]
        return _ArrayInfo(elem_type, count, tuple(int(r.unpack(fmt, f"array {key!r}")) for _ in range(count))), None
    if elem_type != GGUFValueType.STRING:
        r.skip(count * min_size, f"array {key!r}")
        return info, None
    if key == _TOKENS_KEY:
        return info, [r.string(f"element {i} of {key!r}") for i in range(count)]
    for i in range(count):
        r.skip(r.string_length(f"element {i} of {key!r}"), f"element {i} of {key!r}")
    return info, None


def _read_value(r: _BoundedReader, key: str, vtype: GGUFValueType) -> Any:
    if vtype == GGUFValueType.STRING:
        n = r.string_length(f"value of {key!r}")
        if n > MAX_KEPT_STRING:
            r.skip(n, f"value of {key!r}")
            return _TooLong(n)
        return r.take(n, f"value of {key!r}").decode("utf-8", errors="replace")
    return r.unpack(_SCALAR_FORMATS[vtype], f"value of {key!r}")


@dataclass
class _Header:
    version: int
    kv: dict[str, tuple[GGUFValueType, Any]]
    tokens: list[str] | None
    tensors: list[tuple[str, tuple[int, ...], GGMLQuantizationType, int, int]]  # name, dims, type, offset, nbytes
    data_start: int


def _read_preamble(r: _BoundedReader) -> tuple[int, int, int]:
    magic = r.take(4, "magic") if r.left >= 4 else b""
    if magic != GGUF_MAGIC:
        raise _Corrupt(
            f"not a GGUF file (starts with {magic!r}, expected {GGUF_MAGIC!r})",
            "pick a .gguf model file, or convert a Hugging Face checkpoint with exaone-convert",
        )
    version = int(r.unpack(_U32, "GGUF version"))
    if version not in SUPPORTED_VERSIONS:
        swapped = int.from_bytes(version.to_bytes(4, "little"), "big")
        if swapped in SUPPORTED_VERSIONS:
            raise _Corrupt("big-endian GGUF files are not supported", "use a little-endian GGUF (the usual kind)")
        raise _Corrupt(f"unsupported GGUF version {version}", FIX_VERSION)
    n_tensors = int(r.unpack(_U64, "tensor count"))
    n_kv = int(r.unpack(_U64, "metadata count"))
    if n_tensors > r.left // _MIN_TENSOR_BYTES or n_kv > r.left // _MIN_KV_BYTES or (
        n_tensors * _MIN_TENSOR_BYTES + n_kv * _MIN_KV_BYTES > r.left
    ):
        raise _Corrupt(
            f"the header claims {n_tensors} tensors and {n_kv} metadata entries, "
            f"more than a {r.size}-byte file can hold (the file is truncated or corrupt)"
        )
    return version, n_tensors, n_kv


def _read_kv(r: _BoundedReader, n_kv: int) -> tuple[dict[str, tuple[GGUFValueType, Any]], list[str] | None]:
    kv: dict[str, tuple[GGUFValueType, Any]] = {}
    tokens: list[str] | None = None
    for i in range(n_kv):
        key_len = r.string_length(f"key of metadata entry {i}")
        if key_len > MAX_KEY_LENGTH:
            raise _Corrupt(f"metadata key {i} is {key_len} bytes long (the GGUF limit is {MAX_KEY_LENGTH})")
        key = r.take(key_len, f"key of metadata entry {i}").decode("utf-8", errors="replace")
        if key in kv:
            raise _Corrupt(f"metadata key {key!r} appears twice")
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
        if d > _INT64_MAX:
            raise _Corrupt(f"tensor {name!r} has a negative or huge dimension {d}")
        if d and n > _INT64_MAX // d:
            raise _Corrupt(f"tensor {name!r} has dimensions {list(dims)} whose product overflows 64 bits")
        n *= d
    if dims and dims[0] % block:
        raise _Corrupt(f"tensor {name!r} has first dimension {dims[0]}, not a multiple of {qtype.name}'s "
                       f"block size {block}")
    return n // block * type_size


def _read_tensor_infos(
    r: _BoundedReader, n_tensors: int
) -> list[tuple[str, tuple[int, ...], GGMLQuantizationType, int, int]]:
    infos = []
    seen: set[str] = set()
    for i in range(n_tensors):
        name_len = r.string_length(f"name of tensor {i}")
        if name_len > MAX_TENSOR_NAME:
            raise _Corrupt(f"tensor {i} has a {name_len}-byte name (llama.cpp allows {MAX_TENSOR_NAME})")
        name = r.take(name_len, f"name of tensor {i}").decode("utf-8", errors="replace")
        if name in seen:
            raise _Corrupt(f"tensor {name!r} appears twice")
        seen.add(name)
        n_dims = int(r.unpack(_U32, f"dimension count of tensor {name!r}"))
        if n_dims > MAX_DIMS:
            raise _Corrupt(f"tensor {name!r} has {n_dims} dimensions (at most {MAX_DIMS} are allowed)")
        dims = tuple(int(r.unpack(_U64, f"dimensions of tensor {name!r}")) for _ in range(n_dims))
        raw_type = int(r.unpack(_U32, f"type of tensor {name!r}"))
        try:
            qtype = GGMLQuantizationType(raw_type)
        except ValueError:
            raise _Corrupt(f"tensor {name!r} has unknown ggml type {raw_type}",
                           "update exaone-desktop, or convert the model again with exaone-convert") from None
        if qtype not in GGML_QUANT_SIZES:
            raise _Corrupt(f"tensor {name!r} has ggml type {qtype.name}, which has no known block size")
        offset = int(r.unpack(_U64, f"data offset of tensor {name!r}"))
        infos.append((name, dims, qtype, offset, _tensor_nbytes(name, dims, qtype)))
    return infos


def _alignment(kv: dict[str, tuple[GGUFValueType, Any]]) -> int:
    if "general.alignment" not in kv:
        return DEFAULT_ALIGNMENT
    vtype, value = kv["general.alignment"]
    if vtype not in _INT_TYPES or value <= 0 or value & (value - 1):
        raise _Corrupt(f"general.alignment is {value!r}; it must be a power of two")
    return int(value)


def _check_tensor_data(header: _Header, size: int) -> None:
    alignment = _alignment(header.kv)
    if header.data_start > size and header.tensors:
        raise _Corrupt(f"tensor data should start at byte {header.data_start}, past the end of the "
                       f"{size}-byte file (the file is truncated)")
    data_size = max(size - header.data_start, 0)
    for name, _dims, _qtype, offset, nbytes in header.tensors:
        if offset % alignment:
            raise _Corrupt(f"tensor {name!r} starts at offset {offset}, not a multiple of the alignment {alignment}")
        if offset > data_size or nbytes > data_size - offset:
            raise _Corrupt(
                f"tensor {name!r} data (bytes {offset}..{offset + nbytes} of the data section) runs past the end "
                f"of the file, whose data section has {data_size} bytes (the file is truncated or corrupt)"
            )


def _parse(f: BinaryIO, size: int) -> _Header:
    r = _BoundedReader(f, size)
    version, n_tensors, n_kv = _read_preamble(r)
    kv, tokens = _read_kv(r, n_kv)
    tensors = _read_tensor_infos(r, n_tensors)
    alignment = _alignment(kv)
    data_start = -(-r.pos // alignment) * alignment
    header = _Header(version, kv, tokens, tensors, data_start)
    _check_tensor_data(header, size)
    return header


# ------------------------------------------------------------------------------------------------
# Typed access to metadata


def _get(kv: dict[str, tuple[GGUFValueType, Any]], key: str, kinds: frozenset[GGUFValueType], what: str) -> Any:
    if key not in kv:
        return None
    vtype, value = kv[key]
    if vtype not in kinds:
        raise _Corrupt(f"metadata {key!r} is a {vtype.name.lower()}, expected {what}")
    if isinstance(value, _TooLong):
        raise _Corrupt(f"metadata {key!r} is {value.length} bytes long (the limit is {MAX_KEPT_STRING})")
    return value


def _get_int(kv: dict[str, tuple[GGUFValueType, Any]], key: str) -> int | None:
    value = _get(kv, key, _INT_TYPES, "an integer")
    return None if value is None else int(value)


def _get_str(kv: dict[str, tuple[GGUFValueType, Any]], key: str) -> str | None:
    value = _get(kv, key, frozenset({GGUFValueType.STRING}), "a string")
    return None if value is None else str(value)


def _swa_pattern(kv: dict[str, tuple[GGUFValueType, Any]], arch: str) -> tuple[bool, ...] | int:
    """The sliding-window pattern key as written (see ``ModelInfo.sliding_window_pattern``)."""
    key = f"{arch}{_SWA_PATTERN_SUFFIX}"
    if key in kv and kv[key][0] == GGUFValueType.ARRAY:
        info = kv[key][1]
        if info.ints is None:
            raise _Corrupt(f"{key} is an array of {info.count} {info.elem_type.name.lower()} values, expected "
                           f"at most {LLAMA_MAX_LAYERS} booleans")
        return tuple(bool(v) for v in info.ints)
    period = _get_int(kv, key)
    return () if period is None else max(period, 0)


def _architecture(kv: dict[str, tuple[GGUFValueType, Any]]) -> str:
    arch = _get_str(kv, "general.architecture")
    if arch is None:
        raise _Corrupt("general.architecture is missing", FIX_ARCH)
    if arch == ARCH_CLIP:
        raise _Corrupt("this is a vision projector (mmproj) file, not a model",
                       "load the model's own GGUF; the mmproj beside it is found automatically")
    if arch not in SUPPORTED_ARCHITECTURES:
        raise _Corrupt(f"architecture {arch!r} is not supported (found {arch!r}; supported: "
                       f"{', '.join(SUPPORTED_ARCHITECTURES)})", FIX_ARCH)
    return arch


def _required_ints(kv: dict[str, tuple[GGUFValueType, Any]], arch: str) -> dict[str, int]:
    out: dict[str, int] = {}
    for pattern, low, high in _REQUIRED_INTS:
        key = pattern.format(arch=arch)
        value = _get_int(kv, key)
        if value is None:
            raise _Corrupt(f"required metadata {key!r} is missing")
        if not low <= value <= high:
            limit = f"between {low} and {high}" if high < _INT64_MAX else f"at least {low}"
            raise _Corrupt(f"{key} is {value}; it must be {limit}"
                           + (" (llama.cpp's layer limit)" if high == MAX_LAYERS else ""))
        out[pattern.split(".", 1)[1]] = value
    return out


def _check_moe(kv: dict[str, tuple[GGUFValueType, Any]], arch: str, n_layers: int) -> None:
    n_expert = _get_int(kv, f"{arch}.expert_count")
    if n_expert is None or not 1 <= n_expert <= MAX_EXPERTS:
        raise _Corrupt(f"{arch}.expert_count is {n_expert}; it must be between 1 and {MAX_EXPERTS} "
                       "(llama.cpp's expert limit)")
    for key, high in (("expert_used_count", n_expert), ("leading_dense_block_count", n_layers),
                      ("nextn_predict_layers", n_layers - 1)):
        value = _get_int(kv, f"{arch}.{key}")
        low = 1 if key == "expert_used_count" else 0
        if (value is None and key == "expert_used_count") or (value is not None and not low <= value <= high):
            raise _Corrupt(f"{arch}.{key} is {value}; it must be between {low} and {high}")


def _check_token_arrays(kv: dict[str, tuple[GGUFValueType, Any]]) -> int:
    if _TOKENS_KEY not in kv:
        raise _Corrupt(f"required metadata {_TOKENS_KEY!r} is missing")
    n_vocab = -1
    for key, elem_types in {**_TOKEN_ARRAYS, **_OTHER_ARRAYS}.items():
        if key not in kv:
            continue
        vtype, info = kv[key]
        if vtype != GGUFValueType.ARRAY or info.elem_type not in elem_types:
            found = info.elem_type.name if vtype == GGUFValueType.ARRAY else vtype.name
            want = " or ".join(t.name for t in elem_types)
            raise _Corrupt(f"{key} is an array of {found.lower()}, expected an array of {want.lower()}")
        if key in _TOKEN_ARRAYS:
            if n_vocab < 0:
                n_vocab = info.count
            elif info.count != n_vocab:
                raise _Corrupt(f"{key} has {info.count} entries but the vocabulary has {n_vocab} tokens")
    if n_vocab < 1:
        raise _Corrupt(f"{_TOKENS_KEY} is empty")
    return n_vocab


def _quant_type(kv: dict[str, tuple[GGUFValueType, Any]], header: _Header) -> str:
    file_type = _get_int(kv, "general.file_type")
    if file_type is not None:
        try:
            name = LlamaFileType(file_type & ~_GUESSED_FILE_TYPE).name
            return name.removeprefix("MOSTLY_").removeprefix("ALL_")
        except ValueError:
            pass
    weights: Counter[str] = Counter()
    for _name, dims, qtype, _offset, _nbytes in header.tensors:
        weights[qtype.name] += math.prod(dims)
    return weights.most_common(1)[0][0] if weights else "unknown"


def _sampling_defaults(kv: dict[str, tuple[GGUFValueType, Any]]) -> dict[str, Any]:
    """The model's generation_config as written by exaone-convert, by GenerationSettings field name."""
    out: dict[str, Any] = {}
    for field_name, (key, kind) in SAMPLING_KEYS.items():
        if kind is bool:
            flag = _get(kv, key, frozenset({GGUFValueType.BOOL}), "a boolean")
            if flag is not None:
                out[field_name] = bool(flag)
            continue
        value = _get(kv, key, _INT_TYPES | _FLOAT_TYPES, "a number")
        if value is None:
            continue
        if not math.isfinite(value):
            raise _Corrupt(f"metadata {key!r} is {value}, not a finite number")
        out[field_name] = kind(value)
    return out


def _special_ids(kv: dict[str, tuple[GGUFValueType, Any]], tokens: list[str]) -> tuple[int | None, list[int]]:
    def valid(token_id: int | None) -> int | None:
        return token_id if token_id is not None and 0 <= token_id < len(tokens) else None

    bos = valid(_get_int(kv, "tokenizer.ggml.bos_token_id"))
    listed = kv.get(EOS_IDS_KEY)
    extra = list(listed[1].ints or ()) if listed and isinstance(listed[1], _ArrayInfo) else []
    candidates = [
        _get_int(kv, "tokenizer.ggml.eos_token_id"),
        _get_int(kv, "tokenizer.ggml.eot_token_id"),
        *extra,
        tokens.index(END_OF_TURN) if END_OF_TURN in tokens else None,
    ]
    eos: list[int] = []
    for c in candidates:
        v = valid(c)
        if v is not None and v not in eos:
            eos.append(v)
    return bos, eos


def _family(path: Path, arch: str, kv: dict[str, tuple[GGUFValueType, Any]], tokens: list[str],
            embedding_length: int) -> Family | None:
    """The family row: the one exaone-convert named, else the one the file's contents point to."""
    key = _get_str(kv, FAMILY_KEY)
    template = _get_str(kv, "tokenizer.chat_template")
    if key is not None:
        return family_for_gguf(GGUFFacts(arch, key=key, chat_template=template))
    names = tuple(value for key in ("general.basename", "general.name")
                  if key in kv and kv[key][0] == GGUFValueType.STRING and isinstance(value := kv[key][1], str))
    return family_for_gguf(GGUFFacts(
        arch, chat_template=template, names=names, tokens=frozenset(tokens), vocab_size=len(tokens),
        has_mmproj=lambda: _has_mmproj(path, embedding_length)))


def _has_mmproj(path: Path, embedding_length: int) -> bool:
    """Whether an EXAONE vision projector that fits the model sits beside it (``mmproj*.gguf``)."""
    for candidate in sorted(path.parent.glob("mmproj*.gguf")):
        try:
            if inspect_mmproj(candidate).projection_dim == embedding_length:
                return True
        except InvalidGGUF:
            continue
    return False


def _filled(fam: Family | None, made_here: bool, sampling: dict[str, Any], image_token_id: int | None,
            tokens: list[str]) -> tuple[dict[str, Any], int | None]:
    """(sampling defaults, image token id) with what a GGUF made by another converter lacks filled in from the
    family table: LG's recommended settings under the file's own general.sampling.* values, and the id of the
    family's image token. exaone-convert's files keep exactly what the checkpoint's generation_config says."""
    if fam is None or made_here:
        return sampling, image_token_id
    if image_token_id is None and fam.image_token is not None and fam.image_token in tokens:
        image_token_id = tokens.index(fam.image_token)
    return {**recommended_defaults(fam), **sampling}, image_token_id


def _model_info(path: Path, size: int, header: _Header) -> ModelInfo:
    kv = header.kv
    arch = _architecture(kv)
    ints = _required_ints(kv, arch)
    if arch in _MOE_ARCHES:
        _check_moe(kv, arch, ints["block_count"])
    n_vocab = _check_token_arrays(kv)
    tokens = header.tokens or []
    bos, eos = _special_ids(kv, tokens)
    template = _get_str(kv, "tokenizer.chat_template")
    add_bos = _get(kv, "tokenizer.ggml.add_bos_token", frozenset({GGUFValueType.BOOL}), "a boolean")
    window = _get_int(kv, f"{arch}.attention.sliding_window")
    swa_pattern = _swa_pattern(kv, arch)
    heads = max(_get_int(kv, f"{arch}.attention.head_count") or 0, 0)
    key_length = max(_get_int(kv, f"{arch}.attention.key_length") or 0, 0) or (
        ints["embedding_length"] // heads if heads else 0)
    family = _family(path, arch, kv, tokens, ints["embedding_length"])
    sampling, image_token_id = _filled(family, _get_str(kv, FAMILY_KEY) is not None, _sampling_defaults(kv),
                                       _get_int(kv, IMAGE_TOKEN_KEY), tokens)
    return ModelInfo(
        path=path,
        architecture=arch,
        name=_get_str(kv, "general.name") or path.stem,
        n_layers=ints["block_count"],
        context_length=ints["context_length"],
        embedding_length=ints["embedding_length"],
        n_vocab=n_vocab,
        file_size=size,
        quant_type=_quant_type(kv, header),
        chat_template=template,
        bos_token_id=bos,
        eos_token_ids=eos,
        add_bos=bool(add_bos),
        sampling_defaults=sampling,
        sliding_window=window if window and window > 0 else None,
        sliding_window_pattern=swa_pattern,
        mtp_layers=min(max(_get_int(kv, f"{arch}.nextn_predict_layers") or 0, 0), ints["block_count"] - 1),
        parameter_count=sum(math.prod(t[1]) for t in header.tensors),
        tensor_count=len(header.tensors),
        reasoning=bool(template) and any(m in (template or "") for m in REASONING_MARKERS),
        family=family.key if family is not None else "",
        family_label=family.label if family is not None else "",
        image_token_id=image_token_id,
        bos_token=tokens[bos] if bos is not None else "",
        eos_token=tokens[eos[0]] if eos else "",
        clean_up_spaces=bool(_get(kv, CLEAN_UP_SPACES_KEY, frozenset({GGUFValueType.BOOL}), "a boolean")),
        metadata_keys=tuple(kv),
        head_count=heads,
        head_count_kv=max(_get_int(kv, f"{arch}.attention.head_count_kv") or 0, 0) or heads,
        key_length=key_length,
        value_length=max(_get_int(kv, f"{arch}.attention.value_length") or 0, 0) or key_length,
    )


def inspect_gguf(path: str | Path, *, check_tensors: bool = False) -> ModelInfo:
    """Validate a GGUF's header with explicit bounds and return its model info.

    ``check_tensors`` also reads every tensor's data (once; minutes for a large model) and refuses NaN, infinite
    or absurdly large weights (``exaone_convert.tensor_check``: numpy for float tensors, llama.cpp's own
    ``check_tensors`` for quantized ones). Raises InvalidGGUF (a ConversionError) with a one-line message naming
    the problem and the fix.
    """
    p = Path(path).expanduser()
    if not p.exists():
        raise InvalidGGUF(f"model file not found: {p}; {FIX_PATH}")
    if not p.is_file():
        raise InvalidGGUF(f"{p} is not a file; pass the path of a .gguf model file")
    try:
        with p.open("rb") as f:
            size = p.stat().st_size
            header = _parse(f, size)
        info = _model_info(p, size, header)
        if check_tensors:
            from .tensor_check import DamagedTensor, check_tensor_data

            try:
                check_tensor_data(p, header.tensors, header.data_start)
            except DamagedTensor as err:
                raise _Corrupt(f"its weights are damaged: {err}") from None
        return info
    except _Corrupt as err:
        raise InvalidGGUF(f"cannot use {p.name}: {err.problem}; {err.fix}") from None
    except OSError as err:
        raise InvalidGGUF(f"cannot read {p}: {err.strerror or err}; check the file's permissions") from None


# ------------------------------------------------------------------------------------------------
# Vision projector (mmproj) files

SUPPORTED_PROJECTORS: tuple[str, ...] = ("exaone4_5",)
FIX_MMPROJ = "use the mmproj file converted or downloaded with this model (exaone-convert writes it beside the model)"
_MAX_VISION_DIM = 1 << 20


@dataclass(frozen=True)
class MmprojInfo:
    """What the runtime needs to know about a vision projector file, read from its header only."""

    path: Path
    projector_type: str
    projection_dim: int  # must equal the text model's embedding length
    n_layers: int
    file_size: int
    quant_type: str


def inspect_mmproj(path: str | Path, model: ModelInfo | None = None) -> MmprojInfo:
    """Validate an mmproj GGUF's header with explicit bounds (and, given the model, that they belong together).

    Raises InvalidGGUF (a ConversionError) with one line naming the problem and the fix."""
    p = Path(path).expanduser()
    if not p.is_file():
        raise InvalidGGUF(f"vision projector not found: {p}; {FIX_MMPROJ}")
    try:
        with p.open("rb") as f:
            size = p.stat().st_size
            header = _parse(f, size)
        kv = header.kv
        arch = _get_str(kv, "general.architecture")
        if arch != ARCH_CLIP or not _get(kv, "clip.has_vision_encoder", frozenset({GGUFValueType.BOOL}),
                                         "a boolean"):
            raise _Corrupt(f"it is not a vision projector (architecture {arch!r})", FIX_MMPROJ)
        projector = _get_str(kv, "clip.projector_type") or _get_str(kv, "clip.vision.projector_type") or ""
        if projector not in SUPPORTED_PROJECTORS:
            raise _Corrupt(f"projector type {projector!r} is not an EXAONE one (supported: "
                           f"{', '.join(SUPPORTED_PROJECTORS)})", FIX_MMPROJ)
        dims = {}
        for key, high in (("clip.vision.projection_dim", _MAX_VISION_DIM), ("clip.vision.block_count", MAX_LAYERS),
                          ("clip.vision.embedding_length", _MAX_VISION_DIM)):
            value = _get_int(kv, key)
            if value is None or not 1 <= value <= high:
                raise _Corrupt(f"{key} is {value}; it must be between 1 and {high}", FIX_MMPROJ)
            dims[key] = value
        info = MmprojInfo(p, projector, dims["clip.vision.projection_dim"], dims["clip.vision.block_count"], size,
                          _quant_type(kv, header))
    except _Corrupt as err:
        raise InvalidGGUF(f"cannot use {p.name}: {err.problem}; {err.fix}") from None
    except OSError as err:
        raise InvalidGGUF(f"cannot read {p}: {err.strerror or err}; check the file's permissions") from None
    if model is not None and info.projection_dim != model.embedding_length:
        raise InvalidGGUF(f"{p.name} does not match {model.path.name}: it projects images to "
                          f"{info.projection_dim} dimensions, the model's embeddings have {model.embedding_length}; "
                          f"{FIX_MMPROJ}")
    return info
