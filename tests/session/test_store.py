"""Chat history store: WAL, ordering, partial replies, search, export, schema version, crash safety."""

from __future__ import annotations

import json
import sqlite3
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from exaone_desktop.session.store import SCHEMA_VERSION, ChatStore, StoreError

from tests.support.old_history import old_history


def test_opens_in_wal_mode_with_schema_version(store: ChatStore) -> None:
    assert store.journal_mode == "wal"
    assert store.schema_version == SCHEMA_VERSION


def test_conversation_crud_and_ordering(tmp_path: Path) -> None:
    ticks = iter(range(1, 1000))
    s = ChatStore(tmp_path / "h.sqlite3", clock=lambda: float(next(ticks)))
    a = s.create_conversation("first")
    b = s.create_conversation("second", system_prompt="be brief")
    assert [c.id for c in s.conversations()] == [b.id, a.id]
    s.add_message(a.id, "user", "hello")  # touching a conversation moves it to the top
    assert [c.id for c in s.conversations()] == [a.id, b.id]
    s.rename(b.id, "  renamed  ")
    assert s.conversation(b.id).title == "renamed"
    assert [c.id for c in s.conversations()] == [a.id, b.id]  # renaming is not activity
    assert s.conversation(b.id).system_prompt == "be brief"
    s.set_settings(b.id, {"temperature": 0.5})
    assert s.conversation(b.id).settings == {"temperature": 0.5}
    s.delete_conversation(a.id)
    assert [c.id for c in s.conversations()] == [b.id]
    assert s.messages(a.id) == []  # cascaded
    with pytest.raises(StoreError, match="does not exist"):
        s.conversation(a.id)


def test_partial_reply_is_updated_in_place_and_completed(store: ChatStore) -> None:
    c = store.create_conversation("t")
    store.add_message(c.id, "user", "q")
    m = store.add_message(c.id, "assistant", "", status="partial", engine="local", model="tiny")
    store.update_message(m.id, content="par")
    store.update_message(m.id, content="partial answer", reasoning="thinking", status="complete")
    got = store.messages(c.id)
    assert [x.role for x in got] == ["user", "assistant"]
    assert got[1].content == "partial answer" and got[1].reasoning == "thinking"
    assert got[1].status == "complete" and got[1].engine == "local"
    assert got[1].as_message() == {"role": "assistant", "content": "partial answer"}


def test_delete_messages_from_drops_the_tail(store: ChatStore) -> None:
    c = store.create_conversation("t")
    ids = [store.add_message(c.id, r, t).id for r, t in [("user", "1"), ("assistant", "2"), ("user", "3"),
                                                          ("assistant", "4")]]
    store.delete_messages_from(c.id, ids[2])
    assert [m.content for m in store.messages(c.id)] == ["1", "2"]


def test_rejects_unknown_role_and_status(store: ChatStore) -> None:
    c = store.create_conversation("t")
    with pytest.raises(StoreError, match="role"):
        store.add_message(c.id, "robot", "x")
    with pytest.raises(StoreError, match="status"):
        store.add_message(c.id, "user", "x", status="done")  # type: ignore[arg-type]


def test_search_matches_titles_and_content_literally(store: ChatStore) -> None:
    a = store.create_conversation("Cooking")
    b = store.create_conversation("Travel")
    store.add_message(a.id, "user", "how long to boil an egg?")
    store.add_message(b.id, "user", "서울에서 부산까지 얼마나 걸려요? 100% sure")
    assert [h.conversation_id for h in store.search("EGG")] == [a.id]
    assert [h.conversation_id for h in store.search("부산")] == [b.id]
    assert [h.conversation_id for h in store.search("travel")] == [b.id]
    assert [h.conversation_id for h in store.search("100%")] == [b.id]
    assert store.search("0%s") == []  # % is literal, not a wildcard
    assert "egg" in store.search("egg")[0].snippet
    assert {h.conversation_id for h in store.search("  ")} == {a.id, b.id}


def test_export_markdown_and_json(store: ChatStore, tmp_path: Path) -> None:
    c = store.create_conversation("Korean chat", system_prompt="You are EXAONE.")
    store.add_message(c.id, "user", "안녕하세요")
    store.add_message(c.id, "assistant", "```python\nprint(1)\n```", reasoning="hmm", engine="openai",
                      model="gpt-x")
    md = store.export(c.id, tmp_path / "out" / "chat.md").read_text(encoding="utf-8")
    assert md.startswith("# Korean chat\n")
    assert "You are EXAONE." in md and "안녕하세요" in md and "```python\nprint(1)\n```" in md
    assert "## Assistant (openai, gpt-x)" in md and "Reasoning" in md
    data = json.loads(store.export(c.id, tmp_path / "chat.json").read_text(encoding="utf-8"))
    assert data["conversation"]["title"] == "Korean chat"
    assert [m["content"] for m in data["messages"]] == ["안녕하세요", "```python\nprint(1)\n```"]
    assert data["messages"][1]["reasoning"] == "hmm"
    with pytest.raises(StoreError, match=r"\.md or \.json"):
        store.export(c.id, tmp_path / "chat.txt")
    assert sorted(p.name for p in tmp_path.iterdir() if p.name.startswith(".")) == []  # no temp files left


def test_reopen_keeps_everything(tmp_path: Path) -> None:
    s = ChatStore(tmp_path / "h.sqlite3")
    c = s.create_conversation("keep")
    s.add_message(c.id, "user", "persist me")
    s.close()
    s2 = ChatStore(tmp_path / "h.sqlite3")
    assert [m.content for m in s2.messages(c.id)] == ["persist me"]
    s2.close()


def test_newer_schema_is_refused_with_a_fix(tmp_path: Path) -> None:
    path = tmp_path / "h.sqlite3"
    db = sqlite3.connect(path)
    db.execute(f"PRAGMA user_version={SCHEMA_VERSION + 1}")
    db.close()
    with pytest.raises(StoreError, match="newer exaone-desktop"):
        ChatStore(path)


def test_kill_9_loses_no_committed_message(tmp_path: Path) -> None:
    path = tmp_path / "h.sqlite3"
    script = textwrap.dedent(f"""
        import os, signal, sys
        from exaone_desktop.session.store import ChatStore
        s = ChatStore({str(path)!r})
        c = s.create_conversation("crash")
        s.add_message(c.id, "user", "before the crash")
        m = s.add_message(c.id, "assistant", "", status="partial")
        s.update_message(m.id, content="half a rep")
        os.kill(os.getpid(), signal.SIGKILL)
    """)
    proc = subprocess.run([sys.executable, "-c", script], capture_output=True, timeout=60)
    assert proc.returncode == -9
    s = ChatStore(path)
    (conv,) = s.conversations()
    msgs = s.messages(conv.id)
    assert [(m.role, m.content, m.status) for m in msgs] == [
        ("user", "before the crash", "complete"), ("assistant", "half a rep", "partial")]
    s.close()


def test_schema_3_history_becomes_one_branch_and_keeps_everything(tmp_path: Path) -> None:
    """A history written before branches (schema 3) opens with every message on one branch, in order;
    regenerating and editing then keep the old reply and the old question as variants."""
    path = tmp_path / "history.sqlite3"
    with old_history(path, 3) as db:
        db.execute("INSERT INTO conversations(title, created_at, updated_at) VALUES ('old', 1, 1)")
        for i, (role, text) in enumerate([("user", "q1"), ("assistant", "a1"), ("user", "q2"), ("assistant", "a2")]):
            db.execute("INSERT INTO messages(conversation_id, role, content, status, created_at, updated_at, seed)"
                       " VALUES (1, ?, ?, 'complete', ?, ?, 7)", (role, text, i, i))
        db.execute("INSERT INTO messages(conversation_id, role, content, status, created_at, updated_at)"
                   " VALUES (1, 'user', 'other chat? no: same chat, later', 'complete', 9, 9)")

    s = ChatStore(path)
    assert s.schema_version == SCHEMA_VERSION == 5
    branch = s.messages(1)
    assert [m.content for m in branch] == ["q1", "a1", "q2", "a2", "other chat? no: same chat, later"]
    assert [m.parent_id for m in branch] == [None, 1, 2, 3, 4] and branch[1].seed == 7
    assert s.variant_counts(1) == {m.id: (1, 1) for m in branch}

    # a regenerated reply to q2 sits beside a2; the branch on screen follows the newest
    s.delete_messages_from(1, 5)
    again = s.add_message(1, "assistant", "a2 again", parent_id=3)
    assert [m.content for m in s.messages(1)] == ["q1", "a1", "q2", "a2 again"]
    assert s.variants(again.id) == [4, again.id] and s.variant_counts(1)[4] == (1, 2)
    s.show_branch(4)
    assert [m.content for m in s.messages(1)] == ["q1", "a1", "q2", "a2"]
    # an edited q1 starts a branch of its own; the old one is whole when paged back to
    edited = s.add_message(1, "user", "q1 edited", parent_id=None)
    assert [m.content for m in s.messages(1)] == ["q1 edited"] and s.variants(edited.id) == [1, edited.id]
    s.show_branch(1)
    assert [m.content for m in s.messages(1)] == ["q1", "a1", "q2", "a2 again"]  # the newest reply below q2
    s.close()
    reopened = ChatStore(path)
    assert [m.content for m in reopened.messages(1)] == ["q1", "a1", "q2", "a2 again"]
    assert len(reopened.all_messages(1)) == 6
    reopened.close()


def test_a_commit_that_fails_leaves_no_transaction_open(tmp_path: Path) -> None:
    """A COMMIT can fail (a full disk, a deferred constraint): the transaction is rolled back, so the store's next
    write still works instead of failing with "cannot start a transaction within a transaction"."""
    s = ChatStore(tmp_path / "h.db")
    db = s._db
    db.execute("CREATE TABLE parent_t (id INTEGER PRIMARY KEY)")
    db.execute("CREATE TABLE child_t (p INTEGER REFERENCES parent_t(id) DEFERRABLE INITIALLY DEFERRED)")
    with pytest.raises(sqlite3.IntegrityError):  # checked at COMMIT only
        with s._tx() as tx:
            tx.execute("INSERT INTO child_t VALUES (7)")
    assert not db.in_transaction
    assert s.create_conversation("after").title == "after"
    s.close()
