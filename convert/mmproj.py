"""The vision projector of a multimodal EXAONE checkpoint (EXAONE 4.5) as its own GGUF, the ``mmproj`` file
llama.cpp's mtmd library loads beside the text model (projector type ``exaone4_5``: a Qwen2-VL style ViT
with grouped-query attention and a patch merger).

Tensor names come from gguf-py's ``TensorNameMap`` for ``MMPROJ``; the keys are those llama.cpp's own
converter writes for EXAONE 4.5. What clip.cpp hard-codes and would run wrong is refused here.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import gguf
import numpy as np
from gguf import GGMLQuantizationType as QType
from gguf import GGUFWriter

from .architectures import VISION_PREFIXES, config_value, detect_architecture
from .checkpoint import Checkpoint, open_checkpoint, read_json
from .convert import array_chunks, choose_type, encode, record_chunks, tensor_nbytes, to_f32
from .errors import ConversionError
from .outtypes import OUTTYPES, OutType, get_outtype
from .writer import PlannedTensor, Progress, check_outfile, write_gguf

PROJECTOR_TYPE = "exaone4_5"  # clip.cpp's PROJECTOR_TYPE_EXAONE4_5
HEAD_COUNT_KV_KEY = "clip.vision.attention.head_count_kv"
PREPROCESSOR_FILES = ("preprocessor_config.json", "processor_config.json")
# What clip.cpp's exaone4_5 graph assumes (it does not read these from the file).
CLIP_SPATIAL_MERGE = 2
CLIP_TEMPORAL_PATCH = 2
CLIP_WINDOW = 112
DEFAULT_IMAGE_SIZE = 560  # llama.cpp's converter default for Qwen2-VL style encoders
VISION_EPS = 1e-6  # transformers' EXAONE 4.5 vision RMSNorms use this, whatever the text model's eps


def mmproj_outtype(text_outtype: str) -> OutType:
    """f32/f16/bf16 follow the text model; quantized text gets an f16 projector (as llama.cpp's converter)."""
    out = get_outtype(text_outtype)
    return out if out.tensor_type in (QType.F32, QType.F16, QType.BF16) else OUTTYPES["f16"]


def mmproj_outfile(text_outfile: Path, text_outtype: str, name: str) -> Path:
    """``mmproj-NAME-TYPE.gguf`` beside the text model."""
    return text_outfile.parent / f"mmproj-{name}-{mmproj_outtype(text_outtype).name.upper()}.gguf"


def reusable_mmproj(path: Path, text_hidden: int) -> bool:
    """An mmproj already at ``path`` that fits a text model of width ``text_hidden`` (e.g. written when the
    same model was converted to another type: q8_0 and q4_k_m share the f16 projector)."""
    from .gguf_check import inspect_mmproj

    if not path.is_file():
        return False
    try:
        return inspect_mmproj(path).projection_dim == text_hidden
    except ConversionError:
        return False


def has_vision(source_dir: str | Path) -> bool:
    ckpt_config = read_json(Path(source_dir) / "config.json", "config.json")
    return detect_architecture(ckpt_config).family.vision


def _preprocessor(root: Path) -> dict[str, Any]:
    merged: dict[str, Any] = {}
    for name in PREPROCESSOR_FILES:
        if (root / name).is_file():
            cfg = read_json(root / name, name)
            merged.update(cfg.get("image_processor", {}) if isinstance(cfg.get("image_processor"), dict) else {})
            merged.update({k: v for k, v in cfg.items() if k != "image_processor"})
    if "image_mean" not in merged or "image_std" not in merged:
        raise ConversionError(f"{root} has no preprocessor_config.json with image_mean and image_std; download "
                              "the processor files with the checkpoint (or pass --no-mmproj for text only)")
    return merged


def _vision_config(config: Mapping[str, Any]) -> dict[str, Any]:
    vision = config.get("vision_config")
    if not isinstance(vision, dict):
        raise ConversionError("config.json has no vision_config object; re-download the checkpoint "
                              "(or pass --no-mmproj for text only)")
    checks = (
        ("spatial_merge_size", CLIP_SPATIAL_MERGE), ("temporal_patch_size", CLIP_TEMPORAL_PATCH),
        ("window_size", CLIP_WINDOW),
    )
    for key, want in checks:
        if vision.get(key, want) != want:
            raise ConversionError(
                f"vision_config {key} is {vision[key]!r}; llama.cpp's exaone4_5 vision encoder assumes {want} "
                "and would run it wrong, so the projector is not converted (pass --no-mmproj for text only)"
            )
    if vision.get("intermediate_size") == vision.get("hidden_size"):
        raise ConversionError(
            "vision_config intermediate_size equals hidden_size; llama.cpp reads such an encoder's feed-forward "
            "weights the other way round and would run it wrong (pass --no-mmproj for text only)"
        )
    full = vision.get("fullatt_block_indexes") or []
    if not isinstance(full, list) or not all(isinstance(i, int) and not isinstance(i, bool) for i in full):
        raise ConversionError(f"config.json's vision_config fullatt_block_indexes is {full!r}, not a list of layer "
                              "numbers; re-download the checkpoint (or pass --no-mmproj for text only)")
    if full:
        step = full[0] + 1
        if any(b - a != step for a, b in zip(full, full[1:], strict=False)):
            raise ConversionError(f"vision_config fullatt_block_indexes {full} are not evenly spaced; llama.cpp "
                                  "supports one global block every N (pass --no-mmproj for text only)")
    return vision


def _patch_embed_halves(rec_name: str, ckpt: Checkpoint, target: QType) -> list[PlannedTensor]:
    """The Conv3D patch embedding (out, in, 2, kh, kw) as the two Conv2D kernels clip.cpp adds up."""
    rec = ckpt.tensors[rec_name]
    if len(rec.shape) != 5 or rec.shape[2] != CLIP_TEMPORAL_PATCH:
        raise ConversionError(f"tensor {rec_name!r} has shape {list(rec.shape)}; expected a Conv3D kernel with "
                              f"temporal size {CLIP_TEMPORAL_PATCH}; the weights and config.json do not match")
    full = to_f32(rec.read(), rec.dtype)
    base = gguf.TENSOR_NAMES[gguf.MODEL_TENSOR.V_ENC_EMBD_PATCH] + ".weight"
    out = []
    for i, name in enumerate((base, base + ".1")):
        half = np.ascontiguousarray(full[:, :, i])
        data = encode(half, "F32", target)
        out.append(PlannedTensor(name, half.shape, target, tensor_nbytes(half.shape, target), array_chunks(data)))
    return out


def plan_mmproj(ckpt: Checkpoint, outtype: OutType) -> tuple[dict[str, Any], list[PlannedTensor]]:
    vision = _vision_config(ckpt.config)
    depth = _value(vision, ("depth", "num_hidden_layers"), int, "the encoder's depth")
    if depth < 1:
        raise ConversionError("vision_config has no depth; re-download the checkpoint")
    name_map = gguf.get_tensor_name_map(gguf.MODEL_ARCH.MMPROJ, depth)
    patch_target = QType.F16 if outtype.tensor_type == QType.F16 else QType.F32
    tensors: list[PlannedTensor] = []
    for rec in ckpt:
        if not rec.name.startswith(VISION_PREFIXES):
            continue
        name = rec.name.removeprefix("model.")
        if name.startswith("visual.patch_embed.proj."):
            tensors += _patch_embed_halves(rec.name, ckpt, patch_target)
            continue
        gguf_name = name_map.get_name(name, try_suffixes=(".weight", ".bias"))
        if gguf_name is None:
            raise ConversionError(f"unexpected vision tensor {rec.name!r}; is this really an EXAONE 4.5 checkpoint?")
        target = choose_type(rec.shape, outtype)
        tensors.append(PlannedTensor(gguf_name, rec.shape, target, tensor_nbytes(rec.shape, target),
                                     record_chunks(rec, target)))
    if not tensors:
        raise ConversionError("the checkpoint has no vision encoder weights (model.visual.*); re-download it "
                              "(or pass --no-mmproj for text only)")
    return vision, tensors


_NO_MMPROJ = " (or pass --no-mmproj for text only)"


def _value(config: Mapping[str, Any], fields: tuple[str, ...], kind: type, what: str,
           where: str = "config.json's vision_config") -> Any:
    """``config_value`` for the vision encoder: the one-line error names where the field lives and the
    ``--no-mmproj`` way out."""
    try:
        return config_value(config, fields, kind, what=what)
    except ConversionError as err:
        raise ConversionError(str(err).replace("config.json", where, 1) + _NO_MMPROJ) from None


def _optional(config: Mapping[str, Any], key: str, kind: type, default: Any, where: str) -> Any:
    return default if config.get(key) is None else _value(config, (key,), kind, key, where)


def _float_list(pre: Mapping[str, Any], key: str) -> list[float]:
    """``image_mean`` / ``image_std``: three numbers, one per colour channel."""
    value = pre[key]
    if not (isinstance(value, list) and len(value) == 3 and all(
            isinstance(v, (int, float)) and not isinstance(v, bool) for v in value)):
        raise ConversionError(f"the preprocessor config's {key} is {value!r}, not three numbers (one per colour "
                              f"channel); re-download the processor files{_NO_MMPROJ}")
    return [float(v) for v in value]


def _add_metadata(writer: GGUFWriter, ckpt: Checkpoint, vision: Mapping[str, Any], outtype: OutType) -> None:
    config = ckpt.config
    nested = config.get("text_config")
    text: dict[str, Any] = nested if isinstance(nested, dict) else {}
    pre = _preprocessor(ckpt.root)
    writer.add_type(gguf.GGUFType.MMPROJ)
    writer.add_name(f"mmproj {config.get('_name_or_path') or ckpt.name}")
    writer.add_file_type(int(outtype.file_type))
    writer.add_clip_has_vision_encoder(True)
    writer.add_clip_projector_type(PROJECTOR_TYPE)
    writer.add_vision_projection_dim(_value(text if text.get("hidden_size") is not None else config,
                                            ("hidden_size",), int, "the text model's width", "config.json"))
    writer.add_vision_image_size(_optional(vision, "image_size", int, DEFAULT_IMAGE_SIZE, "vision_config"))
    writer.add_vision_patch_size(_value(vision, ("patch_size",), int, "the patch size"))
    writer.add_vision_embedding_length(_value(vision, ("hidden_size",), int, "the encoder's width"))
    writer.add_vision_feed_forward_length(_value(vision, ("intermediate_size",), int, "the feed-forward width"))
    writer.add_vision_block_count(_value(vision, ("depth", "num_hidden_layers"), int, "the encoder's depth"))
    writer.add_vision_head_count(_value(vision, ("num_heads", "num_attention_heads"), int, "the head count"))
    if vision.get("num_key_value_heads") is not None:
        writer.add_uint32(HEAD_COUNT_KV_KEY, _value(vision, ("num_key_value_heads",), int, "the KV head count"))
    writer.add_vision_image_mean(_float_list(pre, "image_mean"))
    writer.add_vision_image_std(_float_list(pre, "image_std"))
    for key, add in (("min_pixels", writer.add_vision_min_pixels), ("max_pixels", writer.add_vision_max_pixels)):
        if pre.get(key) is not None:
            add(_value(pre, (key,), int, key, "the preprocessor config"))
    writer.add_vision_use_silu(True)
    writer.add_vision_attention_layernorm_eps(_optional(vision, "rms_norm_eps", float, VISION_EPS, "vision_config"))
    if vision.get("window_size") is not None:
        writer.add_vision_window_size(_value(vision, ("window_size",), int, "the window size"))
    full = vision.get("fullatt_block_indexes") or []  # a list of integers (_vision_config checked it)
    if full:
        writer.add_vision_n_wa_pattern(full[0] + 1)


def convert_mmproj(
    source_dir: str | Path,
    outfile: str | Path,
    text_outtype: str = "f16",
    *,
    force: bool = False,
    progress: Progress | None = None,
    cancel: threading.Event | None = None,
) -> Path:
    """Write the vision projector of the multimodal checkpoint in ``source_dir`` to ``outfile``.

    Its float type follows ``text_outtype`` (f16 for quantized text). Raises ConversionError (one line
    naming the fix) for bad input; leaves no partial file.
    """
    outfile = Path(outfile)
    check_outfile(outfile, force=force)
    ckpt = open_checkpoint(source_dir)
    if not detect_architecture(ckpt.config).family.vision:
        raise ConversionError(f"{ckpt.name} has no vision encoder; only EXAONE 4.5 checkpoints have an mmproj")
    outtype = mmproj_outtype(text_outtype)
    vision, tensors = plan_mmproj(ckpt, outtype)
    writer = GGUFWriter(path=None, arch=gguf.MODEL_ARCH_NAMES[gguf.MODEL_ARCH.MMPROJ])
    _add_metadata(writer, ckpt, vision, outtype)
    return write_gguf(outfile, writer, tensors, force=force, progress=progress, cancel=cancel)


