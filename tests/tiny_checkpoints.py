"""Tiny EXAONE checkpoints in the Hugging Face layout, for tests and demos.

Each kind is a real-format checkpoint (original EXAONE weight names, real config keys, bf16
safetensors, a trained byte-level BPE tokenizer with EXAONE's special tokens and chat
templates) small enough to build in a second. No product code is imported here.
"""

from __future__ import annotations

import json
import math
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import torch
from exaone_convert import atomic_write_bytes
from safetensors.torch import save as safetensors_save
from tokenizers import AddedToken, Regex, Tokenizer, decoders, models, pre_tokenizers, processors, trainers

# ---------------------------------------------------------------------------------------------
# Chat templates (Jinja source, exactly as it would sit in tokenizer_config.json).

# The official EXAONE 3.0 / 3.5 template.
EXAONE35_TEMPLATE = (
    r"{% for message in messages %}{% if loop.first and message['role'] != 'system' %}"
    r"{{ '[|system|][|endofturn|]\n' }}{% endif %}{{ '[|' + message['role'] + '|]' + message['content'] }}"
    r"{% if message['role'] == 'user' %}{{ '\n' }}{% else %}{{ '[|endofturn|]\n' }}{% endif %}{% endfor %}"
    r"{% if add_generation_prompt %}{{ '[|assistant|]' }}{% endif %}"
)

# EXAONE Deep: turns joined by "\n", user turns without [|endofturn|], assistant history keeps
# only the text after </thought>, generation prompt opens a <thought> block.
EXAONE_DEEP_TEMPLATE = (
    r"{% for message in messages %}{% if loop.first and message['role'] != 'system' %}"
    r"{{ '[|system|][|endofturn|]\n' }}{% endif %}{% set content = message['content'] %}"
    r"{% if '</thought>' in content %}{% set content = content.split('</thought>')[-1].lstrip('\n') %}"
    r"{% endif %}{{ '[|' + message['role'] + '|]' + content }}"
    r"{% if message['role'] != 'user' %}{{ '[|endofturn|]' }}{% endif %}"
    r"{% if not loop.last %}{{ '\n' }}{% endif %}{% endfor %}"
    r"{% if add_generation_prompt %}{{ '\n[|assistant|]<thought>\n' }}{% endif %}"
)

# EXAONE 4.0: role tokens followed by "\n", every turn ends with "[|endofturn|]\n", assistant
# history without reasoning, tools listed in the system turn, enable_thinking defaults to false.
EXAONE4_TEMPLATE = r"""{%- macro tool_list(tools) -%}
{{- '# Available Tools\nYou may call the tools below. Each is described in JSON between <tool> and </tool>.\n' -}}
{%- for tool in tools -%}
{{- '<tool>' + (tool | tojson) + '</tool>\n' -}}
{%- endfor -%}
{{- '\nTo call a tool, write a JSON object with its name and arguments between <tool_call> and </tool_call>.' -}}
{%- endmacro -%}
{%- set has_tools = tools is defined and tools -%}
{%- set has_system = messages | length > 0 and messages[0].role == 'system' -%}
{%- if has_system -%}
{{- '[|system|]\n' + messages[0].content -}}
{%- if has_tools -%}{{- '\n\n' + tool_list(tools) -}}{%- endif -%}
{{- '[|endofturn|]\n' -}}
{%- elif has_tools -%}
{{- '[|system|]\n' + tool_list(tools) + '[|endofturn|]\n' -}}
{%- endif -%}
{%- for message in (messages[1:] if has_system else messages) -%}
{%- if message.role == 'assistant' -%}
{%- set content = message.content or '' -%}
{%- if '</think>' in content -%}{%- set content = content.split('</think>')[-1].strip() -%}{%- endif -%}
{{- '[|assistant|]\n<think>\n\n</think>\n\n' + content -}}
{%- for call in (message.tool_calls or []) -%}
{%- set fn = call.function if call.function is defined else call -%}
{{- ('\n' if (content or not loop.first) else '') + '<tool_call>' -}}
{{- {'name': fn.name, 'arguments': fn.arguments} | tojson -}}
{{- '</tool_call>' -}}
{%- endfor -%}
{{- '[|endofturn|]\n' -}}
{%- elif message.role == 'tool' -%}
{%- if loop.first or loop.previtem.role != 'tool' -%}{{- '[|tool|]\n' -}}{%- endif -%}
{{- '<tool_result>' + message.content + '</tool_result>' -}}
{%- if loop.last or loop.nextitem.role != 'tool' -%}{{- '[|endofturn|]\n' -}}{%- else -%}{{- '\n' -}}{%- endif -%}
{%- else -%}
{{- '[|' + message.role + '|]\n' + message.content + '[|endofturn|]\n' -}}
{%- endif -%}
{%- endfor -%}
{%- if add_generation_prompt -%}
{{- '[|assistant|]\n' -}}
{%- if enable_thinking is defined and enable_thinking -%}{{- '<think>\n' -}}
{%- else -%}{{- '<think>\n\n</think>\n\n' -}}{%- endif -%}
{%- endif -%}"""

# EXAONE 4.5 and K-EXAONE share LG's EXAONE 4.5 chat template. LG's files are not copied into this repository:
# a kind that names this template reads it from the release folder beside the checkout (``release_file``) and
# cannot be built without it (``ReleaseFileMissing``; the tests that need it are skipped with that reason).
RELEASE_45_TEMPLATE = "release:EXAONE-4.5-33B/chat_template.jinja"


class ReleaseFileMissing(RuntimeError):
    """A fixture needs one of LG's release files and the release folder is not beside the checkout."""


def releases_dir() -> Path | None:
    """``shared/releases`` in the repository root or a folder above it (where CI and the workplace keep LG's
    release files), or None."""
    root = Path(__file__).resolve().parent.parent
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

# The tokenizer EXAONE 4.5 and K-EXAONE share (153,600 tokens in the release): its special tokens at the release's
# ids. Ids 75-83 are the release's personal-information placeholders (which name sits at which id is this
# fixture's guess); the ids in between hold unused special tokens here.
EOS_2026 = "<|endofturn|>"
SPECIALS_2026: dict[int, str] = {
    0: "[PAD]", 1: "[BOS]", 2: "[EOS]", 3: "[UNK]",
    50: "<|system|>", 51: "<|user|>", 52: "<|assistant|>", 53: EOS_2026,
    67: "<|image_pad|>", 68: "<|video_pad|>", 73: "<vision>", 74: "</vision>",
    **{75 + i: f"PI:{name}" for i, name in enumerate(
        ("URL", "EMAIL", "ACCOUNT_NUM", "PHONE_NUM", "BUSINESS_NUM", "ANNON", "KEY", "ID", "IP_ADDRESS"))},
    105: "<|tool|>", 106: "<|tool_declare|>",
}  # fmt: skip
# Added tokens that are not special, as in EXAONE 4.0's release (decode keeps them).
USER_DEFINED_2026: tuple[str, ...] = ("<think>", "</think>", "<tool_call>", "</tool_call>", "<tool_result>",
                                      "</tool_result>")
IMAGE_PAD, VIDEO_PAD = SPECIALS_2026[67], SPECIALS_2026[68]


@dataclass(frozen=True)
class TokenizerFormat:
    """One tokenizer layout: special tokens by id (CONTROL in GGUF), then trained merges, then added tokens that
    are not special (USER_DEFINED); the pre-tokenizer (``_pre_tokenizer``) and the end-of-sequence token."""

    name: str
    specials: tuple[str, ...]  # ids 0.. in order
    user_defined: tuple[str, ...]
    pre: str
    eos: str
    tokenizer_class: str = "GPT2Tokenizer"


FORMAT_2026 = TokenizerFormat(
    "exaone_2026", tuple(SPECIALS_2026.get(i, f"[unused{i}]") for i in range(max(SPECIALS_2026) + 1)),
    USER_DEFINED_2026, "exaone_moe", EOS_2026,
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


K_EXAONE_SPLIT = (
    r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?(?:\p{L}\p{M}*(?: \p{L}\p{M}*)*)+|\p{N}"
    r"| ?[^\s\p{L}\p{N}]+[\r\n/]?|\s*[\r\n]|\s+(?!\S)|\s+"
)


def _pre_tokenizer(pre: str) -> pre_tokenizers.PreTokenizer:
    byte_level = pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=True)
    table: dict[str, Callable[[], pre_tokenizers.PreTokenizer]] = {
        # llama.cpp pre-type "exaone": every digit on its own, then GPT-2's regex.
        "exaone": lambda: pre_tokenizers.Sequence(
            [pre_tokenizers.Split(Regex(r"\p{N}"), behavior="isolated"), byte_level]
        ),
        # llama.cpp pre-type "exaone4": plain GPT-2 regex.
        "exaone4": lambda: byte_level,
        # llama.cpp pre-type "exaone-moe" (the tokenizer EXAONE 4.5 and K-EXAONE share): one regex split,
        # letters may join across single spaces, digits one by one; then bytes without GPT-2's regex.
        "exaone_moe": lambda: pre_tokenizers.Sequence([
            pre_tokenizers.Split(Regex(K_EXAONE_SPLIT), behavior="isolated"),
            pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=False),
        ]),
    }
    if pre not in table:
        raise ValueError(f"unknown pre-tokenizer {pre!r}; use one of {sorted(table)}")
    return table[pre]()


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
        tok = Tokenizer(models.BPE())
        tok.pre_tokenizer = _pre_tokenizer(fmt.pre)
        tok.decoder = decoders.ByteLevel()
        tok.post_processor = processors.ByteLevel(trim_offsets=False)
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


@dataclass(frozen=True)
class Kind:
    family: str  # "exaone" (3.x / Deep), "exaone4" or "exaone_moe"
    template: str
    layers: int = 2
    hidden: int = 64
    heads: int = 4
    kv_heads: int = 2
    head_dim: int = 16
    ffn: int = 128
    tied: bool = True
    shards: int = 1
    sliding_window: int | None = None
    sliding_pattern: str | None = None  # e.g. "LLLG" (L sliding, G full), repeated over layers
    generation: dict[str, float | int] = field(default_factory=dict)
    layer_types: tuple[str, ...] | None = None  # explicit per-layer attention types (else sliding_pattern)
    # Mixture of experts (exaone_moe): routed experts, experts per token, expert width, shared experts,
    # leading dense layers; and multi-token-prediction layers (mtp.* weights transformers ignores).
    experts: int = 0
    experts_used: int = 0
    moe_ffn: int = 0
    shared_experts: int = 0
    dense_layers: int = 0
    mtp_layers: int = 0
    vision: dict[str, object] | None = None  # exaone4_5: the vision encoder's config (transformers' field names)


SAMPLING = {"temperature": 0.7, "top_p": 0.9, "top_k": 40, "repetition_penalty": 1.05}

KINDS: dict[str, Kind] = {
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

ROPE_THETA = 1_000_000.0
MAX_POSITIONS = 1024
# A small original context so llama3 scaling changes some frequencies at head_dim 16.
ROPE_SCALING = {
    "rope_type": "llama3",
    "factor": 8.0,
    "low_freq_factor": 1.0,
    "high_freq_factor": 4.0,
    "original_max_position_embeddings": 64,
}
NORM_EPS = 1e-5


def layer_types(kind: Kind) -> list[str]:
    if kind.layer_types is not None:
        return list(kind.layer_types)
    if kind.sliding_pattern is None:
        return ["full_attention"] * kind.layers
    names = {"L": "sliding_attention", "G": "full_attention"}
    return [names[kind.sliding_pattern[i % len(kind.sliding_pattern)]] for i in range(kind.layers)]


def special_ids(tok: Tokenizer) -> dict[str, int]:
    """{BOS: id, EOS: id, PAD: id, UNK: id}; EOS is the tokenizer's own end of turn (EOS_2026 in the 2026 layout)."""
    ids: dict[str, int] = {}
    for name in (BOS, EOS, PAD, UNK):
        text = EOS_2026 if name == EOS and tok.token_to_id(EOS_2026) is not None else name
        i = tok.token_to_id(text)
        if i is None:
            raise RuntimeError(f"tokenizer lacks {text}")
        ids[name] = i
    return ids


def hf_config(kind: Kind, vocab: int, ids: dict[str, int]) -> dict[str, object]:
    common: dict[str, object] = {
        "vocab_size": vocab,
        "hidden_size": kind.hidden,
        "intermediate_size": kind.ffn,
        "num_attention_heads": kind.heads,
        "num_key_value_heads": kind.kv_heads,
        "head_dim": kind.head_dim,
        "max_position_embeddings": MAX_POSITIONS,
        "rope_theta": ROPE_THETA,
        "rope_scaling": dict(ROPE_SCALING),
        "tie_word_embeddings": kind.tied,
        "bos_token_id": ids[BOS],
        "eos_token_id": ids[EOS],
        "pad_token_id": ids[PAD],
        "initializer_range": 0.02,
        "use_cache": True,
        "torch_dtype": "bfloat16",
    }
    if kind.family == "exaone":
        return {
            "architectures": ["ExaoneForCausalLM"],
            "model_type": "exaone",
            "num_layers": kind.layers,
            "layer_norm_epsilon": NORM_EPS,
            "activation_function": "silu",
            "attention_dropout": 0.0,
            "embed_dropout": 0.0,
            "resid_dropout": 0.0,
            **common,
            "transformers_version": "4.43.0",
        }
    if kind.family == "exaone_moe":
        return moe_config(kind, common)
    if kind.family == "exaone4_5":
        return vl_config(kind, common, ids)
    return {
        "architectures": ["Exaone4ForCausalLM"],
        "model_type": "exaone4",
        "num_hidden_layers": kind.layers,
        "rms_norm_eps": NORM_EPS,
        "hidden_act": "silu",
        "attention_dropout": 0.0,
        "sliding_window": kind.sliding_window,
        "sliding_window_pattern": kind.sliding_pattern,
        "layer_types": layer_types(kind),
        **common,
        "transformers_version": "4.54.0",
    }


def moe_config(kind: Kind, common: dict[str, object]) -> dict[str, object]:
    """config.json of a K-EXAONE-shaped checkpoint: transformers' own ExaoneMoeConfig, plus the two keys
    the release carries and the class lacks (the gating function and the MTP layer count)."""
    from transformers import ExaoneMoeConfig

    fields = {k: v for k, v in common.items() if k not in ("rope_theta", "rope_scaling", "torch_dtype")}
    config = ExaoneMoeConfig(
        **fields, num_hidden_layers=kind.layers, rms_norm_eps=NORM_EPS, hidden_act="silu",
        rope_parameters={"rope_type": "default", "rope_theta": ROPE_THETA},
        sliding_window=kind.sliding_window, sliding_window_pattern=len(kind.sliding_pattern or "") or None,
        layer_types=layer_types(kind), first_k_dense_replace=kind.dense_layers,
        moe_intermediate_size=kind.moe_ffn, num_experts=kind.experts, num_experts_per_tok=kind.experts_used,
        num_shared_experts=kind.shared_experts, routed_scaling_factor=2.5, norm_topk_prob=True,
    )
    config.architectures = ["ExaoneMoeForCausalLM"]
    out = config.to_dict()
    out.update(scoring_func="sigmoid", num_nextn_predict_layers=kind.mtp_layers, torch_dtype="bfloat16")
    return out


def vl_config(kind: Kind, common: dict[str, object], ids: dict[str, int]) -> dict[str, object]:
    """config.json of an EXAONE 4.5-shaped checkpoint: transformers' own Exaone4_5_Config (text config nested),
    plus the MTP layer count the release carries."""
    from transformers import Exaone4_5_Config

    text = {k: v for k, v in common.items() if k not in ("rope_theta", "rope_scaling", "torch_dtype")}
    text.update(model_type="exaone4", num_hidden_layers=kind.layers, rms_norm_eps=NORM_EPS, hidden_act="silu",
                rope_parameters={"rope_type": "default", "rope_theta": ROPE_THETA},
                sliding_window=kind.sliding_window, layer_types=layer_types(kind),
                num_nextn_predict_layers=kind.mtp_layers)
    tok = train_tokenizer(kind.family)
    config = Exaone4_5_Config(text_config=text, vision_config=dict(kind.vision or {}),
                              image_token_id=tok.token_to_id(IMAGE_PAD), video_token_id=tok.token_to_id(VIDEO_PAD),
                              tie_word_embeddings=kind.tied)
    config.architectures = ["Exaone4_5_ForConditionalGeneration"]
    return {**config.to_dict(), "torch_dtype": "bfloat16"}


# (name, shape) per tensor, in file order; "norm" tensors get 1 + noise, the rest N(0, scale).
def _exaone3_tensors(k: Kind, vocab: int) -> list[tuple[str, tuple[int, ...]]]:
    q, kv = k.heads * k.head_dim, k.kv_heads * k.head_dim
    out: list[tuple[str, tuple[int, ...]]] = [("transformer.wte.weight", (vocab, k.hidden))]
    for i in range(k.layers):
        p = f"transformer.h.{i}."
        out += [
            (p + "ln_1.weight", (k.hidden,)),
            (p + "attn.attention.q_proj.weight", (q, k.hidden)),
            (p + "attn.attention.k_proj.weight", (kv, k.hidden)),
            (p + "attn.attention.v_proj.weight", (kv, k.hidden)),
            (p + "attn.attention.out_proj.weight", (k.hidden, q)),
            (p + "ln_2.weight", (k.hidden,)),
            (p + "mlp.c_fc_0.weight", (k.ffn, k.hidden)),
            (p + "mlp.c_fc_1.weight", (k.ffn, k.hidden)),
            (p + "mlp.c_proj.weight", (k.hidden, k.ffn)),
        ]
    out.append(("transformer.ln_f.weight", (k.hidden,)))
    if not k.tied:
        out.append(("lm_head.weight", (vocab, k.hidden)))
    return out


def _exaone4_tensors(k: Kind, vocab: int) -> list[tuple[str, tuple[int, ...]]]:
    q, kv = k.heads * k.head_dim, k.kv_heads * k.head_dim
    out: list[tuple[str, tuple[int, ...]]] = [("model.embed_tokens.weight", (vocab, k.hidden))]
    for i in range(k.layers):
        p = f"model.layers.{i}."
        out += [
            (p + "self_attn.q_proj.weight", (q, k.hidden)),
            (p + "self_attn.k_proj.weight", (kv, k.hidden)),
            (p + "self_attn.v_proj.weight", (kv, k.hidden)),
            (p + "self_attn.o_proj.weight", (k.hidden, q)),
            (p + "self_attn.q_norm.weight", (k.head_dim,)),
            (p + "self_attn.k_norm.weight", (k.head_dim,)),
            (p + "post_attention_layernorm.weight", (k.hidden,)),
            (p + "mlp.gate_proj.weight", (k.ffn, k.hidden)),
            (p + "mlp.up_proj.weight", (k.ffn, k.hidden)),
            (p + "mlp.down_proj.weight", (k.hidden, k.ffn)),
            (p + "post_feedforward_layernorm.weight", (k.hidden,)),
        ]
    out.append(("model.norm.weight", (k.hidden,)))
    if not k.tied:
        out.append(("lm_head.weight", (vocab, k.hidden)))
    return out


TENSOR_LAYOUTS = {"exaone": _exaone3_tensors, "exaone4": _exaone4_tensors}
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


def transformers_weights(kind: Kind, vocab: int, seed: int) -> dict[str, torch.Tensor]:
    """Random bf16 weights under the release's names: transformers' own model class is built from the
    config and saved (it writes the release's names, e.g. experts one by one), then mtp.* added."""
    from safetensors.torch import load_file
    from transformers import (
        Exaone4_5_Config,
        Exaone4_5_ForConditionalGeneration,
        ExaoneMoeConfig,
        ExaoneMoeForCausalLM,
    )

    ids = special_ids(train_tokenizer(kind.family))
    cfg = hf_config(kind, vocab, ids)
    model: torch.nn.Module
    if kind.family == "exaone_moe":
        extra = ("scoring_func", "num_nextn_predict_layers")
        model = ExaoneMoeForCausalLM(ExaoneMoeConfig(**{k: v for k, v in cfg.items() if k not in extra}))
        layer = "model.layers.0."  # the MTP block is a dense decoder layer (llama.cpp loads it so)
    else:
        model = Exaone4_5_ForConditionalGeneration(Exaone4_5_Config(**cfg))
        layer = "model.language_model.layers.0."
    with tempfile.TemporaryDirectory() as tmp:
        model.save_pretrained(tmp)
        names = {k: tuple(v.shape) for k, v in load_file(str(Path(tmp) / "model.safetensors")).items()}
    for i in range(kind.mtp_layers):
        names.update({f"mtp.layers.{i}." + k[len(layer):]: v for k, v in names.items() if k.startswith(layer)})
    if kind.mtp_layers:
        h = kind.hidden
        names.update({"mtp.fc.weight": (h, 2 * h), "mtp.pre_fc_norm_embedding.weight": (h,),
                      "mtp.pre_fc_norm_hidden.weight": (h,), "mtp.norm.weight": (h,)})
    gen = torch.Generator().manual_seed(seed)
    return {n: _init_value(n, shape, gen).to(torch.bfloat16).contiguous() for n, shape in sorted(names.items())}


def random_weights(kind: Kind, vocab: int, seed: int) -> dict[str, torch.Tensor]:
    """Random bf16 weights: varied greedy output with logits far apart on average.

    Random logits still come close now and then (a Gaussian's top-2 gap); compare greedy
    paths with reference.greedy_divergence, which tolerates near-ties."""
    if kind.family in ("exaone_moe", "exaone4_5"):
        return transformers_weights(kind, vocab, seed)
    gen = torch.Generator().manual_seed(seed)
    return {name: _init_value(name, shape, gen).to(torch.bfloat16).contiguous()
            for name, shape in TENSOR_LAYOUTS[kind.family](kind, vocab)}


# ---------------------------------------------------------------------------------------------
# Writing


def write_atomic(path: Path, data: bytes) -> None:
    """The project's atomic writer: partial file in the same folder, fsync, rename."""
    atomic_write_bytes(path, data)


def write_json(path: Path, obj: object) -> None:
    write_atomic(path, (json.dumps(obj, indent=2, ensure_ascii=False) + "\n").encode("utf-8"))


def _split(names: list[str], n: int) -> list[list[str]]:
    size = math.ceil(len(names) / n)
    return [names[i * size : (i + 1) * size] for i in range(n)]


def write_weights(out_dir: Path, tensors: dict[str, torch.Tensor], shards: int) -> None:
    meta = {"format": "pt"}
    if shards == 1:
        write_atomic(out_dir / "model.safetensors", safetensors_save(tensors, metadata=meta))
        return
    weight_map: dict[str, str] = {}
    for i, group in enumerate(_split(list(tensors), shards), start=1):
        fname = f"model-{i:05d}-of-{shards:05d}.safetensors"
        write_atomic(out_dir / fname, safetensors_save({n: tensors[n] for n in group}, metadata=meta))
        weight_map.update(dict.fromkeys(group, fname))
    total = sum(t.numel() * t.element_size() for t in tensors.values())
    write_json(out_dir / "model.safetensors.index.json", {"metadata": {"total_size": total}, "weight_map": weight_map})


# tokenizer_config's class per family (see TokenizerFormat.tokenizer_class).
TOKENIZER_CLASSES = {arch: fmt.tokenizer_class for arch, fmt in TOKENIZER_FORMATS.items()}


def write_tokenizer_files(out_dir: Path, tok: Tokenizer, template: str, tokenizer_class: str = "GPT2Tokenizer"
                          ) -> None:
    """tokenizer.json, tokenizer_config.json and special_tokens_map.json; the chat template inside
    tokenizer_config.json, or (a release's template, as the 2026 releases ship theirs) in chat_template.jinja."""
    text = template_text(template)
    eos = EOS_2026 if tok.token_to_id(EOS_2026) is not None else EOS
    write_atomic(out_dir / "tokenizer.json", tok.to_str(pretty=True).encode("utf-8"))
    decoder = {
        str(i): {"content": t.content, "special": t.special, "normalized": t.normalized,
                 "lstrip": t.lstrip, "rstrip": t.rstrip, "single_word": t.single_word}
        for i, t in sorted(tok.get_added_tokens_decoder().items())
    }  # fmt: skip
    write_json(
        out_dir / "tokenizer_config.json",
        {
            "add_bos_token": False,
            "add_eos_token": False,
            "added_tokens_decoder": decoder,
            "bos_token": BOS,
            "eos_token": eos,
            "pad_token": PAD,
            "unk_token": UNK,
            **({} if template.startswith("release:") else {"chat_template": text}),
            "clean_up_tokenization_spaces": False,
            "model_max_length": MAX_POSITIONS,
            "tokenizer_class": tokenizer_class,
        },
    )
    write_json(
        out_dir / "special_tokens_map.json",
        {"bos_token": BOS, "eos_token": eos, "pad_token": PAD, "unk_token": UNK},
    )
    if template.startswith("release:"):
        write_atomic(out_dir / "chat_template.jinja", text.encode("utf-8"))


def write_checkpoint(out_dir: Path, kind: Kind, tok: Tokenizer, tensors: dict[str, torch.Tensor]) -> Path:
    """Write a full HF-layout folder for `kind` with the given tokenizer and weights."""
    template_text(kind.template)  # ReleaseFileMissing before anything is written
    out_dir.mkdir(parents=True, exist_ok=True)
    ids = special_ids(tok)
    vocab = tok.get_vocab_size(with_added_tokens=True)
    write_json(out_dir / "config.json", hf_config(kind, vocab, ids))
    gen = {"bos_token_id": ids[BOS], "eos_token_id": ids[EOS], "pad_token_id": ids[PAD], **kind.generation}
    write_json(out_dir / "generation_config.json", {**gen, "transformers_version": "4.54.0"})
    write_tokenizer_files(out_dir, tok, kind.template, TOKENIZER_CLASSES.get(kind.family, "GPT2Tokenizer"))
    write_weights(out_dir, tensors, kind.shards)
    if kind.vision is not None:
        write_json(out_dir / "preprocessor_config.json", preprocessor_config(kind))
    return out_dir


# Qwen2-VL's image normalisation, which EXAONE 4.5's processor uses.
IMAGE_MEAN = [0.48145466, 0.4578275, 0.40821073]
IMAGE_STD = [0.26862954, 0.26130258, 0.27577711]


def preprocessor_config(kind: Kind) -> dict[str, object]:
    vision = kind.vision or {}
    patch, merge = int(vision.get("patch_size", 14)), int(vision.get("spatial_merge_size", 2))
    return {
        "image_processor_type": "Qwen2VLImageProcessor", "do_resize": True, "do_rescale": True,
        "do_normalize": True, "do_convert_rgb": True, "image_mean": IMAGE_MEAN, "image_std": IMAGE_STD,
        "patch_size": patch, "merge_size": merge, "temporal_patch_size": vision.get("temporal_patch_size", 2),
        "min_pixels": (patch * merge) ** 2 * 4, "max_pixels": (patch * merge) ** 2 * 256,
    }


def build_checkpoint(kind: str, out_dir: Path, *, seed: int = 0) -> Path:
    """Build the tiny checkpoint `kind` (see KINDS) into out_dir and return out_dir."""
    if kind not in KINDS:
        raise ValueError(f"unknown checkpoint kind {kind!r}; use one of {sorted(KINDS)}")
    spec = KINDS[kind]
    tok = train_tokenizer(spec.family)
    vocab = tok.get_vocab_size(with_added_tokens=True)
    return write_checkpoint(Path(out_dir), spec, tok, random_weights(spec, vocab, seed))
