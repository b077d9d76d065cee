"""exaone-serve as an attacker on the same machine or on a web page would try it: Host names (DNS rebinding),
bodies that are not JSON, CORS, requests that cost too much before the model sees them, requests that run too
long, images that declare billions of pixels. Each is refused with an OpenAI error object, quickly, while the
server keeps answering; the next normal request succeeds.

The real server runs as a child process (``exaone-serve``) or in-process (``start_background``, for the
request time limit, around the real generator slowed per token) on a tiny EXAONE 4 GGUF.
"""

from __future__ import annotations

import base64
import json
import socket
import struct
import subprocess
import threading
import time
import zlib
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
from exaone_desktop.engine.llama.local import LocalGenerator
from exaone_desktop.engine.types import GenerationError
from exaone_desktop.server import ServerLimits, start_background

from tests.support.generation_models import MESSAGES
from tests.support.server_helpers import SERVE, Paced, Reply, request, sse_events, start_serve, wait_until

HANG_S = 10.0  # far more than any of these checks takes: only a hang (or quadratic work) exceeds it


@pytest.fixture(scope="module")
def served(model_path: Path) -> Any:
    server = start_serve("--model", str(model_path), "--port", "0", "--threads", "1", "--n-ctx", "512",
                         "--allowed-host", "box.local", "--allowed-host", "10.1.2.3")
    yield server
    server.stop()


def ask(model_id: str, **extra: Any) -> dict[str, Any]:
    return {"model": model_id, "messages": MESSAGES, "temperature": 0, "max_tokens": 2, **extra}


def assert_error(reply: Reply, status: int, code: str | None = None) -> dict[str, Any]:
    """An OpenAI error object with every field, a code, one line and no traceback."""
    assert reply.status == status, reply.body[:300]
    error = reply.json()["error"]
    assert set(error) == {"message", "type", "param", "code"}
    assert isinstance(error["code"], str) and error["code"]
    assert code is None or error["code"] == code, error
    assert "\n" not in error["message"] and "Traceback" not in error["message"]
    return error  # type: ignore[no-any-return]


def assert_serves(url: str, model_id: str) -> None:
    reply = request(url, "POST", "/v1/chat/completions", ask(model_id))
    assert reply.status == 200, reply.body[:300]
    assert reply.json()["usage"]["completion_tokens"] >= 1


# -- Host names -------------------------------------------------------------------------------------------

ROUTES = [("GET", "/health"), ("GET", "/v1/models"), ("GET", "/v1/models/x"), ("GET", "/openapi.json"),
          ("POST", "/v1/chat/completions"), ("POST", "/v1/completions"), ("GET", "/nowhere")]


@pytest.mark.parametrize("host", ["evil.example.com", "attacker.test:8800", "localhost.evil.example", "127.0.0.2",
                                  "[::1]evil", "box.local.evil.example"])
def test_a_foreign_host_is_403_on_every_route(host: str, served: Any, model_path: Path) -> None:
    for method, path in ROUTES:
        body = ask(model_path.stem) if method == "POST" else None
        reply = request(served.url, method, path, body, {"Host": host})
        error = assert_error(reply, 403, "host_not_allowed")
        assert "--allowed-host" in error["message"]
    assert_serves(served.url, model_path.stem)


def test_a_request_without_a_host_header_is_403(served: Any) -> None:
    parts = urlsplit(served.url)
    with socket.create_connection((parts.hostname, parts.port), timeout=HANG_S) as sock:
        sock.sendall(b"GET /health HTTP/1.0\r\n\r\n")
        raw = b""
        while chunk := sock.recv(65536):
            raw += chunk
    head, _, body = raw.partition(b"\r\n\r\n")
    assert head.split(b" ")[1] == b"403" and json.loads(body)["error"]["code"] == "host_not_allowed"


def test_every_allowed_host_form_is_served(served: Any, model_path: Path) -> None:
    port = urlsplit(served.url).port
    forms = ["localhost", f"localhost:{port}", "LOCALHOST", "127.0.0.1", f"127.0.0.1:{port}", "[::1]",
             f"[::1]:{port}", "box.local", f"Box.Local:{port}", "10.1.2.3"]  # the last three: --allowed-host
    for host in forms:
        reply = request(served.url, "GET", "/health", headers={"Host": host})
        assert reply.status == 200 and reply.json()["status"] == "ok", host
        reply = request(served.url, "POST", "/v1/chat/completions", ask(model_path.stem), {"Host": host})
        assert reply.status == 200, (host, reply.body[:200])


def test_allowed_host_star_serves_any_host_with_a_warning(model_path: Path) -> None:
    server = start_serve("--model", str(model_path), "--port", "0", "--threads", "1", "--allowed-host", "*")
    try:
        assert request(server.url, "GET", "/health", headers={"Host": "evil.example.com"}).status == 200
        assert any("warning" in line and "--allowed-host '*'" in line for line in server.log)
    finally:
        server.stop()


def test_bound_to_every_interface_it_also_answers_ip_addresses(model_path: Path) -> None:
    """No DNS rebinding can make a browser send an IP address as the Host: bound to 0.0.0.0 (a key is then
    required), a request naming the machine by any address is answered, a name still is not."""
    gen = LocalGenerator(model_path, n_threads=1)
    handle = start_background(gen, host="0.0.0.0", api_key="sk-test")
    try:
        url = f"http://127.0.0.1:{urlsplit(handle.url).port}"
        for host in ("192.0.2.7:8800", "10.0.0.1", "[fe80::1]", "127.0.0.1"):
            assert request(url, "GET", "/health", headers={"Host": host}).status == 200, host
        assert_error(request(url, "GET", "/health", headers={"Host": "evil.example.com"}), 403, "host_not_allowed")
    finally:
        handle.stop()
        gen.close()


@pytest.mark.parametrize("value", ["http://box.local", "box.local/path", "a b"])
def test_a_bad_allowed_host_is_one_line(value: str, model_path: Path) -> None:
    proc = subprocess.run([str(SERVE), "--model", str(model_path), "--allowed-host", value], capture_output=True,
                          text=True, timeout=60)
    assert proc.returncode == 2 and proc.stderr.count("\n") == 1 and "--allowed-host" in proc.stderr, proc.stderr


# -- bodies and CORS ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("content_type", ["", "text/plain", "text/plain;charset=UTF-8",
                                          "application/x-www-form-urlencoded", "multipart/form-data; boundary=x"])
def test_a_post_that_is_not_json_is_415(content_type: str, served: Any, model_path: Path) -> None:
    """What a page's fetch(url, {mode: "no-cors", body}) can send without a CORS preflight is refused."""
    for path in ("/v1/chat/completions", "/v1/completions"):
        body = ask(model_path.stem) if path.endswith("chat/completions") else \
            {"model": model_path.stem, "prompt": "hi", "max_tokens": 2}
        reply = request(served.url, "POST", path, body, {"Content-Type": content_type})
        assert_error(reply, 415, "unsupported_media_type")
    reply = request(served.url, "POST", "/v1/chat/completions", ask(model_path.stem),
                    {"Content-Type": "application/json; charset=utf-8"})
    assert reply.status == 200


def preflight(url: str, origin: str) -> Reply:
    return request(url, "OPTIONS", "/v1/chat/completions", headers={
        "Origin": origin, "Access-Control-Request-Method": "POST",
        "Access-Control-Request-Headers": "content-type, authorization", "Content-Type": ""})


def test_cors_is_off_unless_an_origin_is_given(served: Any, model_path: Path) -> None:
    reply = preflight(served.url, "http://evil.example")
    assert "access-control-allow-origin" not in reply.headers
    simple = request(served.url, "POST", "/v1/chat/completions", ask(model_path.stem),
                     {"Origin": "http://evil.example"})
    assert "access-control-allow-origin" not in simple.headers


def test_cors_origin_lets_only_that_origin_in(model_path: Path) -> None:
    gen = LocalGenerator(model_path, n_threads=1)
    handle = start_background(gen, cors_origins=["http://localhost:3000"])
    try:
        ok = preflight(handle.url, "http://localhost:3000")
        assert ok.status == 200 and ok.headers["access-control-allow-origin"] == "http://localhost:3000"
        other = preflight(handle.url, "http://evil.example")
        assert "access-control-allow-origin" not in other.headers
        reply = request(handle.url, "POST", "/v1/chat/completions", ask(model_path.stem),
                        {"Origin": "http://localhost:3000"})
        assert reply.status == 200 and reply.headers["access-control-allow-origin"] == "http://localhost:3000"
    finally:
        handle.stop()
        gen.close()


# -- bounded work before the model --------------------------------------------------------------------------


def nested(levels: int, leaf: Any) -> Any:
    for _ in range(levels):
        leaf = {"type": "array", "items": leaf}
    return leaf


def nested_text(levels: int) -> str:
    """``nested(levels, {"type": "string"})`` as JSON text (json.dumps itself stops near 1,000 levels)."""
    return '{"type": "array", "items": ' * levels + '{"type": "string"}' + "}" * levels


def with_text(body: dict[str, Any], text: str) -> str:
    """``body`` as JSON text with its value "@" replaced by the JSON ``text``."""
    return json.dumps(body).replace('"@"', text, 1)


def deep_list(levels: int) -> str:
    return "[" * levels + "]" * levels


def costly_bodies(model_id: str) -> dict[str, tuple[dict[str, Any] | str, str]]:
    """name -> (body, the param or words its error names)."""
    schema_format = {"type": "json_schema", "json_schema": {"name": "x"}}
    deep_args = [{"role": "user", "content": "hi"}, {"role": "assistant", "content": None, "tool_calls": [
        {"id": "c1", "type": "function", "function": {"name": "f", "arguments": deep_list(5000)}}]}]
    deep_tool = [{"type": "function", "function": {"name": "f", "parameters": "@"}}]
    return {
        "enum of 400,000": (ask(model_id, response_format={**schema_format, "json_schema": {
            "name": "x", "schema": {"enum": list(range(400_000))}}}), "--max-schema-enum"),
        "100,000 messages": ({**ask(model_id), "messages": [{"role": "user", "content": "word"}] * 100_000},
                             "--n-ctx"),
        "a schema 10,000 deep": (with_text(ask(model_id, response_format={**schema_format, "json_schema": {
            "name": "x", "schema": "@"}}), nested_text(10_000)), "--max-json-depth"),
        "tool arguments 5,000 deep": (ask(model_id, messages=deep_args), "--max-json-depth"),
        "tool parameters 900 deep": (with_text(ask(model_id, tools=deep_tool, tool_choice="required"),
                                                         nested_text(900)), "--max-json-depth"),
        "a prompt longer than the context can hold": (ask(model_id, messages=[
            {"role": "user", "content": "가" * (512 * 32 + 1)}]), "--max-chars-per-token"),
        "a schema of 40 levels": (ask(model_id, response_format={**schema_format, "json_schema": {
            "name": "x", "schema": nested(40, {"type": "string"})}}), "--max-schema-depth"),
        "maxItems of a billion": (ask(model_id, response_format={**schema_format, "json_schema": {
            "name": "x", "schema": {"type": "array", "items": {"type": "string"}, "maxItems": 10**9}}}),
            "--max-schema-repeat"),
        "a pattern quantifier of a billion": (ask(model_id, response_format={**schema_format, "json_schema": {
            "name": "x", "schema": {"type": "string", "pattern": "^(ab){1000000000}$"}}}), "--max-schema-repeat"),
        "6,000 properties": (ask(model_id, response_format={**schema_format, "json_schema": {
            "name": "x", "schema": {"type": "object", "properties": {f"p{i}": {"type": "string"}
                                                                      for i in range(6000)}}}}),
            "--max-schema-properties"),
    }


class HealthWatch:
    """Polls /health on a thread while a test sends costly requests; records the slowest answer."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.slowest = 0.0
        self.answers = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.is_set():
            t = time.perf_counter()
            reply = request(self.url, "GET", "/health", timeout=HANG_S)
            assert reply.status == 200
            self.slowest = max(self.slowest, time.perf_counter() - t)
            self.answers += 1
            time.sleep(0.01)

    def __enter__(self) -> HealthWatch:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(HANG_S)


@pytest.mark.parametrize("name", list(costly_bodies("m")))
def test_a_costly_request_is_refused_before_the_model_sees_it(name: str, served: Any, model_path: Path) -> None:
    body, words = costly_bodies(model_path.stem)[name]
    with HealthWatch(served.url) as watch:
        t = time.perf_counter()
        reply = request(served.url, "POST", "/v1/chat/completions", body, timeout=HANG_S)
        took = time.perf_counter() - t
    error = assert_error(reply, 400)
    assert words in error["message"], error
    assert took < HANG_S  # refused, not worked through (the issue saw minutes)
    assert watch.answers >= 1 and watch.slowest < HANG_S  # /health kept answering meanwhile
    queue = request(served.url, "GET", "/health").json()["queue"]
    assert queue["running"] == 0 and queue["waiting"] == 0  # the model never saw it
    assert_serves(served.url, model_path.stem)


def test_a_prompt_list_longer_than_the_context_is_refused(served: Any, model_path: Path) -> None:
    body = {"model": model_path.stem, "prompt": ["hi", "x" * (512 * 32 + 1)], "max_tokens": 2}
    error = assert_error(request(served.url, "POST", "/v1/completions", body), 400, "context_length_exceeded")
    assert error["param"] == "prompt[1]" and "--max-chars-per-token" in error["message"]


def test_a_body_parse_error_and_a_wrong_method_have_codes(served: Any, model_path: Path) -> None:
    assert_error(request(served.url, "POST", "/v1/chat/completions", '{"model": "m", "messages": ['), 400,
                 "invalid_json")
    assert_error(request(served.url, "POST", "/v1/chat/completions", b"\xff\xfe not utf-8"), 400)
    assert_error(request(served.url, "DELETE", "/v1/chat/completions"), 405, "method_not_allowed")
    assert_error(request(served.url, "GET", "/nowhere"), 404, "not_found")


def test_a_schema_within_the_limits_still_constrains_the_reply(served: Any, model_path: Path) -> None:
    fmt = {"type": "json_schema", "json_schema": {"name": "x", "schema": {
        "type": "object", "required": ["a"], "additionalProperties": False,
        "properties": {"a": {"enum": list(range(900))}}}}}
    reply = request(served.url, "POST", "/v1/chat/completions",
                    {**ask(model_path.stem, max_tokens=30, seed=3, temperature=1.0), "response_format": fmt})
    assert reply.status == 200, reply.body[:300]
    choice = reply.json()["choices"][0]
    if choice["finish_reason"] == "stop":
        assert json.loads(choice["message"]["content"])["a"] in range(900)


@pytest.mark.parametrize(("flag", "value"), [("--max-schema-enum", "0"), ("--request-timeout", "-1"),
                                             ("--max-json-depth", "x")])
def test_a_bad_limit_flag_is_one_line(flag: str, value: str, model_path: Path) -> None:
    proc = subprocess.run([str(SERVE), "--model", str(model_path), flag, value], capture_output=True, text=True,
                          timeout=60)
    assert proc.returncode == 2 and proc.stderr.count("\n") == 1 and flag in proc.stderr, proc.stderr


def test_help_lists_every_limit() -> None:
    from exaone_desktop.server.limits import LIMITS

    out = subprocess.run([str(SERVE), "--help"], capture_output=True, text=True, timeout=60).stdout
    for row in LIMITS:
        assert row.flag in out
    assert "--allowed-host" in out and "--cors-origin" in out


# -- the request time limit ----------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def slow(model_path: Path) -> Any:
    gen = Paced(LocalGenerator(model_path, n_threads=1), delay=0.05)  # 20 tokens a second
    handle = start_background(gen, limits=ServerLimits(request_timeout=1.0))
    yield gen, handle
    handle.stop()
    gen.generator.close()


@pytest.mark.parametrize("stream", [False, True])
def test_a_request_over_the_time_limit_is_stopped_and_frees_the_model(stream: bool, slow: Any,
                                                                      model_path: Path) -> None:
    gen, handle = slow
    gen.delay = 0.05
    before = len(gen.results)
    reply = request(handle.url, "POST", "/v1/chat/completions",
                    ask(model_path.stem, max_tokens=400, stream=stream), timeout=HANG_S)
    if stream:
        assert reply.status == 200
        events = sse_events(reply.body)
        error = json.loads(events[-1])["error"]
        assert error["code"] == "request_timeout" and "--request-timeout" in error["message"]
        assert "[DONE]" not in events
    else:
        error = assert_error(reply, 504, "request_timeout")
        assert "--request-timeout" in error["message"] and "1 s" in error["message"]
    wait_until(lambda: len(gen.results) == before + 1, timeout=HANG_S, what="the generation to stop")
    stopped = gen.results[-1].generated[0]
    assert stopped.finish_reason == "cancelled" and len(stopped.token_ids) < 400
    wait_until(lambda: request(handle.url, "GET", "/health").json()["queue"]["running"] == 0, what="a free model")
    gen.delay = 0.0
    assert_serves(handle.url, model_path.stem)


# -- images ---------------------------------------------------------------------------------------------------


def png_declaring(width: int, height: int) -> bytes:
    """A PNG whose header declares ``width`` x ``height`` RGB pixels, followed by image data that is not even
    valid zlib: decoding it fails with a different message, so the refusal proves nothing was decoded."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", b"not zlib") + chunk(b"IEND", b"")


def test_a_png_declaring_ten_billion_pixels_is_refused_without_decoding(served: Any, model_path: Path,
                                                                       tmp_path: Path) -> None:
    from exaone_desktop.engine.chat.image_parts import check_image_size, read_image
    from exaone_desktop.engine.llama.vision import load_image

    bomb = png_declaring(100_000, 100_000)
    assert len(bomb) < 100
    for refuse in (lambda: check_image_size(bomb), lambda: load_image(bomb)):
        with pytest.raises(GenerationError, match="declares 10000000000 pixels, more than the 50 megapixels") as info:
            refuse()
        assert "\n" not in str(info.value)
    path = tmp_path / "bomb.png"
    path.write_bytes(bomb)
    with pytest.raises(GenerationError, match="megapixels"):
        read_image(path)  # what the app and exaone-generate --image read
    url = "data:image/png;base64," + base64.b64encode(bomb).decode()
    body = ask(model_path.stem, messages=[{"role": "user", "content": [
        {"type": "text", "text": "what is this?"}, {"type": "image_url", "image_url": {"url": url}}]}])
    error = assert_error(request(served.url, "POST", "/v1/chat/completions", body), 400, "image_too_large")
    assert error["param"] == "messages[0].content[1].image_url.url" and "10000000000 pixels" in error["message"]
    # the same broken data at a small declared size does reach the decoder, which says something else
    with pytest.raises(GenerationError, match="could not be decoded"):
        load_image(png_declaring(64, 64))
    # just over the limit, under Pillow's own: refused by the declared size as well
    with pytest.raises(GenerationError, match="declares 50000001 pixels"):
        check_image_size(png_declaring(50_000_001, 1))
