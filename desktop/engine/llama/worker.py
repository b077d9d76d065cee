"""``WorkerGenerator``: a ``LocalGenerator`` that runs in a child process, so a model can never take the app down.

llama.cpp aborts the whole process on malformed files it does not expect (``GGML_ASSERT``), and a model
can run the machine out of memory. Here the model lives in a worker process (``worker_child``): the
parent keeps everything the user has, streams tokens from the child over a pipe, and when the child
dies turns its exit status and the tail of its log into one line that names the file and the reason.

The public face matches ``LocalGenerator`` (``model_info``, ``backend``, ``n_ctx``, ``default_settings``,
``tokenize_prompt``, ``render``, ``generate``, ``close``). After a crash the next request starts a
new worker (the model is loaded again); ``cancel`` reaches the worker at once through a shared flag
that it checks between tokens and, through llama.cpp's abort callback, inside a prompt batch.
"""

from __future__ import annotations

import atexit
import contextlib
import json
import os
import pickle
import queue
import signal
import subprocess
import sys
import tempfile
import threading
import time
import weakref
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NoReturn

from ..plain import plain
from ..settings import GenerationSettings, model_defaults, resolve_settings
from ..types import (
    Backend,
    Capabilities,
    GenerationError,
    GenerationResult,
    Prompt,
    StateCacheUsage,
    StreamCallback,
    StreamEvent,
)
from . import worker_child
from .crash import WorkerCrashed, crash_message, read_tail
from .gguf_check import ModelInfo, inspect_gguf

POLL_S = 0.02  # how often the parent looks at the caller's cancel event while waiting for the worker
CANCEL_GRACE_S = 10.0  # a one-request worker not stopped this long after a cancel is killed (and reloaded later)

_CHILD_CODE = "import sys, json; sys.path[:0] = json.loads(sys.argv[1]); " \
              "from exaone_desktop.engine.llama.worker_child import main; main()"
_EOF = ("eof", None, 0)
LOAD_RID = 0  # the load request's number; later requests count up from 1


@dataclass
class WorkerStats:
    """What the worker's llama_decode was asked to do (the same counters as LocalGenerator.stats)."""

    prompt_evals: int = 0
    tokens_decoded: int = 0
    tokens_drafted: int = 0
    tokens_accepted: int = 0


def worker_command() -> list[str]:
    """How to start a worker: the frozen app runs itself with WORKER_FLAG, from source ``python -c``."""
    if getattr(sys, "frozen", False):
        return [sys.executable, worker_child.WORKER_FLAG]
    return [sys.executable, "-c", _CHILD_CODE, json.dumps([p for p in sys.path if isinstance(p, str) and p])]


class _Worker:
    """One child process: its pipes, a thread that routes its replies to each request's queue, its log file."""

    def __init__(self, model_path: Path, load_kwargs: dict[str, Any]) -> None:
        fd, self.log_path = tempfile.mkstemp(prefix="exaone-worker-", suffix=".log")
        with os.fdopen(fd, "wb") as log:
            self.proc = subprocess.Popen(worker_command(), stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                         stderr=log, close_fds=True,
                                         creationflags=getattr(subprocess, "CREATE_NO_WINDOW", 0))  # Windows
        assert self.proc.stdin is not None and self.proc.stdout is not None
        self._in, self._out = self.proc.stdin, self.proc.stdout
        self._routes: dict[int, queue.SimpleQueue[Any]] = {LOAD_RID: queue.SimpleQueue()}
        self._routes_lock = threading.Lock()
        self._next_rid = LOAD_RID + 1
        self._gone = False
        self._send_lock = threading.Lock()
        self._reap_lock = threading.Lock()
        self._reaped: tuple[int | None, str] | None = None
        self._reader = threading.Thread(target=self._read, name="worker-replies", daemon=True)
        self._reader.start()
        _live.add(self)
        self.send(("load", str(model_path), load_kwargs))

    def _read(self) -> None:
        while True:
            try:
                kind, payload, rid = worker_child.read_frame(self._out)
            except worker_child.UnreadableFrame as err:  # a reply this process cannot load: that request fails
                kind, payload, rid = "raise", GenerationError(f"cannot read the model worker's reply ({err})"), err.rid
            except Exception:  # noqa: BLE001 - EOF, a closed pipe or a torn frame: the worker is gone
                with self._routes_lock:
                    self._gone = True
                    routes = list(self._routes.values())
                for route in routes:
                    route.put(_EOF)
                return
            with self._routes_lock:
                found = self._routes.get(rid)
            if found is not None:  # a request its caller gave up on (a crash elsewhere) has no route
                found.put((kind, payload, rid))

    def replies(self, rid: int) -> queue.SimpleQueue[Any]:
        with self._routes_lock:
            return self._routes[rid]

    def open_request(self) -> int:
        """A new request number with its own reply queue (which reads end-of-file once the worker is gone)."""
        with self._routes_lock:
            rid, self._next_rid = self._next_rid, self._next_rid + 1
            route: queue.SimpleQueue[Any] = queue.SimpleQueue()
            self._routes[rid] = route
            if self._gone:
                route.put(_EOF)
        return rid

    def close_request(self, rid: int) -> None:
        with self._routes_lock:
            self._routes.pop(rid, None)

    def send(self, message: Any) -> None:
        """Best effort: a dead worker is reported by the reply queue, not here."""
        try:
            data = worker_child.frame(message)
        except (pickle.PicklingError, TypeError, AttributeError) as err:
            raise GenerationError(f"cannot send this request to the model worker ({err}); pass plain data "
                                  "(strings, numbers, lists, dicts)") from None
        with self._send_lock, contextlib.suppress(OSError, ValueError):
            self._in.write(data)
            self._in.flush()

    def alive(self) -> bool:
        return self.proc.poll() is None

    def kill(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait()

    def reap(self) -> tuple[int | None, str]:
        """Wait for the dead child; (exit code, log tail), read once and kept: every request the crash ended
        says why, even after the first to ask has closed the worker (and removed its log)."""
        with self._reap_lock:
            if self._reaped is None:
                try:
                    self.proc.wait(5.0)
                except subprocess.TimeoutExpired:
                    self.kill()
                self._reaped = (self.proc.returncode, read_tail(self.log_path))
            return self._reaped

    def close(self, timeout: float = 5.0) -> None:
        self.send(("close", (), LOAD_RID))  # the worker cancels what still runs (Ctrl+C) and ends
        with contextlib.suppress(OSError):
            self._in.close()
        try:
            self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.kill()
        if self._reader is not threading.current_thread():
            self._reader.join(1.0)  # it ends at the pipe's end of file, now that the child is gone
        if not self._reader.is_alive():
            with contextlib.suppress(OSError):
                self._out.close()
        with self._reap_lock:  # a dead child's reason is read before its log goes (for requests still to ask)
            if self._reaped is None and self.proc.poll() is not None:
                self._reaped = (self.proc.returncode, read_tail(self.log_path))
            with contextlib.suppress(OSError):
                os.unlink(self.log_path)
        _live.discard(self)


_live: weakref.WeakSet[_Worker] = weakref.WeakSet()


@atexit.register
def _close_live_workers() -> None:
    """Workers still running when the interpreter exits are ended before its threads are torn down."""
    for worker in list(_live):
        worker.close(timeout=1.0)


class WorkerGenerator:
    """A GGUF loaded in a worker process; the same calls as ``LocalGenerator``.

    One request runs at a time, unless the worker runs a batched generator (``n_seq`` > 1: requests from
    several threads are decoded together, as ``batch.BatchGenerator`` does in-process).
    """

    cancel_grace_s = CANCEL_GRACE_S

    def __init__(
        self,
        model_path: str | Path,
        *,
        n_ctx: int | None = None,
        n_threads: int | None = None,
        n_gpu_layers: int = -1,
        verbose: bool = False,
        cancel: threading.Event | None = None,
        n_seq: int = 1,
        **load_kwargs: Any,
    ) -> None:
        """``load_kwargs`` are LocalGenerator's other keyword arguments, passed on to the worker's one.
        ``n_seq`` > 1 runs a BatchGenerator of that many sequences (``n_ctx`` tokens each) in the worker."""
        self.model_info: ModelInfo = inspect_gguf(model_path)  # malformed headers never start a worker
        if not (isinstance(n_seq, int) and n_seq >= 1):
            raise GenerationError(f"n_seq must be an integer >= 1, got {n_seq!r}")
        self._load_kwargs: dict[str, Any] = {"n_ctx": n_ctx, "n_threads": n_threads, "n_gpu_layers": n_gpu_layers,
                                             "verbose": verbose, **load_kwargs}
        if n_seq > 1:
            self._load_kwargs["n_seq"] = n_seq
        self.n_seq = n_seq
        self._lock = threading.Lock()  # one request at a time (a batched worker takes several)
        self._start_lock = threading.RLock()  # _died takes it again inside _start
        self._worker: _Worker | None = None
        self._closed = False
        self.stats = WorkerStats()
        # The kept conversations' figures the worker sent with its last reply: they stand until the next
        # request or budget change (None in _kept_after: unknown, so asked of the worker).
        self._kept_after: tuple[StateCacheUsage | None] | None = None
        self.steps = 0  # a batched worker's decode steps and largest batch so far (as BatchGenerator's)
        self.max_batch = 0
        self.n_ctx = 0
        self.n_vocab = 0
        self._capabilities = Capabilities()  # what the worker's generator declares, learnt when it starts
        self._backend: Backend = "cpu"
        self.state_cache = _RemoteStateCache(self)
        with self._start_lock:
            self._start(cancel)

    # -- public ----------------------------------------------------------------------------------

    @property
    def backend(self) -> Backend:
        return self._backend

    @property
    def capabilities(self) -> Capabilities:
        """The worker's generator's (it keeps its conversation states, it batches...)."""
        return self._capabilities

    @property
    def pid(self) -> int | None:
        """The worker's process id (None when no worker runs)."""
        return self._worker.proc.pid if self._worker is not None else None

    def default_settings(self, **user_values: Any) -> GenerationSettings:
        """Pipeline defaults < the GGUF's general.sampling.* < ``user_values`` (None = unset)."""
        return resolve_settings(model_defaults(self.model_info), **user_values)

    def tokenize_prompt(self, prompt: Prompt, settings: GenerationSettings, *,
                        tools: list[Any] | None = None) -> tuple[str, list[int]]:
        kwargs = {} if tools is None else {"tools": tools}
        with self._serial():
            value: tuple[str, list[int]] = self._call("tokenize_prompt", (_plain(prompt), settings, _plain(kwargs)),
                                                      None, None)
            return value

    def render(self, messages: Sequence[Mapping[str, Any]], settings: GenerationSettings) -> str:
        with self._serial():
            value: str = self._call("render", (_plain(list(messages)), settings), None, None)
            return value

    def generate(
        self,
        prompt: Prompt,
        settings: GenerationSettings | None = None,
        *,
        on_event: StreamCallback | None = None,
        cancel: threading.Event | None = None,
        conversation: str | None = None,
        tools: list[Any] | None = None,
        grammar: str | None = None,
        **kwargs: Any,
    ) -> GenerationResult:
        """As ``LocalGenerator.generate``; the keyword arguments go to the worker's generator (one it does not
        take is refused with one line, except ``conversation``, which only makes a reply start sooner)."""
        settings = settings or self.default_settings()
        named = {"conversation": conversation, "tools": tools, "grammar": grammar}
        kwargs.update({k: v for k, v in named.items() if v is not None})
        with self._serial():
            self._kept_after = None
            result, counters, kept = self._call("generate", (_plain(prompt), settings, _plain(kwargs)), on_event,
                                                cancel)
            if self.n_seq == 1:  # a batched worker's requests overlap: nothing stands between them
                self._kept_after = (kept,)
        self.stats.prompt_evals = counters.get("prompt_evals", self.stats.prompt_evals)
        self.stats.tokens_decoded = counters.get("tokens_decoded", self.stats.tokens_decoded)
        self.stats.tokens_drafted = counters.get("tokens_drafted", self.stats.tokens_drafted)
        self.stats.tokens_accepted = counters.get("tokens_accepted", self.stats.tokens_accepted)
        self.steps, self.max_batch = counters.get("steps", self.steps), counters.get("max_batch", self.max_batch)
        out: GenerationResult = result
        return out

    @property
    def running(self) -> bool:
        """A worker process is up, with the model loaded in it."""
        worker = self._worker
        return worker is not None and not self._closed and worker.alive()

    def state_cache_usage(self) -> StateCacheUsage | None:
        """The worker's kept-conversation figures, answered at once even mid-reply; None when no worker runs
        (nothing is kept then, and asking never starts one: that would load the model). Between requests
        they are the figures the worker sent with its last reply, so asking after each reply costs no trip."""
        if not self.running:
            return None
        known = self._kept_after
        if known is not None:
            return known[0]
        usage: StateCacheUsage = self._call("state_cache_usage", (), None, None)
        return usage

    def set_state_cache_mb(self, megabytes: float, disk_megabytes: float | None = None) -> None:
        """Change the kept-conversation budget of the running worker (at once, even during a reply); the
        next worker (after a crash) starts with it too. With no worker running it is only kept for the next
        one: changing it never starts a worker (that would load the model on the caller's thread)."""
        if self.running or self._closed:  # (closed: _call says so in one line)
            self._call("set_state_cache_mb", (megabytes, disk_megabytes), None, None)
        self._kept_after = None  # (after: a reply that ends meanwhile may have sent the old figures)
        self._load_kwargs["state_cache_mb"] = megabytes
        if disk_megabytes is not None:
            self._load_kwargs["state_cache_disk_mb"] = disk_megabytes

    def close(self) -> None:
        self._closed = True
        worker, self._worker = getattr(self, "_worker", None), None
        if worker is not None:
            worker.close()

    def kill(self) -> None:
        """End the worker at once (as a crash would); the next request starts a new one."""
        worker = self._worker
        if worker is not None:
            worker.kill()

    def __enter__(self) -> WorkerGenerator:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __del__(self) -> None:
        with contextlib.suppress(Exception):
            self.close()

    # -- the worker ------------------------------------------------------------------------------

    def _serial(self) -> contextlib.AbstractContextManager[Any]:
        """The lock that keeps one request at a time, where the worker runs them one at a time."""
        return contextlib.nullcontext() if self.n_seq > 1 else self._lock

    def _start(self, cancel: threading.Event | None) -> _Worker:
        try:
            worker = _Worker(self.model_info.path, self._load_kwargs)
        except OSError as err:
            raise GenerationError(f"cannot start the model worker for {self.model_info.path.name}: "
                                  f"{err.strerror or err}; close other programs and try again") from None
        self._worker = worker
        self._kept_after = None
        try:
            info = self._receive(worker, LOAD_RID, "loading", None, cancel)
        except BaseException:
            self._worker = None
            worker.close(timeout=0.0)
            raise
        self.n_ctx, self.n_vocab, self._backend = int(info["n_ctx"]), int(info["n_vocab"]), info["backend"]
        self._capabilities = info["capabilities"]
        return worker

    def _running_worker(self, cancel: threading.Event | None) -> _Worker:
        with self._start_lock:
            if self._closed:
                raise GenerationError("the model was closed; load it again")
            worker = self._worker
            if worker is None or not worker.alive():
                if worker is not None:
                    worker.close(timeout=0.0)
                worker = self._start(cancel)
            return worker

    def _call(self, op: str, args: tuple[Any, ...], on_event: StreamCallback | None,
              cancel: threading.Event | None) -> Any:
        worker = self._running_worker(cancel)
        rid = worker.open_request()
        try:
            worker.send((op, args, rid))
            return self._receive(worker, rid, "running", on_event, cancel)
        except BaseException:
            # the caller gives up (its on_event raised, Ctrl+C, the reply was an error): the worker stops the
            # request if it still runs, so the next one does not wait for a reply nobody reads
            worker.send(("cancel", (), rid))
            raise
        finally:
            worker.close_request(rid)

    def _receive(self, worker: _Worker, rid: int, doing: str, on_event: StreamCallback | None,
                 cancel: threading.Event | None) -> Any:
        """Wait for the worker's reply to request ``rid``, streaming its events to ``on_event``."""
        replies = worker.replies(rid)
        cancelled_at: float | None = None
        while True:
            if cancel is not None and cancel.is_set():
                if doing == "loading":
                    worker.kill()
                    raise GenerationError(f"loading {self.model_info.path.name} was cancelled")
                if cancelled_at is None:
                    worker.send(("cancel", (), rid))
                    cancelled_at = time.monotonic()
                elif self.n_seq == 1 and time.monotonic() - cancelled_at > self.cancel_grace_s:
                    # stuck inside llama.cpp: the next request loads the model again. Never a batched worker:
                    # its other sequences are other clients' replies (its engine ends a stopped request at
                    # its next step, in the queue or between prompt batches)
                    worker.kill()
            try:
                kind, payload, _rid = replies.get(timeout=POLL_S)
            except queue.Empty:
                continue
            if kind == "events":
                if on_event is not None:
                    for index, ev_kind, text in payload:
                        on_event(StreamEvent(index=index, text=text, kind=ev_kind))
            elif kind == "raise":
                raise payload
            elif kind == "eof":
                self._died(worker, doing, cancelled=cancelled_at is not None)
            else:  # "ready" or "result"
                return payload

    def _died(self, worker: _Worker, doing: str, *, cancelled: bool) -> NoReturn:
        code, log = worker.reap()
        with self._start_lock:
            if self._worker is worker:
                self._worker = None
        worker.close(timeout=0.0)
        name = self.model_info.path.name
        if cancelled and code == -getattr(signal, "SIGKILL", 9):
            raise GenerationError(f"the model did not stop in time and was unloaded; send the message again "
                                  f"to reload {name}")
        raise WorkerCrashed(crash_message(name, "loading" if doing == "loading" else "generating with", code, log))


class _RemoteStateCache:
    """``LocalGenerator.state_cache``'s figures, asked of the worker (answered at once, even mid-reply)."""

    def __init__(self, owner: WorkerGenerator) -> None:
        self._owner = owner

    def usage(self) -> StateCacheUsage | None:
        return self._owner.state_cache_usage()


def _plain(value: Any) -> Any:
    """Plain data crosses the pipe: strings, numbers, lists and dicts as the builtin types themselves (a
    subclass the caller defined, a message Mapping, would not load in the worker). Anything else (bytes, an
    image path) goes as it is."""
    return plain(value, lambda other: other)
