"""The chat actions of a window: Send, Regenerate, Edit, Cancel, Stop, and the reply being written shown as
the app's ``ReplyRunner`` reports it. The controller decides (and refuses, with a reason this module words);
the runner runs; this module only shows."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from PySide6.QtCore import QObject, QTimer
from PySide6.QtWidgets import QMessageBox

from ..session.controller import IMAGE_REFUSALS, NO_MODEL, Ending, Refused, Turn
from .context import KEY_LAST_CHAT

if TYPE_CHECKING:
    from .main_window import MainWindow


class ChatActions(QObject):
    def __init__(self, window: MainWindow) -> None:
        super().__init__(window)
        self.w = window
        self.controller, self.composer, self.chat_view = window.controller, window.composer, window.chat_view
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
            self.w.say(self.tr("A document is still being read: wait for it, or cancel it."), error=True)
            return
        self.w.settings_panel.commit_system_prompt()
        turn = self._start(c.send_draft)
        if turn is None:
            return
        self.composer.show_draft()
        self.w.ctx.put(KEY_LAST_CHAT, c.session.conversation_id)
        self.w.runner.run(turn)

    def regenerate(self) -> None:
        if self.controller.can_regenerate():
            self.resend(None)

    def resend(self, engine: Any) -> None:
        """Ask again (``engine``: the other engine, after the user accepted an offer)."""
        if self.controller.busy():
            return
        turn = self._start(lambda: self.controller.regenerate(engine))
        if turn is not None:
            self.w.runner.run(turn)

    def _start(self, begin: Any) -> Turn | None:
        try:
            turn: Turn = begin()
        except Refused as err:
            if err.reason == NO_MODEL:
                self.w.say(self.tr("No model is loaded: set up the demo model, or open the model manager."),
                           error=True)
                self.w.show_welcome()
            elif err.reason in IMAGE_REFUSALS:  # the image stays attached: another model may read it
                self.composer.show_notice(self.w.words.image_refusal(err))
            return None
        self.composer.show_notice("")
        return turn

    def _not_attached(self, detail: str) -> None:
        """A file or paste the tray refused: one sentence in the UI's language (the engine's line as tooltip)."""
        self.composer.show_notice(self.w.words.not_attached())
        self.composer.notice.setToolTip(detail)

    def _document_not_attached(self, detail: str) -> None:
        """A document the tray could not read: the engine's line (it names the fix) in the composer."""
        self.composer.show_notice(self.w.words.document_not_attached(detail))
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
        if self.w.runner.stop():
            self.w.say(self.tr("Stopping…"))

    # -- the reply being written, as the runner reports it -----------------------------------------

    def show_started(self, turn: Turn) -> None:
        self.w.stack.setCurrentIndex(0)
        self.w.show_chat()
        live = self.chat_view.bubble(turn.reply.message_id)
        if live is not None:
            live.set_status("partial", live=True)
        self.w.update_buttons()
        self.w.say(self.tr("Writing…"))

    def show_stream(self, reply: Any) -> None:
        self.chat_view.stream(reply.message_id, reply.answer, reply.reasoning)
        self.w.status_line.show_speed(reply.tokens_per_second())

    def show_switch(self, reason: str) -> None:
        reply = self.controller.session.reply
        if reply is not None:
            self.chat_view.stream(reply.message_id, "", "")
        self.w.say(reason, error=True)

    def show_ending(self, ending: Ending) -> None:
        stored = ending.message
        self.chat_view.flush()
        bubble = self.chat_view.bubble(stored.id)
        if bubble is not None:
            bubble.show_text(stored.content, stored.reasoning or "")
            bubble.set_status(stored.status)
            bubble.set_header(stored)
        self.w.status_line.say_ending(ending)
        self.w.status_line.refresh()
        self.w.settings_link.refresh_cloud_marks()
        self.w.settings_link.show_load()
        if ending.offer is not None:
            self._offer(ending.offer, ending.note)

    def show_finished(self, status: str) -> None:
        self.w.sidebar.refresh()
        self.w.update_buttons()
        self.w.reply_finished.emit(status)

    def _offer(self, engine: str, message: str) -> None:
        answer = QMessageBox.question(self.w, self.tr("Use the other engine?"), message)
        if answer == QMessageBox.StandardButton.Yes:
            QTimer.singleShot(0, lambda: self.resend(engine))
