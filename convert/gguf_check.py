"""Bounded GGUF header check: refuse broken or hostile files before llama.cpp sees them, and read model info.

llama.cpp trusts parts of a GGUF header (a ``block_count`` of 100000 aborts the whole process in
llama-cpp-python 0.3.36), so every file goes through ``inspect_gguf`` first. The bounded parser is
``gguf_reader``; this module checks what a model needs, recognizes its family and builds ``ModelInfo`` (and
``MmprojInfo`` for vision projectors).
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from gguf import GGUFValueType, LlamaFileType

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
from .gguf_reader import (
    FLOAT_TYPES,
    INT64_MAX,
    INT_TYPES,
    KV,
    SWA_PATTERN_SUFFIX,
    TOKENS_KEY,
    ArrayInfo,
    Corrupt,
    Header,
    get,
    get_int,
    get_str,
    parse,
)

SUPPORTED_ARCHITECTURES: tuple[str, ...] = supported_gguf_architectures()
MAX_LAYERS = LLAMA_MAX_LAYERS
REASONING_MARKERS: tuple[str, ...] = tuple(tags[0] for tags in known_reasoning_tags())
_GUESSED_FILE_TYPE = 1024

FIX_PATH = "check the path, or get a model with exaone-convert (convert or --file download)"
FIX_ARCH = f"use an EXAONE model (supported architectures: {', '.join(SUPPORTED_ARCHITECTURES)})"

# Integer keys every supported model needs, with their smallest allowed value and upper bound.
_REQUIRED_INTS: tuple[tuple[str, int, int], ...] = (
    ("{arch}.block_count", 1, MAX_LAYERS),
    ("{arch}.context_length", 1, INT64_MAX),
    ("{arch}.embedding_length", 1, INT64_MAX),
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


def _swa_pattern(kv: KV, arch: str) -> tuple[bool, ...] | int:
    """The sliding-window pattern key as written (see ``ModelInfo.sliding_window_pattern``)."""
    key = f"{arch}{SWA_PATTERN_SUFFIX}"
    if key in kv and kv[key][0] == GGUFValueType.ARRAY:
        info = kv[key][1]
        if info.ints is None:
            raise Corrupt(f"{key} is an array of {info.count} {info.elem_type.name.lower()} values, expected "
                           f"at most {LLAMA_MAX_LAYERS} booleans")
        return tuple(bool(v) for v in info.ints)
    period = get_int(kv, key)
    return () if period is None else max(period, 0)


def _architecture(kv: KV) -> str:
    arch = get_str(kv, "general.architecture")
    if arch is None:
        raise Corrupt("general.architecture is missing", FIX_ARCH)
    if arch == ARCH_CLIP:
        raise Corrupt("this is a vision projector (mmproj) file, not a model",
                       "load the model's own GGUF; the mmproj beside it is found automatically")
    if arch not in SUPPORTED_ARCHITECTURES:
        raise Corrupt(f"architecture {arch!r} is not supported (found {arch!r}; supported: "
                       f"{', '.join(SUPPORTED_ARCHITECTURES)})", FIX_ARCH)
    return arch


def _required_ints(kv: KV, arch: str) -> dict[str, int]:
    out: dict[str, int] = {}
    for pattern, low, high in _REQUIRED_INTS:
        key = pattern.format(arch=arch)
        value = get_int(kv, key)
        if value is None:
            raise Corrupt(f"required metadata {key!r} is missing")
        if not low <= value <= high:
            limit = f"between {low} and {high}" if high < INT64_MAX else f"at least {low}"
            raise Corrupt(f"{key} is {value}; it must be {limit}"
                           + (" (llama.cpp's layer limit)" if high == MAX_LAYERS else ""))
        out[pattern.split(".", 1)[1]] = value
    return out


def _check_moe(kv: KV, arch: str, n_layers: int) -> None:
    n_expert = get_int(kv, f"{arch}.expert_count")
    if n_expert is None or not 1 <= n_expert <= MAX_EXPERTS:
        raise Corrupt(f"{arch}.expert_count is {n_expert}; it must be between 1 and {MAX_EXPERTS} "
                       "(llama.cpp's expert limit)")
    for key, high in (("expert_used_count", n_expert), ("leading_dense_block_count", n_layers),
                      ("nextn_predict_layers", n_layers - 1)):
        value = get_int(kv, f"{arch}.{key}")
        low = 1 if key == "expert_used_count" else 0
        if (value is None and key == "expert_used_count") or (value is not None and not low <= value <= high):
            raise Corrupt(f"{arch}.{key} is {value}; it must be between {low} and {high}")


def _check_token_arrays(kv: KV) -> int:
    if TOKENS_KEY not in kv:
        raise Corrupt(f"required metadata {TOKENS_KEY!r} is missing")
    n_vocab = -1
    for key, elem_types in {**_TOKEN_ARRAYS, **_OTHER_ARRAYS}.items():
        if key not in kv:
            continue
        vtype, info = kv[key]
        if vtype != GGUFValueType.ARRAY or info.elem_type not in elem_types:
            found = info.elem_type.name if vtype == GGUFValueType.ARRAY else vtype.name
            want = " or ".join(t.name for t in elem_types)
            raise Corrupt(f"{key} is an array of {found.lower()}, expected an array of {want.lower()}")
        if key in _TOKEN_ARRAYS:
            if n_vocab < 0:
                n_vocab = info.count
            elif info.count != n_vocab:
                raise Corrupt(f"{key} has {info.count} entries but the vocabulary has {n_vocab} tokens")
    if n_vocab < 1:
        raise Corrupt(f"{TOKENS_KEY} is empty")
    return n_vocab


def _quant_type(kv: KV, header: Header) -> str:
    file_type = get_int(kv, "general.file_type")
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


def _sampling_defaults(kv: KV) -> dict[str, Any]:
    """The model's generation_config as written by exaone-convert, by GenerationSettings field name."""
    out: dict[str, Any] = {}
    for field_name, (key, kind) in SAMPLING_KEYS.items():
        if kind is bool:
            flag = get(kv, key, frozenset({GGUFValueType.BOOL}), "a boolean")
            if flag is not None:
                out[field_name] = bool(flag)
            continue
        value = get(kv, key, INT_TYPES | FLOAT_TYPES, "a number")
        if value is None:
            continue
        if not math.isfinite(value):
            raise Corrupt(f"metadata {key!r} is {value}, not a finite number")
        out[field_name] = kind(value)
    return out


def _special_ids(kv: KV, tokens: list[str]) -> tuple[int | None, list[int]]:
    def valid(token_id: int | None) -> int | None:
        return token_id if token_id is not None and 0 <= token_id < len(tokens) else None

    bos = valid(get_int(kv, "tokenizer.ggml.bos_token_id"))
    listed = kv.get(EOS_IDS_KEY)
    extra = list(listed[1].ints or ()) if listed and isinstance(listed[1], ArrayInfo) else []
    candidates = [
        get_int(kv, "tokenizer.ggml.eos_token_id"),
        get_int(kv, "tokenizer.ggml.eot_token_id"),
        *extra,
        tokens.index(END_OF_TURN) if END_OF_TURN in tokens else None,
    ]
    eos: list[int] = []
    for c in candidates:
        v = valid(c)
        if v is not None and v not in eos:
            eos.append(v)
    return bos, eos


def _family(path: Path, arch: str, kv: KV, tokens: list[str],
            embedding_length: int) -> Family | None:
    """The family row: the one exaone-convert named, else the one the file's contents point to."""
    key = get_str(kv, FAMILY_KEY)
    template = get_str(kv, "tokenizer.chat_template")
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


def _model_info(path: Path, size: int, header: Header) -> ModelInfo:
    kv = header.kv
    arch = _architecture(kv)
    ints = _required_ints(kv, arch)
    if arch in _MOE_ARCHES:
        _check_moe(kv, arch, ints["block_count"])
    n_vocab = _check_token_arrays(kv)
    tokens = header.tokens or []
    bos, eos = _special_ids(kv, tokens)
    template = get_str(kv, "tokenizer.chat_template")
    add_bos = get(kv, "tokenizer.ggml.add_bos_token", frozenset({GGUFValueType.BOOL}), "a boolean")
    window = get_int(kv, f"{arch}.attention.sliding_window")
    swa_pattern = _swa_pattern(kv, arch)
    heads = max(get_int(kv, f"{arch}.attention.head_count") or 0, 0)
    key_length = max(get_int(kv, f"{arch}.attention.key_length") or 0, 0) or (
        ints["embedding_length"] // heads if heads else 0)
    family = _family(path, arch, kv, tokens, ints["embedding_length"])
    sampling, image_token_id = _filled(family, get_str(kv, FAMILY_KEY) is not None, _sampling_defaults(kv),
                                       get_int(kv, IMAGE_TOKEN_KEY), tokens)
    return ModelInfo(
        path=path,
        architecture=arch,
        name=get_str(kv, "general.name") or path.stem,
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
        mtp_layers=min(max(get_int(kv, f"{arch}.nextn_predict_layers") or 0, 0), ints["block_count"] - 1),
        parameter_count=sum(math.prod(t[1]) for t in header.tensors),
        tensor_count=len(header.tensors),
        reasoning=bool(template) and any(m in (template or "") for m in REASONING_MARKERS),
        family=family.key if family is not None else "",
        family_label=family.label if family is not None else "",
        image_token_id=image_token_id,
        bos_token=tokens[bos] if bos is not None else "",
        eos_token=tokens[eos[0]] if eos else "",
        clean_up_spaces=bool(get(kv, CLEAN_UP_SPACES_KEY, frozenset({GGUFValueType.BOOL}), "a boolean")),
        metadata_keys=tuple(kv),
        head_count=heads,
        head_count_kv=max(get_int(kv, f"{arch}.attention.head_count_kv") or 0, 0) or heads,
        key_length=key_length,
        value_length=max(get_int(kv, f"{arch}.attention.value_length") or 0, 0) or key_length,
    )


def _read_header(p: Path) -> tuple[int, Header]:
    """(the file's size, its checked header)."""
    with p.open("rb") as f:
        size = p.stat().st_size
        return size, parse(f, size)


@contextmanager
def _one_line(p: Path) -> Iterator[None]:
    """A problem found in ``p`` (Corrupt) or an unreadable file (OSError) becomes one InvalidGGUF line naming the
    file, the problem and the fix."""
    try:
        yield
    except Corrupt as err:
        raise InvalidGGUF(f"cannot use {p.name}: {err.problem}; {err.fix}") from None
    except OSError as err:
        raise InvalidGGUF(f"cannot read {p}: {err.strerror or err}; check the file's permissions") from None


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
    with _one_line(p):
        size, header = _read_header(p)
        info = _model_info(p, size, header)
        if check_tensors:
            from .tensor_check import DamagedTensor, check_tensor_data

            try:
                check_tensor_data(p, header.tensors, header.data_start)
            except DamagedTensor as err:
                raise Corrupt(f"its weights are damaged: {err}") from None
    return info


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
    with _one_line(p):
        size, header = _read_header(p)
        kv = header.kv
        arch = get_str(kv, "general.architecture")
        if arch != ARCH_CLIP or not get(kv, "clip.has_vision_encoder", frozenset({GGUFValueType.BOOL}),
                                         "a boolean"):
            raise Corrupt(f"it is not a vision projector (architecture {arch!r})", FIX_MMPROJ)
        projector = get_str(kv, "clip.projector_type") or get_str(kv, "clip.vision.projector_type") or ""
        if projector not in SUPPORTED_PROJECTORS:
            raise Corrupt(f"projector type {projector!r} is not an EXAONE one (supported: "
                           f"{', '.join(SUPPORTED_PROJECTORS)})", FIX_MMPROJ)
        dims = {}
        for key, high in (("clip.vision.projection_dim", _MAX_VISION_DIM), ("clip.vision.block_count", MAX_LAYERS),
                          ("clip.vision.embedding_length", _MAX_VISION_DIM)):
            value = get_int(kv, key)
            if value is None or not 1 <= value <= high:
                raise Corrupt(f"{key} is {value}; it must be between 1 and {high}", FIX_MMPROJ)
            dims[key] = value
        info = MmprojInfo(p, projector, dims["clip.vision.projection_dim"], dims["clip.vision.block_count"], size,
                          _quant_type(kv, header))
    if model is not None and info.projection_dim != model.embedding_length:
        raise InvalidGGUF(f"{p.name} does not match {model.path.name}: it projects images to "
                          f"{info.projection_dim} dimensions, the model's embeddings have {model.embedding_length}; "
                          f"{FIX_MMPROJ}")
    return info
