"""EXAONE 4.5 and K-EXAONE as LG released them: one tokenizer (the release's special-token ids, `exaone-moe`
pre-tokenizer) and one chat format (LG's EXAONE 4.5 template), on tiny fixtures built in that format: the family
table's facts, what ends a reply, the reasoning split, and exaone-serve's tool calls and tool results."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import openai
import pytest
from exaone_convert import families
from exaone_convert.gguf_check import inspect_gguf
from exaone_desktop.engine.chat.templates import render_chat
from exaone_desktop.engine.llama.local import LocalGenerator
from exaone_desktop.engine.settings import GenerationSettings
from generation_models import tiny_gguf
from tiny_checkpoints import SPECIALS_2026, train_tokenizer

FAMILIES_2026 = ("exaone4_5", "k_exaone")


def test_family_table_says_what_the_release_files_say():
    e45, k, e40 = (families.family_by_key(key) for key in ("exaone4_5", "k_exaone", "exaone4"))
    assert e45 is not None and k is not None and e40 is not None
    assert e45.tokenizer == k.tokenizer != e40.tokenizer  # one shared tokenizer
    for fam in (e45, k):
        assert fam.tokenizer_pre == "exaone-moe" and fam.end_of_turn == "<|endofturn|>"
        assert fam.thinking_default is True and fam.reasoning_tags == ("<think>", "</think>")
        assert set(fam.end_of_generation) == {"<|endofturn|>", "[EOS]"} and fam.tool_arguments_as_text
        assert not any("follows EXAONE 4.0" in q for q in fam.chat_quirks)
    assert e45.image_placeholder == "<vision><|image_pad|></vision>"
    assert e40.thinking_default is False and e40.end_of_turn == "[|endofturn|]"


@pytest.mark.parametrize("kind", ["exaone_moe", "exaone4_5"])
def test_fixtures_carry_the_releases_special_tokens(kind, tiny_checkpoint):
    tok = train_tokenizer(kind)
    assert {i: tok.id_to_token(i) for i in SPECIALS_2026} == SPECIALS_2026
    info = inspect_gguf(tiny_gguf(kind, tiny_checkpoint))
    assert (info.bos_token_id, info.eos_token_ids[0], info.eos_token) == (1, 53, "<|endofturn|>")
    assert info.family == ("exaone4_5" if kind == "exaone4_5" else "k_exaone")
    ckpt = tiny_checkpoint(kind)
    config = json.loads((ckpt / "config.json").read_text())
    if kind == "exaone4_5":
        assert (config["image_token_id"], config["video_token_id"]) == (67, 68)
    assert (ckpt / "chat_template.jinja").is_file()


def _reply(generator: LocalGenerator, top: int) -> str | None:
    """What ``Reply.take`` says when the model's most likely next token is ``top`` (greedy)."""
    from exaone_desktop.engine.llama.reply import ReplyVocabulary
    from exaone_desktop.engine.sampling.sampler import TokenSampler

    llm = generator._loaded()  # noqa: SLF001 - the loaded model
    vocab = ReplyVocabulary(llm._model.vocab, generator.model_info)  # noqa: SLF001
    settings = GenerationSettings(do_sample=False, max_new_tokens=8)
    sampler = TokenSampler(settings, vocab.n_vocab, history_size=64)
    reply = vocab.reply(generator.model_info, [1], sampler, settings, starts_inside=False, on_event=None, index=0,
                        constrained=False)
    logits = np.zeros(vocab.n_vocab, np.float32)
    logits[top] = 10.0
    return reply.take(logits)


@pytest.mark.parametrize("kind", ["exaone_moe", "exaone4_5", "exaone4"])
def test_eos_and_end_of_turn_end_a_reply(kind, tiny_checkpoint):
    with LocalGenerator(tiny_gguf(kind, tiny_checkpoint), n_ctx=128, n_threads=1) as gen:
        tok = train_tokenizer(kind)
        end_of_turn = tok.token_to_id("<|endofturn|>" if kind != "exaone4" else "[|endofturn|]")
        assert _reply(gen, end_of_turn) == "stop"
        # [EOS] ends EXAONE 4.5 and K-EXAONE replies too; EXAONE 4.0's release ends on [|endofturn|] only.
        assert _reply(gen, tok.token_to_id("[EOS]")) == ("stop" if kind != "exaone4" else None)
        assert _reply(gen, tok.token_to_id("안")) is None


@pytest.mark.parametrize("kind", ["exaone_moe", "exaone4_5"])
def test_thinking_is_on_by_default_and_the_reasoning_comes_apart(kind, tiny_checkpoint):
    messages = [{"role": "user", "content": "안녕하세요! 오늘 날씨 어때요?"}]
    with LocalGenerator(tiny_gguf(kind, tiny_checkpoint), n_ctx=256, n_threads=1) as gen:
        on = gen.generate(messages, GenerationSettings(do_sample=False, max_new_tokens=6))
        off = gen.generate(messages, GenerationSettings(do_sample=False, max_new_tokens=6, enable_thinking=False))
    assert on.prompt_text.endswith("<|user|>\n안녕하세요! 오늘 날씨 어때요?<|endofturn|>\n<|assistant|>\n<think>\n")
    assert off.prompt_text.endswith("<|assistant|>\n<think>\n\n</think>\n\n")
    # the prompt opened the reasoning block: what the model writes before </think> is reasoning, never answer
    assert on.generated[0].reasoning is not None and "</think>" not in on.generated[0].text
    assert off.generated[0].reasoning is None


# -- exaone-serve's tool calls and tool results -------------------------------------------------------------------

WEATHER = [{"type": "function", "function": {
    "name": "get_weather", "description": "도시의 현재 날씨를 알려줍니다.",
    "parameters": {"type": "object", "additionalProperties": False, "required": ["city"],
                   "properties": {"city": {"enum": ["서울", "부산"]}}}}}]
ASK = [{"role": "system", "content": "You are EXAONE."}, {"role": "user", "content": "서울이랑 부산 날씨 어때?"}]


@pytest.fixture(scope="module")
def served_2026(tiny_checkpoint: Any) -> Any:
    from exaone_desktop.server import start_background

    gen = LocalGenerator(tiny_gguf("exaone_moe", tiny_checkpoint), n_ctx=1024, n_threads=1)
    handle = start_background(gen)
    yield gen, openai.OpenAI(base_url=handle.base_url, api_key="none", max_retries=0, timeout=120)
    handle.stop()
    gen.close()


def test_tool_calls_and_results_go_back_as_the_release_template_renders_them(served_2026, tiny_checkpoint):
    from transformers import AutoTokenizer

    gen, client = served_2026
    model = client.models.list().data[0].id
    r = client.chat.completions.create(model=model, messages=ASK, tools=WEATHER,  # type: ignore[arg-type]
                                       tool_choice="required", temperature=0, max_tokens=64)
    assert r.choices[0].finish_reason == "tool_calls"
    [call] = r.choices[0].message.tool_calls or []
    assert call.function.name == "get_weather" and json.loads(call.function.arguments)["city"] in ("서울", "부산")
    spaced = {"id": "call_2", "type": "function",  # arguments as a client may send them: the template keeps them
              "function": {"name": "get_weather", "arguments": '{"city":  "부산"}'}}
    history: list[dict[str, Any]] = [
        *ASK,
        {"role": "assistant", "content": None, "tool_calls": [call.model_dump(), spaced]},
        {"role": "tool", "tool_call_id": call.id, "content": "맑음, 23도"},
        {"role": "tool", "tool_call_id": "call_2", "content": [{"type": "text", "text": "흐림, "},
                                                               {"type": "text", "text": "18도"}]},
    ]
    after = client.chat.completions.create(model=model, messages=history, tools=WEATHER,  # type: ignore[arg-type]
                                           temperature=0, max_tokens=4)
    tok = AutoTokenizer.from_pretrained(str(tiny_checkpoint("exaone_moe")))
    hf_messages = [*ASK,
                   {"role": "assistant", "content": "", "tool_calls": [
                       {"type": "function", "function": {"name": "get_weather",
                                                          "arguments": call.function.arguments}},
                       {"type": "function", "function": {"name": "get_weather", "arguments": '{"city":  "부산"}'}}]},
                   {"role": "tool", "content": "맑음, 23도"}, {"role": "tool", "content": "흐림, 18도"}]
    text = tok.apply_chat_template(hf_messages, tools=WEATHER, add_generation_prompt=True, tokenize=False)
    assert text.startswith("<|tool_declare|>\n# Tools\n<tool>")
    assert ('<|tool|>\n<tool_result>맑음, 23도</tool_result>\n<tool_result>흐림, 18도</tool_result><|endofturn|>\n'
            in text)
    assert '<tool_call>{"name": "get_weather", "arguments": {"city":  "부산"}}</tool_call>' in text
    hf_ids = tok(text, add_special_tokens=False)["input_ids"]
    assert after.usage is not None and after.usage.prompt_tokens == len(hf_ids)
    # the server hands the template exactly these messages: the same text, character for character
    from exaone_desktop.server.schemas import ChatCompletionRequest
    from exaone_desktop.server.tools import template_messages, tool_arguments_as_text

    req = ChatCompletionRequest.model_validate({"model": model, "messages": history, "tools": WEATHER})
    ours = render_chat(gen.model_info.chat_template,
                       template_messages(req.messages, arguments_as_text=tool_arguments_as_text(gen.model_info)),
                       tools=WEATHER)
    assert ours == text


def test_exaone40_still_gets_its_arguments_parsed(tiny_checkpoint):
    with LocalGenerator(tiny_gguf("exaone4", tiny_checkpoint), n_ctx=128, n_threads=1) as gen:
        from exaone_desktop.server.tools import tool_arguments_as_text

        assert tool_arguments_as_text(gen.model_info) is False


def test_tool_result_path_is_the_family_table(tmp_path: Path):
    """Families whose template writes string arguments as they are: exactly those in the table."""
    assert tuple(f.key for f in families.FAMILIES if f.tool_arguments_as_text) == FAMILIES_2026
