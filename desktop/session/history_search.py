"""Search over the chat history: conversations whose title or any message contains a text, with a snippet."""

from __future__ import annotations

import sqlite3

from .history_records import SearchHit

# The first message that matches gives the snippet; titles match too. LIKE with '\' escaping, so that % and _
# in the query are literal.
_SEARCH = (
    "SELECT c.id, c.title, c.updated_at,"
    " (SELECT m.content FROM messages m WHERE m.conversation_id = c.id"
    "  AND m.content LIKE :p ESCAPE '\\' ORDER BY m.id LIMIT 1) AS hit"
    " FROM conversations c"
    " WHERE c.title LIKE :p ESCAPE '\\' OR EXISTS (SELECT 1 FROM messages m"
    "  WHERE m.conversation_id = c.id AND m.content LIKE :p ESCAPE '\\')"
    " ORDER BY c.updated_at DESC, c.id DESC"
)


def search_history(db: sqlite3.Connection, query: str) -> list[SearchHit]:
    """Conversations matching the (non-empty, stripped) ``query``, most recent first."""
    escaped = query.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    rows = db.execute(_SEARCH, {"p": f"%{escaped}%"}).fetchall()
    return [SearchHit(row["id"], row["title"], snippet(row["hit"] or row["title"], query), row["updated_at"])
            for row in rows]


def snippet(text: str, query: str, width: int = 60) -> str:
    """About ``width`` characters of ``text`` around the first ``query`` (case-insensitive), on one line."""
    at = text.lower().find(query.lower())
    if at < 0:
        return text[:width].replace("\n", " ")
    start = max(0, at - width // 2)
    piece = text[start:at + len(query) + width // 2].replace("\n", " ")
    return ("…" if start else "") + piece
