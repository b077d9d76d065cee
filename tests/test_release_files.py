"""LG's real release files as the reference (``shared/releases/``; skipped with the reason where absent):

- EXAONE-4.0-1.2B's real config, tokenizer, generation config and chat template, random weights at reduced depth,
  through our converter: llama.cpp tokenizes a varied corpus exactly as transformers does, chat prompts render
  (our renderer) and tokenize as ``apply_chat_template``, and the special tokens are the release's;
- EXAONE 4.5's chat template renders through our renderer exactly as transformers renders it;
- K-EXAONE's published example conversation is reproduced byte for byte from the messages it shows.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import llama_helpers as lh
import pytest
from exaone_convert.convert import convert_checkpoint
from exaone_convert.gguf_check import inspect_gguf
from exaone_desktop.engine.chat.templates import render_chat
from release_files import EXAONE45, K_EXAONE, build_reduced_exaone40, need

# Text that tokenizers get wrong in different ways: every line is checked on its own and all of it at once.
CORPUS = [
    # Korean prose and informal Korean
    "대한민국의 수도는 서울이며, 한강이 도시를 가로질러 흐른다. 조선 시대부터 정치와 문화의 중심지였다.",
    "인공지능 연구원은 새로운 언어 모델을 공개했고, 이 모델은 한국어와 영어를 모두 잘 이해한다고 밝혔다.",
    "ㅋㅋㅋㅋ 진짜?? 대박ㅎㅎ 나 오늘 완전 피곤해ㅠㅠ 내일 봐~~ ㄱㄱ",
    "아 근데 그거 어케 했어?ㅋ 나도 좀 알려줘,, 담에 밥 살게!!",
    # code with indentation, runs of spaces and tabs
    'def fib(n: int) -> int:\n    if n < 2:\n        return n\n    return fib(n - 1) + fib(n - 2)\n',
    "class Node {\n\tint value;\n\t\tNode* next;   // pointer\n}\n",
    "a    b        c\t\td\t\t\t\te          f",
    "    leading four\n        eight\n\t\ttabs\n  \t mixed \t  \n",
    "x = [1,  2,   3,    4]  # spaced\nif x:\n\n\n    pass",
    # numbers with separators
    "1,234,567원, 3.14159, 1.5e-10, 2024-11-25, 12:30:45, 010-1234-5678, 10%, $1,000.50, ₩50,000",
    "0.001 1_000_000 0x1F 1e6 ½ ² ①②③ 一二三",
    # emoji with ZWJ joiners, skin tones, flags, variation selectors
    "👨‍👩‍👧‍👦 👩🏽‍💻 🏳️‍🌈 🇰🇷🇺🇸 ❤️ ✌🏻 😀😂🥲 🫠",
    # other scripts
    "日本語のテキストです。中文文本测试。Русский текст. Ελληνικά. العربية. עברית. हिन्दी. ภาษาไทย. Tiếng Việt.",
    # decomposed Hangul (NFD jamo) and combining marks
    "\u1112\u1161\u11ab\u1100\u1173\u11af \u1109\u1165\u110b\u116e\u11af",
    "e\u0301cole cafe\u0301 n\u0303 A\u030a",
    # URLs and Markdown
    "https://www.lgresearch.ai/exaone?lang=ko&v=4.0#top http://127.0.0.1:8080/v1/chat/completions",
    "# 제목\n\n- **굵게** _기울임_ `code`\n1. [링크](https://example.com)\n\n```python\nprint('hi')\n```\n> 인용",
    "| a | b |\n|---|---|\n| 1 | 2 |",
    # text that looks like special tokens (and the real ones)
    "[|user|]안녕[|endofturn|]\n[|assistant|]\n<think>\n\n</think>\n\n네",
    "[|user |] [| user|] <|user|> [|endofturn|][|endofturn|] <think></think> PI:URL PI:EMAIL [BOS][EOS]",
    "<tool_call>{\"name\": \"f\", \"arguments\": {}}</tool_call><tool_result>1</tool_result>",
    "",
    " ",
    "\n",
    "  \n  \n",
]


@pytest.fixture(scope="module")
def exaone40(tmp_path_factory) -> tuple[Path, Path, Any]:
    """(checkpoint folder, f32 GGUF, transformers tokenizer) of the reduced EXAONE-4.0-1.2B."""
    from transformers import AutoTokenizer

    ckpt = build_reduced_exaone40(tmp_path_factory.mktemp("exaone40"))
    gguf = convert_checkpoint(ckpt, tmp_path_factory.mktemp("gguf") / "exaone40-F32.gguf", "f32")
    return ckpt, gguf, AutoTokenizer.from_pretrained(str(ckpt))


@pytest.mark.parametrize("text", [*CORPUS, "\n".join(CORPUS)], ids=range(len(CORPUS) + 1))
def test_exaone40_release_tokenizer_matches_transformers(text, exaone40):
    _, gguf, tokenizer = exaone40
    expected = tokenizer(text, add_special_tokens=False)["input_ids"]
    assert lh.tokenize(gguf, text, special=True) == expected


def test_exaone40_release_tokenizer_is_the_releases(exaone40):
    ckpt, gguf, tokenizer = exaone40
    meta = lh.metadata(gguf)
    assert meta["tokenizer.ggml.pre"] == "exaone4"
    info = inspect_gguf(gguf)
    assert info.n_vocab == len(tokenizer) == 102_400
    generation = json.loads((ckpt / "generation_config.json").read_text())
    assert (info.bos_token_id, info.eos_token_ids, int(meta["tokenizer.ggml.padding_token_id"])) == (
        generation["bos_token_id"], [generation["eos_token_id"]], generation["pad_token_id"]) == (1, [361], 0)
    assert (info.bos_token, info.eos_token, info.add_bos) == ("[BOS]", "[|endofturn|]", False)
    assert meta["tokenizer.chat_template"] == (ckpt / "chat_template.jinja").read_text(encoding="utf-8")


def test_exaone40_end_of_generation_set_is_the_releases(exaone40):
    """What ends a reply: the release's eos (361) and nothing else that the model could write."""
    from exaone_desktop.engine.llama.reply import ReplyVocabulary

    _, gguf, _ = exaone40
    info = inspect_gguf(gguf)
    llm = lh.load(str(gguf))
    vocab = ReplyVocabulary(llm._model.vocab, info)  # noqa: SLF001 - the loaded model's vocabulary
    assert set(info.eos_token_ids) | vocab.end_ids == {361}


TOOLS = [{"type": "function", "function": {
    "name": "get_weather", "description": "오늘 날씨를 알려줍니다",
    "parameters": {"type": "object", "properties": {"city": {"type": "string", "description": "도시 이름"}},
                   "required": ["city"]}}}]
CHATS_40: list[tuple[list[dict[str, Any]], dict[str, Any]]] = [
    ([{"role": "user", "content": "안녕? 자기소개 해줘."}], {}),
    ([{"role": "user", "content": "안녕? 자기소개 해줘."}], {"enable_thinking": True}),
    ([{"role": "system", "content": "간결하게 답해."}, {"role": "user", "content": "1+1?"},
      {"role": "assistant", "content": "<think>\n더하기\n</think>\n\n2"}, {"role": "user", "content": "2+2는?"}],
     {"enable_thinking": True}),
    ([{"role": "user", "content": "서울 날씨?"}], {"tools": TOOLS}),
    ([{"role": "system", "content": "You are EXAONE."}, {"role": "user", "content": "서울이랑 부산 날씨?"},
      {"role": "assistant", "content": "", "tool_calls": [
          {"type": "function", "function": {"name": "get_weather", "arguments": {"city": "서울"}}},
          {"type": "function", "function": {"name": "get_weather", "arguments": {"city": "부산"}}}]},
      {"role": "tool", "content": '{"temp": 21, "sky": "맑음"}'}, {"role": "tool", "content": "흐림, 18도"}],
     {"tools": TOOLS, "enable_thinking": True}),
]


@pytest.mark.parametrize(("messages", "kwargs"), CHATS_40, ids=range(len(CHATS_40)))
def test_exaone40_release_chat_renders_and_tokenizes_as_transformers(messages, kwargs, exaone40):
    _, gguf, tokenizer = exaone40
    kwargs = dict(kwargs)
    tools = kwargs.pop("tools", None)
    template = lh.metadata(gguf)["tokenizer.chat_template"]
    ours = render_chat(template, messages, tools=tools, **kwargs)
    expected = tokenizer.apply_chat_template(messages, tools=tools, tokenize=False, add_generation_prompt=True,
                                             **kwargs)
    assert ours == expected
    ids = tokenizer.apply_chat_template(messages, tools=tools, tokenize=True, add_generation_prompt=True,
                                        return_dict=False, **kwargs)
    assert lh.tokenize(gguf, ours, special=True) == list(ids)


# -- EXAONE 4.5's chat template --------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def exaone45_tokenizer(tmp_path_factory):
    """A transformers tokenizer carrying LG's EXAONE 4.5 chat template (the tiny 4.5 fixture's tokenizer)."""
    from tiny_checkpoints import FORMAT_2026, train_tokenizer, write_tokenizer_files
    from transformers import AutoTokenizer

    out = tmp_path_factory.mktemp("tok45")
    write_tokenizer_files(out, train_tokenizer("exaone4_5"), "release:" + f"{EXAONE45}/chat_template.jinja",
                          FORMAT_2026.tokenizer_class)
    tokenizer = AutoTokenizer.from_pretrained(str(out))
    assert tokenizer.chat_template == need(f"{EXAONE45}/chat_template.jinja").read_text(encoding="utf-8")
    return tokenizer


IMAGE, VIDEO = {"type": "image"}, {"type": "video"}
SEARCH = {"type": "function", "function": {"name": "search", "description": "웹 검색",
                                           "parameters": {"type": "object", "properties": {"q": {"type": "string"}}}}}
CALL_OBJECT = {"id": "c1", "type": "function", "function": {"name": "search", "arguments": {"q": "서울 날씨"}}}
CALL_STRING = {"id": "c2", "type": "function", "function": {"name": "search", "arguments": '{"q": "부산 날씨"}'}}
CHATS_45: list[tuple[str, list[dict[str, Any]], dict[str, Any]]] = [
    ("text", [{"role": "user", "content": "안녕?"}], {}),
    ("thinking off", [{"role": "user", "content": "안녕?"}], {"enable_thinking": False}),
    ("thinking on", [{"role": "system", "content": "S"}, {"role": "user", "content": "안녕?"}],
     {"enable_thinking": True}),
    ("one image", [{"role": "user", "content": [IMAGE, {"type": "text", "text": "무엇이 보여?"}]}], {}),
    ("images with ids", [{"role": "user", "content": [
        {"type": "text", "text": "비교해 줘:\n"}, IMAGE, IMAGE, {"type": "text", "text": "차이는?"}]},
        {"role": "assistant", "content": "고양이와 개입니다."},
        {"role": "user", "content": [IMAGE, VIDEO, {"type": "text", "text": "이건?"}]}], {"add_vision_id": True}),
    ("images without ids", [{"role": "user", "content": [IMAGE, IMAGE, {"type": "text", "text": "둘?"}]}],
     {"add_vision_id": False}),
    ("tools", [{"role": "user", "content": "서울 날씨?"}], {"tools": [SEARCH]}),
    ("tool calls, object and string arguments, consecutive results", [
        {"role": "system", "content": "You are EXAONE."}, {"role": "user", "content": "서울이랑 부산?"},
        {"role": "assistant", "content": "", "reasoning_content": "둘 다 찾아보자.",
         "tool_calls": [CALL_OBJECT, CALL_STRING]},
        {"role": "tool", "tool_call_id": "c1", "content": "맑음, 21도"},
        {"role": "tool", "tool_call_id": "c2", "content": [{"sky": "흐림"}, {"temp": 18}]},
    ], {"tools": [SEARCH]}),
    ("answer text before a call", [
        {"role": "user", "content": "찾아줘"},
        {"role": "assistant", "content": "찾아볼게요.", "tool_calls": [CALL_STRING]},
        {"role": "tool", "content": "결과"}], {"tools": [SEARCH]}),
    ("reasoning kept only after the last user message", [
        {"role": "user", "content": "1+1?"},
        {"role": "assistant", "content": "2", "reasoning_content": "더한다"},
        {"role": "user", "content": "2+2?"},
        {"role": "assistant", "content": "<think>\n또 더한다\n</think>\n\n4"},
        {"role": "user", "content": [{"type": "text", "text": "3+3?"}]},
        {"role": "assistant", "content": "", "reasoning_content": "검색", "tool_calls": [CALL_OBJECT]},
        {"role": "tool", "content": "6"}], {}),
    ("skip_think", [
        {"role": "user", "content": "찾아줘"},
        {"role": "assistant", "content": "", "reasoning_content": "찾자", "tool_calls": [CALL_OBJECT]},
        {"role": "tool", "content": "결과"}], {"skip_think": True}),
    ("reasoning inside content", [
        {"role": "user", "content": "hi"},
        {"role": "assistant", "content": "<think>\n생각\n</think>\n\n안녕하세요"}], {"enable_thinking": False}),
]


@pytest.mark.parametrize(("case", "messages", "kwargs"), CHATS_45, ids=[c[0] for c in CHATS_45])
def test_exaone45_release_template_renders_as_transformers(case, messages, kwargs, exaone45_tokenizer):
    kwargs = dict(kwargs)
    tools = kwargs.pop("tools", None)
    for generation_prompt in (True, False):
        expected = exaone45_tokenizer.apply_chat_template(messages, tools=tools, tokenize=False,
                                                          add_generation_prompt=generation_prompt, **kwargs)
        ours = render_chat(exaone45_tokenizer.chat_template, messages, tools=tools,
                           add_generation_prompt=generation_prompt, **kwargs)
        assert ours == expected, case
    images = sum(1 for m in messages if m["role"] == "user" and isinstance(m["content"], list)
                 for part in m["content"] if part == IMAGE)
    assert ours.count("<vision><|image_pad|></vision>\n") == images


# -- K-EXAONE's example conversation ------------------------------------------------------------------------

_TURN = re.compile(r"<\|(tool_declare|system|user|assistant|tool)\|>\n(.*?)<\|endofturn\|>\n", re.DOTALL)


def _call(text: str) -> dict[str, Any]:
    """A written tool call as an OpenAI function call: its name, and its arguments as the JSON text the model wrote
    (the example keeps the model's own escapes, e.g. \\u2019, so the arguments are a string, not an object)."""
    name = json.loads(text)["name"]
    head = f'{{"name": "{name}", "arguments": '
    assert text.startswith(head) and text.endswith("}")
    arguments = text[len(head):-1]
    json.loads(arguments)
    return {"name": name, "arguments": arguments}


def example_messages(text: str) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """(messages, tools) that the example conversation shows: read turn by turn, each tool declaration, system,
    user, assistant (reasoning, answer, tool calls) and tool result taken as it is written there."""
    messages: list[dict[str, Any]] = []
    tools: list[dict[str, Any]] = []
    for role, body in _TURN.findall(text):
        if role == "tool_declare":
            assert body.startswith("# Tools\n")
            tools = [json.loads(t) for t in re.findall(r"<tool>(.*?)</tool>\n", body)]
        elif role == "assistant":
            reasoning, _, rest = body.removeprefix("<think>\n").partition("\n</think>\n\n")
            calls = [_call(c) for c in re.findall(r"<tool_call>(.*?)</tool_call>", rest, re.DOTALL)]
            answer = re.sub(r"\n?<tool_call>.*?</tool_call>", "", rest, flags=re.DOTALL)
            msg: dict[str, Any] = {"role": "assistant", "content": answer, "reasoning_content": reasoning}
            if calls:
                msg["tool_calls"] = [{"type": "function", "function": call} for call in calls]
            messages.append(msg)
        elif role == "tool":
            messages += [{"role": "tool", "content": r}
                         for r in re.findall(r"<tool_result>(.*?)</tool_result>", body, re.DOTALL)]
        else:
            messages.append({"role": role, "content": body})
    return messages, tools


def test_k_exaone_example_conversation_is_reproduced_byte_for_byte():
    example = need(f"{K_EXAONE}/example_output_search.txt").read_bytes()
    template = need(f"{EXAONE45}/chat_template.jinja").read_text(encoding="utf-8")
    messages, tools = example_messages(example.decode("utf-8"))
    assert len(tools) == 2 and [m["role"] for m in messages[:4]] == ["system", "user", "assistant", "tool"]
    assert sum(1 for m in messages if m.get("tool_calls")) >= 2
    rendered = render_chat(template, messages, tools=tools, add_generation_prompt=False)
    assert rendered.encode("utf-8") == example
