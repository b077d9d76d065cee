"""render_chat against transformers' apply_chat_template, and reasoning splitting (whole and streaming)."""
# ruff: noqa: E501  (the official EXAONE 4.0 template below is kept line for line)

from __future__ import annotations

import random
from typing import Any

import pytest
from exaone_desktop.engine.chat import templates as chat
from exaone_desktop.engine.chat.templates import (
    THINK,
    THOUGHT,
    ReasoningSplitter,
    history_for_model,
    prompt_opens_reasoning,
    reasoning_tags,
    render_chat,
    split_reasoning,
)
from exaone_desktop.engine.types import GenerationError
from tiny_checkpoints import EXAONE4_TEMPLATE, EXAONE35_TEMPLATE, EXAONE_DEEP_TEMPLATE
from tokenizers import Tokenizer, models
from transformers import PreTrainedTokenizerFast

# The official EXAONE Deep template as LG publishes it (note the quirky lstrip('\\n'), kept on purpose).
OFFICIAL_DEEP_TEMPLATE = (
    r"{% for message in messages %}{% if loop.first and message['role'] != 'system' %}"
    r"{{ '[|system|][|endofturn|]\n' }}{% endif %}{% set content = message['content'] %}"
    r"{% if '</thought>' in content %}{% set content = content.split('</thought>')[-1].lstrip('\\n') %}"
    r"{% endif %}{{ '[|' + message['role'] + '|]' + content }}"
    r"{% if not message['role'] == 'user' %}{{ '[|endofturn|]' }}{% endif %}"
    r"{% if not loop.last %}{{ '\n' }}{% endif %}{% endfor %}"
    r"{% if add_generation_prompt %}{{ '\n[|assistant|]<thought>\n' }}{% endif %}"
)

# The official EXAONE 4.0 template (tokenizer_config.json of the 4.0 releases), re-indented only:
# every block tag trims its whitespace, so indentation does not change what it renders.
OFFICIAL_EXAONE4_TEMPLATE = r"""{%- if not skip_think is defined %}
  {%- set skip_think = true %}
{%- endif %}
{%- set role_indicators = {
  'user': '[|user|]\n',
  'assistant': '[|assistant|]\n',
  'system': '[|system|]\n',
  'tool': '[|tool|]\n'
} %}
{%- set end_of_turn = '[|endofturn|]\n' %}
{%- macro available_tools(tools) %}
  {{- "# Available Tools" }}
  {{- "\nYou can use none, one, or multiple of the following tools by calling them as functions to help with the user’s query." }}
  {{- "\nHere are the tools available to you in JSON format within <tool> and </tool> tags:\n" }}
  {%- for tool in tools %}
    {{- "<tool>" }}
    {{- tool | tojson(ensure_ascii=False) | safe }}
    {{- "</tool>\n" }}
  {%- endfor %}
  {{- "\nFor each function call you want to make, return a JSON object with function name and arguments within <tool_call> and </tool_call> tags, like:" }}
  {{- "\n<tool_call>{\"name\": function_1_name, \"arguments\": {argument_1_name: argument_1_value, argument_2_name: argument_2_value}}</tool_call>" }}
  {{- "\n<tool_call>{\"name\": function_2_name, \"arguments\": {...}}</tool_call>\n..." }}
  {{- "\nNote that if no argument name is specified for a tool, you can just print the argument value directly, without the argument name or JSON formatting." }}
{%- endmacro %}
{%- set ns = namespace(last_query_index = messages|length - 1) %}
{%- for message in messages %}
  {%- if message.role == "user" and message.content is string %}
    {%- set ns.last_query_index = loop.index0 -%}
  {%- endif %}
{%- endfor %}
{%- for i in range(messages | length) %}
  {%- set msg = messages[i] %}
  {%- set role = msg.role %}
  {%- if role not in role_indicators %}
    {{- raise_exception('Unknown role: ' ~ role) }}
  {%- endif %}
  {%- if i == 0 %}
    {%- if role == 'system' %}
      {{- role_indicators['system'] }}
      {{- msg.content }}
      {%- if tools is defined and tools %}
        {{- "\n\n" }}{{- available_tools(tools) }}
      {%- endif %}
      {{- end_of_turn -}}
      {%- continue %}
    {%- elif tools is defined and tools %}
      {{- role_indicators['system'] }}
      {{- available_tools(tools) }}
      {{- end_of_turn -}}
    {%- endif %}
  {%- endif %}
  {%- if role == 'assistant' %}
    {{- role_indicators['assistant'] }}
    {%- if msg.content %}
      {%- if "</think>" in msg.content %}
        {%- set content = msg.content.split('</think>')[-1].strip() %}
        {%- set reasoning_content = msg.content.split('</think>')[0].strip() %}
        {%- if reasoning_content.startswith("<think>") %}
          {%- set reasoning_content = reasoning_content[9:].strip() %}
        {%- endif %}
      {%- else %}
        {%- set content = msg.content %}
      {%- endif %}
      {%- if msg.reasoning_content %}
        {%- set reasoning_content = msg.reasoning_content %}
      {%- endif %}
      {%- if (not skip_think and loop.last) and reasoning_content is defined %}
        {{- "<think>\n" }}
        {{- reasoning_content}}
        {{- "\n</think>\n\n" }}
      {%- else %}
        {{- "<think>\n\n</think>\n\n" }}
      {%- endif %}
      {{- content }}
    {%- endif %}
    {%- if msg.tool_calls %}
      {%- if msg.content %}
        {{- "\n" }}
      {%- else %}
        {{- "<think>\n\n</think>\n\n" }}
      {%- endif %}
      {%- for tool_call in msg.tool_calls %}
        {%- if tool_call.function is defined %}
          {%- set tool_call = tool_call.function %}
        {%- endif %}
        {%- if tool_call.arguments is defined %}
          {%- set arguments = tool_call.arguments %}
        {%- elif tool_call.parameters is defined %}
          {%- set arguments = tool_call.parameters %}
        {%- else %}
          {{- raise_exception('arguments or parameters are mandatory: ' ~ tool_call) }}
        {%- endif %}
        {{- "<tool_call>" }}{"name": "{{- tool_call.name }}", "arguments": {{ arguments | tojson(ensure_ascii=False) | safe }}}{{- "</tool_call>" }}
        {%- if not loop.last %}
          {{- "\n" }}
        {%- endif %}
      {%- endfor %}
    {%- endif %}
    {{- end_of_turn -}}
  {%- elif role == "tool" %}
    {%- if i == 0 or messages[i - 1].role != "tool" %}
      {{- role_indicators['tool'] }}
    {%- endif %}
    {%- if msg.content is defined %}
      {{- "<tool_result>" }}{"result": {{ msg.content | tojson(ensure_ascii=False) | safe }}}{{- "</tool_result>" }}
    {%- endif %}
    {%- if loop.last or messages[i + 1].role != "tool" %}
      {{- end_of_turn -}}
    {%- else %}
      {{- "\n" }}
    {%- endif %}
  {%- else %}
    {{- role_indicators[role] }}
    {{- msg.content }}
    {{- end_of_turn -}}
  {%- endif %}
{% endfor %}
{%- if add_generation_prompt %}
  {{- role_indicators['assistant'] }}
  {%- if enable_thinking is defined and enable_thinking is true %}
    {{- "<think>\n" }}
  {%- else %}
    {{- "<think>\n\n</think>\n\n" }}
  {%- endif %}
{%- endif %}"""

TEMPLATES = {
    "exaone35": EXAONE35_TEMPLATE,
    "deep_tiny": EXAONE_DEEP_TEMPLATE,
    "deep_official": OFFICIAL_DEEP_TEMPLATE,
    "exaone4_tiny": EXAONE4_TEMPLATE,
    "exaone4_official": OFFICIAL_EXAONE4_TEMPLATE,
}
EXAONE4_TEMPLATES = ("exaone4_tiny", "exaone4_official")

CONVERSATIONS: dict[str, list[dict[str, Any]]] = {
    "system_user": [
        {"role": "system", "content": "You are EXAONE model from LG AI Research, a helpful assistant."},
        {"role": "user", "content": "Explain how wonderful you are"},
    ],
    "user_only": [{"role": "user", "content": "Hello!"}],
    "korean": [
        {"role": "system", "content": "당신은 친절한 한국어 비서입니다."},
        {"role": "user", "content": "대한민국의 수도는 어디인가요?"},
    ],
    "multi_turn_think": [
        {"role": "user", "content": "2+2?"},
        {"role": "assistant", "content": "<think>\nTwo plus two.\n\nThat is 4.\n</think>\n\nIt is 4."},
        {"role": "user", "content": "그리고 3+3은?"},
    ],
    "multi_turn_thought": [
        {"role": "system", "content": "Be brief."},
        {"role": "user", "content": "Capital of France?"},
        {"role": "assistant", "content": "<thought>\nParis, surely.\n</thought>\n\nParis."},
        {"role": "user", "content": "And of Korea?"},
    ],
    "reasoning_field": [
        {"role": "user", "content": "Hi"},
        {"role": "assistant", "content": "Hello!", "reasoning_content": "A greeting."},
        {"role": "user", "content": "How are you?"},
    ],
    "none_values": [
        {"role": "user", "content": "Hi", "name": None},
    ],
}

TOOLS = [
    {
        "type": "function",
        "function": {
            "name": "get_weather",
            "description": "도시의 현재 날씨를 알려줍니다.",
            "parameters": {
                "type": "object",
                "properties": {"city": {"type": "string", "description": "도시 이름, 예: 서울"}},
                "required": ["city"],
            },
        },
    }
]
TOOL_CONVERSATION: list[dict[str, Any]] = [
    {"role": "user", "content": "서울 날씨 어때?"},
    {
        "role": "assistant",
        "content": "",
        "tool_calls": [{"type": "function", "function": {"name": "get_weather", "arguments": {"city": "서울"}}}],
    },
    {"role": "tool", "content": "맑음, 23도"},
    {"role": "tool", "content": "습도 40%"},
]


@pytest.fixture(scope="module")
def hf_tokenizer() -> PreTrainedTokenizerFast:
    return PreTrainedTokenizerFast(tokenizer_object=Tokenizer(models.WordLevel({"[UNK]": 0}, unk_token="[UNK]")))


def hf_render(tok: PreTrainedTokenizerFast, template: str, messages: list[dict[str, Any]], **kw: Any) -> str:
    kw = {k: v for k, v in kw.items() if v is not None}
    out = tok.apply_chat_template(messages, chat_template=template, tokenize=False, **kw)
    assert isinstance(out, str)
    return out


# ------------------------------------------------------------------------------------------------
# Rendering matches transformers


@pytest.mark.parametrize("template_name", TEMPLATES)
@pytest.mark.parametrize("conversation", CONVERSATIONS)
@pytest.mark.parametrize("add_generation_prompt", [True, False])
@pytest.mark.parametrize("enable_thinking", [None, True, False])
def test_render_matches_transformers(
    hf_tokenizer: PreTrainedTokenizerFast,
    template_name: str,
    conversation: str,
    add_generation_prompt: bool,
    enable_thinking: bool | None,
) -> None:
    template, messages = TEMPLATES[template_name], CONVERSATIONS[conversation]
    ours = render_chat(template, messages, add_generation_prompt=add_generation_prompt,
                       enable_thinking=enable_thinking)
    theirs = hf_render(hf_tokenizer, template, messages, add_generation_prompt=add_generation_prompt,
                       enable_thinking=enable_thinking)
    assert ours == theirs


def test_exaone35_formats_read_off_design(hf_tokenizer: PreTrainedTokenizerFast) -> None:
    """A few invariants of the formats themselves, so a silently wrong template copy shows up."""
    user_only = render_chat(EXAONE35_TEMPLATE, CONVERSATIONS["user_only"])
    assert user_only == "[|system|][|endofturn|]\n[|user|]Hello!\n[|assistant|]"
    deep = render_chat(OFFICIAL_DEEP_TEMPLATE, CONVERSATIONS["multi_turn_thought"])
    assert "Paris, surely" not in deep and deep.endswith("\n[|assistant|]<thought>\n")
    e4 = render_chat(OFFICIAL_EXAONE4_TEMPLATE, CONVERSATIONS["multi_turn_think"], enable_thinking=True)
    assert "[|assistant|]\n<think>\n\n</think>\n\nIt is 4.[|endofturn|]\n" in e4 and e4.endswith("<think>\n")
    assert render_chat(OFFICIAL_EXAONE4_TEMPLATE, CONVERSATIONS["user_only"]).endswith("<think>\n\n</think>\n\n")


@pytest.mark.parametrize("template_name", EXAONE4_TEMPLATES)
@pytest.mark.parametrize("with_system", [True, False])
def test_tools_match_transformers(
    hf_tokenizer: PreTrainedTokenizerFast, template_name: str, with_system: bool
) -> None:
    system: list[dict[str, Any]] = [{"role": "system", "content": "도구를 쓰세요."}] if with_system else []
    messages = system + TOOL_CONVERSATION
    template = TEMPLATES[template_name]
    ours = render_chat(template, messages, tools=TOOLS)
    assert ours == hf_render(hf_tokenizer, template, messages, tools=TOOLS, add_generation_prompt=True)
    assert "<tool>" in ours and "서울" in ours  # tojson keeps Korean as is (ensure_ascii=False)


@pytest.mark.parametrize("field", ["reasoning_content", "reasoning", "thinking", None])
def test_exaone4_keeps_last_reasoning_when_asked(hf_tokenizer: PreTrainedTokenizerFast, field: str | None) -> None:
    """skip_think=False renders the final assistant turn's reasoning, from any of the reasoning fields."""
    last: dict[str, Any] = {"role": "assistant", "content": "<think>\nin content\n</think>\n\nDone."}
    if field:
        last = {"role": "assistant", "content": "Done.", field: "from the field"}
    messages = [*CONVERSATIONS["user_only"], last]
    ours = render_chat(OFFICIAL_EXAONE4_TEMPLATE, messages, add_generation_prompt=False, skip_think=False)
    assert ours == hf_render(hf_tokenizer, OFFICIAL_EXAONE4_TEMPLATE, messages, skip_think=False)
    # (the official template slices "<think>" off with [9:], one character too many: "n content")
    assert ("from the field" if field else "content") + "\n</think>\n\nDone." in ours


def test_bos_and_extra_variables_reach_the_template(hf_tokenizer: PreTrainedTokenizerFast) -> None:
    template = "{{ bos_token }}{% for m in messages %}{{ m.content | tojson(indent=2) }}{% endfor %}{{ who }}"
    messages = [{"role": "user", "content": {"b": "한", "a": [1]}}]
    ours = render_chat(template, messages, bos_token="<s>", who="me")
    assert ours == hf_render(hf_tokenizer, template, messages, bos_token="<s>", who="me")
    assert ours.startswith("<s>{\n  \"b\": \"한\"")


def test_generation_tag_and_strftime() -> None:
    template = "{% generation %}{{ messages[0].content }}{% endgeneration %}|{{ strftime_now('%Y') }}"
    out = render_chat(template, [{"role": "assistant", "content": "x"}])
    head, year = out.split("|")
    assert head == "x" and year.isdigit() and len(year) == 4


def test_compiled_templates_are_cached() -> None:
    template = "{{ messages | length }}-cache-probe"
    render_chat(template, [{"role": "user", "content": "a"}])
    before = chat._compile.cache_info().hits
    assert render_chat(template, [{"role": "user", "content": "b"}, {"role": "user", "content": "c"}]) == (
        "2-cache-probe"
    )
    assert chat._compile.cache_info().hits == before + 1


# ------------------------------------------------------------------------------------------------
# Template failures become one-line GenerationErrors


@pytest.mark.parametrize(
    ("template", "messages", "expected"),
    [
        ("{{ raise_exception('Only user and assistant roles are supported!') }}", [], "Only user and assistant"),
        (OFFICIAL_EXAONE4_TEMPLATE, [{"role": "narrator", "content": "x"}], "Unknown role: narrator"),
        ("{% for m in messages %}{{ m.content + 1 }}{% endfor %}", [{"role": "user", "content": "a"}], "failed"),
        ("{{ 1 / 0 }}", [], "division"),
        ("{% for m in messages %}\n{{ m.content }\n{% endfor %}", [], "syntax error at line 2"),
        ("{% if %}", [], "syntax error"),
    ],
)
def test_template_errors(template: str, messages: list[dict[str, Any]], expected: str) -> None:
    with pytest.raises(GenerationError) as info:
        render_chat(template, messages)
    message = str(info.value)
    assert expected in message and "\n" not in message and "chat template" in message


@pytest.mark.parametrize("template", ["", "   ", None])
def test_missing_template(template: Any) -> None:
    with pytest.raises(GenerationError, match="no chat template; use --prompt"):
        render_chat(template, CONVERSATIONS["user_only"])


@pytest.mark.parametrize(
    "template",
    [
        "{{ ''.__class__.__mro__ }}",
        "{{ ''.__class__.__mro__[1].__subclasses__() }}",
        "{{ ().__class__.__base__.__subclasses__() }}",
        "{{ lipsum.__globals__['os'].popen('id').read() }}",
        "{{ cycler.__init__.__globals__.os.system('id') }}",
        "{{ raise_exception.__globals__['__builtins__'] }}",
        "{{ messages.append({'role': 'x'}) }}",
        "{% set ns = namespace(_secret=1) %}{{ ns._secret }}",
        "{% set ns = namespace() %}{% set ns.__class__ = 1 %}",
        "{{ dict.__call__.__globals__ }}{{ dict.__class__.__init__.__globals__['json'] }}",
        "{{ strftime_now.__globals__['datetime'] }}",
    ],
)
def test_sandbox_escapes_are_refused(template: str) -> None:
    messages = [{"role": "user", "content": "hi"}]
    with pytest.raises(GenerationError) as info:
        render_chat(template, messages)
    assert "\n" not in str(info.value)
    assert messages == [{"role": "user", "content": "hi"}]


# ------------------------------------------------------------------------------------------------
# Reasoning tags


@pytest.mark.parametrize(
    ("architecture", "template_name", "expected"),
    [
        ("exaone4", "exaone4_official", THINK),
        ("exaone4", "exaone4_tiny", THINK),
        ("exaone", "deep_official", THOUGHT),
        ("exaone", "deep_tiny", THOUGHT),
        ("exaone", "exaone35", None),
        ("exaone4", None, THINK),
        ("exaone", None, None),
    ],
)
def test_reasoning_tags(architecture: str, template_name: str | None, expected: tuple[str, str] | None) -> None:
    template = TEMPLATES[template_name] if template_name else None
    assert reasoning_tags(architecture, template) == expected


@pytest.mark.parametrize(
    ("template_name", "enable_thinking", "opens"),
    [
        ("deep_official", None, True),
        ("deep_tiny", None, True),
        ("exaone4_official", True, True),
        ("exaone4_official", False, False),
        ("exaone4_official", None, False),
        ("exaone4_tiny", True, True),
        ("exaone4_tiny", None, False),
        ("exaone35", True, False),
    ],
)
def test_prompt_opens_reasoning(template_name: str, enable_thinking: bool | None, opens: bool) -> None:
    template = TEMPLATES[template_name]
    prompt = render_chat(template, CONVERSATIONS["user_only"], enable_thinking=enable_thinking)
    tags = reasoning_tags("exaone", template)
    assert prompt_opens_reasoning(prompt, tags) is opens
    # A rendered prompt without a generation prompt never leaves reasoning open.
    assert not prompt_opens_reasoning(render_chat(template, CONVERSATIONS["user_only"],
                                                  add_generation_prompt=False), tags)


@pytest.mark.parametrize(
    ("text", "starts_inside", "expected"),
    [
        ("Step one.\nStep two.\n</think>\n\nThe answer.", True, ("Step one.\nStep two.", "The answer.")),
        ("<think>\nHmm.\n</think>\n\nYes.", False, ("Hmm.", "Yes.")),
        ("  \n<think>\n\n</think>\n\nYes.", False, ("", "Yes.")),
        ("Just an answer.", False, (None, "Just an answer.")),
        ("An answer mentioning <think> later.", False, (None, "An answer mentioning <think> later.")),
        ("still thinking when cut off\n", True, ("still thinking when cut off", "")),
        ("<think>\ncut off", False, ("cut off", "")),
        ("a</think>b</think>c", True, ("a", "b</think>c")),
        ("<thinker> is not the tag", False, (None, "<thinker> is not the tag")),
        ("", True, ("", "")),
        ("  ", False, (None, "  ")),
    ],
)
def test_split_reasoning(text: str, starts_inside: bool, expected: tuple[str | None, str]) -> None:
    assert split_reasoning(text, THINK, starts_inside=starts_inside) == expected


def test_split_reasoning_without_tags() -> None:
    assert split_reasoning("<think>x</think>y", None) == (None, "<think>x</think>y")


# ------------------------------------------------------------------------------------------------
# Streaming splitter

STREAM_REPLIES: list[tuple[str, tuple[str, str], bool]] = [
    ("Let me see.\n\n2+2 is 4.\n</think>\n\nThe answer is **4**.", THINK, True),
    ("음, 서울은 한국의 수도다.\n</thought>\n\n서울입니다.", THOUGHT, True),
    ("<think>\nreasoning with a < sign and </thin ice\n</think>\n\nanswer < </think> tail", THINK, False),
    ("\n\n<think>\n\n\n</think>\n\n\n  indented answer\n", THINK, False),
    ("No reasoning here, just text with trailing space   ", THINK, False),
    ("<thi", THINK, False),
    ("<think>\nnever closed   \n</thi", THINK, False),
    ("   ", THINK, True),
    ("<thought>\n생각 중\n</thought>답", THOUGHT, False),
    ("x</think>", THINK, True),
    ("</think>answer right away", THINK, True),
    ("", THINK, False),
]


def run_splitter(text: str, tags: tuple[str, str], starts_inside: bool, sizes: list[int]) -> tuple[str, str, list]:
    splitter = ReasoningSplitter(*tags, starts_inside=starts_inside)
    pieces: list[tuple[str, str]] = []
    pos = 0
    for size in sizes:
        pieces += splitter.feed(text[pos:pos + size])
        pos += size
    assert pos >= len(text)
    pieces += splitter.flush()
    assert all(kind in ("reasoning", "answer") and piece for kind, piece in pieces)
    reasoning = "".join(p for k, p in pieces if k == "reasoning")
    answer = "".join(p for k, p in pieces if k == "answer")
    return reasoning, answer, pieces


@pytest.mark.parametrize(("text", "tags", "starts_inside"), STREAM_REPLIES)
def test_streaming_one_char_at_a_time_matches_split(text: str, tags: tuple[str, str], starts_inside: bool) -> None:
    reasoning, answer, _ = run_splitter(text, tags, starts_inside, [1] * max(len(text), 1))
    expected_reasoning, expected_answer = split_reasoning(text, tags, starts_inside=starts_inside)
    assert (reasoning, answer) == (expected_reasoning or "", expected_answer)


@pytest.mark.parametrize(("text", "tags", "starts_inside"), STREAM_REPLIES)
def test_streaming_random_chunks_matches_split(text: str, tags: tuple[str, str], starts_inside: bool) -> None:
    rng = random.Random(f"{text}-{starts_inside}")
    expected_reasoning, expected_answer = split_reasoning(text, tags, starts_inside=starts_inside)
    for _ in range(25):
        sizes: list[int] = []
        while sum(sizes) < len(text):
            sizes.append(rng.randint(0, 12))
        reasoning, answer, _ = run_splitter(text, tags, starts_inside, sizes or [0])
        assert (reasoning, answer) == (expected_reasoning or "", expected_answer), sizes


def test_streaming_never_emits_a_partial_tag() -> None:
    text = "<think>\nabc def\n</think>\n\nghi"
    _, _, pieces = run_splitter(text, THINK, False, [1] * len(text))
    assert not any("<" in piece or ">" in piece for _, piece in pieces)
    splitter = ReasoningSplitter(*THINK, starts_inside=True)
    assert splitter.feed("abc </thi") == [("reasoning", "abc")]
    assert splitter.feed("nk>\n\nx") == [("answer", "x")]
    splitter = ReasoningSplitter(*THINK, starts_inside=True)
    assert splitter.feed("a </th") == [("reasoning", "a")]
    assert splitter.feed("ree") == [("reasoning", " </three")]  # not a tag after all


def test_streaming_reports_whether_reasoning_was_seen() -> None:
    splitter = ReasoningSplitter(*THINK)
    splitter.feed("plain answer")
    assert not splitter.saw_reasoning
    splitter = ReasoningSplitter(*THINK)
    splitter.feed("<think>x")
    assert splitter.saw_reasoning


# ------------------------------------------------------------------------------------------------
# History without reasoning


HISTORY = [
    {"role": "system", "content": "sys"},
    {"role": "user", "content": "q1"},
    {"role": "assistant", "content": "<think>\nSECRET-1\n</think>\n\nA1", "reasoning_content": "SECRET-2"},
    {"role": "user", "content": "q2"},
    {"role": "assistant", "content": "<thought>\nSECRET-3\n</thought>\n\nA2"},
    {"role": "user", "content": "q3"},
]


def test_history_for_model_strips_reasoning_without_mutating() -> None:
    original = [dict(m) for m in HISTORY]
    cleaned = history_for_model(HISTORY)
    assert HISTORY == original
    assert [m["content"] for m in cleaned if m["role"] == "assistant"] == ["A1", "A2"]
    assert all("reasoning_content" not in m for m in cleaned)
    assert [m for m in cleaned if m["role"] != "assistant"] == [m for m in HISTORY if m["role"] != "assistant"]


@pytest.mark.parametrize("template_name", TEMPLATES)
def test_templates_and_history_helper_both_drop_reasoning(
    hf_tokenizer: PreTrainedTokenizerFast, template_name: str
) -> None:
    template = TEMPLATES[template_name]
    cleaned = history_for_model(HISTORY)
    rendered_clean = render_chat(template, cleaned)
    assert rendered_clean == hf_render(hf_tokenizer, template, cleaned, add_generation_prompt=True)
    assert "SECRET" not in rendered_clean and "A1" in rendered_clean and "A2" in rendered_clean
    if template_name != "exaone35":  # the 3.5 template predates reasoning and keeps content verbatim
        think_only = [m for m in HISTORY if "<thought>" not in m["content"]] if "4" in template_name else [
            {k: v for k, v in m.items() if k != "reasoning_content"} for m in HISTORY if "<think>" not in m["content"]
        ]
        raw = render_chat(template, think_only)
        assert "SECRET" not in raw
        if template_name in EXAONE4_TEMPLATES:
            assert raw == render_chat(template, history_for_model(think_only))
