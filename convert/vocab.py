"""tokenizer.json + tokenizer_config.json -> the GGUF tokenizer keys (byte-level BPE, ``gpt2`` model)."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from gguf import TokenType

from .checkpoint import read_json, read_optional_json
from .errors import ConversionError
from .families import FAMILIES

SPECIAL_NAMES = ("bos", "eos", "unk", "pad")


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
    pre: str = "exaone4"  # llama.cpp's pre-tokenizer type for tokenizer.json's pre_tokenizer (tokenizer.ggml.pre)
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


# ------------------------------------------------------------------------------------------------
# The pre-tokenizer: tokenizer.json's pre_tokenizer, reduced to a sequence of canonical steps, must be one that
# a llama.cpp pre-tokenizer type implements; that type is what the GGUF names (tokenizer.ggml.pre).

# The regex that tokenizers' ByteLevel pre-tokenizer applies with use_regex=true (GPT-2's).
GPT2_SPLIT = r"'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+"
DIGIT_SPLIT = r"\p{N}"  # every digit on its own (tokenizers' Digits(individual_digits=true) does the same)
# K-EXAONE's (and EXAONE 4.5's) split: letters joined by single spaces stay one piece, digits one by one.
EXAONE_MOE_SPLIT = (r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?(?:\p{L}\p{M}*(?: \p{L}\p{M}*)*)+|\p{N}"
                    r"| ?[^\s\p{L}\p{N}]+[\r\n/]?|\s*[\r\n]|\s+(?!\S)|\s+")

Step = tuple[str, ...]  # ("split", regex, behavior) or ("bytes",): byte-level mapping without a regex
_BYTES: Step = ("bytes",)


def _split(regex: str) -> Step:
    return ("split", regex, "isolated")


@dataclass(frozen=True)
class PreTokenizer:
    """One llama.cpp pre-tokenizer type and the tokenizer.json pre-tokenizer it implements (as canonical steps)."""

    llama_pre: str  # tokenizer.ggml.pre, as llama.cpp 0.3.36 (llama-vocab.cpp) spells it
    steps: tuple[Step, ...]

    @property
    def used_by(self) -> str:
        """The families whose row names this type (``Family.tokenizer_pre``)."""
        return ", ".join(f.label for f in FAMILIES if f.tokenizer_pre == self.llama_pre) or "no EXAONE family"

    @property
    def digit_step(self) -> bool:
        """Digits are split apart by a step of their own (tokenizers' ``Digits``), which transformers' rebuild of
        a slow GPT-2 tokenizer leaves out: such a tokenizer must be read from tokenizer.json as it is."""
        return _split(DIGIT_SPLIT) in self.steps


PRE_TOKENIZERS: tuple[PreTokenizer, ...] = (
    PreTokenizer("exaone", (_split(DIGIT_SPLIT), _split(GPT2_SPLIT), _BYTES)),
    PreTokenizer("exaone4", (_split(GPT2_SPLIT), _BYTES)),
    PreTokenizer("exaone-moe", (_split(EXAONE_MOE_SPLIT), _BYTES)),
)


class _Unsupported(Exception):
    """A pre-tokenizer step llama.cpp has no equivalent for (the message describes it)."""


def _canonical(node: Any) -> list[Step]:
    """tokenizer.json's pre_tokenizer as canonical steps: Sequence flattened, Digits(individual) as a digit split,
    ByteLevel(use_regex) as GPT-2's split followed by the byte mapping."""
    if not isinstance(node, Mapping):
        raise _Unsupported("none" if node is None else repr(node)[:40])
    kind = node.get("type")
    if kind == "Sequence":
        return [step for child in node.get("pretokenizers") or [] for step in _canonical(child)]
    if kind == "Digits":
        if not node.get("individual_digits"):
            raise _Unsupported("Digits(individual_digits=false)")
        return [_split(DIGIT_SPLIT)]
    if kind == "ByteLevel":
        if node.get("add_prefix_space"):
            raise _Unsupported("ByteLevel(add_prefix_space=true)")
        return [_split(GPT2_SPLIT), _BYTES] if node.get("use_regex", True) else [_BYTES]
    if kind == "Split":
        pattern = node.get("pattern") or {}
        regex = pattern.get("Regex") if isinstance(pattern, Mapping) else None
        behavior = str(node.get("behavior", "")).lower()
        if not isinstance(regex, str) or node.get("invert") or behavior != "isolated":
            raise _Unsupported(f"Split({json.dumps(pattern, ensure_ascii=False)[:60]}, {behavior or '?'}"
                               f"{', inverted' if node.get('invert') else ''})")
        return [_split(regex)]
    raise _Unsupported(str(kind))


def _describe(steps: list[Step]) -> str:
    return " -> ".join(f"Split({s[1][:50]}{'...' if len(s[1]) > 50 else ''})" if s[0] == "split" else "ByteLevel"
                       for s in steps) or "nothing"


def detect_pre_tokenizer(tokenizer: Mapping[str, Any]) -> PreTokenizer:
    """The llama.cpp pre-tokenizer type that splits text as ``tokenizer`` (tokenizer.json) does.

    ConversionError (one line naming what was found) when no type of llama.cpp 0.3.36 does."""
    known = ", ".join(f"{p.llama_pre} ({p.used_by})" for p in PRE_TOKENIZERS)
    try:
        steps = _canonical(tokenizer.get("pre_tokenizer"))
    except _Unsupported as err:
        found = str(err)
    else:
        match = next((p for p in PRE_TOKENIZERS if list(p.steps) == steps), None)
        if match is not None:
            return match
        found = _describe(steps)
    raise ConversionError(
        f"tokenizer.json's pre-tokenizer ({found}) is none that llama.cpp implements ({known}): its token ids "
        "would differ from transformers', so nothing was written; convert a checkpoint with an EXAONE tokenizer"
    )


# tokenizer.json options llama.cpp's byte-level BPE (gpt2 vocabulary) does not apply, with the values under
# which it tokenizes as transformers does (LG's releases carry these: no normalizer, "" or null for the affixes,
# byte_fallback and ignore_merges false, no dropout).
BPE_DEFAULTS: dict[str, tuple[object, ...]] = {
    "continuing_subword_prefix": (None, ""),
    "end_of_word_suffix": (None, ""),
    "byte_fallback": (None, False),
    "ignore_merges": (None, False),
    "dropout": (None, 0, 0.0),
}


def check_tokenizer_options(tokenizer: Mapping[str, Any]) -> None:
    """Refuse a tokenizer.json whose normalizer or BPE options llama.cpp would ignore (its token ids would then
    differ from transformers'), in one line naming what was found."""
    normalizer = tokenizer.get("normalizer")
    if normalizer is not None and normalizer != {"type": "Sequence", "normalizers": []}:
        kind = normalizer.get("type") if isinstance(normalizer, dict) else normalizer
        raise ConversionError(
            f"tokenizer.json has a normalizer ({kind!r}) that llama.cpp does not apply: its token ids would differ "
            "from transformers', so nothing was written; convert a checkpoint with an EXAONE tokenizer"
        )
    model = tokenizer.get("model") or {}
    for key, allowed in BPE_DEFAULTS.items():
        value = model.get(key)
        if not any(value == ok and type(value) is type(ok) for ok in allowed):
            raise ConversionError(
                f"tokenizer.json's BPE model sets {key} to {value!r}, which llama.cpp does not apply: its token ids "
                "would differ from transformers', so nothing was written; convert a checkpoint with an EXAONE "
                "tokenizer"
            )


def load_vocab(root: Path, config: Mapping[str, Any], generation_config: Mapping[str, Any],
               *, n_vocab: int) -> Vocab:
    """Read the tokenizer; ``n_vocab`` (the embedding's rows) pads the token list with unused entries.

    Its pre-tokenizer type comes from tokenizer.json itself (``detect_pre_tokenizer``), never from the family."""
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
    check_tokenizer_options(tokenizer)
    pre = detect_pre_tokenizer(tokenizer)

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
        pre=pre.llama_pre,
        eot_id=int(extra_eos[0]) if extra_eos else None,
        eos_ids=[special["eos"], *dict.fromkeys(int(i) for i in extra_eos)],
        clean_up_spaces=bool(tok_config.get("clean_up_tokenization_spaces", False)) and bool(
            tok_config.get("clean_up_tokenization_spaces_for_bpe_even_though_it_will_corrupt_output", False)),
    )
    return vocab
