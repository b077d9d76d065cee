"""Tiny EXAONE checkpoints in the Hugging Face layout, for tests and demos.

Each kind is a real-format checkpoint written by the converter's own factory (``exaone_convert.synthetic``:
original EXAONE weight names, real config keys, bf16 safetensors) with what the tests need on top: a trained
byte-level BPE tokenizer with EXAONE's special tokens, chat templates (LG's own for EXAONE 4.5 and K-EXAONE),
tiny shapes, and weights drawn so that greedy paths rarely tie.
"""

from __future__ import annotations

import dataclasses
import json
import math
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from exaone_convert import atomic_write_bytes, families
from exaone_convert import synthetic as sy
from exaone_convert.synthetic_tokenizer import (
    EXAONE4_TEMPLATE,
    EXAONE35_TEMPLATE,
    EXAONE_DEEP_TEMPLATE,
    SPECIALS_2026,
    USER_DEFINED_2026,
    tokenizer_json,
)
from tokenizers import AddedToken, Tokenizer, pre_tokenizers, trainers

__all__ = ["EXAONE4_TEMPLATE", "EXAONE35_TEMPLATE", "EXAONE_DEEP_TEMPLATE", "SPECIALS_2026", "USER_DEFINED_2026"]

# EXAONE 4.5 and K-EXAONE share LG's EXAONE 4.5 chat template. LG's files are not copied into this repository:
# a kind that names this template reads it from the release folder beside the checkout (``release_file``) and
# cannot be built without it (``ReleaseFileMissing``; the tests that need it are skipped with that reason).
RELEASE_45_TEMPLATE = "release:EXAONE-4.5-33B/chat_template.jinja"


class ReleaseFileMissing(RuntimeError):
    """A fixture needs one of LG's release files and the release folder is not beside the checkout."""


def releases_dir() -> Path | None:
    """``shared/releases`` in the repository root or a folder above it (where CI and the workplace keep LG's
    release files), or None."""
    root = Path(__file__).resolve().parents[2]
    for folder in (root, *root.parents):
        candidate = folder / "shared" / "releases"
        if candidate.is_dir():
            return candidate
    return None


def release_file(relative: str) -> Path:
    """One of LG's release files, e.g. ``EXAONE-4.5-33B/chat_template.jinja``; ReleaseFileMissing when absent."""
    base = releases_dir()
    if base is None or not (base / relative).is_file():
        raise ReleaseFileMissing(f"LG's release file {relative} is not here (no shared/releases/ beside the "
                                 "checkout); tests that need LG's files run where that folder is")
    return base / relative


def template_text(template: str) -> str:
    """A kind's chat template: the Jinja source itself, or a release file's content for ``release:PATH``."""
    if template.startswith("release:"):
        return release_file(template.removeprefix("release:")).read_text(encoding="utf-8")
    return template


# ---------------------------------------------------------------------------------------------
# Tokenizer

# Ids 0.. in this order, all special (CONTROL in GGUF), like the real releases' low ids.
SPECIAL_TOKENS: tuple[str, ...] = (
    "[PAD]", "[BOS]", "[EOS]", "[UNK]",
    "[|system|]", "[|user|]", "[|assistant|]", "[|endofturn|]", "[|tool|]",
    "<think>", "</think>", "<thought>", "</thought>",
    "<tool_call>", "</tool_call>", "<tool_result>", "</tool_result>",
)  # fmt: skip
# Added after training, special=False (USER_DEFINED in GGUF).
USER_DEFINED_TOKENS: tuple[str, ...] = ("<|image|>",)
BOS, EOS, PAD, UNK = "[BOS]", "[|endofturn|]", "[PAD]", "[UNK]"
TARGET_VOCAB = 800

# The tokenizer EXAONE 4.5 and K-EXAONE share: the release's special tokens at the release's ids (SPECIALS_2026).
EOS_2026 = SPECIALS_2026[53]
IMAGE_PAD, VIDEO_PAD = SPECIALS_2026[67], SPECIALS_2026[68]


@dataclass(frozen=True)
class TokenizerFormat:
    """One tokenizer layout: special tokens by id (CONTROL in GGUF), then trained merges, then added tokens that
    are not special (USER_DEFINED); the pre-tokenizer (llama.cpp's name) and the end-of-sequence token."""

    name: str
    specials: tuple[str, ...]  # ids 0.. in order
    user_defined: tuple[str, ...]
    pre: str
    eos: str
    tokenizer_class: str = "GPT2Tokenizer"


FORMAT_2026 = TokenizerFormat(
    "exaone_2026", tuple(SPECIALS_2026.get(i, f"[unused{i}]") for i in range(max(SPECIALS_2026) + 1)),
    USER_DEFINED_2026, "exaone-moe", EOS_2026,
    # GPT2Tokenizer would make transformers rebuild GPT-2's pre-tokenizer and drop this one's split regex.
    tokenizer_class="PreTrainedTokenizerFast")
TOKENIZER_FORMATS: dict[str, TokenizerFormat] = {
    "exaone": TokenizerFormat("exaone", SPECIAL_TOKENS, USER_DEFINED_TOKENS, "exaone", EOS),
    "exaone4": TokenizerFormat("exaone4", SPECIAL_TOKENS, USER_DEFINED_TOKENS, "exaone4", EOS),
    "exaone_moe": FORMAT_2026,
    "exaone4_5": FORMAT_2026,
}

_CORPUS_LINES = (
    "안녕하세요. 저는 LG AI 연구원에서 만든 EXAONE입니다.",
    "오늘 서울의 날씨는 맑고 기온은 23도입니다. 내일은 비가 올 수도 있어요.",
    "한국어와 영어를 모두 이해하는 언어 모델을 노트북에서 실행해 봅시다.",
    "대한민국의 수도는 서울이고, 인구는 약 5천만 명입니다.",
    "질문이 있으면 언제든지 물어보세요! 최선을 다해 도와드리겠습니다.",
    "인공지능은 사람의 말을 이해하고 글을 쓰는 일을 돕습니다.",
    "Hello! I am a tiny test model. The quick brown fox jumps over the lazy dog.",
    "Large language models run locally on a laptop with llama.cpp and GGUF files.",
    "Please convert the checkpoint, quantize it to Q4_K_M, and chat with it offline.",
    "It's a sunny day, isn't it? We'll see what they've done; I'd say you're right.",
    "EXAONE 3.5는 2.4B, 7.8B, 32B 크기로 공개되었습니다 (released in December 2024).",
    "Mixed script: 모델 model 변환 conversion 토큰 token 서울 Seoul 123 테스트 test.",
    "Phone 010-1234-5678, order #98765, total 1,234,567원, pi 3.14159265358979.",
    "12345678 87654321 2024 2025 1000000 0.5 42 7 99 100 256 1024 65536",
    "Emoji: 😀 😂 👍 🎉 ❤️ 🇰🇷 👨‍👩‍👧‍👦 🧑🏽‍💻 🙏🏻 ✨ 🚀",
    'def greet(name: str) -> str:\n    return f"Hello, {name}!"\n',
    "for (int i = 0; i < n; ++i) {\n\tsum += a[i] * b[i];\n}\n",
    "import numpy as np\narr = np.zeros((3, 4), dtype=np.float32)\nprint(arr.shape)\n",
    '{"role": "user", "content": "안녕"}  // JSON with  double  spaces',
    "Line one\nLine two\n\nParagraph two\tcolumn\tseparated\n   indented text\n",
    "  leading spaces and trailing spaces  ",
    "<think>\n생각 중입니다.\n</think>\n\n답변입니다.",
    "<thought>\nLet me think step by step.\n</thought>\nThe answer is 4.",
    "감사합니다. 좋은 하루 보내세요! Thank you, have a nice day!",
    "프로그래밍 언어 파이썬(Python)으로 간단한 함수를 작성해 보겠습니다.",
    "The capital of France is Paris. 프랑스의 수도는 파리입니다.",
)


def tokenization_samples() -> list[str]:
    """Strings every tokenizer implementation must agree on."""
    return [
        "안녕하세요",
        "안녕하세요, 반갑습니다. 저는 작은 모델입니다.",
        "Hello world",
        "Hello, world! How are you?",
        "한국어 and English 섞어서 mixed 123 text",
        "😀👍 이모지 emoji 🎉",
        "👨‍👩‍👧‍👦 family, 🇰🇷 flag, 🧑🏽‍💻 coder",
        "12345678",
        "3.14159 and 1,000,000원",
        " leading space",
        "   three leading spaces",
        "double  spaces  here",
        "line one\nline two",
        "paragraph\n\nnext paragraph",
        "\n\n",
        "tab\tseparated\tvalues",
        "def f(x):\n    return x * 2\n",
        "if (a && b) { return [1, 2, 3]; }",
        "trailing spaces   ",
        "[|user|]안녕[|endofturn|]",
        "<think>\n생각\n</think>\n\n답",
        "image here: <|image|> done",
        "<|user|>\n안녕<|endofturn|>\n<|assistant|>\n<think>\n",
        "<vision><|image_pad|></vision>\n이 그림은?",
        "<tool_call>{\"name\": \"f\", \"arguments\": {}}</tool_call>",
    ]


_TOKENIZER_CACHE: dict[str, str] = {}


def tokenizer_format(arch: str) -> TokenizerFormat:
    if arch not in TOKENIZER_FORMATS:
        raise ValueError(f"unknown tokenizer arch {arch!r}; use one of {sorted(TOKENIZER_FORMATS)}")
    return TOKENIZER_FORMATS[arch]


def train_tokenizer(arch: str) -> Tokenizer:
    """A byte-level BPE trained on the built-in corpus, in the layout of ``arch``'s family (TOKENIZER_FORMATS:
    "exaone", "exaone4"; "exaone_moe" and "exaone4_5" share one); cached per layout."""
    fmt = tokenizer_format(arch)
    if fmt.name not in _TOKENIZER_CACHE:
        tok = Tokenizer.from_str(tokenizer_json(fmt.pre))  # an empty BPE with the family's pre-tokenizer
        trainer = trainers.BpeTrainer(
            vocab_size=TARGET_VOCAB,
            min_frequency=2,
            special_tokens=[AddedToken(t, special=True, normalized=False) for t in fmt.specials],
            initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
            show_progress=False,
        )
        tok.train_from_iterator(list(_CORPUS_LINES) * 4, trainer=trainer)
        tok.add_tokens([AddedToken(t, special=False, normalized=False) for t in fmt.user_defined])
        _TOKENIZER_CACHE[fmt.name] = tok.to_str()
    return Tokenizer.from_str(_TOKENIZER_CACHE[fmt.name])


# ---------------------------------------------------------------------------------------------
# Checkpoint kinds


# ROPE for the tiny EXAONE 3.x / 4.0 kinds: a small original context so llama3 scaling changes some frequencies
# at head_dim 16 (K-EXAONE and EXAONE 4.5 kinds use plain RoPE, as transformers' classes default to).
ROPE_SCALING = {
    "rope_type": "llama3",
    "factor": 8.0,
    "low_freq_factor": 1.0,
    "high_freq_factor": 4.0,
    "original_max_position_embeddings": 64,
}
MAX_POSITIONS = 1024
_PLAIN_ROPE = ("exaone_moe", "exaone4_5")


def Kind(family: str, template: str, **fields: Any) -> sy.Shape:  # noqa: N802  (reads as the shape it makes)
    """A tiny shape of ``family`` (a model type: "exaone" for 3.x and Deep, "exaone4", "exaone_moe",
    "exaone4_5"): the factory's ``Shape`` with the tests' context length and RoPE."""
    fields.setdefault("max_positions", MAX_POSITIONS)
    fields.setdefault("rope_scaling", None if family in _PLAIN_ROPE else ROPE_SCALING)
    return sy.Shape(family, template, **fields)


SAMPLING = {"temperature": 0.7, "top_p": 0.9, "top_k": 40, "repetition_penalty": 1.05}

KINDS: dict[str, sy.Shape] = {
    "exaone3_tied_sharded": Kind("exaone", EXAONE35_TEMPLATE, layers=3, shards=3, generation=SAMPLING),
    "exaone3_untied": Kind("exaone", EXAONE35_TEMPLATE, tied=False),
    "exaone_deep": Kind("exaone", EXAONE_DEEP_TEMPLATE, generation={"temperature": 0.6, "top_p": 0.95}),
    "exaone4": Kind("exaone4", EXAONE4_TEMPLATE, generation=SAMPLING),
    "exaone4_hybrid64": Kind(
        "exaone4", EXAONE4_TEMPLATE, layers=64, hidden=32, heads=2, kv_heads=1, head_dim=16, ffn=64,
        tied=False, sliding_window=8, sliding_pattern="LLLG",
    ),
    # 64 layers without sliding windows: llama.cpp turns windows on for every 64-layer exaone4 model.
    "exaone4_64_full": Kind(
        "exaone4", EXAONE4_TEMPLATE, layers=64, hidden=32, heads=2, kv_heads=1, head_dim=16, ffn=64, tied=False,
    ),
    # K-EXAONE's shape in miniature: a dense first layer, then MoE layers with a shared expert, 3:1
    # sliding/global attention, one MTP layer.
    "exaone_moe": Kind(
        "exaone_moe", RELEASE_45_TEMPLATE, layers=4, hidden=64, heads=4, kv_heads=2, head_dim=16, ffn=128,
        tied=False, sliding_window=8, sliding_pattern="LLLG", experts=8, experts_used=2, moe_ffn=32,
        shared_experts=1, dense_layers=1, mtp_layers=1, generation={"temperature": 1.0, "top_p": 0.95},
    ),
    # EXAONE 4.5's layout in miniature: an EXAONE 4.0 text backbone under model.language_model, a Qwen2-VL
    # style vision encoder under model.visual (3 blocks, the last one global, as clip.cpp needs), one MTP layer.
    "exaone4_5": Kind(
        "exaone4_5", RELEASE_45_TEMPLATE, tied=False, mtp_layers=1, generation={"temperature": 1.0, "top_p": 0.95},
        vision=dict(depth=3, hidden_size=32, intermediate_size=48, num_heads=2, num_key_value_heads=1,
                    out_hidden_size=64, fullatt_block_indexes=[2], window_size=112, patch_size=14,
                    spatial_merge_size=2, temporal_patch_size=2),
    ),
    # 64 text layers with 3:1 sliding/global attention (EXAONE 4.5-33B's pattern) plus one MTP layer.
    "exaone4_5_hybrid64": Kind(
        "exaone4_5", RELEASE_45_TEMPLATE, layers=64, hidden=32, heads=2, kv_heads=1, head_dim=16, ffn=64, tied=False,
        sliding_window=8, sliding_pattern="LLLG", mtp_layers=1,
        vision=dict(depth=3, hidden_size=32, intermediate_size=48, num_heads=2, num_key_value_heads=1,
                    out_hidden_size=32, fullatt_block_indexes=[2], window_size=112, patch_size=14,
                    spatial_merge_size=2, temporal_patch_size=2),
    ),
}  # fmt: skip

FINAL_NORMS = ("transformer.ln_f.weight", "model.norm.weight", "model.language_model.norm.weight")


# Embeddings small next to the residual branches, so that tied models do not just echo their
# input token; lm_head and the final norm large, so that logits spread wide (std ~10).
EMBED_STD, LM_HEAD_STD, FINAL_NORM, PROJ_GAIN, ROUTER_GAIN = 0.25, 1.0, 2.0, 1.5, 4.0


def _init_value(name: str, shape: tuple[int, ...], gen: torch.Generator) -> torch.Tensor:
    if len(shape) == 1:
        if name.endswith(".bias"):
            return 0.02 * torch.randn(shape, generator=gen)
        if name.endswith("e_score_correction_bias"):
            return 0.05 * torch.randn(shape, generator=gen)
        base = FINAL_NORM if name in FINAL_NORMS else 1.0
        return base + 0.1 * torch.randn(shape, generator=gen)
    if name == "lm_head.weight":
        return LM_HEAD_STD * torch.randn(shape, generator=gen)
    if "wte" in name or "embed_tokens" in name:
        return EMBED_STD * torch.randn(shape, generator=gen)
    if name.endswith("mlp.gate.weight"):  # router: scores far apart, so expert choice is not a near-tie
        return ROUTER_GAIN * torch.randn(shape, generator=gen) / math.sqrt(shape[-1])
    return torch.randn(shape, generator=gen) * (PROJ_GAIN / math.sqrt(math.prod(shape[1:])))


def _ids(tok: Tokenizer, kind: sy.Shape) -> dict[str, int]:
    return sy.special_ids(tok.to_str(), kind.row)


def transformers_layout(kind: sy.Shape, vocab: int) -> dict[str, tuple[int, ...]]:
    """The tensor names and shapes transformers' own model class saves for ``kind`` (K-EXAONE, EXAONE 4.5),
    built from the factory's config.json, plus the mtp.* tensors of the release (transformers has none)."""
    from safetensors.torch import load_file
    from transformers import AutoConfig, AutoModelForCausalLM, AutoModelForImageTextToText

    with tempfile.TemporaryDirectory() as tmp:
        config = sy.hf_config(kind, vocab, _ids(train_tokenizer(kind.family), kind))
        (Path(tmp) / "config.json").write_text(json.dumps(config), encoding="utf-8")
        cfg = AutoConfig.from_pretrained(tmp)
        auto = AutoModelForImageTextToText if kind.row.vision else AutoModelForCausalLM
        model = auto.from_config(cfg)
        layer = "model.language_model.layers.0." if kind.row.vision else "model.layers.0."
        model.save_pretrained(tmp)
        names = {k: tuple(v.shape) for k, v in load_file(str(Path(tmp) / "model.safetensors")).items()}
    for i in range(kind.mtp_layers):
        names.update({f"mtp.layers.{i}." + k[len(layer):]: v for k, v in names.items() if k.startswith(layer)})
    if kind.mtp_layers:
        h = kind.hidden
        names.update({"mtp.fc.weight": (h, 2 * h), "mtp.pre_fc_norm_embedding.weight": (h,),
                      "mtp.pre_fc_norm_hidden.weight": (h,), "mtp.norm.weight": (h,)})
    return names


def random_weights(kind: sy.Shape, vocab: int, seed: int) -> dict[str, torch.Tensor]:
    """Random bf16 weights under the factory's names: varied greedy output with logits far apart on average
    (K-EXAONE and EXAONE 4.5 draw in name order, the others in file order).

    Random logits still come close now and then (a Gaussian's top-2 gap); compare greedy
    paths with reference.greedy_divergence, which tolerates near-ties."""
    layout = sy.tensor_layout(kind, vocab)
    if kind.family in _PLAIN_ROPE:
        layout = sorted(layout)
    gen = torch.Generator().manual_seed(seed)
    return {name: _init_value(name, shape, gen).to(torch.bfloat16).contiguous() for name, shape in layout}


# ---------------------------------------------------------------------------------------------
# Writing


def write_atomic(path: Path, data: bytes) -> None:
    """The project's atomic writer: partial file in the same folder, fsync, rename."""
    atomic_write_bytes(path, data)


def write_json(path: Path, obj: object) -> None:
    sy.write_json(path, obj)


def write_weights(out_dir: Path, tensors: dict[str, torch.Tensor], shards: int) -> None:
    """``tensors`` (bf16) through the factory's safetensors writer."""
    layout = [(name, tuple(t.shape)) for name, t in tensors.items()]
    sy.write_weights(out_dir, layout, lambda name, _shape: [tensors[name].float().numpy()], shards)


def write_tokenizer_files(out_dir: Path, tok: Tokenizer, template: str, family: str) -> None:
    """tokenizer.json, tokenizer_config.json and special_tokens_map.json of ``family`` (a model type); a release's
    template (``release:PATH``) in chat_template.jinja, as the 2026 releases ship theirs."""
    fam = families.family_for_model_type(family)
    assert fam is not None, family
    sy.write_tokenizer_files(out_dir, tok.to_str(), template_text(template), fam, max_positions=MAX_POSITIONS,
                             template_file=template.startswith("release:"))


def write_checkpoint(out_dir: Path, kind: sy.Shape, tok: Tokenizer, tensors: dict[str, torch.Tensor]) -> Path:
    """Write a full HF-layout folder for `kind` with the given tokenizer and weights."""
    text = template_text(kind.template)  # ReleaseFileMissing before anything is written
    layout = [(name, tuple(t.shape)) for name, t in tensors.items()]
    expected = dict(sy.tensor_layout(kind, tok.get_vocab_size(with_added_tokens=True)))
    if dict(layout) != expected:
        raise ValueError(f"weights do not match {kind.family}'s layout")
    sy.write_checkpoint(out_dir, dataclasses.replace(kind, template=text), tok.to_str(),
                        lambda name, _shape: [tensors[name].float().numpy()],
                        template_file=kind.template.startswith("release:"))
    return out_dir


def preprocessor_config(kind: sy.Shape) -> dict[str, object]:
    return sy.preprocessor_config(kind)


def build_checkpoint(kind: str, out_dir: Path, *, seed: int = 0) -> Path:
    """Build the tiny checkpoint `kind` (see KINDS) into out_dir and return out_dir."""
    if kind not in KINDS:
        raise ValueError(f"unknown checkpoint kind {kind!r}; use one of {sorted(KINDS)}")
    spec = KINDS[kind]
    tok = train_tokenizer(spec.family)
    vocab = tok.get_vocab_size(with_added_tokens=True)
    return write_checkpoint(Path(out_dir), spec, tok, random_weights(spec, vocab, seed))
