"""A streaming client that stops reading: its request time limit still holds and the unread reply is bounded.

The real server runs in-process (``start_background``) on a tiny EXAONE 4 GGUF whose every streamed piece is
padded to kilobytes (``Padded``), so a client that never reads fills the connection's buffers within a few
tokens and the response blocks in its send. The client is a raw socket with a small receive buffer that sends
its request and reads nothing.
"""

from __future__ import annotations

import json
import socket
from dataclasses import replace
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from exaone_desktop.engine.llama.local import LocalGenerator
from exaone_desktop.server import ServerLimits, start_background

from tests.support.generation_models import MESSAGES
from tests.support.server_helpers import Paced, request, wait_until

HANG_S = 10.0  # far more than a stopped generation takes; a generation left running takes much longer
MAX_TOKENS = 900


class Padded(Paced):
    """The real generator, each streamed piece followed by ``pad`` characters (a client sees a long reply)."""

    pad = 0

    def generate(self, prompt: Any, settings: Any = None, *, on_event: Any = None, cancel: Any = None,
                 tools: Any = None) -> Any:
        def padded(event: Any) -> None:
            if on_event is not None:
                on_event(replace(event, text=event.text + "x" * self.pad))

        return super().generate(prompt, settings, on_event=padded, cancel=cancel, tools=tools)


def serve(model_path: Path, request_timeout: float) -> tuple[Padded, Any]:
    """The padded model behind a server, loaded and warmed by one short request (its result not kept)."""
    gen = Padded(LocalGenerator(model_path, n_threads=1, n_ctx=1024))
    handle = start_background(gen, limits=ServerLimits(request_timeout=request_timeout))
    reply = request(handle.url, "POST", "/v1/chat/completions",
                    {"model": model_path.stem, "messages": MESSAGES, "max_tokens": 2})
    assert reply.status == 200, reply.body[:300]
    gen.results.clear()
    return gen, handle


def send_and_never_read(url: str, model_id: str) -> socket.socket:
    body = json.dumps({"model": model_id, "messages": MESSAGES, "temperature": 0, "max_tokens": MAX_TOKENS,
                       "stream": True}).encode()
    parts = urlsplit(url)
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)  # before connecting: a small window
    sock.connect((parts.hostname, parts.port))
    sock.sendall(b"POST /v1/chat/completions HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
                 b"Content-Length: " + str(len(body)).encode() + b"\r\n\r\n" + body)
    return sock


def stopped_generation(gen: Padded) -> Any:
    wait_until(lambda: len(gen.results) == 1, timeout=HANG_S, what="the generation to stop")
    return gen.results[0].generated[0]


def test_a_client_that_stops_reading_is_still_stopped_at_the_time_limit(model_path: Path) -> None:
    gen, handle = serve(model_path, request_timeout=1.0)
    gen.delay, gen.pad = 0.02, 65536
    sock = send_and_never_read(handle.url, model_path.stem)
    try:
        stopped = stopped_generation(gen)
        assert stopped.finish_reason == "cancelled" and len(stopped.token_ids) < MAX_TOKENS
    finally:
        sock.close()
        handle.stop()
        gen.generator.close()


def test_a_client_that_falls_far_behind_has_its_generation_stopped(model_path: Path) -> None:
    from exaone_desktop.server.streaming import MAX_UNREAD_CHARS

    gen, handle = serve(model_path, request_timeout=600.0)
    gen.pad = 16384  # MAX_TOKENS pieces would be 16 MiB unread
    assert MAX_TOKENS * gen.pad > 2 * MAX_UNREAD_CHARS
    sock = send_and_never_read(handle.url, model_path.stem)
    try:
        stopped = stopped_generation(gen)
        assert stopped.finish_reason == "cancelled" and len(stopped.token_ids) < MAX_TOKENS
        sock.close()
        wait_until(lambda: request(handle.url, "GET", "/health").json()["queue"]["running"] == 0,
                   what="a free model")
        gen.pad = 0
        reply = request(handle.url, "POST", "/v1/chat/completions",
                        {"model": model_path.stem, "messages": MESSAGES, "max_tokens": 2})
        assert reply.status == 200, reply.body[:300]
    finally:
        sock.close()
        handle.stop()
        gen.generator.close()
