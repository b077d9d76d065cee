"""What the chat controller hands the app: the draft (the message being written, and the edit of an earlier one),
a turn to run, how it ended, the status line's and the load panel's figures, the buttons' states, and a refusal
with a stable reason code. Records, with no decisions beyond the draft's own bookkeeping.

The draft is kept with the app's state (not in a widget), so a window rebuilt for another language shows the same
draft. Editing a message puts the draft aside (its text and its attachments) and brings it back when the edit is
sent or cancelled: nothing typed is lost. The composer shows ``Drafting.draft`` and writes what the user types
into it; another kind of attachment joins the draft by adding itself to ``Draft``."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from ..engine import Engine, GenerationSettings, Message
from .chat_session import StoredReply
from .store import StoredMessage

NO_MODEL = "no_model"  # Refusal.reason when neither a local model nor the cloud can answer
IMAGE_REFUSALS = frozenset({"no_projector", "bad_image"})  # Refusal.reasons of an attached image


@dataclass
class Draft:
    """A message not sent yet: its text, its images (PNG/JPEG/WebP bytes) and its documents
    (``AttachedDocument``)."""

    text: str = ""
    images: list[bytes] = field(default_factory=list)
    documents: list[Any] = field(default_factory=list)


@dataclass
class Drafting:
    """The draft shown in the composer, the message being edited (None: none) and the draft put aside."""

    draft: Draft = field(default_factory=Draft)
    editing: int | None = None
    aside: Draft | None = None

    def begin_edit(self, message_id: int, text: str) -> None:
        """Edit ``text`` (the message ``message_id``): the draft is put aside once, however many edits follow."""
        if self.editing is None:
            self.aside = self.draft
        self.editing = message_id
        self.draft = Draft(text)

    def end_edit(self) -> None:
        """Leave editing (sent or cancelled): the draft put aside comes back."""
        if self.editing is None:
            return
        self.editing = None
        self.draft, self.aside = self.aside or Draft(), None

    def sent(self) -> None:
        """The draft went out: the composer empties, or shows the draft an edit had put aside."""
        self.draft = Draft()
        self.end_edit()


@dataclass
class Turn:
    """One reply being asked for: everything the worker thread needs, nothing it may not touch."""

    prompt: list[Message]
    reply: StoredReply
    settings: GenerationSettings
    routed: bool  # through the cloud-fallback router (the cloud is on) or straight to the local model
    engine: Engine | None = None  # the first engine, forced (after the user accepted an offer)
    conversation: str | None = None  # the key the local engine keeps this conversation's state under
    passages: list[Any] = field(default_factory=list)  # document parts the last question was given
    kept_local: bool = False  # the user chose Keep local for this send's files (``keep_local``)


@dataclass(frozen=True)
class AttachedDocument:
    """A document read for the next message: the original file's bytes and its extracted text."""

    data: bytes
    document: Any  # engine.documents.Document (imported with the first document)

    @property
    def filename(self) -> str:
        return str(self.document.filename)


@dataclass(frozen=True)
class Ending:
    """What a finished turn left: the stored reply, a note for the status bar, an engine to offer."""

    message: StoredMessage
    note: str = ""
    offer: Engine | None = None
    dropped: int = 0  # earlier messages the engine left out to fit the context


@dataclass(frozen=True)
class StatusFigures:
    """The status line's facts; the window words them."""

    model: str
    backend: str
    tokens_per_s: float | None = None
    context_used: int | None = None
    context_size: int | None = None  # None for the cloud (its context is not ours to know)
    reused: int | None = None  # prompt tokens the engine kept from its cache for the last reply
    evaluated: int | None = None  # prompt tokens it had to read
    dropped: int = 0
    family: str = ""  # the local model's EXAONE family ("EXAONE 4.5"), from the family table
    drafted: int = 0  # speculative decoding, last reply: tokens drafted and checked ...
    accepted: int = 0  # ... and the ones kept


@dataclass(frozen=True)
class LoadFigures:
    """What the load settings will give: the context, its most, and what its KV cache will take."""

    n_ctx: int  # the chosen context, or the loaded model's (0: unknown until a model is loaded)
    automatic: bool  # the engine chooses the context size
    max_ctx: int  # the model's trained length (0: no model loaded)
    kv_cache_type: str
    kv_bytes: int | None  # None: the engine cannot say
    pending: bool  # the choices differ from those the loaded model runs with: a reload applies them


@dataclass(frozen=True)
class Buttons:
    send: bool
    stop: bool
    regenerate: bool
    edit: bool
    sidebar: bool


class Refused(Exception):
    """A turn that cannot start; ``reason`` is a stable code, ``str()`` one line for the user."""

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(message)
        self.reason = reason


def passages_note(passages: Sequence[Any]) -> str:
    """One line naming the document parts a question was given: "Used: report.pdf p. 12, p. 40"."""
    by_file: dict[str, list[str]] = {}
    for p in passages:
        labels = by_file.setdefault(p.filename, [])
        if p.label not in labels:
            labels.append(p.label)
    return ("Used: " + "; ".join(f"{name} {', '.join(labels)}" for name, labels in by_file.items())) if by_file \
        else ""
