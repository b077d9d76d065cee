"""The chat actions' long part: a turn the controller started runs in a ``ReplyWorker`` and its streamed pieces
are drained on a timer into the controller; what happens is said with signals.

Owned by the app, beside the controller: a window rebuilt for another language connects to the same runner and
shows the reply still being written.
"""

from __future__ import annotations

from PySide6.QtCore import QObject, QTimer, Signal

from ..session.controller import ChatController
from ..session.turns import Ending, Turn
from .workers import ReplyWorker

DRAIN_MS = 25  # how often streamed pieces are taken from the worker's queue


class ReplyRunner(QObject):
    started = Signal(object)  # the Turn
    streamed = Signal(object)  # the open StoredReply, with what streamed so far
    switched = Signal(str)  # the router moved to the other engine: why
    ended = Signal(object)  # the Ending (the stored reply, a note, an engine to offer)
    finished = Signal(str)  # the reply's final status (complete, stopped, failed), once its thread has ended

    def __init__(self, controller: ChatController, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.controller = controller
        self.worker: ReplyWorker | None = None
        self._status = ""
        self._timer = QTimer(self)
        self._timer.setInterval(DRAIN_MS)
        self._timer.timeout.connect(self.drain)

    def run(self, turn: Turn) -> None:
        c = self.controller
        worker = ReplyWorker(lambda **kw: c.execute(turn, **kw))
        worker.switched.connect(self._on_switch)
        worker.succeeded.connect(lambda outcome: self._end(c.conclude(outcome)))
        worker.failed.connect(lambda message: self._end(c.fail(message)))
        worker.cancelled.connect(lambda: self._end(c.stopped()))
        worker.finished.connect(lambda: self._on_thread_done(worker))
        self.worker = worker
        self._status = ""
        self.started.emit(turn)
        self._timer.start()
        worker.start()

    def stop(self) -> bool:
        """Stop the reply being written (what streamed is kept); False when none is."""
        if self.worker is None:
            return False
        self.worker.cancel()
        return True

    def cancel_and_wait(self, ms: int = 10000) -> None:
        worker = self.worker
        if worker is not None:
            worker.cancel()
            worker.wait(ms)

    def drain(self) -> None:
        """Take the pieces streamed so far (GUI thread) into the reply and the store."""
        worker = self.worker
        events = worker.drain() if worker is not None else []
        reply = self.controller.take(events) if events else None
        if reply is not None:
            self.streamed.emit(reply)

    def _on_switch(self, _engine: str, reason: str) -> None:
        self.drain()
        reply = self.controller.switched()
        if reply is not None:
            self.streamed.emit(reply)
        self.switched.emit(reason)

    def _end(self, ending: Ending | None) -> None:
        self.drain()
        if ending is not None:
            self._status = ending.message.status
            self.ended.emit(ending)

    def _on_thread_done(self, worker: ReplyWorker) -> None:
        if worker is not self.worker:
            return
        self._timer.stop()
        self.worker = None
        self.finished.emit(self._status)
