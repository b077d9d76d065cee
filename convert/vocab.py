"""tokenizer.json + tokenizer_config.json -> the GGUF tokenizer keys (byte-level BPE, ``gpt2`` model)."""

from __future__ import annotations

import json
import warnings
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from gguf import TokenType

from .checkpoint import read_json, read_optional_json
from .errors import ConversionError

SPECIAL_NAMES = ("bos", "eos", "unk", "pad")
# llama.cpp pre-tokenizers that put every digit on its own (EXAONE 3.x, K-EXAONE); EXAONE 4 keeps GPT-2's.
DIGIT_SPLITTING_PRE = frozenset({"exaone", "exaone-moe"})


@dataclass
class Vocab:
    tokens: list[str]
    token_types: list[int]
    merges: list[str]
    special_ids: dict[str, int]
    add_bos: bool
    chat_template: str | None
    eot_id: int | None = None
    # Every end-of-sequence id of generation_config.json (eos first); llama.cpp's keys hold only two.
    eos_ids: list[int] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    clean_up_spaces: bool = False  # transformers' decode() cleans up tokenization spaces (see gguf_keys)


def _token_text(value: Any) -> str | None:
    if isinstance(value, dict):
        value = value.get("content")
    return value if isinstance(value, str) else None


def _merges(model: Mapping[str, Any]) -> list[str]:
    merges = model.get("merges") or []
    out = []
    for m in merges:
        if isinstance(m, str):
            out.append(m)
        elif isinstance(m, list) and len(m) == 2:
            out.append(f"{m[0]} {m[1]}")
        else:
            raise ConversionError("tokenizer.json has a malformed merge entry; re-download the tokenizer")
    return out


def _chat_template(root: Path, tok_config: Mapping[str, Any]) -> str | None:
    template = tok_config.get("chat_template")
    if isinstance(template, list):  # named templates: take "default"
        named = {t.get("name"): t.get("template") for t in template if isinstance(t, dict)}
        template = named.get("default") or next(iter(named.values()), None)
    if template is None and (root / "chat_template.jinja").is_file():
        template = (root / "chat_template.jinja").read_text(encoding="utf-8")
    if template is None and (root / "chat_template.json").is_file():
        template = read_json(root / "chat_template.json", "chat_template.json").get("chat_template")
    return template if isinstance(template, str) else None


def _pre_tokenizer_warning(tokenizer: Mapping[str, Any], expected_pre: str) -> str | None:
    """Warn when the tokenizer's pre-tokenizer is not the one llama.cpp's ``expected_pre`` implements."""
    text = json.dumps(tokenizer.get("pre_tokenizer"))
    splits_digits = "\\\\p{N}" in text or '"Digits"' in text
    if "ByteLevel" not in text:
        return "tokenizer.json has no ByteLevel pre-tokenizer; llama.cpp may tokenize differently"
    if (expected_pre in DIGIT_SPLITTING_PRE) != splits_digits:
        return (f"tokenizer.json's digit handling does not match llama.cpp's {expected_pre!r} pre-tokenizer; "
                "token ids may differ from transformers")
    return None


def load_vocab(root: Path, config: Mapping[str, Any], generation_config: Mapping[str, Any],
               *, n_vocab: int, tokenizer_pre: str) -> Vocab:
    """Read the tokenizer; ``n_vocab`` (the embedding's rows) pads the token list with unused entries."""
    tok_path = root / "tokenizer.json"
    if not tok_path.is_file():
        raise ConversionError(
            f"tokenizer.json is missing from {root}; download the tokenizer files with the checkpoint"
        )
    tokenizer = read_json(tok_path, "tokenizer.json")
    tok_config = read_optional_json(root / "tokenizer_config.json", "tokenizer_config.json")
    model = tokenizer.get("model") or {}
    if model.get("type") != "BPE" or not isinstance(model.get("vocab"), dict):
        raise ConversionError("tokenizer.json is not a byte-level BPE tokenizer; EXAONE checkpoints use BPE")

    by_id: dict[int, tuple[str, TokenType]] = {}
    for text, idx in model["vocab"].items():
        by_id[int(idx)] = (text, TokenType.NORMAL)
    for added in tokenizer.get("added_tokens") or []:
        kind = TokenType.CONTROL if added.get("special") else TokenType.USER_DEFINED
        by_id[int(added["id"])] = (added["content"], kind)
    if not by_id:
        raise ConversionError("tokenizer.json has an empty vocabulary; re-download the tokenizer")
    size = max(by_id) + 1
    if size > n_vocab:
        raise ConversionError(
            f"the tokenizer has {size} tokens but the embedding only {n_vocab} rows; tokenizer and weights "
            "do not belong together"
        )
    tokens, types = [], []
    for i in range(n_vocab):
        text, kind = by_id.get(i, (f"[PAD{i}]", TokenType.UNUSED))
        tokens.append(text)
        types.append(int(kind))
    token_ids = {t: i for i, t in enumerate(tokens)}

    special: dict[str, int] = {}
    for name in SPECIAL_NAMES:
        text = _token_text(tok_config.get(f"{name}_token"))
        if text is not None and text in token_ids:
            special[name] = token_ids[text]
        elif isinstance(config.get(f"{name}_token_id"), int):
            special[name] = int(config[f"{name}_token_id"])
    gen_eos = generation_config.get("eos_token_id")
    gen_eos_ids = [gen_eos] if isinstance(gen_eos, int) else list(gen_eos or [])
    if "eos" not in special and gen_eos_ids:
        special["eos"] = int(gen_eos_ids[0])
    if "eos" not in special:
        raise ConversionError("no end-of-sequence token in tokenizer_config.json or config.json; fix the tokenizer")
    extra_eos = [i for i in gen_eos_ids if i != special["eos"]]

    vocab = Vocab(
        tokens=tokens,
        token_types=types,
        merges=_merges(model),
        special_ids=special,
        add_bos=bool(tok_config.get("add_bos_token", False)),
        chat_template=_chat_template(root, tok_config),
        eot_id=int(extra_eos[0]) if extra_eos else None,
        eos_ids=[special["eos"], *dict.fromkeys(int(i) for i in extra_eos)],
        clean_up_spaces=bool(tok_config.get("clean_up_tokenization_spaces", False)) and bool(
            tok_config.get("clean_up_tokenization_spaces_for_bpe_even_though_it_will_corrupt_output", False)),
    )
    warning = _pre_tokenizer_warning(tokenizer, tokenizer_pre)
    if warning:
        vocab.warnings.append(warning)
        warnings.warn(warning, stacklevel=2)
    return vocab
