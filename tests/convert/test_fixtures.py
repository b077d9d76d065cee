"""Sanity checks of the tiny EXAONE checkpoints and the transformers reference."""

from __future__ import annotations

import json
from pathlib import Path

import jinja2
import numpy as np
import pytest
import torch
from tokenizers import Tokenizer

from tests.support.reference import (
    greedy_divergence,
    load_reference,
    read_state_dict,
    reference_greedy,
    reference_logits,
)
from tests.support.tiny_checkpoints import (
    EXAONE4_TEMPLATE,
    EXAONE35_TEMPLATE,
    EXAONE_DEEP_TEMPLATE,
    KINDS,
    SPECIAL_TOKENS,
    USER_DEFINED_TOKENS,
    tokenization_samples,
    train_tokenizer,
)

torch.set_num_threads(1)
ROOT = Path(__file__).resolve().parents[2]

ALL_KINDS = sorted(KINDS)


def _ids(encoded) -> list[int]:
    return list(encoded["input_ids"] if hasattr(encoded, "keys") else encoded)


# --- checkpoints and reference ----------------------------------------------------------------


@pytest.mark.parametrize("kind", ALL_KINDS)
def test_kind_loads_and_generates(kind, reference_model, tiny_checkpoint):
    model, tok = reference_model(kind)
    top = json.loads((tiny_checkpoint(kind) / "config.json").read_text())
    cfg = top.get("text_config", top)  # EXAONE 4.5 nests the text model's config
    assert model.config.get_text_config().vocab_size == cfg["vocab_size"] == len(tok)
    prompt = _ids(tok("안녕하세요 Hello 123"))
    logits = reference_logits(model, prompt)
    assert logits.shape == (len(prompt), cfg["vocab_size"])
    assert np.isfinite(logits).all()
    out = reference_greedy(model, prompt, 12)
    assert len(out) == 12 and len(set(out)) > 1, "greedy output should not be one repeated token"
    assert greedy_divergence(model, prompt, out) is None


@pytest.mark.parametrize("kind", ALL_KINDS)
def test_reference_uses_every_weight(kind, reference_model, tiny_checkpoint):
    """Every stored tensor is a model parameter (or the MoE router's bias buffer): nothing ignored, nothing
    left at its init. Multi-token-prediction weights (mtp.*) are the one thing transformers does not load."""
    model, tok = reference_model(kind)
    state = read_state_dict(tiny_checkpoint(kind))
    assert all(t.dtype == torch.bfloat16 for t in state.values())
    cfg = json.loads((tiny_checkpoint(kind) / "config.json").read_text())
    assert ("lm_head.weight" in state) == (not cfg["tie_word_embeddings"])
    n_mtp = cfg.get("text_config", cfg).get("num_nextn_predict_layers")
    assert any(n.startswith("mtp.") for n in state) == bool(n_mtp)
    params = sum(p.numel() for p in model.parameters())  # tied weights count once
    params += sum(b.numel() for n, b in model.named_buffers() if n.endswith("e_score_correction_bias"))
    assert params == sum(t.numel() for n, t in state.items() if not n.startswith("mtp."))


@pytest.mark.parametrize("kind", ["exaone3_tied_sharded", "exaone4"])
def test_tied_weights_really_tie(kind, reference_model):
    model, _ = reference_model(kind)
    assert model.lm_head.weight.data_ptr() == model.get_input_embeddings().weight.data_ptr()


def test_untied_head_is_separate(reference_model):
    model, _ = reference_model("exaone3_untied")
    assert model.lm_head.weight.data_ptr() != model.get_input_embeddings().weight.data_ptr()
    assert not torch.equal(model.lm_head.weight, model.get_input_embeddings().weight)


def test_llama3_rope_scaling_changes_some_frequencies(reference_model):
    for kind in ("exaone3_untied", "exaone4"):
        model, _ = reference_model(kind)
        rot = model.model.rotary_emb
        assert rot.rope_type == "llama3"
        theta, dim = model.config.rope_parameters["rope_theta"], model.config.head_dim
        plain = 1.0 / theta ** (torch.arange(0, dim, 2, dtype=torch.float64) / dim)
        ratio = (rot.inv_freq.double() / plain).numpy()
        assert np.isclose(ratio[0], 1.0), "high frequencies stay"
        assert np.isclose(ratio[-1], 1.0 / 8.0), "low frequencies are divided by the factor"
        assert ((ratio > 1.0 / 8.0 + 1e-6) & (ratio < 1.0 - 1e-6)).any(), "some are smoothed"


def test_sharded_index_is_consistent(tiny_checkpoint):
    d = tiny_checkpoint("exaone3_tied_sharded")
    index = json.loads((d / "model.safetensors.index.json").read_text())
    files = sorted(set(index["weight_map"].values()))
    assert files == [f"model-0000{i}-of-00003.safetensors" for i in (1, 2, 3)]
    state = read_state_dict(d)
    assert sorted(state) == sorted(index["weight_map"])
    assert index["metadata"]["total_size"] == sum(t.numel() * t.element_size() for t in state.values())
    assert not (d / "model.safetensors").exists()


def test_hybrid64_has_64_layers_of_both_types(tiny_checkpoint, reference_model):
    cfg = json.loads((tiny_checkpoint("exaone4_hybrid64") / "config.json").read_text())
    assert cfg["num_hidden_layers"] == len(cfg["layer_types"]) == 64
    assert set(cfg["layer_types"]) == {"sliding_attention", "full_attention"}
    assert cfg["layer_types"][:4] == ["sliding_attention"] * 3 + ["full_attention"]
    model, _ = reference_model("exaone4_hybrid64")
    sliding = [layer.self_attn.is_sliding for layer in model.model.layers]
    assert sliding == [t == "sliding_attention" for t in cfg["layer_types"]]
    assert model.config.sliding_window == cfg["sliding_window"] == 8


def test_greedy_divergence_finds_a_wrong_token(reference_model):
    model, tok = reference_model("exaone4")
    prompt = _ids(tok("Hello"))
    out = reference_greedy(model, prompt, 8)
    wrong = list(out)
    row = reference_logits(model, prompt + out[:4])[-1]
    wrong[4] = int(np.argmin(row))
    assert greedy_divergence(model, prompt, wrong) == 4


# --- tokenizers ---------------------------------------------------------------------------


@pytest.mark.parametrize("kind", ["exaone3_untied", "exaone4"])
def test_tokenizer_round_trips_and_matches_tokenizer_json(kind, reference_model, tiny_checkpoint):
    _, tok = reference_model(kind)
    raw = Tokenizer.from_file(str(tiny_checkpoint(kind) / "tokenizer.json"))
    for text in tokenization_samples():
        ids = _ids(tok(text))
        assert ids == raw.encode(text).ids, text
        assert tok.decode(ids) == text
        assert ids[:1] != [tok.bos_token_id], "add_bos_token is false"


@pytest.mark.parametrize("arch", ["exaone", "exaone4"])
def test_added_tokens_are_atomic(arch):
    tok = train_tokenizer(arch)
    for name in SPECIAL_TOKENS + USER_DEFINED_TOKENS:
        assert tok.encode(f"a{name}b").tokens == ["a", name, "b"]
    added = {t.content: t.special for t in tok.get_added_tokens_decoder().values()}
    assert all(added[t] for t in SPECIAL_TOKENS) and not any(added[t] for t in USER_DEFINED_TOKENS)
    assert [tok.token_to_id(t) for t in ("[PAD]", "[BOS]", "[EOS]", "[UNK]")] == [0, 1, 2, 3]


def test_digit_splitting_differs_between_archs():
    digits = "12345678"
    assert train_tokenizer("exaone").encode(digits).tokens == list(digits)
    assert len(train_tokenizer("exaone4").encode(digits).tokens) < len(digits)


def test_tokenizer_is_deterministic():
    from tests.support import tiny_checkpoints

    first = train_tokenizer("exaone").to_str()
    tiny_checkpoints._TOKENIZER_CACHE.clear()
    assert train_tokenizer("exaone").to_str() == first


# --- chat templates -----------------------------------------------------------------------

USER = [{"role": "user", "content": "안녕"}]
HISTORY = [
    {"role": "system", "content": "S"},
    {"role": "user", "content": "U1"},
    {"role": "assistant", "content": "<think>\nreasoning\n</think>\n\nA1"},
    {"role": "user", "content": "U2"},
]
DEEP_HISTORY = [*HISTORY[:2], {"role": "assistant", "content": "<thought>\nwhy\n</thought>\n\nA1"}, HISTORY[3]]

CASES = [
    ("exaone3_untied", USER, {}, "[|system|][|endofturn|]\n[|user|]안녕\n[|assistant|]"),
    (
        "exaone3_untied",
        [HISTORY[0], HISTORY[1], {"role": "assistant", "content": "A1"}, HISTORY[3]],
        {},
        "[|system|]S[|endofturn|]\n[|user|]U1\n[|assistant|]A1[|endofturn|]\n[|user|]U2\n[|assistant|]",
    ),
    ("exaone_deep", USER, {}, "[|system|][|endofturn|]\n[|user|]안녕\n[|assistant|]<thought>\n"),
    (
        "exaone_deep",
        DEEP_HISTORY,
        {},
        "[|system|]S[|endofturn|]\n[|user|]U1\n[|assistant|]A1[|endofturn|]\n[|user|]U2\n[|assistant|]<thought>\n",
    ),
    ("exaone4", USER, {}, "[|user|]\n안녕[|endofturn|]\n[|assistant|]\n<think>\n\n</think>\n\n"),
    (
        "exaone4",
        USER,
        {"enable_thinking": False},
        "[|user|]\n안녕[|endofturn|]\n[|assistant|]\n<think>\n\n</think>\n\n",
    ),
    ("exaone4", USER, {"enable_thinking": True}, "[|user|]\n안녕[|endofturn|]\n[|assistant|]\n<think>\n"),
    (
        "exaone4",
        HISTORY,
        {"enable_thinking": True},
        "[|system|]\nS[|endofturn|]\n[|user|]\nU1[|endofturn|]\n"
        "[|assistant|]\n<think>\n\n</think>\n\nA1[|endofturn|]\n[|user|]\nU2[|endofturn|]\n[|assistant|]\n<think>\n",
    ),
    (
        "exaone4",
        HISTORY,
        {},
        "[|system|]\nS[|endofturn|]\n[|user|]\nU1[|endofturn|]\n"
        "[|assistant|]\n<think>\n\n</think>\n\nA1[|endofturn|]\n[|user|]\nU2[|endofturn|]\n"
        "[|assistant|]\n<think>\n\n</think>\n\n",
    ),
]


@pytest.mark.parametrize(("kind", "messages", "kwargs", "expected"), CASES)
def test_chat_template_renders_documented_format(kind, messages, kwargs, expected, reference_model):
    _, tok = reference_model(kind)
    rendered = tok.apply_chat_template(messages, tokenize=False, add_generation_prompt=True, **kwargs)
    assert rendered == expected


@pytest.mark.parametrize("template", [EXAONE35_TEMPLATE, EXAONE_DEEP_TEMPLATE, EXAONE4_TEMPLATE])
def test_templates_render_the_same_in_plain_jinja(template):
    """No reliance on transformers' trim_blocks/lstrip_blocks: a plain jinja2 renderer agrees."""
    hf_like = jinja2.Environment(trim_blocks=True, lstrip_blocks=True).from_string(template)
    plain = jinja2.Environment().from_string(template)
    for messages in (USER, HISTORY, DEEP_HISTORY):
        args = {"messages": messages, "add_generation_prompt": True}
        assert plain.render(**args) == hf_like.render(**args)


def test_exaone4_template_tools(reference_model):
    _, tok = reference_model("exaone4")
    tools = [{"type": "function", "function": {"name": "now", "description": "time", "parameters": {}}}]
    messages = [
        {"role": "user", "content": "time?"},
        {"role": "assistant", "content": "", "tool_calls": [{"function": {"name": "now", "arguments": {}}}]},
        {"role": "tool", "content": '{"time": "12:00"}'},
    ]
    text = tok.apply_chat_template(messages, tools=tools, tokenize=False, add_generation_prompt=True)
    assert text.startswith("[|system|]\n# Available Tools\n")
    assert '<tool>{"type": "function"' in text and "</tool>\n" in text
    assert '[|assistant|]\n<think>\n\n</think>\n\n<tool_call>{"name": "now", "arguments": {}}</tool_call>' in text
    assert text.endswith(
        '[|tool|]\n<tool_result>{"time": "12:00"}</tool_result>[|endofturn|]\n[|assistant|]\n<think>\n\n</think>\n\n'
    )


# --- the demo model shipped in desktop/demo -------------------------------------------------

DEMO_DIR = ROOT / "desktop" / "demo"


def test_demo_model_reproduces_its_passage():
    demo = json.loads((DEMO_DIR / "demo.json").read_text(encoding="utf-8"))
    model, tok = load_reference(DEMO_DIR)
    assert "not EXAONE" in (DEMO_DIR / "README.md").read_text(encoding="utf-8")
    assert sum(p.stat().st_size for p in DEMO_DIR.iterdir()) < 4_000_000
    for messages in [demo["messages"], *demo["other_messages"]]:
        ids = _ids(tok.apply_chat_template(messages, add_generation_prompt=True, tokenize=True))
        out = reference_greedy(model, ids, 200, eos_id=tok.eos_token_id)
        assert out[-1] == tok.eos_token_id
        assert tok.decode(out, skip_special_tokens=True) == demo["expected_reply"]
