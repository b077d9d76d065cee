"""The chat history under concurrency: simultaneous migrations, writers in two processes, errors with messages,
and a second app on the same data folder refused with one line."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
import textwrap
import threading
from pathlib import Path
from typing import Any

import pytest
from exaone_desktop.session import store as store_module
from exaone_desktop.session.store import SCHEMA_VERSION, ChatStore, StoreError


class RacingStore(ChatStore):
    """Every instance reaches its schema migration at the same moment as the others."""

    barrier: threading.Barrier

    def _migrate(self) -> None:
        self.barrier.wait(timeout=30)
        super()._migrate()


def test_connections_migrating_at_once_all_succeed(tmp_path: Path) -> None:
    path = tmp_path / "history.sqlite3"
    n = 4
    RacingStore.barrier = threading.Barrier(n)
    versions: list[int] = []
    errors: list[BaseException] = []

    def open_store() -> None:
        try:
            s = RacingStore(path)
            versions.append(s.schema_version)
            s.create_conversation(threading.current_thread().name)
            s.close()
        except BaseException as err:  # noqa: BLE001 - collected for the assertion
            errors.append(err)

    threads = [threading.Thread(target=open_store, name=f"t{i}") for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == [] and versions == [SCHEMA_VERSION] * n
    with _opened(path) as s:
        assert sorted(c.title for c in s.conversations()) == [f"t{i}" for i in range(n)]


WRITER = textwrap.dedent("""
    import sys
    from exaone_desktop.session.store import ChatStore
    s = ChatStore(sys.argv[1])
    cid = int(sys.argv[2])
    for i in range(40):
        s.add_message(cid, "user", f"{sys.argv[3]}-{i}")
    s.close()
""")


def test_two_processes_opening_and_writing_at_once_lose_nothing(tmp_path: Path) -> None:
    path = tmp_path / "history.sqlite3"
    with _opened(path) as first:
        cid = first.create_conversation("shared").id
    procs = [subprocess.Popen([sys.executable, "-c", WRITER, str(path), str(cid), name]) for name in ("a", "b")]
    assert [p.wait(timeout=120) for p in procs] == [0, 0]
    with _opened(path) as s:
        contents = [m.content for m in s.messages(cid)]
    assert sorted(contents) == sorted(f"{n}-{i}" for n in ("a", "b") for i in range(40))
    assert [c for c in contents if c.startswith("a-")] == [f"a-{i}" for i in range(40)]  # each in its order


class RacingLeafStore(ChatStore):
    """Every writer that has read the conversation's end waits (briefly) for the other to read it too."""

    barrier: threading.Barrier

    def _leaf(self, conversation_id: int) -> int | None:
        leaf = super()._leaf(conversation_id)
        try:
            self.barrier.wait(timeout=2)
        except threading.BrokenBarrierError:
            pass  # the other writer could not read it meanwhile: it waits for this one's write to finish
        return leaf


def test_two_writers_never_attach_to_the_same_end(tmp_path: Path) -> None:
    """Two connections appending at once: each message follows the other's, none forks the branch (reading
    the end outside the write lock let both attach to the same parent, and one message left the chat)."""
    path = tmp_path / "history.sqlite3"
    with _opened(path) as first:
        cid = first.create_conversation("shared").id
    RacingLeafStore.barrier = threading.Barrier(2)
    errors: list[BaseException] = []

    def write(text: str) -> None:
        try:
            s = RacingLeafStore(path)
            s.add_message(cid, "user", text)
            s.close()
        except BaseException as err:  # noqa: BLE001 - collected for the assertion
            errors.append(err)

    threads = [threading.Thread(target=write, args=(name,)) for name in ("a", "b")]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    with _opened(path) as s:
        assert sorted(m.content for m in s.messages(cid)) == ["a", "b"]


def test_fresh_file_opened_by_several_processes_at_once(tmp_path: Path) -> None:
    path = tmp_path / "new.sqlite3"
    code = "import sys; from exaone_desktop.session.store import ChatStore; ChatStore(sys.argv[1]).close()"
    procs = [subprocess.Popen([sys.executable, "-c", code, str(path)], stderr=subprocess.PIPE, text=True)
             for _ in range(4)]
    results = [(p.wait(timeout=120), p.stderr.read() if p.stderr else "") for p in procs]
    assert results == [(0, "")] * 4
    with _opened(path) as s:
        assert s.schema_version == SCHEMA_VERSION


class _opened:  # noqa: N801 - a tiny context manager for the tests
    def __init__(self, path: Path) -> None:
        self.store = ChatStore(path)

    def __enter__(self) -> ChatStore:
        return self.store

    def __exit__(self, *exc: object) -> None:
        self.store.close()


def test_every_sqlite_error_becomes_a_store_error_with_a_message(tmp_path: Path, monkeypatch: Any) -> None:
    path = tmp_path / "history.sqlite3"
    s = ChatStore(path)
    c = s.create_conversation("t")
    monkeypatch.setattr(store_module, "BUSY_TIMEOUT_S", 0.05)
    s.close()
    s = ChatStore(path)
    other = sqlite3.connect(str(path), isolation_level=None)
    other.execute("BEGIN EXCLUSIVE")  # another program holds the write lock
    with pytest.raises(StoreError) as info:
        s.add_message(c.id, "user", "hi")
    message = str(info.value)
    assert "busy" in message and "--data-dir" in message and str(path) in message and "\n" not in message
    other.execute("ROLLBACK")
    s.add_message(c.id, "user", "hi")  # works again once the other writer is done
    other.execute("DROP TABLE messages")  # damaged from outside
    with pytest.raises(StoreError, match="no such table"):
        s.messages(c.id)
    with pytest.raises(StoreError):
        s.search("hi")
    other.close()
    s.close()


def test_a_file_that_is_not_a_database_is_one_line(tmp_path: Path) -> None:
    path = tmp_path / "history.sqlite3"
    path.write_bytes(b"this is not sqlite" * 100)
    with pytest.raises(StoreError) as info:
        ChatStore(path)
    assert "not a chat history database" in str(info.value) and "move" in str(info.value)


@pytest.mark.skipif(os.name != "posix", reason="a second app process on the same folder")
def test_second_app_on_the_same_data_folder_is_refused(qtbot: Any, tmp_path: Path) -> None:
    from tests.support.app_fixtures import isolated_app

    with isolated_app(tmp_path) as first:
        env = {**os.environ, "QT_QPA_PLATFORM": "offscreen", "HOME": str(tmp_path)}
        done = subprocess.run([sys.executable, "-m", "exaone_desktop", "--data-dir", str(tmp_path / "data")],
                              capture_output=True, text=True, timeout=120, env=env)
        assert done.returncode == 1
        assert done.stderr.count("\n") == 1 and "already running" in done.stderr and str(os.getpid()) in done.stderr
        first.ctx.store.add_message(first.ctx.store.create_conversation("kept").id, "user", "still mine")
    # once the first app has closed its history, the folder is free again
    code = ("import sys; from exaone_desktop.app import create_app; a = create_app(['--data-dir', sys.argv[1]]); "
            "print(len(a.ctx.store.conversations())); a.ctx.store.close()")
    done = subprocess.run([sys.executable, "-c", code, str(tmp_path / "data")], capture_output=True, text=True,
                          timeout=120, env={**os.environ, "QT_QPA_PLATFORM": "offscreen"})
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "1"
