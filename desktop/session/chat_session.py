"""The chat's logic without Qt: what goes into the store, what the engine is sent, streaming state.

The model sees each turn's answer only: reasoning is stored beside it and never sent back as history.
A streamed reply is saved as ``partial`` (at most every ``save_interval`` seconds) and finished as
``complete``, ``stopped`` (Stop pressed; the partial text is kept) or ``failed``.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, cast

from ..engine import GenerationResult, Message, StreamEvent
from .store import ChatStore, Conversation, Status, StoredMessage, StoreError

TITLE_LENGTH = 48
# Messages of these statuses are part of the conversation the model sees.
_HISTORY_STATUSES = frozenset({"complete", "stopped", "partial"})


def title_from(text: str) -> str:
    line = " ".join(text.split())
    return line if len(line) <= TITLE_LENGTH else line[: TITLE_LENGTH - 1].rstrip() + "…"


def distinct_title(title: str, taken: set[str]) -> str:
    """``title``, or ``title (2)``, ``(3)``... when another chat has that title already."""
    if title not in taken:
        return title
    n = 2
    while f"{title} ({n})" in taken:
        n += 1
    return f"{title} ({n})"


@dataclass
class StoredReply:
    """One assistant reply in progress as the history keeps it (saved as it streams); feed it stream events, then
    finish, stop or fail it. (The engine's ``llama.reply.Reply`` is the same reply as llama.cpp decodes it.)"""

    store: ChatStore
    message_id: int
    engine: str
    model: str
    clock: Callable[[], float]
    save_interval: float
    answer: str = ""
    reasoning: str = ""
    events: int = 0
    started: float = field(default=0.0)
    _saved_at: float = field(default=0.0)
    done: bool = False

    def __post_init__(self) -> None:
        self.started = self._saved_at = self.clock()

    def on_event(self, event: StreamEvent) -> bool:
        """Add an event's text (sequence 0 only); returns True when the partial text was saved."""
        if self.done or event.index != 0:
            return False
        if event.kind == "reasoning":
            self.reasoning += event.text
        else:
            self.answer += event.text
        self.events += 1
        now = self.clock()
        if now - self._saved_at >= self.save_interval:
            try:
                self.save_partial()
            except StoreError:  # the store is failing (a full disk): the text goes on in memory, and the
                self._saved_at = now  # reply's final save reports the error once
                return False
            return True
        return False

    def save_partial(self) -> None:
        self.store.update_message(self.message_id, content=self.answer, reasoning=self.reasoning or None)
        self._saved_at = self.clock()

    def tokens_per_second(self) -> float:
        elapsed = self.clock() - self.started
        return self.events / elapsed if elapsed > 0 else 0.0

    def finish(self, result: GenerationResult) -> StoredMessage:
        """Store the engine's final text (it is authoritative over the streamed pieces)."""
        first = result.generated[0] if result.generated else None
        if first is not None:
            self.answer = first.text
            self.reasoning = first.reasoning or self.reasoning
        status: Status = "stopped" if first is not None and first.finish_reason == "cancelled" else "complete"
        self.done = True
        return self.store.update_message(self.message_id, content=self.answer, reasoning=self.reasoning or None,
                                         status=status, engine=result.backend or self.engine,
                                         model=result.model or self.model, seed=result.seed)

    def stop(self) -> StoredMessage:
        """Stop pressed and the engine gave no result: keep what streamed so far."""
        self.done = True
        return self.store.update_message(self.message_id, content=self.answer, reasoning=self.reasoning or None,
                                         status="stopped")

    def fail(self) -> StoredMessage:
        self.done = True
        return self.store.update_message(self.message_id, content=self.answer, reasoning=self.reasoning or None,
                                         status="failed")


class ChatSession:
    """The open conversation: its messages in the store and the prompt the engine gets."""

    def __init__(self, store: ChatStore, *, clock: Callable[[], float] = time.monotonic,
                 save_interval: float = 0.2) -> None:
        self.store = store
        self.clock = clock
        self.save_interval = save_interval
        self.conversation_id: int | None = None
        self.reply: StoredReply | None = None

    # -- conversations -------------------------------------------------------------------------

    def new_conversation(self, system_prompt: str = "") -> Conversation:
        conv = self.store.create_conversation("", system_prompt=system_prompt)
        self.conversation_id = conv.id
        return conv

    def open(self, conversation_id: int) -> Conversation:
        conv = self.store.conversation(conversation_id)
        self.conversation_id = conv.id
        return conv

    def conversation(self) -> Conversation | None:
        return self.store.conversation(self.conversation_id) if self.conversation_id is not None else None

    def messages(self) -> list[StoredMessage]:
        return self.store.messages(self.conversation_id) if self.conversation_id is not None else []

    def set_system_prompt(self, text: str) -> None:
        self._ensure_conversation()
        assert self.conversation_id is not None
        self.store.set_system_prompt(self.conversation_id, text)

    def _ensure_conversation(self) -> int:
        if self.conversation_id is None:
            self.new_conversation()
        assert self.conversation_id is not None
        return self.conversation_id

    # -- what the engine is sent -----------------------------------------------------------------

    def prompt_messages(self, exclude: int | None = None, until: int | None = None) -> list[Message]:
        """System prompt, then every kept turn's answer (reasoning left out) on the branch on screen (up to
        and including the message ``until``)."""
        conv = self.conversation()
        out: list[dict[str, Any]] = []
        if conv is not None and conv.system_prompt.strip():
            out.append({"role": "system", "content": conv.system_prompt})
        branch = self.messages()
        if until is not None:
            branch = branch[: next((i + 1 for i, m in enumerate(branch) if m.id == until), len(branch))]
        for m in branch:
            if m.id == exclude or m.status not in _HISTORY_STATUSES:
                continue
            out.append(m.as_message())  # content parts where it has images
        from ..engine import history_for_model  # jinja2: imported on first send, not at start-up

        kept = [{"role": str(m["role"]),
                 "content": m["content"] if isinstance(m["content"], list) else str(m["content"])}
                for m in history_for_model(out)]
        return cast(list[Message], kept)

    # -- starting a reply ----------------------------------------------------------------------

    def send(self, text: str, *, engine: str, model: str, images: Sequence[bytes] = (),
             documents: Sequence[tuple[bytes, Mapping[str, Any]]] = ()) -> tuple[list[Message], StoredReply]:
        """Commit the user's message (with ``images``, checked PNG/JPEG/WebP bytes, and ``documents``, each the
        original's bytes and its extracted text, kept as files), open a partial reply; returns the prompt and
        the reply."""
        cid = self._ensure_conversation()
        if not self.messages() and not self.store.conversation(cid).title:
            first_name = str(documents[0][1].get("filename", "")) if documents else ""
            self.store.rename(cid, distinct_title(title_from(text or first_name) or "…", self.store.titles()))
        self._add_user(cid, text, images, documents)
        return self._start_reply(engine, model)

    def _add_user(self, cid: int, text: str, images: Sequence[bytes],
                  documents: Sequence[tuple[bytes, Mapping[str, Any]]] = (), **parent: Any) -> StoredMessage:
        stored = self.store.add_message(cid, "user", text, **parent)
        try:
            for data, document in documents:
                self.store.add_document(stored.id, data, document)
            for data in images:
                self.store.add_image(stored.id, data)
        except BaseException:  # nothing half-kept: the message and what it already had go
            self.store.delete_messages_from(cid, stored.id)
            raise
        return self.store.message(stored.id)

    def last_user_message(self) -> StoredMessage | None:
        users = [m for m in self.messages() if m.role == "user"]
        return users[-1] if users else None

    def can_regenerate(self) -> bool:
        return self.reply is None and self.last_user_message() is not None

    def regenerate(self, *, engine: str, model: str) -> tuple[list[Message], StoredReply]:
        """Ask again for the last user message; the earlier replies stay as its variants to page through."""
        last = self._require_last_user()
        prompt = self.prompt_messages(until=last.id)
        stored = self.store.add_message(last.conversation_id, "assistant", "", engine=engine, model=model,
                                        status="partial", parent_id=last.id)
        return prompt, self._open_reply(stored.id, engine, model)

    def edit(self, message_id: int, text: str, *, engine: str, model: str, images: Sequence[bytes] = (),
             documents: Sequence[tuple[bytes, Mapping[str, Any]]] = ()) -> tuple[list[Message], StoredReply]:
        """A new version of the user message ``message_id`` (it keeps its images and documents; ``images`` and
        ``documents``, as ``send`` takes them, are added): a branch beside the old one, which stays in the
        history as a variant. Then ask again."""
        self._require_last_user()
        old = self.store.message(message_id)
        if old.role != "user" or old.conversation_id != self.conversation_id:
            raise RuntimeError("only your own messages in this chat can be edited")
        kept = [Path(f).read_bytes() for f in old.images if Path(f).is_file()]
        had = [(Path(d.file).read_bytes(), d.document_json()) for d in old.documents if Path(d.file).is_file()]
        self._add_user(old.conversation_id, text, [*kept, *images], [*had, *documents], parent_id=old.parent_id)
        return self._start_reply(engine, model)

    def edit_last_user(self, text: str, *, engine: str, model: str) -> tuple[list[Message], StoredReply]:
        """Edit the last user message (see ``edit``)."""
        return self.edit(self._require_last_user().id, text, engine=engine, model=model)

    def variants(self) -> dict[int, tuple[int, int]]:
        """Message id -> (its place among its variants, how many): the pager each message shows."""
        return self.store.variant_counts(self.conversation_id) if self.conversation_id is not None else {}

    def show_variant(self, message_id: int, step: int) -> bool:
        """Page from ``message_id`` to the variant ``step`` places away; False when there is none."""
        if self.reply is not None:
            return False
        ids = self.store.variants(message_id)
        at = ids.index(message_id) + step if message_id in ids else -1
        if not 0 <= at < len(ids):
            return False
        self.store.show_branch(ids[at])
        return True

    def _require_last_user(self) -> StoredMessage:
        if self.reply is not None:
            raise RuntimeError("a reply is still streaming; stop it first")
        last = self.last_user_message()
        if last is None:
            raise RuntimeError("there is no user message yet")
        return last

    def _start_reply(self, engine: str, model: str) -> tuple[list[Message], StoredReply]:
        cid = self._ensure_conversation()
        prompt = self.prompt_messages()
        stored = self.store.add_message(cid, "assistant", "", engine=engine, model=model, status="partial")
        return prompt, self._open_reply(stored.id, engine, model)

    def _open_reply(self, message_id: int, engine: str, model: str) -> StoredReply:
        self.reply = StoredReply(self.store, message_id, engine, model, self.clock, self.save_interval)
        return self.reply

    def end_reply(self) -> None:
        self.reply = None
