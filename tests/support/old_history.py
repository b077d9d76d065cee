"""Chat histories as older releases left them, for the tests of the store's migrations."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from exaone_desktop.session.store import MIGRATIONS


@contextmanager
def old_history(path: Path, version: int) -> Iterator[sqlite3.Connection]:
    """A history database at ``path`` with schema ``version`` (the store's migrations 1 to ``version``); the
    block writes its rows through the connection (autocommit), which is closed after it."""
    db = sqlite3.connect(str(path), isolation_level=None)
    try:
        for step in range(1, version + 1):
            for statement in MIGRATIONS[step]:
                db.execute(statement)
        db.execute(f"PRAGMA user_version={version}")
        yield db
    finally:
        db.close()
