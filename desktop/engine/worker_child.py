"""The model worker's side: load a GGUF with llama.cpp and answer requests from the parent over pipes.

``worker.WorkerGenerator`` starts this as a child process: ``python -c`` running ``main`` from source,
or the frozen app's own executable with ``WORKER_FLAG`` (packaging/entry.py dispatches it). Everything
that can crash the process -- llama.cpp loading, evaluating, sampling, chat templates -- runs here, so a
``GGML_ASSERT`` abort, a segfault or the OOM killer ends this process and never the user's.

Protocol: length-prefixed pickles (``write_frame``/``read_frame``), requests on the child's stdin and
replies on its stdout (moved off file descriptor 1 at start, so stray prints cannot corrupt it).

- parent -> child: ``("load", model_path, load_kwargs)`` first; then ``(op, args)`` with op one of
  ``OPS``; ``("cancel", ())`` at any time (read by a thread: it sets the cancel flag at once);
  ``("close", ())`` or end of input ends the child.
- child -> parent: ``("ready", info)`` once loaded, then per request any number of
  ``("events", [(index, kind, text), ...])`` followed by one ``("result", value)`` or ``("raise", exc)``.

The child's stdout and stderr go to a log file the parent names; llama.cpp's warnings and errors are
written there too, so when the child dies the parent can say why in one line.
"""

from __future__ import annotations

import inspect
import os
import pickle
import queue
import signal
import struct
import sys
import threading
import time
from collections.abc import Callable
from typing import IO, Any

WORKER_FLAG = "--exaone-model-worker"  # argv[1] of the frozen executable when it runs as a worker

# op name -> the LocalGenerator method it calls
OPS = ("generate", "tokenize_prompt", "render")
EVENT_INTERVAL_S = 0.005  # stream events are sent at least this far apart (batched when tokens come faster)
_LOG_LEVELS = {2, 3}  # GGML_LOG_LEVEL_WARN, GGML_LOG_LEVEL_ERROR; 5 (CONT) follows the previous level
_EXPECTED_ERRORS = ("GenerationError", "SettingsError")


_HEADER = struct.Struct("<Q")


def frame(message: Any) -> bytes:
    """``message`` as one frame: its pickle's length, then the pickle."""
    data = pickle.dumps(message, protocol=pickle.HIGHEST_PROTOCOL)
    return _HEADER.pack(len(data)) + data


def write_frame(out: IO[bytes], message: Any) -> None:
    out.write(frame(message))
    out.flush()


def _read_exact(inp: IO[bytes], n: int) -> bytes:
    data = inp.read(n)
    if data is None or len(data) < n:
        raise EOFError
    return data


def read_frame(inp: IO[bytes]) -> Any:
    """The next message; EOFError when the other side is gone."""
    (n,) = _HEADER.unpack(_read_exact(inp, _HEADER.size))
    return pickle.loads(_read_exact(inp, n))


def _open_channels() -> tuple[IO[bytes], IO[bytes]]:
    """(requests, replies) on copies of stdin/stdout; fd 0 becomes /dev/null and fd 1 the log (fd 2)."""
    requests = os.fdopen(os.dup(0), "rb")
    replies = os.fdopen(os.dup(1), "wb")
    null = os.open(os.devnull, os.O_RDONLY)
    os.dup2(null, 0)
    os.close(null)
    os.dup2(2, 1)
    sys.stdout = sys.stderr
    return requests, replies


def _install_log(verbose: bool) -> Any:
    """Send llama.cpp's warnings and errors (all of its log when ``verbose``) to file descriptor 2."""
    import ctypes

    import llama_cpp

    state = {"level": 0}

    @llama_cpp.llama_log_callback
    def on_log(level: int, text: bytes, _user: ctypes.c_void_p) -> None:
        if level != 5:
            state["level"] = level
        if text and (verbose or state["level"] in _LOG_LEVELS):
            try:
                os.write(2, text)
            except OSError:
                pass

    llama_cpp.llama_log_set(on_log, ctypes.c_void_p(0))
    return on_log  # the caller keeps it alive for as long as llama.cpp may call it


class _Batcher:
    """StreamEvents -> ``("events", ...)`` messages, merged when tokens come faster than EVENT_INTERVAL_S."""

    def __init__(self, send: Callable[[Any], None]) -> None:
        self._send = send
        self._pending: list[list[Any]] = []
        self._last = 0.0

    def __call__(self, event: Any) -> None:
        if self._pending and self._pending[-1][0] == event.index and self._pending[-1][1] == event.kind:
            self._pending[-1][2] += event.text
        else:
            self._pending.append([event.index, event.kind, event.text])
        now = time.perf_counter()
        if now - self._last >= EVENT_INTERVAL_S:
            self.flush()
            self._last = now

    def flush(self) -> None:
        if self._pending:
            pending, self._pending = self._pending, []
            self._send(("events", [tuple(p) for p in pending]))


def _make_generator(model_path: str, load_kwargs: dict[str, Any], cancel: threading.Event) -> Any:
    """The worker's LocalGenerator (it checks ``cancel`` between tokens and inside prompt batches)."""
    from .local import LocalGenerator

    return LocalGenerator(model_path, **load_kwargs)


def _portable(err: BaseException) -> BaseException:
    """The exception to send to the parent: the user's errors as they are, anything else as one line."""
    from .types import GenerationError

    if type(err).__name__ in _EXPECTED_ERRORS:
        return err
    text = " ".join(str(err).split())
    return GenerationError(f"unexpected {type(err).__name__} in the model worker{': ' + text if text else ''}")


def _handle(gen: Any, op: str, args: tuple[Any, ...], cancel: Any, send: Callable[[Any], None]) -> Any:
    if op == "generate":
        prompt, settings, kwargs = args
        accepted = inspect.signature(gen.generate).parameters
        kwargs = {k: v for k, v in kwargs.items() if k in accepted}  # e.g. ``conversation``, where supported
        batcher = _Batcher(send)
        result = gen.generate(prompt, settings, on_event=batcher, cancel=cancel, **kwargs)
        batcher.flush()
        return result, (gen.stats.prompt_evals, gen.stats.tokens_decoded)
    return getattr(gen, op)(*args)


class _Requests:
    """Reads requests on a thread: ``cancel`` sets the flag at once, the rest queue for the main loop."""

    def __init__(self, inp: IO[bytes], cancel: threading.Event) -> None:
        self._inp, self._cancel = inp, cancel
        self._queue: queue.SimpleQueue[Any] = queue.SimpleQueue()
        threading.Thread(target=self._run, name="requests", daemon=True).start()

    def _run(self) -> None:
        while True:
            try:
                message = read_frame(self._inp)
            except (EOFError, OSError, pickle.UnpicklingError):
                self._cancel.set()
                self._queue.put(("close", ()))
                return
            if message[0] == "cancel":
                self._cancel.set()
            else:
                self._queue.put(message)

    def get(self) -> Any:
        return self._queue.get()


def main() -> None:
    """The child's main function: load, report ``ready``, then answer requests until closed."""
    if hasattr(signal, "SIGINT"):
        signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl+C is the parent's to handle
    os.environ["GGML_NO_BACKTRACE"] = "1"  # an abort must not attach a debugger to print a backtrace
    inp, out = _open_channels()
    lock = threading.Lock()

    def send(message: Any) -> None:
        with lock:
            write_frame(out, message)

    try:
        _op, model_path, load_kwargs = read_frame(inp)
    except (EOFError, OSError, pickle.UnpicklingError, ValueError):
        return
    cancel = threading.Event()
    try:
        log_callback = _install_log(bool(load_kwargs.get("verbose")))
        gen = _make_generator(model_path, {**load_kwargs, "verbose": True}, cancel)
    except BaseException as err:  # noqa: BLE001 - reported to the parent as one line
        send(("raise", _portable(err)))
        return
    send(("ready", {"n_ctx": gen.n_ctx, "backend": gen.backend, "n_vocab": gen.n_vocab, "pid": os.getpid()}))
    requests = _Requests(inp, cancel)
    try:
        while True:
            op, args = requests.get()
            if op == "close":
                break
            cancel.clear()
            try:
                value = _handle(gen, op, args, cancel, send) if op in OPS else None
            except BaseException as err:  # noqa: BLE001 - every failure goes back as one message
                send(("raise", _portable(err)))
            else:
                send(("result", value))
    except (BrokenPipeError, OSError):
        pass  # the parent is gone
    finally:
        gen.close()
        del log_callback
