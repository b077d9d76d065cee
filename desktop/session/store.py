"""Chat history in SQLite (WAL): conversations and their messages, committed as they happen.

Images attached to a message are files in the ``images`` folder beside the database (one folder per
conversation), referenced from the ``images`` table and removed with their message or conversation.
Documents likewise: the original file and its extracted text (JSON: pages or sections) in ``documents``,
referenced from the ``documents`` table (schema 4).

Every write is its own transaction, so a ``kill -9`` loses at most the write in flight. A reply is
stored as ``partial`` while it streams and becomes ``complete`` (or ``stopped``) when it ends.

A conversation is a tree (schema 4): each message names its ``parent_id`` (the message it follows), so a
regenerated reply or an edited question is a sibling of the one it replaces and nothing is thrown away.
The conversation's ``leaf_id`` is the end of the branch on screen; ``messages()`` is that branch, root
first, and ``variants()`` are a message's siblings to page through. Histories written before schema 4 become
one straight branch (each message's parent is the one before it).
"""

from __future__ import annotations

import contextlib
import functools
import json
import sqlite3
import time
import uuid
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TypeVar

from exaone_convert import atomic_write_bytes, atomic_write_text

from .history_export import conversation_json, conversation_markdown, write_export
from .history_records import ROLES, STATUSES, Conversation, SearchHit, Status, StoredDocument, StoredMessage
from .history_schema import (
    BUSY_TIMEOUT_S,
    DB_NAME,
    DOCUMENTS_DIR,
    IMAGES_DIR,
    LEAF,
    MIGRATIONS,
    SCHEMA_VERSION,
    StoreError,
    store_error,
)
from .history_search import search_history

__all__ = [
    "DB_NAME", "LEAF", "ROLES", "SCHEMA_VERSION", "STATUSES", "ChatStore", "Conversation", "SearchHit", "Status",
    "StoreError", "StoredDocument", "StoredMessage", "default_data_dir",
]

T = TypeVar("T")


def _guarded(method: Any) -> Any:
    """Every sqlite3.Error of a store method becomes a StoreError with a message that names the fix."""
    @functools.wraps(method)
    def wrapper(self: ChatStore, *args: Any, **kwargs: Any) -> Any:
        try:
            return method(self, *args, **kwargs)
        except sqlite3.Error as err:
            raise store_error(self.path, err) from None

    return wrapper


def default_data_dir() -> Path:
    """The platform's user data directory for the app (created on demand)."""
    import platformdirs

    return Path(platformdirs.user_data_dir("exaone-desktop", appauthor=False))


class ChatStore:
    """Conversations and messages in one SQLite file. Use from one thread (the GUI's)."""

    def __init__(self, path: Path | str, *, clock: Any = time.time) -> None:
        self.path = Path(path)
        self._clock = clock
        self.on_close: list[Callable[[], object]] = []  # run once the database is closed (e.g. a folder lock)
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._db = sqlite3.connect(str(self.path), isolation_level=None, timeout=BUSY_TIMEOUT_S)
        except (OSError, sqlite3.Error) as exc:
            raise StoreError(f"cannot open chat history {self.path}: {exc}; check the folder's permissions") from exc
        try:
            self._db.row_factory = sqlite3.Row
            self._switch_to_wal()
            self._db.execute("PRAGMA synchronous=NORMAL")  # durable across a process crash in WAL mode
            self._db.execute("PRAGMA foreign_keys=ON")
            self._migrate()
        except sqlite3.Error as err:
            self._db.close()
            raise store_error(self.path, err) from None
        except BaseException:
            self._db.close()
            raise

    @classmethod
    def open_default(cls, data_dir: Path | None = None) -> ChatStore:
        return cls((data_dir or default_data_dir()) / DB_NAME)

    def close(self) -> None:
        self._db.close()
        callbacks, self.on_close = self.on_close, []
        for callback in callbacks:
            callback()

    @property
    @_guarded
    def journal_mode(self) -> str:
        return str(self._db.execute("PRAGMA journal_mode").fetchone()[0])

    @property
    @_guarded
    def schema_version(self) -> int:
        return int(self._db.execute("PRAGMA user_version").fetchone()[0])

    @contextmanager
    def _tx(self) -> Iterator[sqlite3.Connection]:
        self._db.execute("BEGIN IMMEDIATE")
        try:
            yield self._db
            self._db.execute("COMMIT")
        except BaseException:
            if self._db.in_transaction:  # a failed COMMIT (a full disk) leaves it open: the next write must work
                self._db.execute("ROLLBACK")
            raise

    def _switch_to_wal(self) -> None:
        """``PRAGMA journal_mode=WAL``, waiting out other connections that open the same new file at once.

        Changing the journal mode needs an exclusive lock, and SQLite answers "database is locked" at once
        (without its busy handler) while another connection holds the file, so wait here up to BUSY_TIMEOUT_S.
        """
        deadline = time.monotonic() + BUSY_TIMEOUT_S
        while True:
            try:
                self._db.execute("PRAGMA journal_mode=WAL")
                return
            except sqlite3.OperationalError as err:
                text = str(err).lower()
                if ("locked" not in text and "busy" not in text) or time.monotonic() > deadline:
                    raise
                time.sleep(0.02)

    def _migrate(self) -> None:
        """Bring the schema up to date in one write transaction: the version is read under the write lock,
        so two connections opening a new file at once migrate it once (the second finds it done)."""
        with self._tx() as db:
            version = int(db.execute("PRAGMA user_version").fetchone()[0])
            if version > SCHEMA_VERSION:
                raise StoreError(
                    f"chat history {self.path} was written by a newer exaone-desktop (schema {version}); "
                    "update the app or start it with another --data-dir"
                )
            for target in range(version + 1, SCHEMA_VERSION + 1):
                for statement in MIGRATIONS[target]:
                    db.execute(statement)
                db.execute(f"PRAGMA user_version={target}")

    # -- conversations -------------------------------------------------------------------------

    @_guarded
    def create_conversation(self, title: str = "", system_prompt: str = "",
                            settings: Mapping[str, Any] | None = None) -> Conversation:
        now = self._clock()
        with self._tx() as db:
            cur = db.execute(
                "INSERT INTO conversations(title, system_prompt, settings_json, created_at, updated_at)"
                " VALUES (?, ?, ?, ?, ?)",
                (title, system_prompt, json.dumps(dict(settings or {})), now, now),
            )
        return self.conversation(int(cur.lastrowid or 0))

    @_guarded
    def conversation(self, conversation_id: int) -> Conversation:
        row = self._db.execute("SELECT * FROM conversations WHERE id = ?", (conversation_id,)).fetchone()
        if row is None:
            raise StoreError(f"conversation {conversation_id} does not exist; it may have been deleted")
        return Conversation(
            id=row["id"], title=row["title"], system_prompt=row["system_prompt"],
            settings=json.loads(row["settings_json"]), created_at=row["created_at"], updated_at=row["updated_at"],
            leaf_id=row["leaf_id"],
        )

    @_guarded
    def conversations(self) -> list[Conversation]:
        """Every conversation, most recently updated first."""
        ids = self._db.execute("SELECT id FROM conversations ORDER BY updated_at DESC, id DESC").fetchall()
        return [self.conversation(row["id"]) for row in ids]

    def _update_conversation(self, conversation_id: int, column: str, value: Any, *, touch: bool = True) -> None:
        """Set one column; ``touch`` also marks the conversation as recently active (sidebar order)."""
        self.conversation(conversation_id)  # raises for a missing one
        with self._tx() as db:
            db.execute(f"UPDATE conversations SET {column} = ? WHERE id = ?", (value, conversation_id))
            if touch:
                db.execute("UPDATE conversations SET updated_at = ? WHERE id = ?", (self._clock(), conversation_id))

    @_guarded
    def titles(self) -> set[str]:
        """Every conversation's title (to keep a new one distinct)."""
        return {str(row[0]) for row in self._db.execute("SELECT title FROM conversations").fetchall()}

    @_guarded
    def rename(self, conversation_id: int, title: str) -> None:
        """A new title; the conversation keeps its place in the list."""
        self._update_conversation(conversation_id, "title", title.strip(), touch=False)

    @_guarded
    def set_system_prompt(self, conversation_id: int, system_prompt: str) -> None:
        self._update_conversation(conversation_id, "system_prompt", system_prompt)

    @_guarded
    def set_settings(self, conversation_id: int, settings: Mapping[str, Any]) -> None:
        self._update_conversation(conversation_id, "settings_json", json.dumps(dict(settings)))

    @_guarded
    def delete_conversation(self, conversation_id: int) -> None:
        files = self._attached_files("m.conversation_id = ?", (conversation_id,))
        with self._tx() as db:
            db.execute("DELETE FROM conversations WHERE id = ?", (conversation_id,))
        self._remove_files(files)
        for folder in (self.images_dir, self.documents_dir):
            with contextlib.suppress(OSError):
                (folder / str(conversation_id)).rmdir()

    # -- images --------------------------------------------------------------------------------

    @property
    def images_dir(self) -> Path:
        return self.path.parent / IMAGES_DIR

    @_guarded
    def add_image(self, message_id: int, data: bytes) -> Path:
        """Keep ``data`` (a PNG, JPEG or WebP, checked by the caller) as a file of ``message_id``; written
        atomically, then referenced from the database."""
        from ..engine import sniff

        found = sniff(data)
        if found is None:
            raise StoreError("only PNG, JPEG and WebP images can be attached; attach one of those")
        message = self.message(message_id)
        name = f"{message.conversation_id}/{message_id}-{uuid.uuid4().hex[:12]}.{found.name.lower()}"
        target = self.images_dir / name
        try:
            target.parent.mkdir(parents=True, exist_ok=True)
            atomic_write_bytes(target, data)
        except OSError as err:
            raise StoreError(f"cannot keep the image in {self.images_dir}: {err.strerror or err}; "
                             "check the disk and the folder's permissions") from None
        try:
            with self._tx() as db:
                db.execute("INSERT INTO images(message_id, file) VALUES (?, ?)", (message_id, name))
        except BaseException:
            target.unlink(missing_ok=True)
            raise
        return target

    def _images_of(self, message_ids: list[int]) -> dict[int, tuple[str, ...]]:
        return self._attached("images", message_ids, lambda row: str(self.images_dir / row["file"]))

    @staticmethod
    def _remove_files(files: list[Path]) -> None:
        for f in files:
            with contextlib.suppress(OSError):
                f.unlink(missing_ok=True)

    # -- documents -----------------------------------------------------------------------------

    @property
    def documents_dir(self) -> Path:
        return self.path.parent / DOCUMENTS_DIR

    @_guarded
    def add_document(self, message_id: int, data: bytes, document: Mapping[str, Any]) -> StoredDocument:
        """Keep a document of ``message_id``: the original ``data`` and its extracted text ``document``
        (``Document.to_json()``, read by the caller), both written atomically, then referenced."""
        message = self.message(message_id)
        filename = Path(str(document.get("filename", "document")).replace("\\", "/")).name or "document"
        stem = f"{message.conversation_id}/{message_id}-{uuid.uuid4().hex[:12]}"
        suffix = Path(filename).suffix.lower()
        names = (f"{stem}{suffix}", f"{stem}.json")
        targets = [self.documents_dir / n for n in names]
        try:
            targets[0].parent.mkdir(parents=True, exist_ok=True)
            atomic_write_bytes(targets[0], data)
            atomic_write_text(targets[1], json.dumps(dict(document), ensure_ascii=False))
        except OSError as err:
            self._remove_files(targets)
            raise StoreError(f"cannot keep the document in {self.documents_dir}: {err.strerror or err}; "
                             "check the disk and the folder's permissions") from None
        try:
            with self._tx() as db:
                db.execute("INSERT INTO documents(message_id, filename, format, file, text_file)"
                           " VALUES (?, ?, ?, ?, ?)", (message_id, filename, str(document.get("format", "")), *names))
        except BaseException:
            self._remove_files(targets)
            raise
        return StoredDocument(filename, str(document.get("format", "")), str(targets[0]), str(targets[1]))

    def _documents_of(self, message_ids: list[int]) -> dict[int, tuple[StoredDocument, ...]]:
        return self._attached("documents", message_ids, lambda row: StoredDocument(
            row["filename"], row["format"], str(self.documents_dir / row["file"]),
            str(self.documents_dir / row["text_file"])))

    # -- what images and documents share -------------------------------------------------------

    def _attached(self, table: str, message_ids: list[int],
                  make: Callable[[sqlite3.Row], T]) -> dict[int, tuple[T, ...]]:
        """``make(row)`` for each row of ``table`` (``images``, ``documents``) of ``message_ids``, by message, in
        the order they were attached."""
        if not message_ids:
            return {}
        marks = ",".join("?" * len(message_ids))
        rows = self._db.execute(f"SELECT * FROM {table} WHERE message_id IN ({marks}) ORDER BY id",
                                message_ids).fetchall()
        found: dict[int, list[T]] = {}
        for row in rows:
            found.setdefault(int(row["message_id"]), []).append(make(row))
        return {k: tuple(v) for k, v in found.items()}

    def _attached_files(self, where: str, args: tuple[Any, ...]) -> list[Path]:
        """The files kept for the images and documents of the messages ``where`` picks (it names them ``m``)."""
        files: list[Path] = []
        for table, folder, columns in (("images", self.images_dir, ("file",)),
                                       ("documents", self.documents_dir, ("file", "text_file"))):
            rows = self._db.execute(f"SELECT {', '.join('a.' + c for c in columns)} FROM {table} a "
                                    f"JOIN messages m ON m.id = a.message_id WHERE {where}", args).fetchall()
            files += [folder / row[c] for row in rows for c in columns]
        return files

    # -- messages ------------------------------------------------------------------------------

    @_guarded
    def add_message(self, conversation_id: int, role: str, content: str, *, reasoning: str | None = None,
                    engine: str = "", model: str = "", status: Status = "complete",
                    parent_id: int | None = LEAF) -> StoredMessage:
        """A new message after ``parent_id`` (default: the end of the branch on screen; None: a first message),
        which becomes the end of the branch on screen."""
        if role not in ROLES:
            raise StoreError(f"unknown message role {role!r}; use one of {sorted(ROLES)}")
        if status not in STATUSES:
            raise StoreError(f"unknown message status {status!r}; use one of {sorted(STATUSES)}")
        now = self._clock()
        with self._tx() as db:  # the leaf is read inside the write lock: two writers never share a parent
            if parent_id == LEAF:
                parent_id = self._leaf(conversation_id)
            cur = db.execute(
                "INSERT INTO messages(conversation_id, role, content, reasoning, engine, model, status,"
                " created_at, updated_at, parent_id) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (conversation_id, role, content, reasoning, engine, model, status, now, now, parent_id),
            )
            db.execute("UPDATE conversations SET updated_at = ?, leaf_id = ? WHERE id = ?",
                       (now, cur.lastrowid, conversation_id))
        return self.message(int(cur.lastrowid or 0))

    @_guarded
    def update_message(self, message_id: int, *, content: str | None = None, reasoning: str | None = None,
                       status: Status | None = None, engine: str | None = None,
                       model: str | None = None, seed: int | None = None) -> StoredMessage:
        changes = {k: v for k, v in (("content", content), ("reasoning", reasoning), ("status", status),
                                     ("engine", engine), ("model", model), ("seed", seed)) if v is not None}
        if status is not None and status not in STATUSES:
            raise StoreError(f"unknown message status {status!r}; use one of {sorted(STATUSES)}")
        now = self._clock()
        if changes:
            assignments = ", ".join(f"{name} = ?" for name in changes)
            with self._tx() as db:
                db.execute(f"UPDATE messages SET {assignments}, updated_at = ? WHERE id = ?",
                           (*changes.values(), now, message_id))
        return self.message(message_id)

    @_guarded
    def message(self, message_id: int) -> StoredMessage:
        row = self._db.execute("SELECT * FROM messages WHERE id = ?", (message_id,)).fetchone()
        if row is None:
            raise StoreError(f"message {message_id} does not exist")
        images = self._images_of([message_id]).get(message_id, ())
        documents = self._documents_of([message_id]).get(message_id, ())
        return StoredMessage(**{k: row[k] for k in row.keys()}, images=images, documents=documents)

    @_guarded
    def all_messages(self, conversation_id: int) -> list[StoredMessage]:
        """Every message of the conversation, every branch, oldest first."""
        rows = self._db.execute("SELECT * FROM messages WHERE conversation_id = ? ORDER BY id",
                                (conversation_id,)).fetchall()
        ids = [int(row["id"]) for row in rows]
        images, documents = self._images_of(ids), self._documents_of(ids)
        return [StoredMessage(**{k: row[k] for k in row.keys()}, images=images.get(int(row["id"]), ()),
                              documents=documents.get(int(row["id"]), ())) for row in rows]

    @_guarded
    def messages(self, conversation_id: int) -> list[StoredMessage]:
        """The branch on screen, first message first: from the conversation's leaf up through the parents."""
        everything = {m.id: m for m in self.all_messages(conversation_id)}
        leaf = self._leaf(conversation_id)
        branch: list[StoredMessage] = []
        while leaf is not None and leaf in everything:
            branch.append(everything.pop(leaf))  # popped: a damaged parent loop cannot run forever
            leaf = branch[-1].parent_id
        return branch[::-1]

    def _leaf(self, conversation_id: int) -> int | None:
        """The end of the branch on screen: the conversation's leaf, or its newest message."""
        row = self._db.execute(
            "SELECT COALESCE((SELECT m.id FROM messages m JOIN conversations c ON c.leaf_id = m.id"
            "  WHERE c.id = :c AND m.conversation_id = :c),"
            " (SELECT MAX(id) FROM messages WHERE conversation_id = :c))", {"c": conversation_id}).fetchone()
        return None if row[0] is None else int(row[0])

    @_guarded
    def variants(self, message_id: int) -> list[int]:
        """The ids of ``message_id`` and its siblings (same parent, same role), oldest first: the replies a
        regenerate kept, or the versions of an edited question."""
        m = self.message(message_id)
        rows = self._db.execute("SELECT id FROM messages WHERE conversation_id = ? AND parent_id IS ? AND role = ?"
                                " ORDER BY id", (m.conversation_id, m.parent_id, m.role)).fetchall()
        return [int(row[0]) for row in rows]

    @_guarded
    def variant_counts(self, conversation_id: int) -> dict[int, tuple[int, int]]:
        """Message id -> (its place among its variants from 1, how many there are), for every message."""
        groups: dict[tuple[int | None, str], list[int]] = {}
        for row in self._db.execute("SELECT id, parent_id, role FROM messages WHERE conversation_id = ? ORDER BY id",
                                    (conversation_id,)).fetchall():
            groups.setdefault((row["parent_id"], row["role"]), []).append(int(row["id"]))
        return {mid: (i + 1, len(ids)) for ids in groups.values() for i, mid in enumerate(ids)}

    @_guarded
    def show_branch(self, message_id: int) -> None:
        """Put ``message_id`` on screen: the branch through it, down its newest replies to their end."""
        m = self.message(message_id)
        leaf = m.id
        while True:
            row = self._db.execute("SELECT MAX(id) FROM messages WHERE conversation_id = ? AND parent_id = ?",
                                   (m.conversation_id, leaf)).fetchone()
            if row[0] is None:
                break
            leaf = int(row[0])
        with self._tx() as db:
            db.execute("UPDATE conversations SET leaf_id = ? WHERE id = ?", (leaf, m.conversation_id))

    @_guarded
    def delete_messages_from(self, conversation_id: int, message_id: int) -> None:
        """Delete ``message_id`` and every later message of the conversation (regenerate, edit)."""
        files = self._attached_files("m.conversation_id = ? AND m.id >= ?", (conversation_id, message_id))
        with self._tx() as db:
            db.execute("DELETE FROM messages WHERE conversation_id = ? AND id >= ?", (conversation_id, message_id))
            db.execute("UPDATE conversations SET leaf_id = NULL WHERE id = ? AND leaf_id >= ?",
                       (conversation_id, message_id))
        self._remove_files(files)

    # -- search and export ---------------------------------------------------------------------

    @_guarded
    def search(self, query: str) -> list[SearchHit]:
        """Conversations whose title or any message contains ``query``, most recent first."""
        query = query.strip()
        if not query:
            return [SearchHit(c.id, c.title, "", c.updated_at) for c in self.conversations()]
        return search_history(self._db, query)

    @_guarded
    def to_json(self, conversation_id: int) -> dict[str, Any]:
        return conversation_json(self.conversation(conversation_id), self.messages(conversation_id))

    @_guarded
    def to_markdown(self, conversation_id: int) -> str:
        return conversation_markdown(self.conversation(conversation_id), self.messages(conversation_id))

    @_guarded
    def export(self, conversation_id: int, path: Path | str) -> Path:
        """Write the conversation as Markdown (``.md``) or JSON (``.json``), atomically."""
        return write_export(path, self.conversation(conversation_id), self.messages(conversation_id))
