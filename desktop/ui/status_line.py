"""The window's status line: a message (what just happened) and the model, backend, speed and context figures."""

from __future__ import annotations

from PySide6.QtCore import QObject
from PySide6.QtWidgets import QLabel, QStatusBar

from ..session.controller import ChatController
from ..session.turns import Ending, StatusFigures
from .chat_view import BACKEND_NAMES


class StatusLine(QObject):
    """Fills a ``QStatusBar`` with its labels and words the controller's figures; the window words nothing."""

    def __init__(self, bar: QStatusBar, controller: ChatController) -> None:
        super().__init__(bar)
        self.controller = controller
        self.model_label = QLabel()
        self.backend_label = QLabel()
        self.speed_label = QLabel()
        self.context_label = QLabel()
        self.context_label.setObjectName("status-context")
        self.message_label = QLabel()
        self.message_label.setObjectName("status-message")
        bar.addWidget(self.message_label, 1)
        for label in (self.model_label, self.backend_label, self.speed_label, self.context_label):
            bar.addPermanentWidget(label)

    def say(self, text: str, *, error: bool = False) -> None:
        self.message_label.setStyleSheet("color: #b00020;" if error else "")
        self.message_label.setText(text)
        self.message_label.setToolTip(text)  # a long line is cut off by the window's width: the whole of it

    def refresh(self) -> None:
        self.show(self.controller.status())

    def say_ending(self, ending: Ending) -> None:
        """How a reply ended, with the engine's or the router's own line behind a sentence in the UI's language."""
        status = ending.message.status
        texts = {"complete": self.tr("Done."), "stopped": self.tr("Stopped; the partial reply was kept."),
                 "failed": self.tr("The reply failed.")}
        note = texts.get(status, "")
        if ending.note:
            line = self.tr("The reply failed: {0}") if status == "failed" else self.tr("Note: {0}")
            note = line.format(ending.note)
        if ending.dropped:
            note += " " + self.tr("{0} earlier messages were left out to fit the context; the chat keeps them."
                                  ).format(ending.dropped)
        self.say(note, error=status == "failed")

    def show_speed(self, tokens_per_s: float) -> None:
        self.speed_label.setText(self.tr("{0:.1f} tok/s").format(tokens_per_s))

    def show(self, f: StatusFigures) -> None:
        model = f"{f.model} ({f.family})" if f.model and f.family else f.model
        self.model_label.setText(self.tr("Model: {0}").format(model or self.tr("none")))
        self.backend_label.setText(self.tr("Backend: {0}").format(BACKEND_NAMES.get(f.backend, f.backend or "—")))
        if f.tokens_per_s is not None:
            self.show_speed(f.tokens_per_s)
        if f.context_used is None:
            return
        total = f" / {f.context_size:,}" if f.context_size else ""
        text = self.tr("Context: {0}{1}").format(f"{f.context_used:,}", total)
        if f.reused is not None and f.evaluated is not None:
            text += " · " + self.tr("prompt: {0} reused, {1} read").format(f"{f.reused:,}", f"{f.evaluated:,}")
        if f.dropped:
            text += " · " + self.tr("{0} earlier messages left out").format(f.dropped)
        if f.drafted:
            text += " · " + self.tr("drafts: {0} of {1} kept").format(f"{f.accepted:,}", f"{f.drafted:,}")
        self.context_label.setText(text)
