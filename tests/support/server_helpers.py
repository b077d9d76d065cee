"""Helpers for the exaone-serve tests: the real server as a child process, raw HTTP, a paced generator."""

from __future__ import annotations

import http.client
import json
import os
import re
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

SERVE = Path(sys.executable).with_name("exaone-serve")


@dataclass
class ServeProcess:
    """``exaone-serve`` running as a child process; ``url`` is its root (``url + "/v1"`` for clients)."""

    proc: subprocess.Popen[str]
    url: str
    log: list[str] = field(default_factory=list)

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(15)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(5)


def start_serve(*args: str, timeout: float = 120.0, exe: Path = SERVE,
                env: dict[str, str] | None = None) -> ServeProcess:
    """Start ``exaone-serve ARGS`` (``exe``: another install's) and wait for its "serving ... at URL" line on
    stderr."""
    proc = subprocess.Popen([str(exe), *args], stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE, text=True, env=dict(os.environ) if env is None else env)
    assert proc.stderr is not None
    log: list[str] = []
    found = threading.Event()
    url: list[str] = []

    def drain() -> None:
        assert proc.stderr is not None
        for line in proc.stderr:
            log.append(line)
            match = re.search(r" at (http://\S+)/v1 ", line)
            if match and not found.is_set():
                url.append(match.group(1))
                found.set()
        found.set()

    threading.Thread(target=drain, daemon=True).start()
    if not found.wait(timeout) or not url:
        proc.kill()
        raise AssertionError(f"exaone-serve did not start: {''.join(log)}")
    return ServeProcess(proc, url[0], log)


@dataclass
class Reply:
    status: int
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)


def request(url: str, method: str, path: str, body: bytes | str | dict[str, Any] | None = None,
            headers: dict[str, str] | None = None, timeout: float = 60.0) -> Reply:
    """One raw HTTP request (so tests can send what an SDK never would; a header given as "" is left out)."""
    parts = urlsplit(url)
    conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=timeout)
    data = json.dumps(body).encode() if isinstance(body, dict) else body.encode() if isinstance(body, str) else body
    hdrs = {k: v for k, v in {"Content-Type": "application/json", **(headers or {})}.items() if v != ""}
    try:
        conn.request(method, path, body=data, headers=hdrs)
        resp = conn.getresponse()
        return Reply(resp.status, {k.lower(): v for k, v in resp.getheaders()}, resp.read())
    finally:
        conn.close()


def sse_events(raw: bytes) -> list[str]:
    """The ``data:`` payloads of a Server-Sent Events body, checking its framing on the way."""
    text = raw.decode("utf-8")
    assert text.endswith("\n\n"), "an SSE body ends with a blank line"
    events = []
    for block in text.split("\n\n")[:-1]:
        assert block.startswith("data: "), f"not an SSE data event: {block[:80]!r}"
        events.append(block[len("data: "):])
    return events


def wait_until(condition: Any, timeout: float = 30.0, what: str = "condition") -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.02)


class Paced:
    """The real generator behind a gate and slowed per token, so a test can hold a request mid-flight.

    Every generation still runs on the real model; ``results`` keeps what each returned.
    """

    def __init__(self, generator: Any, delay: float = 0.0) -> None:
        self.generator = generator
        self.delay = delay
        self.gate = threading.Event()
        self.gate.set()
        self.results: list[Any] = []

    def __getattr__(self, name: str) -> Any:
        return getattr(self.generator, name)

    @property
    def capabilities(self) -> Any:
        return replace(self.generator.capabilities.without_keywords(), tools=True)  # what generate below takes

    def generate(self, prompt: Any, settings: Any = None, *, on_event: Any = None, cancel: Any = None,
                 tools: Any = None) -> Any:
        self.gate.wait()

        def paced(event: Any) -> None:
            time.sleep(self.delay)
            if on_event is not None:
                on_event(event)

        result = self.generator.generate(prompt, settings, on_event=paced, cancel=cancel, tools=tools)
        self.results.append(result)
        return result
