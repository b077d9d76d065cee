"""``exaone-serve``: the loaded model as an OpenAI-compatible server; ``start_background`` for the app's switch.

Safe by default: it binds 127.0.0.1; a host other machines can reach needs an API key
(``--api-key`` or ``EXAONE_SERVE_API_KEY``). Errors before serving are one line, exit code 2 for bad
arguments and 1 for a model that cannot load or a port that cannot be bound.
"""

from __future__ import annotations

import argparse
import ipaddress
import os
import re
import socket
import sys
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import uvicorn

from ..cli import setting_flags
from ..cli.errors import Parser, UsageError, run_main
from ..engine.settings import resolve_settings
from ..engine.settings_table import GENERATION_ROWS, LOAD_ROWS, Setting
from ..engine.types import GenerationError
from .guard import host_name, normal_host
from .limits import LIMITS, ServerLimits
from .mapping import describe_table
from .request_log import RequestRecord
from .routes import create_app
from .scheduler import DEFAULT_MAX_WAITING
from .service import DEFAULT_MAX_BODY_BYTES, ServerConfig

PROG = "exaone-serve"
DEFAULT_HOST, DEFAULT_PORT = "127.0.0.1", 8800
KEY_ENV = "EXAONE_SERVE_API_KEY"


def server_rows(rows: Sequence[Setting] = GENERATION_ROWS) -> tuple[Setting, ...]:
    """The settings ``exaone-serve`` takes as server-wide defaults (a request's values win): the rows a request
    sets whose ``served`` column keeps exaone-generate's flag for the server."""
    return tuple(row for row in rows if row.served is not None and row.served.flag and row.cli is not None)


def build_parser(rows: Sequence[Setting] = GENERATION_ROWS) -> argparse.ArgumentParser:
    p = Parser(prog=PROG, formatter_class=argparse.RawDescriptionHelpFormatter,
                description="Serve an EXAONE GGUF over the OpenAI API (chat and text completions, streaming, "
                            "tools, JSON schema), on this machine only unless --host says otherwise.",
                epilog="Request parameters -> generation settings:\n" + describe_table())
    p.add_argument("--model", type=Path, metavar="PATH.gguf", required=True, help="the GGUF model to serve")
    p.add_argument("--host", default=DEFAULT_HOST,
                   help="address to listen on (default: 127.0.0.1, this machine only); any other address "
                        "needs --api-key")
    p.add_argument("--port", type=int, default=DEFAULT_PORT, help=f"TCP port (default: {DEFAULT_PORT}; 0 picks one)")
    p.add_argument("--api-key", metavar="KEY",
                   help=f"require 'Authorization: Bearer KEY' (default: ${KEY_ENV}, else no key on 127.0.0.1)")
    p.add_argument("--model-id", metavar="NAME", help="the model id clients send (default: the file name's stem)")
    p.add_argument("--parallel", type=int, default=1, metavar="N",
                   help="requests generated at once, in one batch per step (default: 1). More multiplies the "
                        "aggregate tokens/s on a CPU, and the KV cache memory by N (each has --n-ctx tokens)")
    p.add_argument("--queue-size", type=int, default=DEFAULT_MAX_WAITING, metavar="N",
                   help=f"requests that may wait for the model; more get 503 (default: {DEFAULT_MAX_WAITING})")
    p.add_argument("--max-body-mb", type=float, default=DEFAULT_MAX_BODY_BYTES / 2**20, metavar="MB",
                   help="largest request body accepted; larger ones get 413 (default: 4)")
    p.add_argument("--allowed-host", action="append", default=[], metavar="NAME",
                   help="also answer requests whose Host header is NAME (repeatable). Always answered: localhost, "
                        "127.0.0.1, [::1] and the --host address; any other Host gets 403, so a web page cannot "
                        "reach the server by pointing its domain at this computer. '*' answers every Host (unsafe)")
    p.add_argument("--cors-origin", action="append", default=[], metavar="ORIGIN",
                   help="let web pages from ORIGIN (e.g. http://localhost:3000) call the API from a browser "
                        "(repeatable); without it CORS is off and browsers keep pages from reading replies")
    p.add_argument("--log-requests", action="store_true", help="log every request on stderr")
    limits = p.add_argument_group("limits on one request", "work a request may cause before and while the model "
                                  "runs it; a request over one gets an error naming it and its flag")
    for row in LIMITS:
        limits.add_argument(row.flag, dest=row.name, type=row.value_type, default=row.default,
                            metavar="S" if row.unit == "s" else "N",
                            help=f"{row.help} (default: {row.default:g} {row.unit})".replace("%", "%%"))
    setting_flags.add_setting_flags(  # the same flags, ranges and help as exaone-generate
        p.add_argument_group("server-wide generation defaults", "a request's own values win over these, and these "
                             "over the model's generation config"),
        server_rows(rows))
    setting_flags.add_setting_flags(p.add_argument_group("loading the model"), LOAD_ROWS)
    return p


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def bind(host: str, port: int) -> socket.socket:
    """A listening socket, or GenerationError naming the fix."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError as err:
        sock.close()
        why = "is in use" if err.errno in (98, 48, 10048) else f"cannot be bound ({err.strerror or err})"
        raise GenerationError(f"{host}:{port} {why}; pick another --port (or --port 0 for any free one)") from None
    sock.listen(128)
    sock.set_inheritable(True)
    return sock


@dataclass
class ServerHandle:
    """A server running on a background thread; ``url`` is its base URL (``.../v1`` for clients)."""

    url: str
    server: uvicorn.Server
    thread: threading.Thread
    app: Any

    @property
    def base_url(self) -> str:
        return self.url + "/v1"

    def stop(self, timeout: float = 10.0) -> None:
        """Stop serving: running generations are cancelled, the port is released."""
        self.app.state.service.close()
        self.server.should_exit = True
        self.thread.join(timeout)


def _uvicorn(app: Any, log_requests: bool) -> uvicorn.Server:
    config = uvicorn.Config(app, log_level="info" if log_requests else "warning", access_log=log_requests,
                            lifespan="off", timeout_graceful_shutdown=2)
    return uvicorn.Server(config)


def _url(sock: socket.socket) -> str:
    host, port = sock.getsockname()[:2]
    return f"http://[{host}]:{port}" if ":" in host else f"http://{host}:{port}"


def start_background(generator: Any, host: str = DEFAULT_HOST, port: int = 0, *, api_key: str | None = None,
                     model_id: str | None = None, max_waiting: int = DEFAULT_MAX_WAITING,
                     log_requests: bool = False, limits: ServerLimits | None = None,
                     allowed_hosts: Sequence[str] = (), cors_origins: Sequence[str] = (),
                     model_names: Sequence[str] | None = (),
                     on_request: Callable[[RequestRecord], None] | None = None) -> ServerHandle:
    """Serve ``generator`` (a loaded LocalGenerator) on a daemon thread; returns once it accepts connections.

    The same rules and limits as ``exaone-serve``: a host other than loopback needs ``api_key``; only the
    usual Host names are answered (plus ``allowed_hosts``), CORS only for ``cors_origins``. The model answers
    to ``model_id`` and ``model_names`` (None: any name); ``on_request`` is told of each request (metadata).
    """
    if not is_loopback(host) and not api_key:
        raise GenerationError(f"serving on {host} lets other machines use the model; set an API key first")
    model_id = model_id or Path(generator.model_info.path).stem
    sock = bind(host, port)
    app = create_app(generator, ServerConfig(
        model_id=model_id, api_key=api_key, max_waiting=max_waiting, limits=limits or ServerLimits(),
        bound_host=sock.getsockname()[0], allowed_hosts=_allowed(allowed_hosts), cors_origins=tuple(cors_origins),
        model_names=None if model_names is None else tuple(model_names), on_request=on_request))
    server = _uvicorn(app, log_requests)

    def run() -> None:
        try:
            server.run(sockets=[sock])
        finally:
            sock.close()

    thread = threading.Thread(target=run, name=f"exaone-serve {host}:{port}", daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started and thread.is_alive() and time.monotonic() < deadline:
        time.sleep(0.01)
    if not server.started:
        app.state.service.close()
        server.should_exit = True
        raise GenerationError(f"the server on {host}:{port} did not start; see the log above")
    return ServerHandle(url=_url(sock), server=server, thread=thread, app=app)


def _allowed(hosts: Sequence[str]) -> tuple[str, ...] | None:
    """The extra Host names to answer; None when one of them is '*' (every Host)."""
    return None if "*" in hosts else tuple(hosts)


def _check_host(name: str) -> str:
    if name != "*" and not re.fullmatch(r"[a-z0-9._-]+|\[[0-9a-f:.]+\]", host_name(normal_host(name)) or ""):
        raise UsageError(f"--allowed-host {name!r} is not a host name; give the name only, e.g. box.local")
    return name


def _check_origin(origin: str) -> str:
    if origin != "*" and not re.fullmatch(r"https?://[^/\s]+", origin):
        raise UsageError(f"--cors-origin {origin!r} is not an origin; give scheme and host (and port) only, e.g. "
                         "http://localhost:3000")
    return origin


def load_model(args: argparse.Namespace) -> tuple[Any, list[Any]]:
    """(the generator to serve, everything to close afterwards); a load failure is one line.

    llama.cpp runs in a worker process: a model file or request that crashes it ends the worker (the
    request gets one line naming the reason, the next one loads the model again), never the server. With
    ``--parallel N`` the worker runs a BatchGenerator that decodes N requests per step (``--n-ctx`` tokens
    each).
    """
    if not args.model.is_file():
        raise UsageError(f"model file not found: {args.model}; check the path, or make one with exaone-convert")
    from ..engine.llama.worker import WorkerGenerator

    generator = WorkerGenerator(args.model, n_seq=args.parallel, **setting_flags.load_settings(args).changed())
    return generator, [generator]


def run(argv: Sequence[str] | None) -> int:
    args = build_parser().parse_args(argv)
    api_key = args.api_key or os.environ.get(KEY_ENV) or None
    if not is_loopback(args.host) and not api_key:
        raise UsageError(f"--host {args.host} lets other machines use the model; set --api-key KEY (or "
                         f"${KEY_ENV}) to require a key, or keep the default --host 127.0.0.1")
    if not 0 <= args.port <= 65535:
        raise UsageError(f"--port must be between 0 and 65535, got {args.port}")
    if not 1 <= args.parallel <= 64:
        raise UsageError(f"--parallel must be between 1 and 64, got {args.parallel}")
    if args.parallel > 1 and args.assistant_model:
        raise UsageError("--assistant-model drafts for one request at a time; use --parallel 1 with it")
    if args.queue_size < 0:
        raise UsageError(f"--queue-size must be 0 or more, got {args.queue_size}")
    if args.max_body_mb <= 0:
        raise UsageError(f"--max-body-mb must be more than 0, got {args.max_body_mb:g}")
    try:
        limits = ServerLimits(**{row.name: getattr(args, row.name) for row in LIMITS})
    except ValueError as err:
        raise UsageError(str(err)) from None
    origins = tuple(_check_origin(o) for o in args.cors_origin)
    for name in args.allowed_host:
        _check_host(name)
    if "*" in args.allowed_host:
        print(f"{PROG}: warning: --allowed-host '*' answers requests for any Host name: a web page whose domain is "
              "pointed at this computer (DNS rebinding) can use the model" + ("" if api_key else " without a key"),
              file=sys.stderr, flush=True)
    if "*" in origins:
        print(f"{PROG}: warning: --cors-origin '*' lets every web page you visit call the API from your browser",
              file=sys.stderr, flush=True)
    # bad flags fail before the model loads: each against its row, then the rules between them
    defaults = {k: v for k, v in setting_flags.explicit_settings(args, server_rows()).items() if v is not None}
    resolve_settings(None, **defaults)
    generator, owned = load_model(args)
    try:
        generator.default_settings(**defaults)
        sock = bind(args.host, args.port)
        model_id = args.model_id or args.model.stem
        config = ServerConfig(model_id=model_id, api_key=api_key, max_waiting=args.queue_size,
                              max_body_bytes=int(args.max_body_mb * 2**20), defaults=defaults,
                              parallel=args.parallel, limits=limits, bound_host=sock.getsockname()[0],
                              allowed_hosts=_allowed(args.allowed_host), cors_origins=origins)
        app = create_app(generator, config)
        print(f"{PROG}: serving {model_id} at {_url(sock)}/v1 (OpenAI API){' with an API key' if api_key else ''}; "
              "Ctrl+C stops", file=sys.stderr, flush=True)
        try:
            _uvicorn(app, args.log_requests).run(sockets=[sock])
        finally:
            app.state.service.close()
            sock.close()
    finally:
        for item in owned:
            item.close()
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    return run_main(PROG, run, argv, interrupted=0)  # Ctrl+C is how a server stops


if __name__ == "__main__":
    sys.exit(main())
