"""Convert a local HF EXAONE checkpoint to a GGUF of a direct type (f32, f16, bf16, q8_0)."""

from __future__ import annotations

import functools
import math
import re
import threading
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import gguf
import numpy as np
from gguf import GGMLQuantizationType as QType
from gguf import GGUFWriter, Keys

from .architectures import (
    ALWAYS_F32,
    MTP_TENSORS,
    NOT_FROM_CHECKPOINT,
    OPTIONAL_TENSORS,
    SUPPORTED_ACTIVATIONS,
    SUPPORTED_ROPE_TYPES,
    TENSOR_SHAPES,
    TEXT_PREFIXES,
    VISION_PREFIXES,
    Architecture,
    ModelShape,
    SlidingWindow,
    block_tensor_kinds,
    config_value,
    detect_architecture,
    llama3_rope_factors,
    model_shape,
    rope_parameters,
    sliding_window_plan,
    text_config,
)
from .checkpoint import Checkpoint, TensorRecord, open_checkpoint
from .errors import ConversionError
from .families import LLAMA_MAX_LAYERS, family_for_model_type
from .gguf_keys import CLEAN_UP_SPACES_KEY, EOS_IDS_KEY, FAMILY_KEY, IMAGE_TOKEN_KEY, SAMPLING_KEYS
from .outtypes import OutType, get_outtype
from .vocab import Vocab, load_vocab
from .writer import PlannedTensor, Progress, check_outfile, write_gguf

CHUNK_BYTES = 16 * 1024 * 1024


def to_f32(chunk: np.ndarray, dtype: str) -> np.ndarray:
    if dtype == "BF16":
        return (chunk.astype(np.uint32) << 16).view(np.float32)
    return chunk.astype(np.float32, copy=False)


def f32_to_bf16_bits(x: np.ndarray) -> np.ndarray:
    """Round-to-nearest-even f32 -> bf16 bit patterns (NaNs kept quiet)."""
    bits = x.astype(np.float32, copy=False).view(np.uint32)
    rounded = ((bits + (0x7FFF + ((bits >> 16) & 1))) >> 16).astype(np.uint16)
    return np.where(np.isnan(x), np.uint16(0x7FC0), rounded)


def bf16_bits_to_f16(bits: np.ndarray) -> np.ndarray:
    """bf16 bit patterns -> float16, bit-identical to going through float32 (checked on all 65536
    patterns) but ~3x faster: in f16's normal range (bf16 exponent 113..142) it is a re-bias of the
    exponent; zeros, subnormals, overflow and NaN/inf (rare in weights) go through float32."""
    mag = bits & np.uint16(0x7FFF)
    out = ((mag - np.uint16(0x3800)) << np.uint16(3)) | (bits & np.uint16(0x8000))
    odd = np.flatnonzero((mag < np.uint16(0x3880)) | (mag >= np.uint16(0x4780)))
    if odd.size:
        with np.errstate(over="ignore"):
            out.flat[odd] = to_f32(bits.flat[odd], "BF16").astype(np.float16).view(np.uint16)
    return out.view(np.float16)


def encode(chunk: np.ndarray, src_dtype: str, target: QType) -> np.ndarray:
    """One chunk of source rows in the target GGUF type (as the bytes' natural numpy dtype)."""
    if target == QType.BF16 and src_dtype == "BF16":
        return chunk  # lossless byte copy
    if target == QType.F16 and src_dtype == "BF16":
        return bf16_bits_to_f16(chunk)
    f32 = to_f32(chunk, src_dtype)
    if target == QType.F32:
        return f32
    if target == QType.F16:
        return f32.astype(np.float16)
    if target == QType.BF16:
        return f32_to_bf16_bits(f32)
    with np.errstate(invalid="ignore"):  # NaN weights stay NaN (--verify names them), without numpy's warning
        return gguf.quants.quantize(f32, target)


def tensor_nbytes(shape: tuple[int, ...], target: QType) -> int:
    block, type_size = gguf.GGML_QUANT_SIZES[target]
    return math.prod(shape) // block * type_size


def choose_type(shape: tuple[int, ...], outtype: OutType, kind: gguf.MODEL_TENSOR | None = None) -> QType:
    """1-D tensors and ``ALWAYS_F32`` kinds stay F32 (llama.cpp's convention); block types need whole
    blocks per row."""
    assert outtype.tensor_type is not None
    if len(shape) < 2 or kind in ALWAYS_F32:
        return QType.F32
    block, _ = gguf.GGML_QUANT_SIZES[outtype.tensor_type]
    return outtype.tensor_type if shape[-1] % block == 0 else QType.F16


def record_chunks(rec: TensorRecord, target: QType) -> Callable[[], Iterator[np.ndarray]]:
    def chunks() -> Iterator[np.ndarray]:
        if len(rec.shape) < 2:
            yield encode(rec.read(), rec.dtype, target)
            return
        row_bytes = math.prod(rec.shape[1:]) * 4
        step = max(1, CHUNK_BYTES // row_bytes)
        for start in range(0, rec.shape[0], step):
            yield encode(rec.read(start, min(start + step, rec.shape[0])), rec.dtype, target)
    return chunks


def array_chunks(array: np.ndarray) -> Callable[[], Iterator[np.ndarray]]:
    return lambda: iter((array,))


@dataclass
class ConversionPlan:
    arch: Architecture
    shape: ModelShape
    config: dict[str, Any]
    vocab: Vocab
    tensors: list[PlannedTensor]
    swa: SlidingWindow | None
    rope: dict[str, Any]


def check_config(arch: Architecture, config: Mapping[str, Any], shape: ModelShape) -> None:
    act = config.get(arch.activation_field, "silu")
    if act not in SUPPORTED_ACTIVATIONS:
        raise ConversionError(f"activation {act!r} is not supported (EXAONE uses silu); fix config.json")
    if shape.hidden % shape.n_head or shape.n_head % shape.n_head_kv:
        raise ConversionError("config.json head counts do not divide hidden_size / num_attention_heads; "
                              "fix config.json")
    if not 0 < shape.n_blocks <= LLAMA_MAX_LAYERS:
        raise ConversionError(f"config.json has {shape.n_blocks} layers; llama.cpp supports 1 to {LLAMA_MAX_LAYERS}")
    if arch.family.moe:
        check_moe_config(config, shape)
    rope = rope_parameters(config)
    if rope["rope_type"] not in SUPPORTED_ROPE_TYPES:
        raise ConversionError(
            f"rope type {rope['rope_type']!r} is not supported; EXAONE uses 'llama3' or none"
        )


# transformers' ExaoneMoe router always scores experts with a sigmoid; llama.cpp needs it said in the GGUF.
GATING_FUNCS = {"sigmoid": gguf.ExpertGatingFuncType.SIGMOID}
DEFAULT_SCORING_FUNC = "sigmoid"


def check_moe_config(config: Mapping[str, Any], shape: ModelShape) -> None:
    """Refuse mixture-of-experts settings llama.cpp's exaone-moe graph would run differently from transformers."""
    scoring = config.get("scoring_func", DEFAULT_SCORING_FUNC)
    if scoring not in GATING_FUNCS:
        raise ConversionError(
            f"config.json scoring_func is {scoring!r}; EXAONE MoE routers score experts with 'sigmoid' "
            "(as transformers does), so this checkpoint is not converted"
        )
    used = config.get("num_experts_per_tok")
    if not 0 < shape.n_expert or not isinstance(used, int) or not 0 < used <= shape.n_expert:
        raise ConversionError(f"config.json asks for {used} of {shape.n_expert} experts per token; fix config.json")
    n_group, topk_group = int(config.get("n_group") or 1), int(config.get("topk_group") or 1)
    if n_group > 1 and topk_group < n_group:
        raise ConversionError(
            f"config.json routes within {topk_group} of {n_group} expert groups; llama.cpp's exaone-moe graph "
            "does not limit experts by group and would run it wrong, so it is not converted"
        )
    mlp_types = config.get("mlp_layer_types")
    leading = ["dense"] * shape.n_dense_lead + ["sparse"] * (shape.n_layers - shape.n_dense_lead)
    if mlp_types is not None and list(mlp_types) != leading:
        raise ConversionError(
            f"config.json mlp_layer_types is not {shape.n_dense_lead} dense layers followed by MoE layers; "
            "llama.cpp's exaone-moe graph supports only that layout and would run it wrong, so it is not converted"
        )


def expected_tensor_names(arch: Architecture, shape: ModelShape) -> dict[str, gguf.MODEL_TENSOR]:
    """Every GGUF tensor name (without ``.weight``/``.bias``) the model may have, with its kind."""
    names: dict[str, gguf.MODEL_TENSOR] = {}
    for kind in gguf.MODEL_TENSORS[arch.gguf_arch]:
        template = gguf.TENSOR_NAMES[kind]
        if "{bid}" not in template:
            names[template] = kind
    for bid in range(shape.n_blocks):
        for kind in block_tensor_kinds(arch, shape, bid):
            names[gguf.TENSOR_NAMES[kind].format(bid=bid)] = kind
    return names


_EXPERT = re.compile(r"^(model\.layers\.\d+\.mlp\.experts)\.(\d+)\.(gate_proj|up_proj|down_proj)\.weight$")
_ROUTER_BIAS = re.compile(r"^model\.layers\.(\d+)\.mlp\.(?:gate\.)?e_score_correction_bias$")
_MTP_LAYER = re.compile(r"^mtp\.layers\.(\d+)\.(.*)$")


def _block_name(name: str, shape: ModelShape) -> str:
    """The text model's name of a checkpoint tensor: multimodal prefixes dropped, and ``mtp.layers.N.*``
    stored as block n_layers + N, like a main decoder layer."""
    for prefix, plain in TEXT_PREFIXES.items():
        if name.startswith(prefix):
            name = plain + name[len(prefix):]
    m = _MTP_LAYER.match(name)
    return f"model.layers.{shape.n_layers + int(m[1])}.{m[2]}" if m is not None else name


def _gguf_names(name: str, name_map: gguf.TensorNameMap, shape: ModelShape) -> list[str]:
    """The GGUF name(s) of one checkpoint tensor (an MTP head weight is shared by every MTP block)."""
    name = _block_name(name, shape)
    stem, _, suffix = name.rpartition(".")
    if stem in MTP_TENSORS:
        template = gguf.TENSOR_NAMES[MTP_TENSORS[stem]]
        return [f"{template.format(bid=bid)}.{suffix}" for bid in range(shape.n_layers, shape.n_blocks)]
    if (m := _ROUTER_BIAS.match(name)) is not None:
        return [gguf.TENSOR_NAMES[gguf.MODEL_TENSOR.FFN_EXP_PROBS_B].format(bid=int(m[1])) + ".bias"]
    mapped = name_map.get_name(name, try_suffixes=(".weight", ".bias"))
    return [mapped] if mapped is not None else []


def _stacked_chunks(records: list[TensorRecord], target: QType) -> Callable[[], Iterator[np.ndarray]]:
    """One expert after another, each streamed in row chunks: the bytes of the stacked 3-D tensor."""
    def chunks() -> Iterator[np.ndarray]:
        for rec in records:
            yield from record_chunks(rec, target)()
    return chunks


def plan_tensors(arch: Architecture, ckpt: Checkpoint, config: Mapping[str, Any], shape: ModelShape,
                 outtype: OutType, rope: Mapping[str, Any]) -> list[PlannedTensor]:
    name_map = gguf.get_tensor_name_map(arch.gguf_arch, shape.n_blocks)
    expected = expected_tensor_names(arch, shape)
    tied = bool(config.get("tie_word_embeddings", False))
    dims = shape.dims()
    planned: dict[str, PlannedTensor] = {}
    experts: dict[str, dict[int, TensorRecord]] = {}

    def add(gguf_name: str, kind: gguf.MODEL_TENSOR, rec_name: str, rec_shape: tuple[int, ...],
            make: Callable[[QType], Callable[[], Iterator[np.ndarray]]]) -> None:
        want = tuple(dims[d] for d in TENSOR_SHAPES[kind])
        if rec_shape != want:
            raise ConversionError(
                f"tensor {rec_name!r} has shape {list(rec_shape)}, config.json implies {list(want)}; "
                "the weights and config.json do not match"
            )
        target = choose_type(rec_shape, outtype, kind)
        planned[gguf_name] = PlannedTensor(gguf_name, rec_shape, target, tensor_nbytes(rec_shape, target),
                                           make(target))

    for rec in ckpt:
        if rec.name.startswith(VISION_PREFIXES):
            continue  # the vision encoder goes to the mmproj file
        if (m := _EXPERT.match(_block_name(rec.name, shape))) is not None:
            experts.setdefault(f"{m[1]}.{m[3]}.weight", {})[int(m[2])] = rec
            continue
        gguf_names = _gguf_names(rec.name, name_map, shape)
        for gguf_name in gguf_names or [""]:
            base = gguf_name.rpartition(".")[0]
            kind = expected.get(base)
            if kind is None or not gguf_name.endswith(".bias" if kind == gguf.MODEL_TENSOR.FFN_EXP_PROBS_B
                                                      else ".weight"):
                if rec.name.endswith("rotary_emb.inv_freq"):
                    break
                raise ConversionError(
                    f"unexpected tensor {rec.name!r} for {arch.model_type}; is this really an "
                    f"{arch.hf_classes[0]} checkpoint?"
                )
            if kind == gguf.MODEL_TENSOR.OUTPUT and tied:
                continue  # tied: llama.cpp reuses token_embd
            add(gguf_name, kind, rec.name, rec.shape, functools.partial(record_chunks, rec))

    for stacked, by_index in experts.items():
        stacked_names = _gguf_names(stacked, name_map, shape)
        kind = expected.get(stacked_names[0].removesuffix(".weight")) if stacked_names else None
        if kind is None:
            raise ConversionError(f"unexpected experts {stacked!r} for {arch.model_type}; is this really an "
                                  f"{arch.hf_classes[0]} checkpoint?")
        if max(by_index) >= shape.n_expert:
            raise ConversionError(f"{stacked!r} has expert {max(by_index)}, but config.json says {shape.n_expert} "
                                  "experts; the weights and config.json do not match")
        if len(by_index) != shape.n_expert:
            missing = next(i for i in range(shape.n_expert) if i not in by_index)
            raise ConversionError(f"expert {missing} of {stacked!r} is missing from the checkpoint "
                                  f"(config.json says {shape.n_expert} experts); re-download it")
        records = [by_index[i] for i in range(shape.n_expert)]
        shapes = {r.shape for r in records}
        rec_shape = (shape.n_expert, *records[0].shape) if len(shapes) == 1 else (0,)
        add(stacked_names[0], kind, stacked.replace("experts.", "experts.*."), rec_shape,
            functools.partial(_stacked_chunks, records))

    for base, kind in expected.items():
        if kind in NOT_FROM_CHECKPOINT or kind in OPTIONAL_TENSORS or (kind == gguf.MODEL_TENSOR.OUTPUT and tied):
            continue
        suffix = ".bias" if kind == gguf.MODEL_TENSOR.FFN_EXP_PROBS_B else ".weight"
        if base + suffix not in planned:
            raise ConversionError(f"tensor {base}{suffix} ({kind.name.lower()}) is missing from the checkpoint; "
                                  "re-download it")

    tensors = list(planned.values())
    if rope["rope_type"] == "llama3":
        factors = llama3_rope_factors(shape.head_dim, rope)
        name = gguf.TENSOR_NAMES[gguf.MODEL_TENSOR.ROPE_FREQS] + ".weight"
        tensors.append(PlannedTensor(name, factors.shape, QType.F32, factors.nbytes, array_chunks(factors)))
    return tensors


def plan_conversion(ckpt: Checkpoint, outtype: OutType) -> ConversionPlan:
    arch = detect_architecture(ckpt.config)
    config = text_config(arch, ckpt.config)
    shape = model_shape(arch, config)
    check_config(arch, config, shape)
    rope = rope_parameters(config)
    swa = sliding_window_plan(arch, config, shape.n_layers) if arch.swa_layer_counts else None
    embd = ckpt.tensors.get(next((n for n in ckpt.tensors if n.endswith(("wte.weight", "embed_tokens.weight"))),
                                 ""))
    n_vocab = embd.shape[0] if embd is not None else shape.vocab
    vocab = load_vocab(ckpt.root, config, ckpt.generation_config, n_vocab=n_vocab)
    tensors = plan_tensors(arch, ckpt, config, shape, outtype, rope)
    return ConversionPlan(arch, shape, config, vocab, tensors, swa, rope)


def add_metadata(writer: GGUFWriter, plan: ConversionPlan, ckpt: Checkpoint, outtype: OutType) -> None:
    arch, shape, config, vocab = plan.arch, plan.shape, plan.config, plan.vocab
    writer.add_name(str(config.get("_name_or_path") or ckpt.name))
    fam = family_for_model_type(arch.model_type, arch.hf_classes, vocab.chat_template) or arch.family
    writer.add_string(FAMILY_KEY, fam.key)
    if isinstance(ckpt.config.get("image_token_id"), int):
        writer.add_uint32(IMAGE_TOKEN_KEY, int(ckpt.config["image_token_id"]))
    writer.add_file_type(int(outtype.file_type))
    if outtype.tensor_type not in (QType.F32, QType.F16, QType.BF16):
        writer.add_quantization_version(gguf.GGML_QUANT_VERSION)
    adders: dict[type, Callable[[str, Any], None]] = {
        int: writer.add_uint32, float: writer.add_float32, bool: writer.add_bool,
    }
    for key, (fields, kind) in arch.hparams.items():
        value = config_value(config, fields, kind, what=key.format(arch=arch.name))
        adders[kind](key.format(arch=arch.name), shape.n_blocks if key == Keys.LLM.BLOCK_COUNT else value)
    if shape.n_mtp:
        writer.add_nextn_predict_layers(shape.n_mtp)
    if arch.family.moe:
        writer.add_expert_shared_feed_forward_length(shape.moe_ffn * shape.n_shared_expert)
        writer.add_expert_gating_func(GATING_FUNCS[config.get("scoring_func", DEFAULT_SCORING_FUNC)])
    writer.add_key_length(shape.head_dim)
    writer.add_value_length(shape.head_dim)
    writer.add_rope_dimension_count(shape.head_dim)
    writer.add_rope_freq_base(float(plan.rope["rope_theta"]))
    writer.add_vocab_size(len(vocab.tokens))
    if plan.swa is not None:
        writer.add_sliding_window(plan.swa.window)
        writer.add_sliding_window_pattern(plan.swa.pattern)

    writer.add_tokenizer_model("gpt2")
    writer.add_tokenizer_pre(vocab.pre)  # from tokenizer.json's own pre-tokenizer
    writer.add_token_list(vocab.tokens)
    writer.add_token_types(vocab.token_types)
    writer.add_token_merges(vocab.merges)
    for name, token_id in vocab.special_ids.items():
        getattr(writer, f"add_{name}_token_id")(token_id)
    if vocab.eot_id is not None:
        writer.add_eot_token_id(vocab.eot_id)
    if len(vocab.eos_ids) > 2:
        writer.add_array(EOS_IDS_KEY, vocab.eos_ids)
    writer.add_add_bos_token(vocab.add_bos)
    writer.add_add_eos_token(False)
    writer.add_bool(CLEAN_UP_SPACES_KEY, vocab.clean_up_spaces)
    if vocab.chat_template:
        writer.add_chat_template(vocab.chat_template)

    gen = ckpt.generation_config
    for field, (key, kind) in SAMPLING_KEYS.items():
        if gen.get(field) is not None:
            adders[kind](key, kind(gen[field]))


def convert_checkpoint(
    source_dir: str | Path,
    outfile: str | Path,
    outtype: str | OutType = "f16",
    *,
    force: bool = False,
    progress: Progress | None = None,
    cancel: threading.Event | None = None,
) -> Path:
    """Convert the HF checkpoint in ``source_dir`` to ``outfile`` (f32, f16, bf16 or q8_0).

    Raises ConversionError (one line naming the fix) for bad input; leaves no partial file.
    """
    out_type = get_outtype(outtype)
    if out_type.tensor_type is None:
        raise ConversionError(
            f"{out_type.name} is made by llama.cpp's quantizer; use exaone_convert.pipeline.convert for it"
        )
    outfile = Path(outfile)
    check_outfile(outfile, force=force)
    ckpt = open_checkpoint(source_dir)
    plan = plan_conversion(ckpt, out_type)
    writer = GGUFWriter(path=None, arch=plan.arch.name)
    add_metadata(writer, plan, ckpt, out_type)
    return write_gguf(outfile, writer, plan.tensors, force=force, progress=progress, cancel=cancel)
