"""A chat reply from the window's side: asking for it (Send, Regenerate, Edit, Cancel, Stop), running it and
showing it as it is written.

The controller decides (and refuses, with a reason ``ChatActions`` words). ``ReplyRunner`` runs the turn the
controller started in a ``ReplyWorker`` and drains its streamed pieces on a timer into the controller; it is owned
by the app, beside the controller, so a window rebuilt for another language connects to the same runner and
shows the reply still being written. ``ChatActions`` (one per window) shows what the runner reports in the chat
view, the composer and the status line, and tells the window (signals) what concerns the rest of it."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from PySide6.QtCore import QObject, QTimer, Signal
from PySide6.QtWidgets import QDialog, QMessageBox, QWidget

from ..session.controller import ChatController
from ..session.turns import IMAGE_REFUSALS, NO_MODEL, Ending, Refused, Turn
from .chat_view import ChatView
from .cloud_dialog import CloudFilesDialog
from .composer import Composer
from .context import KEY_LAST_CHAT, AppContext
from .status_line import StatusLine
from .wording import Wording
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
        worker.succeeded.connect(lambda outcome: self._end(lambda: c.conclude(outcome)))
        worker.failed.connect(lambda message: self._end(lambda: c.fail(message)))
        worker.cancelled.connect(lambda: self._end(c.stopped))
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

    def _end(self, store: Callable[[], Ending | None]) -> None:
        """The reply's thread ended: what it streamed last is taken first, then the reply is stored."""
        self.drain()
        ending = store()
        if ending is not None:
            self._status = ending.message.status
            self.ended.emit(ending)

    def _on_thread_done(self, worker: ReplyWorker) -> None:
        if worker is not self.worker:
            return
        self._timer.stop()
        self.worker = None
        self.finished.emit(self._status)


class ChatActions(QObject):
    sending = Signal()  # about to send: what is being typed elsewhere (the system prompt) is committed first
    needs_model = Signal()  # refused for want of a model: the window offers one
    started = Signal()  # a reply is being written: the chat page is shown, the buttons follow
    ended = Signal()  # a reply was stored: the settings' marks and figures may change
    finished = Signal(str)  # its thread ended, with the reply's final status: the window may be used again

    def __init__(self, ctx: AppContext, controller: ChatController, runner: ReplyRunner, composer: Composer,
                 chat_view: ChatView, status: StatusLine, window: QWidget) -> None:
        super().__init__(window)
        self.ctx, self.controller, self.runner, self.window = ctx, controller, runner, window
        self.composer, self.chat_view, self.status = composer, chat_view, status
        self.words = Wording(self)
        self.files_dialog: CloudFilesDialog | None = None  # open while a send asks about its files
        c = self.composer
        c.send_button.clicked.connect(self.send)
        c.stop_button.clicked.connect(self.stop)
        c.regenerate_button.clicked.connect(self.regenerate)
        c.edit_button.clicked.connect(self.edit_last)
        c.input.submitted.connect(self.send)
        c.edit_cancelled.connect(self.cancel_edit)
        c.attachments.refused.connect(self._not_attached)
        c.documents.refused.connect(self._document_not_attached)
        self.chat_view.edit_requested.connect(self.edit_message)

    # -- what the user asks for --------------------------------------------------------------------

    def send(self) -> None:
        c = self.controller
        if not c.has_draft() or c.busy():
            return
        if self.composer.documents.busy():
            self.status.say(self.tr("A document is still being read: wait for it, or cancel it."), error=True)
            return
        self.sending.emit()
        turn = self._start(c.send_draft)
        if turn is None:
            return
        self.composer.show_draft()
        self.ctx.put(KEY_LAST_CHAT, c.session.conversation_id)
        self._run(turn)

    def regenerate(self) -> None:
        if self.controller.can_regenerate():
            self.resend(None)

    def resend(self, engine: Any) -> None:
        """Ask again (``engine``: the other engine, after the user accepted an offer)."""
        if self.controller.busy():
            return
        turn = self._start(lambda: self.controller.regenerate(engine))
        if turn is not None:
            self._run(turn)

    def _run(self, turn: Turn, *, asked: bool = False) -> None:
        files = [] if asked else self.controller.files_for_cloud(turn)
        if files:  # consent to the cloud does not cover attached files: each send that carries them asks
            c = self.controller
            dialog = CloudFilesDialog(c.cloud_host(), c.cloud_model(), files, self.window)
            dialog.finished.connect(lambda result: self._files_answered(turn, result == QDialog.DialogCode.Accepted))
            self.files_dialog = dialog
            dialog.open()
            return
        self.runner.run(turn)

    def _files_answered(self, turn: Turn, send: bool) -> None:
        self.files_dialog = None
        if not send:
            self.controller.keep_local(turn)
        self._run(turn, asked=True)

    def _start(self, begin: Any) -> Turn | None:
        try:
            turn: Turn = begin()
        except Refused as err:
            if err.reason == NO_MODEL:
                self.status.say(self.tr("No model is loaded: set up the demo model, or open the model manager."),
                                error=True)
                self.needs_model.emit()
            elif err.reason in IMAGE_REFUSALS:  # the image stays attached: another model may read it
                self.composer.show_notice(self.words.image_refusal(err))
            return None
        self.composer.show_notice("")
        return turn

    def _not_attached(self, detail: str) -> None:
        """A file or paste the tray refused: one sentence in the UI's language (the engine's line as tooltip)."""
        self.composer.show_notice(self.words.not_attached())
        self.composer.notice.setToolTip(detail)

    def _document_not_attached(self, detail: str) -> None:
        """A document the tray could not read: the engine's line (it names the fix) in the composer."""
        self.composer.show_notice(self.words.document_not_attached(detail))
        self.composer.notice.setToolTip(detail)

    def edit_last(self) -> None:
        last = self.controller.last_user_id()
        if last is not None:
            self.edit_message(last)

    def edit_message(self, message_id: int) -> None:
        """Edit one of your messages: the draft is put aside; Send branches the chat, Cancel or Escape
        brings the draft back."""
        if self.controller.edit_message(message_id):
            self.composer.show_draft()

    def cancel_edit(self) -> None:
        self.controller.drafting.end_edit()
        self.composer.show_draft()

    def stop(self) -> None:
        if self.runner.stop():
            self.status.say(self.tr("Stopping…"))

    # -- the reply being written, as the runner reports it -----------------------------------------

    def show_started(self, turn: Turn) -> None:
        self.chat_view.sync(self.controller.session.messages(), self.controller.variants())
        live = self.chat_view.bubble(turn.reply.message_id)
        if live is not None:
            live.set_status("partial", live=True)
        self.started.emit()
        self.status.say(self.tr("Writing…"))

    def show_stream(self, reply: Any) -> None:
        self.chat_view.stream(reply.message_id, reply.answer, reply.reasoning)
        self.status.show_speed(reply.tokens_per_second())

    def show_switch(self, reason: str) -> None:
        reply = self.controller.session.reply
        if reply is not None:
            self.chat_view.stream(reply.message_id, "", "")
        self.status.say(reason, error=True)

    def show_ending(self, ending: Ending) -> None:
        stored = ending.message
        self.chat_view.flush()
        bubble = self.chat_view.bubble(stored.id)
        if bubble is not None:
            bubble.show_text(stored.content, stored.reasoning or "")
            bubble.set_status(stored.status)
            bubble.set_header(stored)
        self.status.say_ending(ending)
        self.status.refresh()
        self.ended.emit()
        if ending.offer is not None:
            self._offer(ending.offer, ending.note)

    def show_finished(self, status: str) -> None:
        self.finished.emit(status)

    def _offer(self, engine: str, message: str) -> None:
        answer = QMessageBox.question(self.window, self.tr("Use the other engine?"), message)
        if answer == QMessageBox.StandardButton.Yes:
            QTimer.singleShot(0, lambda: self.resend(engine))
