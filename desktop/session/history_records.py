"""What the chat history holds, as the store hands it out: conversations, messages, documents, search hits."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

Status = Literal["partial", "complete", "stopped", "failed"]
STATUSES: frozenset[str] = frozenset({"partial", "complete", "stopped", "failed"})
ROLES: frozenset[str] = frozenset({"system", "user", "assistant"})


@dataclass(frozen=True)
class Conversation:
    id: int
    title: str
    system_prompt: str
    settings: dict[str, Any]
    created_at: float
    updated_at: float
    leaf_id: int | None = None  # the end of the branch on screen (None: the newest message)


@dataclass(frozen=True)
class StoredDocument:
    filename: str  # the name it was attached under
    format: str  # "PDF", "DOCX", "HWP", "HWPX", "text"
    file: str  # absolute path of the kept original
    text_file: str  # absolute path of its extracted text (``Document.to_json()``)

    def document_json(self) -> dict[str, Any]:
        """The extracted text as ``Document.to_json()`` gave it (a missing or damaged file: no text)."""
        try:
            data = json.loads(Path(self.text_file).read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return {"filename": self.filename, "format": self.format, "units": []}
        return data if isinstance(data, dict) else {"filename": self.filename, "format": self.format, "units": []}


@dataclass(frozen=True)
class StoredMessage:
    id: int
    conversation_id: int
    role: str
    content: str
    reasoning: str | None
    engine: str
    model: str
    status: str
    created_at: float
    updated_at: float
    seed: int | None = None
    parent_id: int | None = None  # the message this one follows (None: the first of its conversation)
    images: tuple[str, ...] = ()  # absolute paths of the attached image files, in order
    documents: tuple[StoredDocument, ...] = ()

    def as_message(self) -> dict[str, Any]:
        """The ``{"role", "content"}`` form a generator takes; reasoning is never part of it. A message with
        images or documents has OpenAI-style content parts: the documents (``file`` parts carrying their
        extracted text), the images (``image_url`` with the file path), then the text."""
        if not self.images and not self.documents:
            return {"role": self.role, "content": self.content}
        parts: list[dict[str, Any]] = [
            {"type": "file", "file": {"filename": d.filename, "document": d.document_json(), "path": d.file}}
            for d in self.documents]
        parts += [{"type": "image_url", "image_url": {"url": f}} for f in self.images]
        return {"role": self.role, "content": [*parts, {"type": "text", "text": self.content}]}


@dataclass(frozen=True)
class SearchHit:
    conversation_id: int
    title: str
    snippet: str
    updated_at: float = 0.0  # when the conversation was last active (seconds since the epoch)
