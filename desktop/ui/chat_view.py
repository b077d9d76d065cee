"""The conversation view: one bubble per message, Markdown rendered, the streaming one redrawn on a timer."""

from __future__ import annotations

from PySide6.QtCore import Qt, QTimer, QUrl, Signal
from PySide6.QtGui import QColor, QDesktopServices, QGuiApplication, QTextBlock, QTextCursor, QTextFormat
from PySide6.QtWidgets import (
    QFrame,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QScrollArea,
    QSizePolicy,
    QTextBrowser,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from ..session.code_blocks import code_blocks, copy_target, with_copy_links
from ..session.store import StoredMessage
from .attachments import thumbnail_row

REDRAW_MS = 40  # the streaming bubble is re-rendered at most this often
CODE_BACKGROUND = QColor("#f2f2f2")
ROLE_COLOURS = {"user": "#eef4ff", "assistant": "#ffffff", "cloud": "#fff6e5", "system": "#f5f5f5"}
BACKEND_NAMES = {"cpu": "CPU", "metal": "Metal", "cuda": "CUDA", "openai": "OpenAI"}


def is_code_block(block: QTextBlock) -> bool:
    fmt = block.blockFormat()
    font = block.charFormat().font()
    return fmt.hasProperty(QTextFormat.Property.BlockCodeFence) or font.fixedPitch() or "mono" in font.family().lower()


def render_markdown(browser: QTextBrowser, text: str, copy_label: str = "") -> None:
    """Markdown into ``browser``; code blocks (monospace from Qt's importer) also get a background, and with
    ``copy_label`` a link above each that copies it (``copy-code:N``)."""
    browser.setMarkdown(with_copy_links(text, copy_label) if copy_label else text)
    block = browser.document().begin()
    while block.isValid():
        if is_code_block(block):
            fmt = block.blockFormat()
            fmt.setBackground(CODE_BACKGROUND)
            QTextCursor(block).setBlockFormat(fmt)
        block = block.next()


class AutoHeightBrowser(QTextBrowser):
    """A read-only rich text view as tall as its content (the scroll area scrolls, not it)."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setOpenLinks(False)  # web links open in the browser; copy-code links are the bubble's
        self.anchorClicked.connect(self._open_external)
        self.setFrameShape(QFrame.Shape.NoFrame)
        self.setVerticalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAsNeeded)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed)
        self.document().documentLayout().documentSizeChanged.connect(self._fit)
        self.viewport().setAutoFillBackground(False)
        self.setStyleSheet("background: transparent;")

    @staticmethod
    def _open_external(url: QUrl) -> None:
        if url.scheme() in ("http", "https", "mailto"):
            QDesktopServices.openUrl(url)

    def _fit(self) -> None:
        height = int(self.document().size().height()) + 2 * self.frameWidth() + 4
        if height != self.height():
            self.setFixedHeight(height)

    def resizeEvent(self, event: object) -> None:  # noqa: N802 - Qt override
        super().resizeEvent(event)  # type: ignore[arg-type]
        self._fit()


class MessageWidget(QFrame):
    """One message: a header (who, which engine), collapsed reasoning, the Markdown answer, Copy; a pager
    (‹ 1/2 ›) when it has variants (kept replies, edited versions); Edit on the user's own messages."""

    edit_requested = Signal(int)  # message id
    variant_requested = Signal(int, int)  # message id, step (-1: previous, +1: next)
    code_copied = Signal(int)  # the block number copied

    def __init__(self, message: StoredMessage, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.message_id = message.id
        self.role = message.role
        self.answer = message.content
        self.reasoning = message.reasoning or ""
        self.setObjectName(f"message-{message.role}")
        self.setFrameShape(QFrame.Shape.StyledPanel)
        is_cloud = message.engine == "openai"
        colour = ROLE_COLOURS["cloud" if is_cloud else message.role]
        self.setStyleSheet(f"MessageWidget {{ background: {colour}; border-radius: 6px; }}")

        layout = QVBoxLayout(self)
        layout.setContentsMargins(10, 6, 10, 6)
        top = QHBoxLayout()
        self.header = QLabel(self.header_text(message))
        self.header.setObjectName("header")
        self.header.setStyleSheet("font-weight: bold;" + (" color: #a15c00;" if is_cloud else ""))
        self.status = QLabel("")
        self.status.setObjectName("status")
        self.copy_button = QPushButton(self.tr("Copy"))
        self.copy_button.setFlat(True)
        self.copy_button.clicked.connect(self.copy)
        self.previous_button = QToolButton()
        self.previous_button.setObjectName("variant-previous")
        self.previous_button.setText("‹")
        self.previous_button.setToolTip(self.tr("Previous version"))
        self.previous_button.clicked.connect(lambda: self.variant_requested.emit(self.message_id, -1))
        self.variant_label = QLabel("")
        self.variant_label.setObjectName("variant")
        self.next_button = QToolButton()
        self.next_button.setObjectName("variant-next")
        self.next_button.setText("›")
        self.next_button.setToolTip(self.tr("Next version"))
        self.next_button.clicked.connect(lambda: self.variant_requested.emit(self.message_id, 1))
        self.edit_button = QPushButton(self.tr("Edit"))
        self.edit_button.setObjectName("edit-message")
        self.edit_button.setFlat(True)
        self.edit_button.setToolTip(self.tr("Edit this message: the chat branches, and the old version is kept"))
        self.edit_button.clicked.connect(lambda: self.edit_requested.emit(self.message_id))
        self.edit_button.setVisible(message.role == "user")
        top.addWidget(self.header)
        top.addWidget(self.status)
        top.addStretch(1)
        for w in (self.previous_button, self.variant_label, self.next_button, self.edit_button, self.copy_button):
            top.addWidget(w)
        self.set_variant(1, 1)
        layout.addLayout(top)
        if message.images:  # thumbnails of the images sent with the message
            pictures = QHBoxLayout()
            for label in thumbnail_row(list(message.images)):
                pictures.addWidget(label)
            pictures.addStretch(1)
            layout.addLayout(pictures)
        if message.documents:  # a chip per document sent with the message
            chips = QHBoxLayout()
            self.document_chips: list[QLabel] = []
            for d in message.documents:
                chip = QLabel(f"📄 {d.filename}")
                chip.setObjectName("document-chip")
                chip.setToolTip(d.file)
                chip.setStyleSheet("border: 1px solid #c8c8c8; border-radius: 8px; padding: 2px 6px;")
                chips.addWidget(chip)
                self.document_chips.append(chip)
            chips.addStretch(1)
            layout.addLayout(chips)

        self.reasoning_toggle = QToolButton()
        self.reasoning_toggle.setCheckable(True)
        self.reasoning_toggle.setChecked(False)
        self.reasoning_toggle.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextBesideIcon)
        self.reasoning_toggle.setArrowType(Qt.ArrowType.RightArrow)
        self.reasoning_toggle.setText(self.tr("Reasoning"))
        self.reasoning_toggle.toggled.connect(self._toggle_reasoning)
        self.reasoning_view = AutoHeightBrowser()
        self.reasoning_view.setObjectName("reasoning")
        self.reasoning_view.setStyleSheet("background: transparent; color: #666666;")
        self.reasoning_view.setVisible(False)
        layout.addWidget(self.reasoning_toggle)
        layout.addWidget(self.reasoning_view)

        self.body = AutoHeightBrowser()
        self.body.setObjectName("body")
        self.body.anchorClicked.connect(self._link)
        layout.addWidget(self.body)
        self.show_text(self.answer, self.reasoning)
        self.set_status(message.status)

    def header_text(self, m: StoredMessage) -> str:
        if m.role == "user":
            return self.tr("You")
        if m.engine == "openai":
            return self.tr("☁ Cloud reply") + (f" · {m.model}" if m.model else "")
        backend = BACKEND_NAMES.get(m.engine, m.engine)
        name = m.model or "EXAONE"
        return f"{name} · {backend}" if backend else name

    def set_header(self, message: StoredMessage) -> None:
        self.header.setText(self.header_text(message))
        seed = message.seed
        self.header.setToolTip(self.tr("Seed {0}: send with this seed to draw the same reply").format(seed)
                               if seed is not None else "")

    def set_variant(self, index: int, count: int) -> None:
        """Show "index/count" with the arrows when there is more than one version."""
        several = count > 1
        for w in (self.previous_button, self.variant_label, self.next_button):
            w.setVisible(several)
        self.variant_label.setText(f"{index}/{count}")
        self.previous_button.setEnabled(index > 1)
        self.next_button.setEnabled(index < count)

    def set_status(self, status: str, *, live: bool = False) -> None:
        """``partial`` is "writing…" while streaming, else a reply cut off by a crash ("interrupted")."""
        texts = {"partial": self.tr("writing…") if live else self.tr("interrupted"), "stopped": self.tr("stopped"),
                 "failed": self.tr("failed"), "complete": ""}
        self.status.setText(texts.get(status, status))

    def show_text(self, answer: str, reasoning: str = "") -> None:
        self.answer, self.reasoning = answer, reasoning
        self.reasoning_toggle.setVisible(bool(reasoning))
        if reasoning and self.reasoning_view.isVisible():
            self.reasoning_view.setPlainText(reasoning)
        if self.role == "user":
            self.body.setPlainText(answer)
        else:
            render_markdown(self.body, answer, self.tr("Copy code"))

    def _toggle_reasoning(self, shown: bool) -> None:
        self.reasoning_toggle.setArrowType(Qt.ArrowType.DownArrow if shown else Qt.ArrowType.RightArrow)
        if shown:
            self.reasoning_view.setPlainText(self.reasoning)
        self.reasoning_view.setVisible(shown)

    def copy(self) -> None:
        QGuiApplication.clipboard().setText(self.answer)

    def _link(self, url: QUrl) -> None:
        block = copy_target(url.toString())
        blocks = code_blocks(self.answer)
        if block is not None and block < len(blocks):
            QGuiApplication.clipboard().setText(blocks[block])
            self.code_copied.emit(block)


WARM_UP_MS = 300  # after the window shows: later than a cold start's first events


class ChatView(QScrollArea):
    """All messages of the open conversation; ``stream()`` updates the last one cheaply."""

    copied = Signal(str)
    edit_requested = Signal(int)
    variant_requested = Signal(int, int)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("chat-view")
        self.setWidgetResizable(True)
        self.inner = QWidget()
        self.column = QVBoxLayout(self.inner)
        self.column.setContentsMargins(12, 12, 12, 12)
        self.column.setSpacing(8)
        self.column.addStretch(1)
        self.setWidget(self.inner)
        self.bubbles: list[MessageWidget] = []
        self._pending: tuple[MessageWidget, str, str] | None = None
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.setInterval(REDRAW_MS)
        self._timer.timeout.connect(self._redraw)
        self.verticalScrollBar().rangeChanged.connect(self._follow)
        self._at_bottom = True
        # The first bubble Qt builds costs tens of milliseconds more than later ones (PySide creates its
        # enums and Qt its text-layout machinery on first use); pay that while the window sits idle after
        # showing, not inside the first Send, where it would freeze the window mid-reply.
        QTimer.singleShot(WARM_UP_MS, self._warm_up)

    def _warm_up(self) -> None:
        sample = StoredMessage(id=-1, conversation_id=-1, role="assistant", content="**a**\n\n```\nb\n```",
                               reasoning="c", engine="local", model="", status="complete", created_at=0.0,
                               updated_at=0.0)
        bubble = MessageWidget(sample, self.inner)
        bubble.hide()
        bubble.deleteLater()

    def clear(self) -> None:
        self._pending = None
        for bubble in self.bubbles:
            self._drop(bubble)
        self.bubbles.clear()

    def _drop(self, bubble: MessageWidget) -> None:
        """Remove a bubble; Qt deletes it (it keeps its parent, so Python never owns a deleted widget)."""
        self.column.removeWidget(bubble)
        bubble.hide()
        bubble.deleteLater()

    def set_messages(self, messages: list[StoredMessage],
                     variants: dict[int, tuple[int, int]] | None = None) -> None:
        self.clear()
        for m in messages:
            self.add_message(m)
        self.show_variants(variants or {})

    def sync(self, messages: list[StoredMessage], variants: dict[int, tuple[int, int]] | None = None) -> None:
        """Make the view show ``messages``, touching only bubbles that were removed or added."""
        wanted = {m.id for m in messages}
        for bubble in [b for b in self.bubbles if b.message_id not in wanted]:
            self.bubbles.remove(bubble)
            self._drop(bubble)
        have = [b.message_id for b in self.bubbles]
        if have != [m.id for m in messages][: len(have)]:
            self.set_messages(messages, variants)
            return
        for m in messages[len(have):]:
            self.add_message(m)
        self.show_variants(variants or {})

    def show_variants(self, variants: dict[int, tuple[int, int]]) -> None:
        for bubble in self.bubbles:
            bubble.set_variant(*variants.get(bubble.message_id, (1, 1)))

    def add_message(self, message: StoredMessage) -> MessageWidget:
        bubble = MessageWidget(message)
        bubble.edit_requested.connect(self.edit_requested)
        bubble.variant_requested.connect(self.variant_requested)
        self.column.insertWidget(self.column.count() - 1, bubble)
        self.bubbles.append(bubble)
        self._at_bottom = True
        return bubble

    def bubble(self, message_id: int) -> MessageWidget | None:
        return next((b for b in self.bubbles if b.message_id == message_id), None)

    def stream(self, message_id: int, answer: str, reasoning: str) -> None:
        """New text for a streaming message; drawn on the next timer tick, not per token."""
        bubble = self.bubble(message_id)
        if bubble is None:
            return
        self._pending = (bubble, answer, reasoning)
        if not self._timer.isActive():
            self._timer.start()

    def flush(self) -> None:
        self._timer.stop()
        self._redraw()

    def _redraw(self) -> None:
        if self._pending is None:
            return
        bubble, answer, reasoning = self._pending
        self._pending = None
        bubble.show_text(answer, reasoning)

    def _follow(self, _low: int, high: int) -> None:
        bar = self.verticalScrollBar()
        if self._at_bottom or bar.value() >= bar.maximum() - 40:
            bar.setValue(high)
            self._at_bottom = False
