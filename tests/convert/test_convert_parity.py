"""The converted GGUF runs in llama.cpp as the checkpoint runs in transformers: tokens, logits, greedy text."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from exaone_convert.convert import convert_checkpoint
from llama_cpp.llama_chat_format import Jinja2ChatFormatter

from tests.support import llama_helpers as lh
from tests.support.reference import reference_greedy, reference_logits
from tests.support.tiny_checkpoints import tokenization_samples

KINDS = ["exaone3_tied_sharded", "exaone3_untied", "exaone_deep", "exaone4", "exaone4_hybrid64", "exaone4_64_full",
         "exaone_moe", "exaone4_5", "exaone4_5_hybrid64"]
# Relative logit tolerance (of max |logit|): float error grows with depth in the 64-layer fixtures.
TOLERANCE = {"exaone4_hybrid64": 3e-3, "exaone4_64_full": 3e-3, "exaone4_5_hybrid64": 3e-3}
DEFAULT_TOLERANCE = 1e-3
PARITY_TEXT = "안녕하세요, EXAONE입니다. Numbers 2024-11-25 and 3.14159; emoji 🙂👍🏽\n\tdef f(x): return x"
GREEDY_TOKENS = 24


@pytest.fixture(scope="module")
def converted(tiny_checkpoint, tmp_path_factory):
    """kind -> (checkpoint dir, f32 GGUF path), converted once per module."""
    out = tmp_path_factory.mktemp("gguf")
    cache: dict[str, tuple[Path, Path]] = {}

    def get(kind: str, outtype: str = "f32") -> tuple[Path, Path]:
        key = f"{kind}-{outtype}"
        if key not in cache:
            src = tiny_checkpoint(kind)
            cache[key] = (src, convert_checkpoint(src, out / f"{key}.gguf", outtype))
        return cache[key]

    return get


def relative_logit_error(gguf: Path, model, ids: list[int]) -> float:
    ref = reference_logits(model, ids)
    got = lh.logits(gguf, ids)
    return float(np.abs(got - ref).max() / np.abs(ref).max())


@pytest.mark.parametrize("kind", KINDS)
def test_tokenization_matches_transformers(kind, converted, reference_model):
    _, gguf = converted(kind)
    _, tokenizer = reference_model(kind)
    # transformers parses special tokens inside plain text too, so llama.cpp must as well.
    for text in tokenization_samples():
        expected = tokenizer(text, add_special_tokens=False)["input_ids"]
        assert lh.tokenize(gguf, text, special=True) == expected, repr(text)


SPECIAL_TEXT = ("[|system|]너는 도우미야[|endofturn|]\n[|user|]2+2는?\n[|assistant|]<think>\n\n</think>\n\n"
                "4[|endofturn|]")
SPECIAL_TEXT_2026 = ("<|tool_declare|>\n# Tools\n<tool>{}</tool>\n<|endofturn|>\n<|system|>\n"
                     "너는 도우미야<|endofturn|>\n<|user|>\n<vision><|image_pad|><|image_pad|></vision>\n"
                     "2+2는?<|endofturn|>\n<|assistant|>\n"
                     "<think>\n\n</think>\n\n<tool_call>{}</tool_call><|endofturn|>\n<|tool|>\n<tool_result>4</tool_result>"
                     "<|endofturn|>\n[EOS]")


@pytest.mark.parametrize(("kind", "text"), [("exaone3_tied_sharded", SPECIAL_TEXT), ("exaone4", SPECIAL_TEXT),
                                            ("exaone_moe", SPECIAL_TEXT_2026), ("exaone4_5", SPECIAL_TEXT_2026)])
def test_special_tokens_tokenize_atomically(kind, text, converted, reference_model):
    _, gguf = converted(kind)
    _, tokenizer = reference_model(kind)
    ids = tokenizer(text, add_special_tokens=False)["input_ids"]
    assert lh.tokenize(gguf, text, special=True) == ids
    specials = [t for t in tokenizer.convert_ids_to_tokens(ids) if t.startswith(("<|", "[|", "<vision", "</vision"))]
    assert len(specials) == text.count("<|") + text.count("[|") + text.count("vision>")


@pytest.mark.parametrize("kind", KINDS)
def test_logits_and_greedy_match_transformers(kind, converted, reference_model):
    _, gguf = converted(kind)
    model, tokenizer = reference_model(kind)
    ids = tokenizer(PARITY_TEXT, add_special_tokens=False)["input_ids"]
    assert relative_logit_error(gguf, model, ids) < TOLERANCE.get(kind, DEFAULT_TOLERANCE)
    assert lh.greedy(gguf, ids, GREEDY_TOKENS) == reference_greedy(model, ids, GREEDY_TOKENS)


CONVERSATIONS = [
    [{"role": "user", "content": "안녕? 자기소개 해줘."}],
    [{"role": "system", "content": "You are EXAONE."}, {"role": "user", "content": "Hi"}],
    [
        {"role": "system", "content": "간결하게 답해."},
        {"role": "user", "content": "1+1?"},
        {"role": "assistant", "content": "2"},
        {"role": "user", "content": "그럼 2+2는?"},
    ],
]


CHAT_KINDS = ["exaone3_tied_sharded", "exaone_deep", "exaone4", "exaone_moe", "exaone4_5", "exaone4_5_hybrid64"]


@pytest.mark.parametrize("kind", CHAT_KINDS)
@pytest.mark.parametrize("messages", CONVERSATIONS)
def test_chat_template_from_gguf_renders_like_transformers(kind, messages, converted, reference_model):
    from exaone_desktop.engine.chat.templates import render_chat

    _, gguf = converted(kind)
    _, tokenizer = reference_model(kind)
    template = lh.metadata(gguf)["tokenizer.chat_template"]
    assert template == tokenizer.chat_template
    expected = tokenizer.apply_chat_template(messages, tokenize=False, add_generation_prompt=True)
    assert render_chat(template, messages) == expected
    formatter = Jinja2ChatFormatter(template=template, eos_token=tokenizer.eos_token, bos_token=tokenizer.bos_token)
    assert formatter(messages=messages).prompt == expected  # llama-cpp-python's own renderer agrees too


@pytest.mark.parametrize("kind", CHAT_KINDS)
def test_chat_prompt_tokens_logits_and_greedy_match_transformers(kind, converted, reference_model):
    """A chat prompt, rendered by our renderer from the GGUF's template and tokenized by llama.cpp, is the ids
    transformers' apply_chat_template makes; logits and greedy tokens after it agree."""
    from exaone_desktop.engine.chat.templates import render_chat

    _, gguf = converted(kind)
    model, tokenizer = reference_model(kind)
    messages = CONVERSATIONS[2]
    text = render_chat(lh.metadata(gguf)["tokenizer.chat_template"], messages)
    ids = lh.tokenize(gguf, text, special=True)
    assert ids == list(tokenizer.apply_chat_template(messages, tokenize=True, add_generation_prompt=True,
                                                     return_dict=False))
    assert relative_logit_error(gguf, model, ids) < TOLERANCE.get(kind, DEFAULT_TOLERANCE)
    assert lh.greedy(gguf, ids, GREEDY_TOKENS) == reference_greedy(model, ids, GREEDY_TOKENS)


@pytest.mark.parametrize("kind", ["exaone3_untied", "exaone4", "exaone4_hybrid64"])
def test_other_direct_types_load_and_agree_with_f32(kind, converted, reference_model, record_property):
    """Top-1 agreement with f32 at every position of the same text (teacher-forced, so one early
    divergence does not count for every later token), and the length of the shared greedy prefix."""
    _, f32 = converted(kind)
    _, tokenizer = reference_model(kind)
    ids = tokenizer(PARITY_TEXT, add_special_tokens=False)["input_ids"]
    ids = ids + lh.greedy(f32, ids, GREEDY_TOKENS)
    base_top1 = lh.logits(f32, ids).argmax(axis=1)
    base_greedy = ids[-GREEDY_TOKENS:]
    report = {}
    for outtype in ("bf16", "f16", "q8_0"):
        _, path = converted(kind, outtype)
        top1 = float((lh.logits(path, ids).argmax(axis=1) == base_top1).mean())
        greedy = lh.greedy(path, ids[:-GREEDY_TOKENS], GREEDY_TOKENS)
        prefix = next((i for i, (a, b) in enumerate(zip(greedy, base_greedy, strict=True)) if a != b), GREEDY_TOKENS)
        report[outtype] = {"top1_agreement": round(top1, 3), "greedy_prefix": prefix}
    record_property("agreement_with_f32", report)
    print(f"{kind}: agreement with f32 {report}")
    assert report["bf16"]["top1_agreement"] >= 0.95
    assert report["f16"]["top1_agreement"] >= 0.95
    assert report["q8_0"]["top1_agreement"] >= 0.8


# The parity checks above must catch a broken converter. Each test breaks one piece on purpose.


def _convert_broken(tiny_checkpoint, tmp_path, kind: str) -> Path:
    return convert_checkpoint(tiny_checkpoint(kind), tmp_path / f"{kind}-broken.gguf", "f32")


def test_parity_catches_a_wrong_tensor_mapping(tiny_checkpoint, reference_model, tmp_path, monkeypatch):
    import gguf

    real = gguf.get_tensor_name_map

    def swapped(arch, n_blocks):
        name_map = real(arch, n_blocks)
        orig = name_map.get_name

        def get_name(key, try_suffixes=()):
            name = orig(key, try_suffixes=try_suffixes)
            swap = {"ffn_gate": "ffn_up", "ffn_up": "ffn_gate"}
            if name and name.startswith("blk."):
                parts = name.split(".")
                parts[2] = swap.get(parts[2], parts[2])
                name = ".".join(parts)
            return name

        name_map.get_name = get_name
        return name_map

    monkeypatch.setattr(gguf, "get_tensor_name_map", swapped)
    gguf_path = _convert_broken(tiny_checkpoint, tmp_path, "exaone3_untied")
    model, tokenizer = reference_model("exaone3_untied")
    ids = tokenizer(PARITY_TEXT, add_special_tokens=False)["input_ids"]
    assert relative_logit_error(gguf_path, model, ids) > 10 * DEFAULT_TOLERANCE


@pytest.mark.parametrize("kind", ["exaone3_tied_sharded", "exaone4"])
def test_parity_catches_missing_rope_scaling(kind, tiny_checkpoint, reference_model, tmp_path, monkeypatch):
    import exaone_convert.convert as conv
    import numpy as np_

    monkeypatch.setattr(conv, "llama3_rope_factors", lambda head_dim, rope: np_.ones(head_dim // 2, np_.float32))
    gguf_path = _convert_broken(tiny_checkpoint, tmp_path, kind)
    model, tokenizer = reference_model(kind)
    ids = tokenizer(PARITY_TEXT * 3, add_special_tokens=False)["input_ids"]
    assert relative_logit_error(gguf_path, model, ids) > 10 * DEFAULT_TOLERANCE


@pytest.mark.parametrize(("kind", "wrong"), [("exaone4", "exaone"), ("exaone4_5", "exaone4")])
def test_parity_catches_a_wrong_pre_tokenizer(kind, wrong, tiny_checkpoint, reference_model, tmp_path, monkeypatch):
    """Splitting digits one by one on an EXAONE 4.0 vocabulary, or GPT-2's regex on EXAONE 4.5's (the family's
    old guess), changes token ids."""
    import exaone_convert.vocab as vocab_mod

    row = next(p for p in vocab_mod.PRE_TOKENIZERS if p.llama_pre == wrong)
    monkeypatch.setattr(vocab_mod, "detect_pre_tokenizer", lambda tokenizer: row)
    gguf_path = _convert_broken(tiny_checkpoint, tmp_path, kind)
    assert lh.metadata(gguf_path)["tokenizer.ggml.pre"] == wrong
    _, tokenizer = reference_model(kind)
    mismatches = [t for t in tokenization_samples()
                  if lh.tokenize(gguf_path, t, special=True) != tokenizer(t, add_special_tokens=False)["input_ids"]]
    assert mismatches, f"the {wrong!r} pre-tokenizer on a {kind} vocabulary must change some token ids"


def test_parity_catches_wrong_token_types(tiny_checkpoint, reference_model, tmp_path, monkeypatch):
    import exaone_convert.vocab as vocab_mod
    from gguf import TokenType

    real = vocab_mod.load_vocab

    def all_normal(*args, **kwargs):
        v = real(*args, **kwargs)
        v.token_types = [int(TokenType.NORMAL)] * len(v.token_types)
        return v

    import exaone_convert.convert as conv

    monkeypatch.setattr(conv, "load_vocab", all_normal)
    gguf_path = _convert_broken(tiny_checkpoint, tmp_path, "exaone4")
    _, tokenizer = reference_model("exaone4")
    text = "[|user|]안녕[|endofturn|]"
    assert lh.tokenize(gguf_path, text, special=True) != tokenizer(text, add_special_tokens=False)["input_ids"]
