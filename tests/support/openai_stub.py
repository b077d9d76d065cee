"""A stand-in OpenAI-compatible server on 127.0.0.1 for tests (real HTTP, Server-Sent Events).

It answers ``POST /v1/chat/completions`` (streaming and not) and ``GET /v1/models``, records every
request (path, headers, JSON body) and can be told to fail the next requests in a given way:
``"401"``, ``"429"``, ``"500"``, ``"hang"`` (answer nothing until released) or ``"drop"`` (close the
connection mid-answer).

The reply is deterministic: choice ``i`` is ``"reply {i}: "`` followed by the last user message,
one word per streamed delta, cut by ``stop`` strings and ``max_completion_tokens`` (one word = one token).
"""

from __future__ import annotations

import json
import socket
import threading
from collections import deque
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler
from typing import Any

import pytest

from tests.support.quiet_http import QuietHTTPServer
from tests.support.socket_guard import socket_guard

MODEL_ID = "stub-model"

# Programmed failures: kind -> (HTTP status, OpenAI-style error body).
STATUS_FAILURES: dict[str, tuple[int, dict[str, Any]]] = {
    "401": (401, {"error": {"message": "Incorrect API key provided.", "type": "invalid_request_error",
                            "code": "invalid_api_key", "param": None}}),
    "429": (429, {"error": {"message": "Rate limit reached.", "type": "requests", "code": "rate_limit_exceeded",
                            "param": None}}),
    "500": (500, {"error": {"message": "The server had an error.", "type": "server_error", "code": None,
                            "param": None}}),
}


@dataclass
class RecordedRequest:
    method: str
    path: str
    headers: dict[str, str]
    body: dict[str, Any]  # {} for a GET

    @property
    def authorization(self) -> str | None:
        return self.headers.get("authorization")


@dataclass
class StubState:
    requests: list[RecordedRequest] = field(default_factory=list)
    failures: deque[str] = field(default_factory=deque)
    release: threading.Event = field(default_factory=threading.Event)
    lock: threading.Lock = field(default_factory=threading.Lock)


def text_of(content: Any) -> str:
    """A message's text: the string, or its content parts' ``text`` joined (image parts count as nothing)."""
    if isinstance(content, list):
        return "".join(str(p.get("text", "")) for p in content if isinstance(p, dict) and p.get("type") == "text")
    return str(content)


def reply_words(body: dict[str, Any], index: int) -> tuple[list[str], str]:
    """The words of choice ``index`` and its finish reason, after ``stop`` and the token limit."""
    users = [text_of(m["content"]) for m in body.get("messages", []) if m.get("role") == "user"]
    text = f"reply {index}: " + (users[-1] if users else "")
    finish = "stop"
    stops = body.get("stop") or []
    for s in [stops] if isinstance(stops, str) else stops:
        if s in text:
            text = text[: text.index(s)]
    words = [w + " " for w in text.split(" ")]
    words[-1] = words[-1][:-1]
    words = [w for w in words if w]
    limit = body.get("max_completion_tokens")
    if limit is not None and len(words) > limit:
        words, finish = words[:limit], "length"
    return words, finish


def prompt_tokens(body: dict[str, Any]) -> int:
    return sum(len(text_of(m.get("content", "")).split()) for m in body.get("messages", []))


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: _Server

    def log_message(self, format: str, *args: Any) -> None:  # keep test output clean
        pass

    def _record(self, body: dict[str, Any]) -> None:
        st = self.server.state
        with st.lock:
            headers = {k.lower(): v for k, v in self.headers.items()}  # names are case-insensitive
            st.requests.append(RecordedRequest(self.command, self.path, headers, body))

    def _next_failure(self) -> str | None:
        st = self.server.state
        with st.lock:
            return st.failures.popleft() if st.failures else None

    def _send_json(self, status: int, payload: dict[str, Any]) -> None:
        data = json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def _drop(self) -> None:
        self.wfile.flush()
        self.connection.shutdown(socket.SHUT_RDWR)
        self.connection.close()
        self.close_connection = True

    def do_GET(self) -> None:
        self._record({})
        if self.path.rstrip("/").endswith("/models"):
            self._send_json(200, {"object": "list", "data": [
                {"id": MODEL_ID, "object": "model", "created": 0, "owned_by": "stub"}]})
        else:
            self._send_json(404, {"error": {"message": "not found", "type": "invalid_request_error"}})

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length", "0"))
        body = json.loads(self.rfile.read(length) or b"{}")
        self._record(body)
        if not self.path.rstrip("/").endswith("/chat/completions"):
            self._send_json(404, {"error": {"message": "not found", "type": "invalid_request_error"}})
            return
        failure = self._next_failure()
        if failure in STATUS_FAILURES:
            status, payload = STATUS_FAILURES[failure]
            if status == 401:  # echo the key back, as a careless server might: it must not reach the user
                key = (self.headers.get("Authorization") or "").removeprefix("Bearer ")
                payload = {"error": {**payload["error"], "message": f"Incorrect API key provided: {key}"}}
            self._send_json(status, payload)
            return
        if failure == "hang":
            self.server.state.release.wait(30)
            self.close_connection = True
            return
        if body.get("stream"):
            self._stream(body, drop=failure == "drop")
        elif failure == "drop":
            self._drop()
        else:
            self._complete(body)

    def _choices(self, body: dict[str, Any]) -> list[tuple[list[str], str]]:
        return [reply_words(body, i) for i in range(int(body.get("n") or 1))]

    def _usage(self, body: dict[str, Any], choices: list[tuple[list[str], str]]) -> dict[str, int]:
        p, c = prompt_tokens(body), sum(len(w) for w, _ in choices)
        return {"prompt_tokens": p, "completion_tokens": c, "total_tokens": p + c}

    def _complete(self, body: dict[str, Any]) -> None:
        choices = self._choices(body)
        self._send_json(200, {
            "id": "chatcmpl-stub", "object": "chat.completion", "created": 0, "model": body.get("model"),
            "choices": [{"index": i, "finish_reason": finish, "logprobs": None,
                         "message": {"role": "assistant", "content": "".join(words)}}
                        for i, (words, finish) in enumerate(choices)],
            "usage": self._usage(body, choices),
        })

    def _chunk(self, payload: dict[str, Any] | str) -> None:
        data = payload if isinstance(payload, str) else json.dumps(payload)
        raw = f"data: {data}\n\n".encode()
        self.wfile.write(f"{len(raw):x}\r\n".encode() + raw + b"\r\n")
        self.wfile.flush()

    def _stream(self, body: dict[str, Any], drop: bool) -> None:
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream")
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()
        choices = self._choices(body)
        base = {"id": "chatcmpl-stub", "object": "chat.completion.chunk", "created": 0, "model": body.get("model")}

        def delta(i: int, d: dict[str, Any], finish: str | None = None) -> dict[str, Any]:
            return {**base, "choices": [{"index": i, "delta": d, "finish_reason": finish, "logprobs": None}]}

        for i in range(len(choices)):
            self._chunk(delta(i, {"role": "assistant", "content": ""}))
        longest = max(len(w) for w, _ in choices)
        for step in range(longest):
            for i, (words, _) in enumerate(choices):
                if step < len(words):
                    self._chunk(delta(i, {"content": words[step]}))
            if drop and step == 0:
                self._drop()
                return
        for i, (_, finish) in enumerate(choices):
            self._chunk(delta(i, {}, finish))
        if (body.get("stream_options") or {}).get("include_usage"):
            self._chunk({**base, "choices": [], "usage": self._usage(body, choices)})
        self._chunk("[DONE]")
        self.wfile.write(b"0\r\n\r\n")
        self.wfile.flush()


class _Server(QuietHTTPServer):
    state: StubState


class OpenAIStub:
    """A running stand-in server; use as a context manager or through :func:`guarded_stub`."""

    def __init__(self) -> None:
        self._server = _Server(("127.0.0.1", 0), _Handler)
        self._server.state = StubState()
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.02},
                                        daemon=True)

    @property
    def address(self) -> tuple[str, int]:
        host, port = self._server.server_address[:2]
        return str(host), int(port)

    @property
    def base_url(self) -> str:
        host, port = self.address
        return f"http://{host}:{port}/v1"

    @property
    def requests(self) -> list[RecordedRequest]:
        with self._server.state.lock:
            return list(self._server.state.requests)

    @property
    def chat_requests(self) -> list[RecordedRequest]:
        return [r for r in self.requests if r.path.rstrip("/").endswith("/chat/completions")]

    def fail_next(self, *kinds: str) -> None:
        """Make the next requests fail, one kind each: "401", "429", "500", "hang" or "drop"."""
        unknown = set(kinds) - set(STATUS_FAILURES) - {"hang", "drop"}
        if unknown:
            raise ValueError(f"unknown failure kinds {sorted(unknown)}")
        with self._server.state.lock:
            self._server.state.failures.extend(kinds)

    def start(self) -> OpenAIStub:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.state.release.set()
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(5)

    def __enter__(self) -> OpenAIStub:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


@contextmanager
def guarded_stub() -> Iterator[OpenAIStub]:
    """A running stand-in server, the one place the block may connect to (any other connection fails the test)."""
    with OpenAIStub() as stub, socket_guard(allow=[stub.address]):
        yield stub


@contextmanager
def stub_in_environment(monkeypatch: pytest.MonkeyPatch, key: str) -> Iterator[OpenAIStub]:
    """:func:`guarded_stub`, with ``key`` and its base URL in ``OPENAI_API_KEY``/``OPENAI_BASE_URL``."""
    with guarded_stub() as stub:
        monkeypatch.setenv("OPENAI_API_KEY", key)
        monkeypatch.setenv("OPENAI_BASE_URL", stub.base_url)
        yield stub
