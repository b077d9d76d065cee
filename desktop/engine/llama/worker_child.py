"""The model worker's side: load a GGUF with llama.cpp and answer requests from the parent over pipes.

``worker.WorkerGenerator`` starts this as a child process: ``python -c`` running ``main`` from source,
or the frozen app's own executable with ``WORKER_FLAG`` (packaging/entry.py dispatches it). Everything
that can crash the process -- llama.cpp loading, evaluating, sampling, chat templates -- runs here, so a
``GGML_ASSERT`` abort, a segfault or the OOM killer ends this process and never the user's.

Protocol: pickles behind a header of their length and request number (``write_frame``/``read_frame``: a
pickle one side cannot load is answered by its number, the stream stays in step), requests on the child's
stdin and replies on its stdout (moved off file descriptor 1 at start, so stray prints cannot corrupt it).

- parent -> child: ``("load", model_path, load_kwargs)`` first; then ``(op, args, rid)`` with op one of
  ``OPS`` or ``IMMEDIATE_OPS`` and ``rid`` the request's number; ``("cancel", (), rid)`` at any time (read
  by a thread: it sets that request's cancel flag at once); ``("close", (), 0)`` or end of input ends it.
- child -> parent: ``("ready", info, 0)`` once loaded (or ``("raise", exc, 0)``), then per request any
  number of ``("events", [(index, kind, text), ...], rid)`` followed by one ``("result", value, rid)``
  or ``("raise", exc, rid)``.

Requests run one at a time, in order, except with a batched generator (``n_seq`` > 1 in load_kwargs:
``batch.BatchGenerator``), which takes each request on its own thread and decodes them together.
``IMMEDIATE_OPS`` (the kept-conversation cache's figures and budget) are answered by the reading thread
at once, even while a reply is being generated.

The child's stdout and stderr go to a log file the parent names; llama.cpp's warnings and errors are
written there too, so when the child dies the parent can say why in one line.
"""

from __future__ import annotations

import contextlib
import functools
import io
import os
import pickle
import queue
import signal
import struct
import sys
import threading
import time
from collections.abc import Callable
from typing import IO, Any, NoReturn

WORKER_FLAG = "--exaone-model-worker"  # argv[1] of the frozen executable when it runs as a worker

# op name -> the LocalGenerator method it calls
OPS = ("generate", "tokenize_prompt", "render")
IMMEDIATE_OPS = ("state_cache_usage", "set_state_cache_mb")  # thread-safe: answered while a request runs
EVENT_INTERVAL_S = 0.005  # stream events are sent at least this far apart (batched when tokens come faster)
_EXPECTED_ERRORS = ("SettingsError",)  # passed on as they are, beside every GenerationError
_GRAMMAR_ERRORS = ("GrammarError", "GrammarRejected")  # passed on as GenerationError, the line unchanged


_HEADER = struct.Struct("<Qq")  # the pickle's length, then the request number (outside it: see read_raw_frame)


class UnreadableFrame(Exception):
    """A whole frame whose pickle cannot be loaded here (a class only the sender has): the stream is still in
    step, and ``rid`` says which request to answer."""

    def __init__(self, rid: int, err: BaseException) -> None:
        super().__init__(f"{type(err).__name__}: {' '.join(str(err).split())}")
        self.rid = rid


def frame(message: Any) -> bytes:
    """``message`` (``(kind, payload, rid)``) as one frame: its pickle's length and its rid, then the pickle."""
    data = pickle.dumps(message, protocol=pickle.HIGHEST_PROTOCOL)
    rid = message[2] if isinstance(message, tuple) and len(message) == 3 and isinstance(message[2], int) else -1
    return _HEADER.pack(len(data), rid) + data


def write_frame(out: IO[bytes], message: Any) -> None:
    out.write(frame(message))
    out.flush()


def _read_exact(inp: IO[bytes], n: int) -> bytes:
    data = inp.read(n)
    if data is None or len(data) < n:
        raise EOFError
    return data


def read_frame(inp: IO[bytes]) -> Any:
    """The next message; EOFError when the other side is gone, UnreadableFrame when its pickle cannot be
    loaded (the next frame can still be read)."""
    n, rid = _HEADER.unpack(_read_exact(inp, _HEADER.size))
    data = _read_exact(inp, n)
    try:
        return pickle.loads(data)
    except Exception as err:  # noqa: BLE001 - any failure to rebuild the sender's objects
        raise UnreadableFrame(rid, err) from None


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


class _Batcher:
    """StreamEvents -> ``("events", ...)`` messages, merged when tokens come faster than EVENT_INTERVAL_S."""

    def __init__(self, send: Callable[[Any], None], rid: int) -> None:
        self._send = send
        self._rid = rid
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
            self._send(("events", [tuple(p) for p in pending], self._rid))


def _make_generator(model_path: str, load_kwargs: dict[str, Any]) -> Any:
    """The worker's LocalGenerator, or with ``n_seq`` > 1 a BatchGenerator over one."""
    from .batch import load_batch_generator
    from .local import LocalGenerator

    n_seq = int(load_kwargs.pop("n_seq", 1) or 1)
    if n_seq > 1:
        return load_batch_generator(model_path, n_seq, **load_kwargs)
    return LocalGenerator(model_path, **load_kwargs)


def _immediate(gen: Any, op: str, args: tuple[Any, ...]) -> Any:
    keeps = gen.capabilities.state_cache
    if op == "state_cache_usage":
        return gen.state_cache_usage() if keeps else None
    if not keeps:
        from ..types import GenerationError

        raise GenerationError("this engine keeps no conversation states; nothing to change")
    return gen.set_state_cache_mb(*args)


def _portable(err: BaseException) -> BaseException:
    """The exception to send to the parent: the user's errors as they are (any GenerationError, a
    DocumentError or WorkerCrashed included), a grammar's as a GenerationError with its line unchanged,
    anything else as one line that names it."""
    from ..types import GenerationError

    text = " ".join(str(err).split())
    if isinstance(err, GenerationError) or type(err).__name__ in _EXPECTED_ERRORS:
        try:
            pickle.loads(pickle.dumps(err, protocol=pickle.HIGHEST_PROTOCOL))
        except Exception:  # noqa: BLE001 - an error that cannot cross the pipe goes as its line
            return GenerationError(text) if isinstance(err, GenerationError) else _unexpected(err, text)
        return err
    if type(err).__name__ in _GRAMMAR_ERRORS:
        return GenerationError(str(err))
    return _unexpected(err, text)


def _unexpected(err: BaseException, text: str) -> BaseException:
    from ..types import GenerationError

    return GenerationError(f"unexpected {type(err).__name__} in the model worker{': ' + text if text else ''}")


HINTS = ("conversation",)  # keywords a generator may ignore (they only make it faster)


def counters(gen: Any) -> dict[str, int]:
    """The generator's counters the parent mirrors (LocalGenerator.stats; a BatchGenerator's steps)."""
    values: dict[str, int] = {}
    if gen.capabilities.decode_stats:
        s = gen.stats
        values.update(prompt_evals=s.prompt_evals, tokens_decoded=s.tokens_decoded, tokens_drafted=s.tokens_drafted,
                      tokens_accepted=s.tokens_accepted)
    if gen.capabilities.batching:
        values.update(n_seq=gen.n_seq, steps=gen.steps, max_batch=gen.max_batch)
    return {k: int(v) for k, v in values.items()}


def _handle(gen: Any, op: str, args: tuple[Any, ...], cancel: Any, send: Callable[[Any], None], rid: int) -> Any:
    if op == "generate":
        from ..types import GenerationError

        prompt, settings, kwargs = args
        accepted = gen.capabilities.keywords()
        unknown = sorted(k for k in kwargs if k not in accepted and k not in HINTS)
        if unknown:
            raise GenerationError(f"{', '.join(unknown)} is not available with this model's engine "
                                  f"({type(gen).__name__}); leave it out")
        kwargs = {k: v for k, v in kwargs.items() if k in accepted}
        batcher = _Batcher(send, rid)
        try:
            result = gen.generate(prompt, settings, on_event=batcher, cancel=cancel, **kwargs)
        finally:  # the text streamed last goes out before the result or the error
            batcher.flush()
        kept = gen.state_cache_usage() if gen.capabilities.state_cache else None  # spares the UI a round trip
        return result, counters(gen), kept
    if op == "tokenize_prompt":
        prompt, settings, kwargs = args
        return gen.tokenize_prompt(prompt, settings, **kwargs)
    return gen.render(*args)  # "render"


class _Requests:
    """Reads requests on a thread: ``cancel`` sets that request's flag at once, immediate ops are answered
    at once, the rest queue for the main loop."""

    def __init__(self, inp: IO[bytes], gen: Any, send: Callable[[Any], None]) -> None:
        self._inp, self._gen, self._send = inp, gen, send
        self._queue: queue.SimpleQueue[Any] = queue.SimpleQueue()
        self._cancels: dict[int, threading.Event] = {}
        self._lock = threading.Lock()
        threading.Thread(target=self._run, name="requests", daemon=True).start()

    def _run(self) -> None:
        while True:
            try:
                op, args, rid = read_frame(self._inp)
            except UnreadableFrame as err:  # the frame was read whole: answer it, then read on
                if err.rid > 0:
                    _answer(self._send, err.rid, functools.partial(_unreadable, err))
                continue
            except (EOFError, OSError, ValueError, TypeError, struct.error):
                self.cancel_all()
                self._queue.put(("close", (), 0, threading.Event()))
                return
            if op == "close":  # what still runs stops at its next token, then the main loop ends
                self.cancel_all()
                self._queue.put((op, args, rid, threading.Event()))
            elif op == "cancel":
                with self._lock:
                    event = self._cancels.get(rid)
                if event is not None:
                    event.set()
            elif op in IMMEDIATE_OPS:
                _answer(self._send, rid, functools.partial(_immediate, self._gen, op, args))
            else:
                event = threading.Event()
                with self._lock:
                    self._cancels[rid] = event
                self._queue.put((op, args, rid, event))

    def cancel_all(self) -> None:
        with self._lock:
            for event in self._cancels.values():
                event.set()

    def done(self, rid: int) -> None:
        with self._lock:
            self._cancels.pop(rid, None)

    def get(self) -> tuple[str, tuple[Any, ...], int, threading.Event]:
        return self._queue.get()  # type: ignore[no-any-return]


def _unreadable(err: UnreadableFrame) -> NoReturn:
    from ..types import GenerationError

    raise GenerationError(f"the model worker cannot read this request ({err}); pass plain data "
                          "(strings, numbers, lists, dicts)")


def _answer(send: Callable[[Any], None], rid: int, work: Callable[[], Any]) -> None:
    """Run ``work`` and send its value, or the error it raised, as the reply to request ``rid``."""
    try:
        value = work()
    except BaseException as err:  # noqa: BLE001 - every failure goes back as one message
        send(("raise", _portable(err), rid))
    else:
        send(("result", value, rid))


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
    except UnreadableFrame as err:
        _answer(send, 0, functools.partial(_unreadable, err))
        return
    except (EOFError, OSError, ValueError, struct.error):
        return
    try:
        from . import logs as llama_logs

        verbose = bool(load_kwargs.get("verbose"))
        llama_logs.install(verbose)  # the generator's own verbose only keeps fd 2 open ...
        # ... and makes llama-cpp-python print the model's whole metadata, chat template included, which
        # would fill the log whose tail explains a crash: its Python prints are dropped unless asked for
        with contextlib.nullcontext() if verbose else contextlib.redirect_stderr(io.StringIO()):
            gen = _make_generator(model_path, {**load_kwargs, "verbose": True})
    except BaseException as err:  # noqa: BLE001 - reported to the parent as one line
        send(("raise", _portable(err), 0))
        return
    concurrent = gen.capabilities.batching and gen.n_seq > 1
    send(("ready", {"n_ctx": gen.n_ctx, "backend": gen.backend, "n_vocab": gen.n_vocab, "pid": os.getpid(),
                    "capabilities": gen.capabilities, "counters": counters(gen)}, 0))
    requests = _Requests(inp, gen, send)
    running: list[threading.Thread] = []

    def serve(op: str, args: tuple[Any, ...], rid: int, cancel: threading.Event) -> None:
        try:
            _answer(send, rid, lambda: _handle(gen, op, args, cancel, send, rid) if op in OPS else None)
        except (BrokenPipeError, OSError):
            pass  # the parent is gone
        finally:
            requests.done(rid)

    try:
        while True:
            op, args, rid, cancel = requests.get()
            if op == "close":
                break
            if concurrent:  # the batched generator decodes the requests of all these threads together
                running = [t for t in running if t.is_alive()]
                thread = threading.Thread(target=serve, args=(op, args, rid, cancel), name=f"request-{rid}",
                                          daemon=True)
                thread.start()
                running.append(thread)
            else:
                serve(op, args, rid, cancel)
    finally:
        requests.cancel_all()
        for thread in running:
            thread.join(10.0)
        gen.close()
