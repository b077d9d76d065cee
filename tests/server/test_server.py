"""exaone-serve: the real openai client against the real server (a child process) on a tiny EXAONE 4 GGUF.

The reference for every text is exaone-generate on the same GGUF with the same settings. Concurrency
tests run the server in-process (start_background) around the real generator behind a gate, so a test
can hold a request mid-flight without timing guesses.
"""

from __future__ import annotations

import base64
import http.client
import io
import json
import os
import subprocess
import threading
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import openai
import psutil
import pytest
from exaone_desktop.cli import generate as cli
from exaone_desktop.engine.cloud.generator import CloudGenerator
from exaone_desktop.engine.llama.local import LocalGenerator
from exaone_desktop.engine.settings import GenerationSettings
from exaone_desktop.server import start_background

from tests.support.cli_runs import generate_json, write_messages
from tests.support.generation_models import MESSAGES, PLAIN_PROMPT
from tests.support.server_helpers import SERVE, Paced, request, sse_events, start_serve, wait_until

KIND = "exaone4"
KEY = "sk-local-test-key"
N_NEW = 16


@pytest.fixture(scope="module")
def model_id(model_path: Path) -> str:
    return model_path.stem


@pytest.fixture(scope="module")
def served(model_path: Path) -> Any:
    server = start_serve("--model", str(model_path), "--port", "0", "--api-key", KEY, "--threads", "1",
                         "--queue-size", "3", "--parallel", "4")
    yield server
    server.stop()


@pytest.fixture(scope="module")
def client(served: Any) -> openai.OpenAI:
    return openai.OpenAI(base_url=served.url + "/v1", api_key=KEY, max_retries=0, timeout=120)


@pytest.fixture
def messages_file(tmp_path: Path) -> Path:
    return write_messages(tmp_path, MESSAGES)


def auth() -> dict[str, str]:
    return {"Authorization": f"Bearer {KEY}"}


def assert_serves(client: openai.OpenAI, model_id: str) -> None:
    """The server still answers a good request (after an error)."""
    r = client.chat.completions.create(model=model_id, messages=[{"role": "user", "content": "hi"}],
                                       temperature=0, max_tokens=2)
    assert r.usage is not None and r.usage.completion_tokens >= 1


# -- chat and completions ------------------------------------------------------------------------------


def test_chat_greedy_equals_exaone_generate(client: openai.OpenAI, model_id: str, model_path: Path,
                                            messages_file: Path, capsys: Any) -> None:
    ref = generate_json(capsys, "--model", str(model_path), "--messages", str(messages_file),
                        "--max-new-tokens", str(N_NEW))
    [expected] = ref["generated"]
    r = client.chat.completions.create(model=model_id, messages=MESSAGES, temperature=0, max_tokens=N_NEW)
    assert r.object == "chat.completion" and r.model == model_id
    [choice] = r.choices
    assert choice.message.role == "assistant"
    assert choice.message.content == expected["text"]
    assert choice.finish_reason == expected["finish_reason"]
    assert r.usage is not None
    assert r.usage.prompt_tokens == len(ref["prompt_token_ids"])
    assert r.usage.completion_tokens == len(expected["token_ids"])
    assert r.usage.total_tokens == r.usage.prompt_tokens + r.usage.completion_tokens
    # max_completion_tokens is the newer name of the same thing; do_sample=false is greedy whatever the temperature
    again = client.chat.completions.create(model=model_id, messages=MESSAGES, temperature=1.5,
                                           max_completion_tokens=N_NEW, extra_body={"do_sample": False})
    assert again.choices[0].message.content == expected["text"]


def test_chat_stream_is_openai_sse(served: Any, client: openai.OpenAI, model_id: str) -> None:
    whole = client.chat.completions.create(model=model_id, messages=MESSAGES, temperature=0, max_tokens=N_NEW)
    body = {"model": model_id, "messages": MESSAGES, "temperature": 0, "max_tokens": N_NEW, "stream": True,
            "stream_options": {"include_usage": True}}
    reply = request(served.url, "POST", "/v1/chat/completions", body, auth())
    assert reply.status == 200 and reply.headers["content-type"].startswith("text/event-stream")
    events = sse_events(reply.body)
    assert events[-1] == "[DONE]"
    chunks = [json.loads(e) for e in events[:-1]]
    assert {c["object"] for c in chunks} == {"chat.completion.chunk"}
    assert len({c["id"] for c in chunks}) == 1
    assert chunks[0]["choices"][0]["delta"] == {"role": "assistant", "content": ""}
    finish = chunks[-2]["choices"][0]
    assert finish["delta"] == {} and finish["finish_reason"] == whole.choices[0].finish_reason
    assert chunks[-1]["choices"] == [] and chunks[-1]["usage"] == whole.usage.model_dump(exclude_none=True)  # type: ignore[union-attr]
    assert all(c["usage"] is None for c in chunks[:-1])
    text = "".join(c["choices"][0]["delta"].get("content", "") for c in chunks[1:-1])
    assert text == whole.choices[0].message.content
    # the openai client reads the same stream; without include_usage no chunk carries usage
    stream = client.chat.completions.create(model=model_id, messages=MESSAGES, temperature=0, max_tokens=N_NEW,
                                            stream=True)
    got = list(stream)
    assert "".join(c.choices[0].delta.content or "" for c in got if c.choices) == whole.choices[0].message.content
    assert all(c.usage is None for c in got)


def test_completions_equal_exaone_generate(client: openai.OpenAI, model_id: str, model_path: Path,
                                           capsys: Any) -> None:
    ref = generate_json(capsys, "--model", str(model_path), "--prompt", PLAIN_PROMPT, "--max-new-tokens",
                        str(N_NEW), "--no-return-full-text")
    [expected] = ref["generated"]
    r = client.completions.create(model=model_id, prompt=PLAIN_PROMPT, temperature=0, max_tokens=N_NEW)
    assert r.object == "text_completion"
    assert r.choices[0].text == expected["text"] and r.choices[0].finish_reason == expected["finish_reason"]
    assert r.usage is not None and r.usage.prompt_tokens == len(ref["prompt_token_ids"])
    assert r.usage.completion_tokens == len(expected["token_ids"])
    echo = client.completions.create(model=model_id, prompt=PLAIN_PROMPT, temperature=0, max_tokens=N_NEW, echo=True)
    assert echo.choices[0].text == PLAIN_PROMPT + expected["text"]
    stream = client.completions.create(model=model_id, prompt=PLAIN_PROMPT, temperature=0, max_tokens=N_NEW,
                                       stream=True, stream_options={"include_usage": True})
    chunks = list(stream)
    assert "".join(c.choices[0].text for c in chunks if c.choices) == expected["text"]
    assert chunks[-1].usage is not None and chunks[-1].usage.completion_tokens == len(expected["token_ids"])


def test_completions_with_a_list_of_prompts(client: openai.OpenAI, model_id: str) -> None:
    prompts = [PLAIN_PROMPT, "EXAONE는"]
    alone = [client.completions.create(model=model_id, prompt=p, temperature=0, max_tokens=8).choices[0].text
             for p in prompts]
    both = client.completions.create(model=model_id, prompt=prompts, temperature=0, max_tokens=8)
    assert [c.index for c in both.choices] == [0, 1] and [c.text for c in both.choices] == alone


@pytest.mark.parametrize(("top_k", "penalty"), [(5, 1.3), (0, 1.0)])
def test_extras_change_the_draw_as_locally(top_k: int, penalty: float, client: openai.OpenAI, model_id: str,
                                           model_path: Path, messages_file: Path, capsys: Any) -> None:
    ref = generate_json(capsys, "--model", str(model_path), "--messages", str(messages_file), "--max-new-tokens",
                        str(N_NEW), "--do-sample", "--temperature", "1.4", "--top-k", str(top_k),
                        "--repetition-penalty", str(penalty), "--seed", "11")
    r = client.chat.completions.create(model=model_id, messages=MESSAGES, temperature=1.4, seed=11, max_tokens=N_NEW,
                                       extra_body={"top_k": top_k, "repetition_penalty": penalty})
    assert r.choices[0].message.content == ref["generated"][0]["text"]
    assert r.usage is not None and r.usage.completion_tokens == len(ref["generated"][0]["token_ids"])


def test_extras_make_a_difference(client: openai.OpenAI, model_id: str) -> None:
    def draw(**extra: Any) -> str | None:
        r = client.chat.completions.create(model=model_id, messages=MESSAGES, temperature=1.4, seed=11,
                                           max_tokens=N_NEW, extra_body=extra)
        return r.choices[0].message.content

    assert draw(top_k=5, repetition_penalty=1.3) == draw(top_k=5, repetition_penalty=1.3)
    assert draw(top_k=5, repetition_penalty=1.3) != draw(top_k=0, repetition_penalty=1.0)


def test_n_choices(client: openai.OpenAI, model_id: str, model_path: Path, messages_file: Path,
                   capsys: Any) -> None:
    ref = generate_json(capsys, "--model", str(model_path), "--messages", str(messages_file), "--max-new-tokens",
                        "10", "--do-sample", "--num-return-sequences", "3", "--seed", "5")
    r = client.chat.completions.create(model=model_id, messages=MESSAGES, n=3, seed=5, max_tokens=10)
    assert [c.index for c in r.choices] == [0, 1, 2]
    assert [c.message.content for c in r.choices] == [g["text"] for g in ref["generated"]]
    assert r.usage is not None and r.usage.completion_tokens == sum(len(g["token_ids"]) for g in ref["generated"])
    stream = client.chat.completions.create(model=model_id, messages=MESSAGES, n=3, seed=5, max_tokens=10,
                                            stream=True)
    texts = ["", "", ""]
    finished = set()
    for chunk in stream:
        for c in chunk.choices:
            texts[c.index] += c.delta.content or ""
            if c.finish_reason:
                finished.add(c.index)
    assert texts == [g["text"] for g in ref["generated"]] and finished == {0, 1, 2}


def test_reasoning_content_with_enable_thinking(served: Any, client: openai.OpenAI, model_id: str,
                                                model_path: Path, messages_file: Path, capsys: Any) -> None:
    ref = generate_json(capsys, "--model", str(model_path), "--messages", str(messages_file), "--max-new-tokens",
                        str(N_NEW), "--enable-thinking")
    [expected] = ref["generated"]
    assert expected.get("reasoning")
    extra = {"chat_template_kwargs": {"enable_thinking": True}}
    r = client.chat.completions.create(model=model_id, messages=MESSAGES, temperature=0, max_tokens=N_NEW,
                                       extra_body=extra)
    message = r.choices[0].message
    assert getattr(message, "reasoning_content", None) == expected["reasoning"]
    assert message.content == expected["text"]
    assert expected["reasoning"] not in (message.content or "")  # never mixed into the answer
    stream = client.chat.completions.create(model=model_id, messages=MESSAGES, temperature=0, max_tokens=N_NEW,
                                            stream=True, extra_body=extra)
    parts = {"reasoning": "", "answer": ""}
    for chunk in stream:
        for c in chunk.choices:
            parts["reasoning"] += getattr(c.delta, "reasoning_content", None) or ""
            parts["answer"] += c.delta.content or ""
    assert parts == {"reasoning": expected["reasoning"], "answer": expected["text"]}
    off = client.chat.completions.create(model=model_id, messages=MESSAGES, temperature=0, max_tokens=N_NEW)
    assert getattr(off.choices[0].message, "reasoning_content", None) is None


def test_models_and_health(served: Any, client: openai.OpenAI, model_id: str) -> None:
    assert [m.id for m in client.models.list()] == [model_id]
    assert client.models.retrieve(model_id).id == model_id
    health = request(served.url, "GET", "/health")
    assert health.status == 200 and health.json()["status"] == "ok" and health.json()["model"] == model_id


def test_cloud_engine_talks_to_the_local_server(served: Any, model_id: str, model_path: Path,
                                                messages_file: Path, capsys: Any) -> None:
    ref = generate_json(capsys, "--model", str(model_path), "--messages", str(messages_file), "--max-new-tokens",
                        str(N_NEW))
    cloud = CloudGenerator(KEY, model=model_id, base_url=served.url + "/v1", max_retries=0)
    settings = GenerationSettings(max_new_tokens=N_NEW)
    result = cloud.generate(MESSAGES, settings)
    assert result.generated[0].text == ref["generated"][0]["text"]
    events: list[str] = []
    streamed = cloud.generate(MESSAGES, settings, on_event=lambda e: events.append(e.text))
    assert "".join(events) == streamed.generated[0].text == ref["generated"][0]["text"]
    assert streamed.timings["generated_tokens"] == len(ref["generated"][0]["token_ids"])
    assert cloud.list_models() == [model_id]


# -- structured output and tools ----------------------------------------------------------------------------

VERDICT = {"type": "object", "additionalProperties": False, "required": ["answer", "sure", "tags"],
           "properties": {"answer": {"enum": ["yes", "no", "maybe"]}, "sure": {"type": "boolean"},
                          "tags": {"type": "array", "items": {"enum": ["날씨", "weather", 7]}, "maxItems": 2}}}
WEATHER = [{"type": "function", "function": {
    "name": "get_weather", "description": "도시의 현재 날씨를 알려줍니다.",
    "parameters": {"type": "object", "additionalProperties": False, "required": ["city"],
                   "properties": {"city": {"enum": ["서울", "부산", "Seoul"]}}}}}]
ASK_WEATHER = [{"role": "user", "content": "서울 날씨 어때?"}]


def valid_verdict(data: Any) -> bool:
    """VERDICT's rules, checked by hand."""
    return (isinstance(data, dict) and set(data) == {"answer", "sure", "tags"}
            and data["answer"] in ("yes", "no", "maybe") and isinstance(data["sure"], bool)
            and isinstance(data["tags"], list) and len(data["tags"]) <= 2
            and all(t in ("날씨", "weather", 7) for t in data["tags"]))


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_json_schema_yields_json_that_validates(seed: int, client: openai.OpenAI, model_id: str) -> None:
    fmt = {"type": "json_schema", "json_schema": {"name": "verdict", "schema": VERDICT}}
    r = client.chat.completions.create(model=model_id, messages=MESSAGES, seed=seed, max_tokens=120,
                                       response_format=fmt)  # type: ignore[arg-type]
    assert r.choices[0].finish_reason == "stop"
    assert valid_verdict(json.loads(r.choices[0].message.content or ""))
    stream = client.chat.completions.create(model=model_id, messages=MESSAGES, seed=seed, max_tokens=120,
                                            response_format=fmt, stream=True)  # type: ignore[arg-type]
    assert "".join(c.choices[0].delta.content or "" for c in stream if c.choices) == r.choices[0].message.content


def test_json_object_mode(client: openai.OpenAI, model_id: str) -> None:
    r = client.chat.completions.create(model=model_id, messages=MESSAGES, seed=4, temperature=0.7, max_tokens=200,
                                       response_format={"type": "json_object"})
    if r.choices[0].finish_reason == "stop":
        assert isinstance(json.loads(r.choices[0].message.content or ""), dict)
    else:  # a random model may write a long string: whatever came must still be the start of an object
        assert (r.choices[0].message.content or "").lstrip().startswith("{")


def test_bad_schema_is_400(served: Any, model_id: str) -> None:
    fmt = {"type": "json_schema", "json_schema": {"name": "x"}}
    reply = request(served.url, "POST", "/v1/chat/completions",
                    {"model": model_id, "messages": MESSAGES, "response_format": fmt}, auth())
    assert reply.status == 400 and reply.json()["error"]["param"] == "response_format.json_schema.schema"
    unenforced = {"type": "json_schema", "json_schema": {"name": "x", "schema": {
        "type": "object", "properties": {"n": {"type": "integer", "minimum": 3}}}}}
    reply = request(served.url, "POST", "/v1/chat/completions",
                    {"model": model_id, "messages": MESSAGES, "response_format": unenforced}, auth())
    assert reply.status == 400 and "'minimum'" in reply.json()["error"]["message"]


def test_tool_call_round_trip_on_the_exaone4_template(client: openai.OpenAI, model_id: str, tiny_checkpoint: Any,
                                                      model_path: Path) -> None:
    r = client.chat.completions.create(model=model_id, messages=ASK_WEATHER, tools=WEATHER,  # type: ignore[arg-type]
                                       tool_choice="required", temperature=0, max_tokens=64)
    choice = r.choices[0]
    assert choice.finish_reason == "tool_calls"
    [call] = choice.message.tool_calls or []
    assert call.type == "function" and call.id and call.function.name == "get_weather"
    arguments = json.loads(call.function.arguments)
    assert arguments["city"] in ("서울", "부산", "Seoul")
    assert choice.message.content is None
    # streamed, the same call arrives as a tool_calls delta
    stream = client.chat.completions.create(model=model_id, messages=ASK_WEATHER, tools=WEATHER,  # type: ignore[arg-type]
                                            tool_choice="required", temperature=0, max_tokens=64, stream=True)
    deltas = [tc for chunk in stream for c in chunk.choices for tc in (c.delta.tool_calls or [])]
    assert [(d.function.name, d.function.arguments) for d in deltas if d.function] == \
        [("get_weather", call.function.arguments)]
    # the call and its result go back in; the prompt is what transformers renders with EXAONE 4's template
    history: list[dict[str, Any]] = [
        *ASK_WEATHER,
        {"role": "assistant", "content": None, "tool_calls": [call.model_dump()]},
        {"role": "tool", "tool_call_id": call.id, "content": "맑음, 23도"},
    ]
    after = client.chat.completions.create(model=model_id, messages=history, tools=WEATHER,  # type: ignore[arg-type]
                                           temperature=0, max_tokens=8)
    from transformers import AutoTokenizer

    tok = AutoTokenizer.from_pretrained(str(tiny_checkpoint(KIND)))
    hf_messages = [*ASK_WEATHER,
                   {"role": "assistant", "content": "", "tool_calls": [
                       {"type": "function", "function": {"name": "get_weather", "arguments": arguments}}]},
                   {"role": "tool", "content": "맑음, 23도"}]
    text = tok.apply_chat_template(hf_messages, tools=WEATHER, add_generation_prompt=True, tokenize=False)
    assert "<tool_result>맑음, 23도</tool_result>" in text and "<tool_call>" in text
    hf_ids = tok(text, add_special_tokens=False)["input_ids"]
    assert after.usage is not None and after.usage.prompt_tokens == len(hf_ids)
    assert after.choices[0].finish_reason in ("stop", "length")
    # tool_choice "none": tools are not offered, the reply is text
    plain = client.chat.completions.create(model=model_id, messages=ASK_WEATHER, tools=WEATHER,  # type: ignore[arg-type]
                                           tool_choice="none", temperature=0, max_tokens=8)
    assert plain.choices[0].message.tool_calls is None


def test_the_apps_worker_generator_serves_tools_and_schemas(model_path: Path, model_id: str) -> None:
    """The app's serve switch hands over its WorkerGenerator (llama.cpp in a child process): tools and
    response_format pass through it to the model."""
    from exaone_desktop.engine.llama.worker import WorkerGenerator

    gen = WorkerGenerator(model_path, n_threads=1)
    handle = start_background(gen)
    try:
        client = openai.OpenAI(base_url=handle.base_url, api_key="none", max_retries=0, timeout=120)
        r = client.chat.completions.create(model=model_id, messages=ASK_WEATHER, tools=WEATHER,  # type: ignore[arg-type]
                                           tool_choice="required", temperature=0, max_tokens=64)
        assert r.choices[0].finish_reason == "tool_calls"
        assert r.choices[0].message.tool_calls and r.choices[0].message.tool_calls[0].function.name == "get_weather"
        fmt = {"type": "json_schema", "json_schema": {"name": "verdict", "schema": VERDICT}}
        j = client.chat.completions.create(model=model_id, messages=MESSAGES, seed=1, max_tokens=120,
                                           response_format=fmt)  # type: ignore[arg-type]
        assert valid_verdict(json.loads(j.choices[0].message.content or ""))
    finally:
        handle.stop()
        gen.close()


def test_tool_call_parsing() -> None:
    from exaone_desktop.server.tools import parse_tool_calls

    text = ('Let me check. <tool_call>{"name": "get_weather", "arguments": {"city": "서울"}}</tool_call>\n'
            '<tool_call>{"name": "get_time", "arguments": {}}</tool_call> <tool_call>not json</tool_call>')
    content, calls = parse_tool_calls(text)
    assert [(c.function.name, json.loads(c.function.arguments)) for c in calls] == \
        [("get_weather", {"city": "서울"}), ("get_time", {})]
    assert content == "Let me check. \n <tool_call>not json</tool_call>"
    assert len({c.id for c in calls}) == 2
    assert parse_tool_calls("no calls here") == ("no calls here", [])


def test_tool_errors(served: Any, model_id: str) -> None:
    base = {"model": model_id, "messages": ASK_WEATHER}
    cases = [
        ({"tool_choice": "required"}, "tool_choice"),
        ({"tools": WEATHER, "tool_choice": {"type": "function", "function": {"name": "nope"}}}, "tool_choice"),
        ({"messages": [*ASK_WEATHER, {"role": "assistant", "tool_calls": [
            {"id": "c1", "type": "function", "function": {"name": "get_weather", "arguments": "{bad"}}]}]},
         "messages[1].tool_calls[0].function.arguments"),
    ]
    for extra, param in cases:
        reply = request(served.url, "POST", "/v1/chat/completions", {**base, **extra}, auth())
        assert reply.status == 400 and reply.json()["error"]["param"] == param, reply.body


# -- errors ---------------------------------------------------------------------------------------------


def test_wrong_or_missing_key_is_401(served: Any, client: openai.OpenAI, model_id: str) -> None:
    bad = openai.OpenAI(base_url=served.url + "/v1", api_key="sk-wrong", max_retries=0)
    with pytest.raises(openai.AuthenticationError) as info:
        bad.chat.completions.create(model=model_id, messages=MESSAGES, max_tokens=2)
    assert info.value.status_code == 401
    body = info.value.body
    assert isinstance(body, dict) and body.get("code") == "invalid_api_key"
    missing = request(served.url, "POST", "/v1/chat/completions", {"model": model_id, "messages": MESSAGES})
    assert missing.status == 401
    assert set(missing.json()["error"]) == {"message", "type", "param", "code"}
    assert request(served.url, "GET", "/v1/models").status == 401
    assert_serves(client, model_id)


def test_huge_body_is_413(served: Any, client: openai.OpenAI, model_id: str) -> None:
    huge = {"model": model_id, "messages": [{"role": "user", "content": "x" * (5 * 2**20)}]}
    reply = request(served.url, "POST", "/v1/chat/completions", huge, auth())
    assert reply.status == 413 and reply.json()["error"]["code"] == "request_too_large"
    assert_serves(client, model_id)


@pytest.mark.parametrize(
    ("body", "param", "words"),
    [
        ('{"model": "m", "messages": [', None, "not valid JSON"),
        ("[1, 2]", None, "JSON object"),
        ({"messages": MESSAGES}, "model", "missing required parameter: model"),
        ({"temperature": 3}, "temperature", "temperature must be in [0, 2], got 3"),
        ({"top_p": 1.5}, "top_p", "top_p must be in [0, 1], got 1.5"),
        ({"top_k": -1}, "top_k", "top_k must be in [0, 1000000], got -1"),
        ({"n": 0}, "n", "n must be in [1, 64], got 0"),
        ({"max_tokens": 0}, "max_tokens", "max_tokens must be in [1, 1048576], got 0"),
        ({"repetition_penalty": 0}, "repetition_penalty", "repetition_penalty must be in (0, 100], got 0"),
        ({"presence_penalty": -3}, "presence_penalty", "presence_penalty must be in [-2, 2]"),
        ({"seed": -1}, "seed", "seed must be in [0, 4294967295], got -1"),
        ({"messages": [{"role": "narrator", "content": "x"}]}, "messages[0].role", "messages[0].role"),
        ({"best_of": 2}, "best_of", "unrecognized request argument supplied: best_of"),
        ({"n": 2, "temperature": 0}, "n", "num_return_sequences > 1 needs do_sample=True"),
        ({"logprobs": True}, "logprobs", "logprobs are not supported"),
    ],
)
def test_bad_requests_are_400_naming_the_field(body: Any, param: str | None, words: str, served: Any,
                                               client: openai.OpenAI, model_id: str) -> None:
    if isinstance(body, dict) and param != "model":
        body = {"model": model_id, "messages": MESSAGES, **body}
    reply = request(served.url, "POST", "/v1/chat/completions", body, auth())
    assert reply.status == 400, reply.body
    error = reply.json()["error"]
    assert set(error) == {"message", "type", "param", "code"} and error["type"] == "invalid_request_error"
    assert words in error["message"] and error["param"] == param
    assert "\n" not in error["message"]
    assert_serves(client, model_id)


def test_an_image_for_a_model_without_a_projector_is_one_line(served: Any, model_id: str) -> None:
    """The --parallel 4 server's batched worker reads images, but this model has no vision projector: it says so
    (the image is never dropped silently)."""
    from PIL import Image

    buf = io.BytesIO()
    Image.new("RGB", (32, 24), (200, 10, 10)).save(buf, format="PNG")
    url = "data:image/png;base64," + base64.b64encode(buf.getvalue()).decode()
    body = {"model": model_id, "messages": [{"role": "user", "content": [
        {"type": "text", "text": "hi"}, {"type": "image_url", "image_url": {"url": url}}]}]}
    reply = request(served.url, "POST", "/v1/chat/completions", body, auth())
    assert reply.status == 400 and "has no vision projector" in reply.json()["error"]["message"]


def test_unknown_model_is_404(client: openai.OpenAI, model_id: str) -> None:
    with pytest.raises(openai.NotFoundError) as info:
        client.chat.completions.create(model="gpt-4o", messages=MESSAGES, max_tokens=2)
    assert isinstance(info.value.body, dict) and info.value.body.get("code") == "model_not_found"
    assert model_id in str(info.value)
    assert_serves(client, model_id)


def test_prompt_over_the_context_is_400_with_the_cli_sentence(client: openai.OpenAI, model_id: str,
                                                              model_path: Path, messages_file: Path,
                                                              capsys: Any) -> None:
    assert cli.main(["--model", str(model_path), "--messages", str(messages_file), "--max-new-tokens", "1020"]) == 1
    sentence = capsys.readouterr().err.strip().removeprefix("exaone-generate: error: ")
    assert "does not fit" in sentence
    for stream in (False, True):
        with pytest.raises(openai.BadRequestError) as info:
            client.chat.completions.create(model=model_id, messages=MESSAGES, max_tokens=1020, stream=stream)
        assert isinstance(info.value.body, dict) and info.value.body["message"] == sentence
    long = [{"role": "user", "content": PLAIN_PROMPT * 80}]  # more tokens than the whole context
    with pytest.raises(openai.BadRequestError) as info:
        client.chat.completions.create(model=model_id, messages=long)
    assert "shorten the prompt" in str(info.value)
    assert_serves(client, model_id)


def test_unknown_route_is_an_openai_error(served: Any) -> None:
    reply = request(served.url, "GET", "/v1/engines", headers=auth())
    assert reply.status == 404 and "/v1/chat/completions" in reply.json()["error"]["message"]


# -- the command line -------------------------------------------------------------------------------------


@pytest.mark.skipif(os.name != "posix", reason="SIGKILL of the worker process")
def test_a_killed_model_worker_never_takes_the_server_down(model_path: Path, model_id: str) -> None:
    """exaone-serve runs llama.cpp in a worker: killed mid-stream, the stream ends with one line naming the
    signal; the server lives on and the next request loads the model again and gets the same answer."""
    server = start_serve("--model", str(model_path), "--port", "0", "--threads", "1")
    try:
        client = openai.OpenAI(base_url=server.url + "/v1", api_key="none", max_retries=0, timeout=120)
        ask = {"model": model_id, "messages": MESSAGES, "temperature": 0, "max_tokens": N_NEW}
        before = client.chat.completions.create(**ask).choices[0].message.content  # type: ignore[call-overload]
        workers = psutil.Process(server.proc.pid).children()
        assert len(workers) == 1
        stream = client.chat.completions.create(model=model_id, messages=MESSAGES, temperature=1.0, seed=7,
                                                max_tokens=900, stream=True)
        with pytest.raises(openai.APIError, match=r"llama.cpp stopped \(SIGKILL") as info:
            for k, _chunk in enumerate(stream):
                if k == 2:
                    workers[0].kill()
        assert "\n" not in str(info.value)
        assert server.proc.poll() is None
        after = client.chat.completions.create(**ask).choices[0].message.content  # type: ignore[call-overload]
        assert after == before
        assert [p.pid for p in psutil.Process(server.proc.pid).children()] != [workers[0].pid]
    finally:
        server.stop()


def test_non_loopback_host_needs_a_key(model_path: Path) -> None:
    proc = subprocess.run([str(SERVE), "--model", str(model_path), "--host", "0.0.0.0"], capture_output=True,
                          text=True, timeout=60)
    assert proc.returncode == 2
    assert proc.stderr.count("\n") == 1 and proc.stderr.startswith("exaone-serve: error: ")
    assert "--api-key" in proc.stderr and "Traceback" not in proc.stderr


def test_background_server_refuses_other_hosts_without_a_key() -> None:
    from exaone_desktop.engine.types import GenerationError

    with pytest.raises(GenerationError, match="API key"):
        start_background(object(), host="0.0.0.0")


def test_port_in_use_is_one_line(served: Any, model_path: Path) -> None:
    port = str(urlsplit(served.url).port)
    proc = subprocess.run([str(SERVE), "--model", str(model_path), "--port", port], capture_output=True, text=True,
                          timeout=120)
    assert proc.returncode == 1
    assert proc.stderr.count("\n") == 1 and "in use" in proc.stderr and "--port" in proc.stderr


@pytest.mark.parametrize(("flags", "words"), [
    (["--top-p", "2"], "top_p"), (["--parallel", "0"], "--parallel"), (["--port", "70000"], "--port"),
    (["--queue-size", "-1"], "--queue-size")])
def test_bad_flag_value_is_one_line(flags: list[str], words: str, model_path: Path) -> None:
    proc = subprocess.run([str(SERVE), "--model", str(model_path), *flags], capture_output=True, text=True,
                          timeout=60)
    assert proc.returncode == 2 and proc.stderr.count("\n") == 1 and words in proc.stderr


def test_missing_model_is_one_line(tmp_path: Path) -> None:
    proc = subprocess.run([str(SERVE), "--model", str(tmp_path / "nope.gguf")], capture_output=True, text=True,
                          timeout=60)
    assert proc.returncode == 2 and proc.stderr.count("\n") == 1 and "model file not found" in proc.stderr


# -- concurrency ----------------------------------------------------------------------------------------------


def test_four_concurrent_streams_get_their_own_text(client: openai.OpenAI, model_id: str) -> None:
    questions = [[{"role": "user", "content": q}] for q in ("안녕?", "What is 2+2?", "서울 날씨", "Tell me a joke")]
    alone = [client.chat.completions.create(model=model_id, messages=m, temperature=0, max_tokens=N_NEW)
             .choices[0].message.content for m in questions]
    got: dict[int, str] = {}
    errors: list[BaseException] = []

    def stream(i: int) -> None:
        try:
            s = client.chat.completions.create(model=model_id, messages=questions[i], temperature=0,
                                               max_tokens=N_NEW, stream=True)
            got[i] = "".join(c.choices[0].delta.content or "" for c in s if c.choices)
        except BaseException as err:  # reported below
            errors.append(err)

    threads = [threading.Thread(target=stream, args=(i,)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    assert not errors
    assert [got[i] for i in range(4)] == alone
    assert len(set(alone)) > 1


def test_four_clients_share_decode_steps(served: Any, client: openai.OpenAI, model_id: str) -> None:
    """With --parallel 4 the streams above ran in one batch per step (the server reports its largest batch)."""
    questions = [[{"role": "user", "content": f"Count to {i + 5}"}] for i in range(4)]
    finished: list[str | None] = []
    errors: list[BaseException] = []

    def ask(messages: list[dict[str, str]]) -> None:
        try:  # four requests at once on four free sequences: none may be refused as "busy"
            r = client.chat.completions.create(model=model_id, messages=messages, temperature=0, max_tokens=200)
            finished.append(r.choices[0].finish_reason)
        except BaseException as err:  # reported below
            errors.append(err)

    threads = [threading.Thread(target=ask, args=(m,)) for m in questions]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    assert not errors and len(finished) == 4
    batch = request(served.url, "GET", "/health").json()["batch"]
    assert batch["sequences"] == 4 and batch["largest_batch"] >= 2


@pytest.fixture(scope="module")
def paced(model_path: Path) -> Any:
    gen = Paced(LocalGenerator(model_path, n_threads=1))
    handle = start_background(gen, max_waiting=1)
    yield gen, handle
    gen.gate.set()
    handle.stop()
    gen.generator.close()


def _health(url: str) -> dict[str, int]:
    return request(url, "GET", "/health").json()["queue"]  # type: ignore[no-any-return]


def test_one_request_at_a_time_also_equals_exaone_generate(paced: Any, model_id: str, model_path: Path,
                                                           messages_file: Path, capsys: Any) -> None:
    """The serial path (start_background around the app's LocalGenerator), as the batched one above."""
    _, handle = paced
    ref = generate_json(capsys, "--model", str(model_path), "--messages", str(messages_file),
                        "--max-new-tokens", str(N_NEW))
    client = openai.OpenAI(base_url=handle.base_url, api_key="none", max_retries=0)
    r = client.chat.completions.create(model=model_id, messages=MESSAGES, temperature=0, max_tokens=N_NEW)
    assert r.choices[0].message.content == ref["generated"][0]["text"]
    assert "batch" not in request(handle.url, "GET", "/health").json()


def test_client_that_disconnects_frees_the_slot(paced: Any, model_id: str) -> None:
    gen, handle = paced
    gen.delay = 0.01  # ~5 s for the whole reply if nobody stopped it
    before = _health(handle.url)
    parts = urlsplit(handle.url)
    conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=30)
    body = {"model": model_id, "messages": MESSAGES, "temperature": 0, "max_tokens": 500, "stream": True}
    conn.request("POST", "/v1/chat/completions", body=json.dumps(body), headers={"Content-Type": "application/json"})
    resp = conn.getresponse()
    assert resp.status == 200
    seen = 0
    while seen < 3:
        if resp.readline().startswith(b"data: "):
            seen += 1
    conn.close()  # the client goes away mid-stream
    wait_until(lambda: _health(handle.url)["cancelled"] == before["cancelled"] + 1, what="the cancellation")
    wait_until(lambda: _health(handle.url)["running"] == 0, what="the slot to free")
    last = gen.results[-1].generated[0]
    assert last.finish_reason == "cancelled" and len(last.token_ids) < 500
    gen.delay = 0.0
    client = openai.OpenAI(base_url=handle.base_url, api_key="none", max_retries=0)
    assert_serves(client, model_id)


def test_full_queue_is_503_with_retry_after(paced: Any, model_id: str) -> None:
    gen, handle = paced
    gen.gate.clear()  # the first request holds the model until the gate opens
    client = openai.OpenAI(base_url=handle.base_url, api_key="none", max_retries=0, timeout=120)
    done: list[Any] = []
    short = {"model": model_id, "messages": MESSAGES, "temperature": 0, "max_tokens": 4}

    def ask() -> None:
        done.append(client.chat.completions.create(**short))  # type: ignore[call-overload]

    first = threading.Thread(target=ask)
    first.start()
    wait_until(lambda: _health(handle.url)["running"] == 1, what="the first request to run")
    second = threading.Thread(target=ask)
    second.start()
    wait_until(lambda: _health(handle.url)["waiting"] == 1, what="the second request to wait")
    reply = request(handle.url, "POST", "/v1/chat/completions", short)
    assert reply.status == 503
    assert int(reply.headers["retry-after"]) >= 1
    assert reply.json()["error"]["code"] == "queue_full"
    gen.gate.set()
    first.join(60)
    second.join(60)
    assert len(done) == 2
    assert_serves(client, model_id)
