"""Long work off the GUI thread: each job is a QThread whose ``work()`` reports through signals.

Signals are queued to the receiver's thread, so slots run in the GUI thread and the window never
freezes. A job ends with exactly one of ``succeeded(result)``, ``failed(message)`` or ``cancelled()``.
Heavy modules (llama_cpp, exaone_convert, openai) are imported inside ``work()``, never at start-up.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

from exaone_convert import ConversionError
from PySide6.QtCore import QThread, Signal

from ..engine import GenerationError, GenerationResult, StreamEvent

DEMO_DIR = Path(__file__).resolve().parent.parent / "demo"


def one_line(err: BaseException) -> str:
    """The user-facing text of an error: its first line; unexpected errors name their type."""
    text = next((s.strip() for s in str(err).splitlines() if s.strip()), "")
    expected = isinstance(err, (GenerationError, ConversionError, ValueError, OSError))
    if expected and text:
        return text
    return f"{type(err).__name__}: {text}" if text else type(err).__name__


class JobCancelledError(Exception):
    """Raised inside a job that was cancelled while it waited (the job reports ``cancelled``)."""


class Job(QThread):
    """Base for every worker: a cancel event, a fraction-done signal and one final signal."""

    progress = Signal(str, float)  # stage, fraction 0..1
    succeeded = Signal(object)
    failed = Signal(str)
    cancelled = Signal()

    _running: set[Job] = set()  # strong references until the thread has really ended

    def __init__(self, parent: Any = None) -> None:
        super().__init__(parent)
        self.cancel_event = threading.Event()
        self._last_progress: tuple[str, float] | None = None
        self.finished.connect(self._release)

    def start(self, *args: Any) -> None:
        Job._running.add(self)
        super().start(*args)

    def _release(self) -> None:
        self.wait()  # ``finished`` comes just before the thread exits: let it exit before the last unref
        Job._running.discard(self)

    def cancel(self) -> None:
        self.cancel_event.set()

    def raise_if_cancelled(self) -> None:
        """For work that ``until_cancelled`` runs: stop between steps once Cancel was pressed (a dropped
        call would otherwise go on asking a Hub nobody waits for, with the Hub client's retries)."""
        if self.cancel_event.is_set():
            raise JobCancelledError("cancelled")

    def until_cancelled(self, fn: Callable[[], Any]) -> Any:
        """``fn()`` on a daemon thread of its own, waited for until it ends or Cancel is pressed: a network
        call that hangs (a dead connection, a Hub that never answers) cannot hold Cancel up. After Cancel its
        answer, if it ever comes, is dropped (``fn`` should itself stop soon on ``cancel_event``)."""
        answer: list[Any] = []
        done = threading.Event()

        def call() -> None:
            try:
                answer.append(fn())
            except BaseException as err:  # noqa: BLE001 - handed back to the job, which words it
                answer.append(err)
            done.set()

        threading.Thread(target=call, name=f"{type(self).__name__}-call", daemon=True).start()
        while not done.wait(0.05):
            if self.cancel_event.is_set():
                raise JobCancelledError("cancelled")
        if isinstance(answer[0], BaseException):
            raise answer[0]
        return answer[0]

    def work(self) -> Any:  # pragma: no cover - every job overrides it
        raise NotImplementedError

    def run(self) -> None:
        try:
            result = self.work()
        except BaseException as err:  # noqa: BLE001 - every failure becomes a one-line message
            if self.cancel_event.is_set():
                self.cancelled.emit()
            else:
                self.failed.emit(one_line(err))
            return
        if self.cancel_event.is_set() and not isinstance(result, GenerationResult):
            self.cancelled.emit()
        else:
            self.succeeded.emit(result)

    def report(self, stage: str) -> Callable[[float], None]:
        return lambda fraction: self.report_stage(stage, fraction)

    def report_stage(self, stage: str, fraction: float) -> None:
        """Emit progress at most once per 1% (converters call back once per tensor)."""
        fraction = float(fraction)
        last = self._last_progress
        if last is None or last[0] != stage or fraction >= 1.0 or fraction < 0 or fraction - last[1] >= 0.01:
            self._last_progress = (stage, fraction)
            self.progress.emit(stage, fraction)


class StreamingJob(Job):
    """A job whose streamed pieces wait in a thread-safe queue; the GUI drains it on a timer.

    One signal per token would flood the event loop (and PySide6 6.12.0 leaks a reference to
    ``True`` on every ``Signal.emit``), so pieces are batched: ``drain()`` returns all that arrived.
    """

    def __init__(self, parent: Any = None) -> None:
        super().__init__(parent)
        self.events: queue.SimpleQueue[StreamEvent] = queue.SimpleQueue()

    def _on_event(self, event: StreamEvent) -> None:
        self.events.put(event)

    def drain(self) -> list[StreamEvent]:
        out: list[StreamEvent] = []
        while True:
            try:
                out.append(self.events.get_nowait())
            except queue.Empty:
                return out


class ReplyWorker(StreamingJob):
    """Runs one chat turn through ``run`` (the chat controller's ``execute``): the local model, or the
    cloud-fallback router; ``succeeded`` carries a GenerationResult or a RouteOutcome, and ``switched``
    says the router moved to the other engine."""

    switched = Signal(str, str)

    def __init__(self, run: Callable[..., Any], parent: Any = None) -> None:
        super().__init__(parent)
        self.run_turn = run

    def work(self) -> Any:
        return self.run_turn(on_event=self._on_event, cancel=self.cancel_event,
                             on_switch=lambda engine, why: self.switched.emit(engine, why))


class ModelLoadWorker(Job):
    """Loads a GGUF in a llama.cpp worker process; ``succeeded`` carries the WorkerGenerator.

    ``options`` are the load settings the user chose (context size, KV cache type, memory budget)."""

    def __init__(self, model_path: Path, *, n_threads: int | None = None, options: dict[str, Any] | None = None,
                 parent: Any = None) -> None:
        super().__init__(parent)
        self.model_path = Path(model_path)
        self.options = dict(options or {})
        self.n_threads = self.options.pop("n_threads", n_threads)  # the user's choice, else the caller's

    def work(self) -> Any:
        from ..engine import WorkerGenerator

        self.progress.emit("load", 0.0)
        generator = WorkerGenerator(self.model_path, n_threads=self.n_threads, cancel=self.cancel_event, **self.options)
        self.progress.emit("load", 1.0)
        return generator


class ConvertWorker(Job):
    """Hub id or local folder -> GGUF of ``outtype`` with the converter's pipeline."""

    def __init__(self, source: str, outfile: Path, outtype: str, *, parent: Any = None) -> None:
        super().__init__(parent)
        self.source, self.outfile, self.outtype = source, Path(outfile), outtype

    def work(self) -> Path:
        from exaone_convert import ConvertRequest, convert_model

        request = ConvertRequest(source=self.source, outfile=self.outfile, outtype=self.outtype,
                                 show_progress=False, progress=self.report_stage, cancel=self.cancel_event)
        result = convert_model(request)
        self.progress.emit("done", 1.0)
        return Path(result.outfile)


class DemoConvertWorker(Job):
    """The bundled demo checkpoint -> a q8_0 GGUF in the user's models folder (first run)."""

    def __init__(self, outfile: Path, *, source: Path = DEMO_DIR, parent: Any = None) -> None:
        super().__init__(parent)
        self.outfile, self.source = Path(outfile), Path(source)

    def work(self) -> Path:
        from exaone_convert import convert_checkpoint

        path = convert_checkpoint(self.source, self.outfile, "q8_0", force=True,
                                  progress=self.report("convert"), cancel=self.cancel_event)
        self.progress.emit("done", 1.0)
        return Path(path)


class QuantizeWorker(Job):
    """An f32/f16/bf16 GGUF -> ``outtype`` with llama.cpp's quantizer."""

    def __init__(self, src: Path, dst: Path, outtype: str, *, parent: Any = None) -> None:
        super().__init__(parent)
        self.src, self.dst, self.outtype = Path(src), Path(dst), outtype

    def work(self) -> Path:
        from exaone_convert import quantize_gguf

        return Path(quantize_gguf(self.src, self.dst, self.outtype, progress=self.report("quantize"),
                                  cancel=self.cancel_event))


class DownloadWorker(Job):
    """One file of an official EXAONE GGUF repo (e.g. ``Q4_K_M``) into the models folder.

    Progress is the fraction of bytes received. The file is written beside its destination as a partial
    file that a later download continues (HTTP Range): ``pause()`` stops the transfer and keeps it; a cancel
    stops it and deletes it, so no file is left in the models folder.
    """

    def __init__(self, repo_id: str, quant: str, outfile: Path, *, parent: Any = None) -> None:
        super().__init__(parent)
        self.repo_id, self.quant, self.outfile = repo_id, quant, Path(outfile)
        self.paused = False

    def pause(self) -> None:
        self.paused = True
        self.cancel()

    def work(self) -> Path:
        from exaone_convert import DownloadCancelled, download_gguf_file

        from ..session import network, paused

        def fetch() -> Path:
            network.probe()  # offline is said in seconds, not after the Hub client's retries
            self.raise_if_cancelled()
            try:
                return Path(download_gguf_file(self.repo_id, self.quant, outfile=self.outfile, force=True,
                                               show_progress=False, progress=self.report("download"),
                                               cancel=self.cancel_event, resumable=True))
            except DownloadCancelled:
                if not self.paused:  # cancelled, not paused: nothing of it is kept (the transfer has let go)
                    paused.discard_download(self.outfile, self.repo_id)
                raise

        return Path(self.until_cancelled(fetch))


class CatalogueWorker(Job):
    """Asks the Hub for the official repos' GGUF files and sizes (nothing is downloaded); succeeds with
    ``(listings, failures)`` as ``session.models.fetch_listings`` returns them.

    The requests run on a daemon thread of their own, so Cancel ends the job at once however long the Hub
    (or a dead connection) takes to answer: the answer, if it ever comes, is dropped."""

    def work(self) -> Any:
        from ..session import models, network

        def ask() -> Any:
            network.probe()  # offline is said in seconds, not after the Hub client's retries
            self.raise_if_cancelled()
            return models.fetch_listings(cancel=self.cancel_event)

        return self.until_cancelled(ask)

