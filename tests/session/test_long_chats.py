"""Long conversations in the app: a chat that outgrows the context keeps going (the oldest turns left out of
the prompt, the history whole), the status line shows what was reused and read, and the conversation's id
reaches the engine so a chat you come back to is not read again. Real tiny GGUF, real store, real window."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from exaone_desktop.session.controller import ChatController
from exaone_desktop.session.settings_state import SettingsState
from exaone_desktop.session.store import ChatStore
from exaone_desktop.session.turns import Turn

from tests.support.app_fixtures import convert_tiny, isolated_app
from tests.support.generation_models import tiny_gguf

TIMEOUT_MS = 120_000
N_CTX = 160
TURN = ("Tell me about the river, the mountain, the city and the sea, one more time please. " * 2).strip()


@pytest.fixture(scope="module")
def small_context(tiny_checkpoint: Any) -> Iterator[Any]:
    from exaone_desktop.engine.llama.local import LocalGenerator

    gen = LocalGenerator(tiny_gguf("exaone4", tiny_checkpoint), n_ctx=N_CTX, n_threads=1)
    yield gen
    gen.close()


def run(c: ChatController, turn: Turn) -> Any:
    box: dict[str, Any] = {}
    t = threading.Thread(target=lambda: box.update(outcome=c.execute(turn, on_event=lambda _e: None)))
    t.start()
    t.join()
    return c.conclude(box["outcome"])


def test_a_chat_longer_than_the_context_keeps_going_and_the_history_stays_whole(store: ChatStore,
                                                                                small_context: Any) -> None:
    c = ChatController(store, settings=SettingsState({"max_new_tokens": 8}))
    c.set_local(small_context)
    c.set_system_prompt("You are brief.")
    endings = [run(c, c.send(f"{i}: {TURN}")) for i in range(8)]
    assert [e.message.status for e in endings] == ["complete"] * 8
    assert endings[0].dropped == 0 and endings[-1].dropped > 0, "the last turns left the oldest out"
    figures = c.status()
    assert figures.dropped == endings[-1].dropped and figures.context_size == N_CTX
    assert figures.context_used is not None and figures.context_used <= N_CTX
    stored = store.messages(c.session.conversation_id)  # type: ignore[arg-type]
    assert [m.role for m in stored] == ["user", "assistant"] * 8  # nothing left the history
    assert stored[0].content == f"0: {TURN}"
    assert store.conversation(c.session.conversation_id).system_prompt == "You are brief."  # type: ignore[arg-type]


def test_the_status_figures_count_reused_and_read_prompt_tokens(store: ChatStore, small_context: Any) -> None:
    c = ChatController(store, settings=SettingsState({"max_new_tokens": 4}))
    c.set_local(small_context)
    run(c, c.send("Hello"))
    first = c.status()
    run(c, c.send("And again"))
    second = c.status()
    assert first.reused is not None and first.evaluated is not None
    assert second.reused is not None and second.evaluated is not None
    assert second.reused > 0, "the next turn reuses the conversation so far"
    result = c.last_result
    assert result is not None and second.reused + second.evaluated == len(result.prompt_token_ids)


def test_the_app_keeps_going_past_the_context_and_says_so(qtbot: Any, tmp_path: Path, tiny_checkpoint: Any) -> None:
    gguf = convert_tiny(tiny_checkpoint("exaone4"), tmp_path)
    with isolated_app(tmp_path) as app:
        app.show()
        w = app.window
        w.change_load_setting("n_ctx", N_CTX)
        with qtbot.waitSignal(w.model_loaded, timeout=TIMEOUT_MS):
            w.load_model(gguf)
        assert w.controller.local.n_ctx == N_CTX
        w.change_setting("max_new_tokens", 8)
        statuses = []
        for i in range(8):
            w.composer.input.setPlainText(f"{i}: {TURN}")
            with qtbot.waitSignal(w.reply_finished, timeout=TIMEOUT_MS) as blocker:
                w.send()
            statuses.append(blocker.args[0])
        assert statuses == ["complete"] * 8
        assert "left out" in w.message_label.text() and "left out" in w.context_label.text()
        assert "reused" in w.context_label.text()
        assert len(w.controller.session.messages()) == 16
        assert [b.answer for b in w.chat_view.bubbles][0] == f"0: {TURN}"  # the view shows the whole chat
        w.release_model()  # the engine writes the live conversation's state to the app's folder
    kept = list((tmp_path / "data" / "conversation-states").rglob("*"))
    assert any(p.is_file() and p.stat().st_size > 0 for p in kept), "the chat's state waits for the next session"
