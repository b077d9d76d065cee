"""The loaded model served to other programs on this computer (the app's server panel), without Qt.

An OpenAI-compatible server (``exaone_desktop.server``) on the loopback address only, on the port chosen
(``exaone-serve``'s 8800 unless changed). A port another program holds is reported (``PortBusy``), never
replaced by another one: clients are set up with the port. It answers with the same generator as the chat,
one request at a time alongside it, and switching models restarts it on the new one. With one model loaded
it answers whatever model name a client sends (many clients send a fixed name such as ``gpt-4o``), and its
replies name the real model (the file's name). It has ``exaone-serve``'s protections and limits (only its
own Host names, JSON bodies, no CORS, bounded requests); an API key is off until asked for (``set_key``):
then a new random key is required. Each request answered goes into a bounded log of its metadata (when,
which client, which model name, tokens, duration, status): no prompt or reply text is kept.
"""

from __future__ import annotations

import json
import re
import secrets
import socket
import threading
from collections import deque
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from ..engine import GenerationError, Generator

__all__ = ["DEFAULT_PORT", "LOG_SIZE", "LocalServing", "PortBusy", "RequestLog", "ServeOptions"]

LOOPBACK = "127.0.0.1"
DEFAULT_PORT = 8800
LOG_SIZE = 200  # requests kept in the log (the oldest go first)
LOWEST_PORT = 1024  # below: ports only the system may open
KEY_PREFIX = "sk-local-"
KEY_SHAPE = re.compile(KEY_PREFIX + "[0-9a-f]{32}")  # what new_key makes; anything else kept is dropped


class PortBusy(GenerationError):
    """The chosen port is held by another program (the server is not started elsewhere)."""

    def __init__(self, port: int) -> None:
        super().__init__(f"port {port} is in use by another program; choose another port for the server")
        self.port = port


@dataclass(frozen=True)
class ServeOptions:
    """What the user chose for the server, kept between runs of the app."""

    port: int = DEFAULT_PORT
    autostart: bool = False  # serve as soon as a model is loaded at launch
    # The key clients must send ("": none). It only guards this computer's loopback server, so it is kept with
    # the app's settings (clients set up with it keep working after a restart), unlike the cloud key.
    key: str = ""

    @classmethod
    def from_json(cls, text: str) -> ServeOptions:
        try:
            data = json.loads(text) if text else {}
            port = int(data.get("port", DEFAULT_PORT))
            key = data.get("key", "")
            return cls(port if LOWEST_PORT <= port <= 65535 else DEFAULT_PORT, bool(data.get("autostart", False)),
                       key if isinstance(key, str) and KEY_SHAPE.fullmatch(key) else "")
        except (ValueError, TypeError, AttributeError):
            return cls()

    def to_json(self) -> str:
        return json.dumps(asdict(self))


class RequestLog:
    """The server's requests (``server.request_log.RequestRecord``), newest last, at most ``size``; thread-safe
    (the server adds from its own thread). ``version`` grows with every request, for whoever shows it."""

    def __init__(self, size: int = LOG_SIZE) -> None:
        self._records: deque[Any] = deque(maxlen=size)
        self._lock = threading.Lock()
        self.version = 0

    def add(self, record: Any) -> None:
        with self._lock:
            self._records.append(record)
            self.version += 1

    def records(self) -> list[Any]:
        with self._lock:
            return list(self._records)

    def clear(self) -> None:
        with self._lock:
            self._records.clear()
            self.version += 1


def new_key() -> str:
    """A fresh random API key for the local server."""
    return KEY_PREFIX + secrets.token_hex(16)


def port_free(port: int) -> bool:
    """Whether ``port`` on the loopback address can be listened on now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as the server binds it
        try:
            probe.bind((LOOPBACK, port))
        except OSError:
            return False
    return True


def model_names(generator: Generator) -> tuple[str, str]:
    """(the id replies carry: the file's name without ``.gguf``, the name the window shows)."""
    info = generator.model_info
    path = Path(str(info.path)) if info is not None else Path("model")
    return path.stem, (info.name if info is not None else "") or path.stem


class LocalServing:
    def __init__(self, port: int = DEFAULT_PORT) -> None:
        self.port = port
        self.handle: Any = None
        self.generator: Generator | None = None
        self.api_key: str | None = None  # the key clients must send; None: any program on this computer may ask
        self.log = RequestLog()
        self._autostarted = False  # "start with the app" served this run's first model already

    def autostart_due(self, chosen: bool) -> bool:
        """Whether to serve the model that just loaded, with "start with the app" ``chosen``: once a run, for its
        first model (a window rebuilt for another language asks again, and is told no)."""
        due = chosen and not self._autostarted
        if due:
            self._autostarted = True
        return due

    @property
    def url(self) -> str | None:
        """The base URL clients use (``.../v1``), or None when not serving."""
        return None if self.handle is None else str(self.handle.url) + "/v1"

    def names(self) -> tuple[str, ...]:
        """The names the served model is known by (its id first); any other name reaches it too."""
        if self.generator is None:
            return ()
        model_id, shown = model_names(self.generator)
        return tuple(dict.fromkeys((model_id, shown, model_id + ".gguf")))

    def start(self, generator: Generator) -> str:
        """Serve ``generator`` on ``port``; returns the base URL. PortBusy when another program holds the port
        (a server already running keeps running), GenerationError (one line) when it cannot start otherwise."""
        from ..server import start_background  # fastapi and uvicorn: imported only when switched on

        mine = self.handle is not None and self.handle.url.rsplit(":", 1)[-1] == str(self.port)
        if not mine and not port_free(self.port):
            raise PortBusy(self.port)
        self.stop()
        model_id, shown = model_names(generator)
        try:
            handle = start_background(generator, LOOPBACK, self.port, api_key=self.api_key, model_id=model_id,
                                      model_names=None, on_request=self.log.add)
        except GenerationError:
            if not port_free(self.port):  # taken between the check and the start
                raise PortBusy(self.port) from None
            raise
        self.handle, self.generator = handle, generator
        url = self.url
        assert url is not None
        return url

    def set_port(self, port: int) -> str | None:
        """Use ``port`` from now on; a running server moves to it (PortBusy: it stays where it was)."""
        old, self.port = self.port, int(port)
        if self.handle is None or self.generator is None or old == self.port:
            return self.url
        try:
            return self.start(self.generator)
        except GenerationError:
            self.port = old
            raise

    def set_key(self, on: bool) -> str | None:
        """Require a new random API key (``on``) or none; a running server restarts with it. Returns the key."""
        return self.use_key(new_key() if on else None)

    def use_key(self, key: str | None) -> str | None:
        """Require ``key`` (one kept from an earlier run, or a new one) or none; a running server restarts."""
        self.api_key = key or None
        if self.handle is not None and self.generator is not None:
            self.start(self.generator)
        return self.api_key

    def stop(self) -> None:
        handle, self.handle, self.generator = self.handle, None, None
        if handle is not None:
            handle.stop()

    def follow(self, generator: Any) -> str | None:
        """The chat's model changed: serve the new one (or stop, with no model). Returns the new URL."""
        if self.handle is None or generator is self.generator:
            return self.url
        if generator is None:
            self.stop()
            return None
        return self.start(generator)
