"""Chat messages with content parts added: the files a user attaches go first in their last message."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any, TypeVar

F = TypeVar("F")


def with_parts(prompt: str | Sequence[Mapping[str, Any]], files: Sequence[F], part: Callable[[F], dict[str, Any]],
               no_user: Exception) -> list[dict[str, Any]]:
    """``prompt`` as chat messages (a plain string becomes one user message) with ``part(f)`` for each of
    ``files`` at the start of the last user message's content; ``no_user`` is raised when there is no user
    message to take them (before any part is made)."""
    messages: list[dict[str, Any]] = ([{"role": "user", "content": prompt}] if isinstance(prompt, str)
                                      else [dict(m) for m in prompt])
    if not files:
        return messages
    users = [i for i, m in enumerate(messages) if m.get("role") == "user"]
    if not users:
        raise no_user
    last = messages[users[-1]]
    content = last.get("content", "")
    parts = list(content) if isinstance(content, list) else [{"type": "text", "text": str(content)}]
    last["content"] = [part(f) for f in files] + parts
    return messages
