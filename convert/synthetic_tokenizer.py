"""Tokenizer files of synthetic EXAONE checkpoints (``exaone_convert.synthetic``), written as JSON.

No tokenizer library is needed at run time: ``tokenizer_json`` writes the ``tokenizers`` library's own format
(a byte-level BPE with a family's pre-tokenizer, the one llama.cpp's pre-type for that family implements), and
``synthetic_vocabulary`` fills a vocabulary of exactly a release's size with merges of common byte pairs. The
chat templates are EXAONE's own formats for the families whose checkpoints carry the template inline.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

# --- chat templates (Jinja source, as it sits in tokenizer_config.json) -------------------------------------

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

# --- special tokens ----------------------------------------------------------------------------------------

BOS, PAD, UNK = "[BOS]", "[PAD]", "[UNK]"

# The tokenizer EXAONE 4.5 and K-EXAONE share (153,600 tokens in the release): its special tokens at the
# release's ids. Ids 75-83 are the release's personal-information placeholders (which name sits at which id is
# a guess here); the ids in between hold unused special tokens in a synthetic tokenizer.
SPECIALS_2026: dict[int, str] = {
    0: "[PAD]", 1: "[BOS]", 2: "[EOS]", 3: "[UNK]",
    50: "<|system|>", 51: "<|user|>", 52: "<|assistant|>", 53: "<|endofturn|>",
    67: "<|image_pad|>", 68: "<|video_pad|>", 73: "<vision>", 74: "</vision>",
    **{75 + i: f"PI:{name}" for i, name in enumerate(
        ("URL", "EMAIL", "ACCOUNT_NUM", "PHONE_NUM", "BUSINESS_NUM", "ANNON", "KEY", "ID", "IP_ADDRESS"))},
    105: "<|tool|>", 106: "<|tool_declare|>",
}  # fmt: skip
# Added tokens of that tokenizer that are not special, as in EXAONE 4.0's release (decoding keeps them).
USER_DEFINED_2026: tuple[str, ...] = ("<think>", "</think>", "<tool_call>", "</tool_call>", "<tool_result>",
                                      "</tool_result>")
VIDEO_PAD, VISION_START, VISION_END = SPECIALS_2026[68], SPECIALS_2026[73], SPECIALS_2026[74]

# --- pre-tokenizers, by llama.cpp's pre-tokenizer name (a family's ``tokenizer_pre``) ------------------------

K_EXAONE_SPLIT = (
    r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?(?:\p{L}\p{M}*(?: \p{L}\p{M}*)*)+|\p{N}"
    r"| ?[^\s\p{L}\p{N}]+[\r\n/]?|\s*[\r\n]|\s+(?!\S)|\s+"
)


def _split(regex: str) -> dict[str, Any]:
    return {"type": "Split", "pattern": {"Regex": regex}, "behavior": "Isolated", "invert": False}


def _byte_level(use_regex: bool) -> dict[str, Any]:
    return {"type": "ByteLevel", "add_prefix_space": False, "trim_offsets": True, "use_regex": use_regex}


# llama.cpp's "exaone": every digit on its own, then GPT-2's regex; "exaone4": GPT-2's regex; "exaone-moe" (the
# tokenizer EXAONE 4.5 and K-EXAONE share): one regex split (letters may join across single spaces, digits one by
# one), then bytes without GPT-2's regex.
PRE_TOKENIZERS: Mapping[str, dict[str, Any]] = {
    "exaone": {"type": "Sequence", "pretokenizers": [_split(r"\p{N}"), _byte_level(True)]},
    "exaone4": _byte_level(True),
    "exaone-moe": {"type": "Sequence", "pretokenizers": [_split(K_EXAONE_SPLIT), _byte_level(False)]},
}


def pre_tokenizer(pre: str) -> dict[str, Any]:
    """The ``pre_tokenizer`` entry of tokenizer.json for llama.cpp's pre-tokenizer ``pre``."""
    if pre not in PRE_TOKENIZERS:
        raise ValueError(f"unknown pre-tokenizer {pre!r}; use one of {sorted(PRE_TOKENIZERS)}")
    return json.loads(json.dumps(PRE_TOKENIZERS[pre]))


@dataclass(frozen=True)
class AddedToken:
    id: int
    content: str
    special: bool = True


def tokenizer_json(pre: str, vocab: Mapping[str, int] | None = None, merges: Sequence[tuple[str, str]] = (),
                   added: Sequence[AddedToken] = ()) -> str:
    """tokenizer.json of a byte-level BPE (the ``tokenizers`` library's format): ``vocab`` and ``merges`` (empty:
    a model to train), ``added`` tokens at their ids, the pre-tokenizer ``pre`` (llama.cpp's name)."""
    doc = {
        "version": "1.0", "truncation": None, "padding": None,
        "added_tokens": [{"id": t.id, "content": t.content, "single_word": False, "lstrip": False, "rstrip": False,
                          "normalized": False, "special": t.special} for t in added],
        "normalizer": None,
        "pre_tokenizer": pre_tokenizer(pre),
        "post_processor": {"type": "ByteLevel", "add_prefix_space": True, "trim_offsets": False,
                           "use_regex": True},
        "decoder": {"type": "ByteLevel", "add_prefix_space": True, "trim_offsets": True, "use_regex": True},
        "model": {"type": "BPE", "dropout": None, "unk_token": None, "continuing_subword_prefix": None,
                  "end_of_word_suffix": None, "fuse_unk": False, "byte_fallback": False, "ignore_merges": False,
                  "vocab": dict(vocab or {}), "merges": [list(m) for m in merges]},
    }  # fmt: skip
    return json.dumps(doc, ensure_ascii=False)


def byte_alphabet() -> list[str]:
    """GPT-2's printable stand-ins for the 256 bytes, in byte order."""
    keep = {*range(ord("!"), ord("~") + 1), *range(ord("¡"), ord("¬") + 1), *range(ord("®"), ord("ÿ") + 1)}
    chars: dict[int, str] = {}
    extra = 0
    for b in range(256):
        if b in keep:
            chars[b] = chr(b)
        else:
            chars[b] = chr(256 + extra)
            extra += 1
    return [chars[b] for b in range(256)]


def synthetic_merges(alphabet: list[str], n: int) -> list[tuple[str, str]]:
    """``n`` merges: pairs of common symbols, then every other byte pair, then common triples."""
    common = [alphabet[b] for b in b" \nabcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.,'!?-:;()"]
    common_pairs = [(a, b) for a in common for b in common]
    seen = {a + b for a, b in common_pairs}
    rest = [(a, b) for a in alphabet for b in alphabet if a + b not in seen]
    triples = ((a + b, c) for a, b in common_pairs for c in common)
    out = (common_pairs + rest)[:n]
    out.extend(t for t, _ in zip(triples, range(n - len(out)), strict=False))
    if len(out) != n:
        raise ValueError(f"cannot make {n} merges")
    return out


def synthetic_vocabulary(pre: str, size: int, fixed: Mapping[int, str]) -> str:
    """tokenizer.json of a byte-level BPE with exactly ``size`` entries: ``fixed`` special tokens at their ids,
    the 256 bytes and merges of common byte pairs in between, and the pre-tokenizer ``pre``."""
    alphabet = byte_alphabet()
    merges = synthetic_merges(alphabet, size - len(fixed) - len(alphabet))
    normal = iter(alphabet + [a + b for a, b in merges])
    vocab = {fixed[i] if i in fixed else next(normal): i for i in range(size)}
    return tokenizer_json(pre, vocab, merges, [AddedToken(i, t) for i, t in sorted(fixed.items())])


def token_ids(tokenizer: str) -> dict[str, int]:
    """Every token of a tokenizer.json (its vocabulary and added tokens) and its id."""
    doc = json.loads(tokenizer)
    ids = dict(doc["model"]["vocab"])
    ids.update({t["content"]: t["id"] for t in doc["added_tokens"]})
    return ids


def vocabulary_size(tokenizer: str) -> int:
    return len(set(token_ids(tokenizer).values()))
