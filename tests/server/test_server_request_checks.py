"""exaone-serve's request checks against what real clients send: the openai client's ``stop`` as one long
string, the OpenAI JavaScript SDK's ``x-stainless-*`` headers in a CORS preflight, a regex quantifier too long
for ``int()``, a lone surrogate in a field that fails validation. Each is answered as it should be (accepted, or
refused with a one-line OpenAI error), never with a 500 or a traceback.

The real server runs as a child process (``exaone-serve``) on a tiny EXAONE 4 GGUF.
"""

from __future__ import annotations

import gc
import json
import logging
from pathlib import Path
from typing import Any

import openai
import pytest
from exaone_desktop.engine.llama.local import LocalGenerator
from exaone_desktop.server import start_background

from tests.support.generation_models import MESSAGES
from tests.support.server_helpers import Reply, request, start_serve

ORIGIN = "http://localhost:3000"


@pytest.fixture(scope="module")
def served(model_path: Path) -> Any:
    server = start_serve("--model", str(model_path), "--port", "0", "--threads", "1", "--n-ctx", "512",
                         "--cors-origin", ORIGIN)
    yield server
    server.stop()


@pytest.fixture(scope="module")
def client(served: Any) -> openai.OpenAI:
    return openai.OpenAI(base_url=served.url + "/v1", api_key="unused", max_retries=0, timeout=120)


def assert_one_line_400(reply: Reply, served: Any, param: str | None = None) -> dict[str, Any]:
    assert reply.status == 400, reply.body[:300]
    error = reply.json()["error"]
    assert isinstance(error["code"], str) and error["code"]
    assert "\n" not in error["message"] and "Traceback" not in error["message"]
    assert param is None or error["param"] == param, error
    assert not any("Traceback" in line for line in served.log), "".join(served.log)
    return error  # type: ignore[no-any-return]


# -- stop ---------------------------------------------------------------------------------------------------


def test_stop_as_one_long_string_is_accepted(client: openai.OpenAI, model_path: Path) -> None:
    r = client.chat.completions.create(model=model_path.stem, messages=MESSAGES,  # type: ignore[arg-type]
                                       stop="a long stop sequence here", max_tokens=2, temperature=0)
    assert r.usage is not None and r.usage.completion_tokens >= 1


def test_stop_as_a_list_of_seventeen_is_refused(client: openai.OpenAI, model_path: Path) -> None:
    with pytest.raises(openai.BadRequestError) as info:
        client.chat.completions.create(model=model_path.stem, messages=MESSAGES,  # type: ignore[arg-type]
                                       stop=[f"stop {i}" for i in range(17)], max_tokens=2)
    error = info.value.body
    assert isinstance(error, dict) and error["param"] == "stop" and "16" in error["message"], error
    assert "\n" not in error["message"]
    r = client.chat.completions.create(model=model_path.stem, messages=MESSAGES,  # type: ignore[arg-type]
                                       stop=[f"stop {i}" for i in range(16)], max_tokens=2)
    assert r.usage is not None


# -- CORS for the OpenAI JavaScript SDK ----------------------------------------------------------------------

SDK_HEADERS = ("authorization,content-type,x-stainless-arch,x-stainless-lang,x-stainless-os,"
               "x-stainless-package-version,x-stainless-retry-count,x-stainless-runtime,"
               "x-stainless-runtime-version,x-stainless-timeout")


def preflight(url: str, origin: str, host: str = "") -> Reply:
    return request(url, "OPTIONS", "/v1/chat/completions", headers={
        "Origin": origin, "Access-Control-Request-Method": "POST", "Access-Control-Request-Headers": SDK_HEADERS,
        "Content-Type": "", **({"Host": host} if host else {})})


def test_a_preflight_with_the_javascript_sdks_headers_is_allowed_from_the_origin(served: Any) -> None:
    reply = preflight(served.url, ORIGIN)
    assert reply.status == 200, reply.body[:300]
    assert reply.headers["access-control-allow-origin"] == ORIGIN
    allowed = {h.strip().lower() for h in reply.headers["access-control-allow-headers"].split(",")}
    assert set(SDK_HEADERS.split(",")) <= allowed


def test_a_preflight_from_another_origin_or_host_is_still_refused(served: Any) -> None:
    other = preflight(served.url, "http://evil.example")
    assert other.status == 400 and "access-control-allow-origin" not in other.headers
    foreign_host = preflight(served.url, ORIGIN, host="evil.example.com")
    assert foreign_host.status == 403 and "access-control-allow-origin" not in foreign_host.headers


# -- a regex quantifier too long for int() -------------------------------------------------------------------

HUGE_PATTERN = {"type": "string", "pattern": "a{" + "9" * 5000 + "}"}


@pytest.mark.parametrize("where", ["response_format", "tools"])
def test_a_quantifier_of_five_thousand_digits_is_schema_too_large(where: str, served: Any,
                                                                  model_path: Path) -> None:
    body: dict[str, Any] = {"model": model_path.stem, "messages": MESSAGES, "max_tokens": 2}
    if where == "response_format":
        body["response_format"] = {"type": "json_schema", "json_schema": {"name": "x", "schema": HUGE_PATTERN}}
    else:
        body["tools"] = [{"type": "function", "function": {"name": "f", "parameters": {
            "type": "object", "properties": {"a": HUGE_PATTERN}}}}]
        body["tool_choice"] = "required"
    error = assert_one_line_400(request(served.url, "POST", "/v1/chat/completions", body), served)
    assert error["code"] == "schema_too_large" and "--max-schema-repeat" in error["message"], error


# -- a lone surrogate in a field that fails validation -------------------------------------------------------


@pytest.mark.parametrize("field", ['"temperature": "\\ud800"', '"stop": ["\\udfff", 3]',
                                   '"tool_choice": "\\ud800x"'])
def test_a_lone_surrogate_in_an_invalid_field_is_a_one_line_400(field: str, served: Any, model_path: Path) -> None:
    body = '{"model": "' + model_path.stem + '", "messages": [{"role": "user", "content": "hi"}], ' + field + "}"
    assert "\\ud" in body  # the escape itself is sent, as JSON text
    error = assert_one_line_400(request(served.url, "POST", "/v1/chat/completions", body), served)
    assert error["code"] == "invalid_value" or error["code"] == "invalid_request", error
    reply = request(served.url, "POST", "/v1/chat/completions",
                    {"model": model_path.stem, "messages": MESSAGES, "max_tokens": 2})
    assert reply.status == 200, reply.body[:300]


# -- stream_options without stream ---------------------------------------------------------------------------


@pytest.mark.parametrize("path", ["/v1/chat/completions", "/v1/completions"])
def test_stream_options_without_stream_is_refused(path: str, served: Any, model_path: Path) -> None:
    """As OpenAI does: stream_options is only allowed when stream is true."""
    body: dict[str, Any] = {"model": model_path.stem, "max_tokens": 2, "stream_options": {"include_usage": True}}
    body.update({"messages": MESSAGES} if path.endswith("chat/completions") else {"prompt": "hi"})
    error = assert_one_line_400(request(served.url, "POST", path, body), served, param="stream_options")
    assert "stream" in error["message"]
    reply = request(served.url, "POST", path, {**body, "stream": True})
    assert reply.status == 200, reply.body[:300]


# -- a streamed request that the model refuses ---------------------------------------------------------------


@pytest.mark.parametrize("stream", [False, True])
def test_a_prompt_with_a_lone_surrogate_is_a_400_and_nothing_is_logged(stream: bool, model_path: Path,
                                                                       caplog: pytest.LogCaptureFixture) -> None:
    """The model refuses the prompt (not UTF-8): the request gets its 400, streamed or not, and no error of the
    server's own is logged (an unawaited future's "exception was never retrieved" with its traceback)."""
    gen = LocalGenerator(model_path, n_threads=1)
    with caplog.at_level(logging.ERROR):
        handle = start_background(gen)
        try:
            body = ('{"model": "' + model_path.stem + '", "messages": [{"role": "user", "content": "hi \\ud800"}], '
                    '"max_tokens": 2, "stream": ' + json.dumps(stream) + "}")
            reply = request(handle.url, "POST", "/v1/chat/completions", body)
            assert reply.status == 400, reply.body[:300]
            assert "UTF-8" in reply.json()["error"]["message"]
        finally:
            handle.stop()
            gen.close()
        gc.collect()  # an unretrieved future's exception is logged when it is collected, once its job is gone
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR], caplog.text
