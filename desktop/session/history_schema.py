"""The chat history's database: its schema versions and migrations, its files, and its errors in plain words."""

from __future__ import annotations

import sqlite3
from pathlib import Path

SCHEMA_VERSION = 5
IMAGES_DIR = "images"
DOCUMENTS_DIR = "documents"
DB_NAME = "history.sqlite3"

# One entry per schema version: the statements that bring version N-1 to N.
MIGRATIONS: dict[int, tuple[str, ...]] = {
    1: (
        """CREATE TABLE conversations (
            id INTEGER PRIMARY KEY AUTOINCREMENT,
            title TEXT NOT NULL,
            system_prompt TEXT NOT NULL DEFAULT '',
            settings_json TEXT NOT NULL DEFAULT '{}',
            created_at REAL NOT NULL,
            updated_at REAL NOT NULL)""",
        """CREATE TABLE messages (
            id INTEGER PRIMARY KEY AUTOINCREMENT,
            conversation_id INTEGER NOT NULL REFERENCES conversations(id) ON DELETE CASCADE,
            role TEXT NOT NULL,
            content TEXT NOT NULL,
            reasoning TEXT,
            engine TEXT NOT NULL DEFAULT '',
            model TEXT NOT NULL DEFAULT '',
            status TEXT NOT NULL,
            created_at REAL NOT NULL,
            updated_at REAL NOT NULL)""",
        "CREATE INDEX messages_by_conversation ON messages(conversation_id, id)",
    ),
    2: ("ALTER TABLE messages ADD COLUMN seed INTEGER",),  # the sampling seed of a reply (None: greedy)
    3: (  # images attached to a message: files under IMAGES_DIR, named relative to it
        """CREATE TABLE images (
            id INTEGER PRIMARY KEY AUTOINCREMENT,
            message_id INTEGER NOT NULL REFERENCES messages(id) ON DELETE CASCADE,
            file TEXT NOT NULL)""",
        "CREATE INDEX images_by_message ON images(message_id, id)",
    ),
    4: (  # branches: a regenerated reply or an edited question keeps the one it replaces as a sibling
        "ALTER TABLE messages ADD COLUMN parent_id INTEGER",
        "UPDATE messages SET parent_id = (SELECT MAX(p.id) FROM messages p"
        " WHERE p.conversation_id = messages.conversation_id AND p.id < messages.id)",
        "CREATE INDEX messages_by_parent ON messages(conversation_id, parent_id, id)",
        "ALTER TABLE conversations ADD COLUMN leaf_id INTEGER",  # NULL: the newest message
    ),
    5: (  # documents attached to a message: the original and its extracted text, under DOCUMENTS_DIR
        """CREATE TABLE documents (
            id INTEGER PRIMARY KEY AUTOINCREMENT,
            message_id INTEGER NOT NULL REFERENCES messages(id) ON DELETE CASCADE,
            filename TEXT NOT NULL,
            format TEXT NOT NULL,
            file TEXT NOT NULL,
            text_file TEXT NOT NULL)""",
        "CREATE INDEX documents_by_message ON documents(message_id, id)",
    ),
}

# add_message's parent when none is named: the end of the branch on screen.
LEAF = -1


class StoreError(Exception):
    """A history-database problem; the message names the fix."""


BUSY_TIMEOUT_S = 10.0  # how long a write waits for another connection (a second window) to finish its own
# sqlite3 error text -> what it means for the user and what to do ({path} is the history file).
SQLITE_FIXES: tuple[tuple[str, str], ...] = (
    ("locked", "is busy in another exaone-desktop window; close that window, or start this one with "
               "another --data-dir"),
    ("busy", "is busy in another exaone-desktop window; close that window, or start this one with "
             "another --data-dir"),
    ("malformed", "is damaged; move {path} aside (the app starts a new history) and restore a backup if you have one"),
    ("not a database", "is not a chat history database; move {path} aside and start the app again"),
    ("readonly", "cannot be written; check the permissions of {path} and its folder"),
    ("unable to open", "cannot be opened; check that the folder of {path} exists and is writable"),
    ("disk i/o", "could not be read or written (disk error); check the disk and free space"),
    ("full", "cannot grow: the disk is full; free some space"),
)


def store_error(path: Path, err: sqlite3.Error) -> StoreError:
    text = " ".join(str(err).split()) or type(err).__name__
    fix = next((f for key, f in SQLITE_FIXES if key in text.lower()),
               "failed; check the disk and the folder's permissions")
    return StoreError(f"chat history {path} {fix.format(path=path)} ({text})")
