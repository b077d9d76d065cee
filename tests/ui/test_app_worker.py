"""The app with llama.cpp in a worker process: a crashing model never closes the window or loses the chat."""

from __future__ import annotations

import os
import signal
from pathlib import Path
from typing import Any

import pytest
from exaone_desktop.app import DesktopApp
from exaone_desktop.engine.llama.worker import WorkerGenerator
from exaone_desktop.engine.types import StreamEvent

from tests.support.app_fixtures import Recording
from tests.support.gguf_mutants import duplicate_vocabulary

TIMEOUT_MS = 120_000
pytestmark = pytest.mark.skipif(os.name != "posix", reason="kills the worker with SIGKILL")


class KilledMidReply(Recording):
    """The real worker generator; its worker process is killed with SIGKILL after the first streamed piece."""

    def generate(self, prompt: Any, settings: Any, *, on_event: Any = None, cancel: Any = None) -> Any:
        pid = self.real.pid
        seen: list[StreamEvent] = []

        def on_piece(event: StreamEvent) -> None:
            seen.append(event)
            if on_event is not None:
                on_event(event)
            if len(seen) == 1:
                os.kill(pid, signal.SIGKILL)

        return super().generate(prompt, settings, on_event=on_piece, cancel=cancel)


def send(qtbot: Any, window: Any, text: str, max_new_tokens: int = 16) -> str:
    window.settings_panel.rows["max_new_tokens"].editor.setValue(max_new_tokens)
    window.composer.input.setPlainText(text)
    with qtbot.waitSignal(window.reply_finished, timeout=TIMEOUT_MS) as blocker:
        window.composer.send_button.click()
    return str(blocker.args[0])


def test_worker_killed_mid_reply_keeps_window_and_conversation(qtbot: Any, desktop: DesktopApp,
                                                               tiny_gguf: Path) -> None:
    w = desktop.window
    with qtbot.waitSignal(w.model_loaded, timeout=TIMEOUT_MS):
        w.load_model(tiny_gguf)
    assert isinstance(w.controller.local, WorkerGenerator)  # the app's loader starts a worker process
    worker = w.controller.local
    assert send(qtbot, w, "First question") == "complete"
    w.set_local_generator(KilledMidReply(worker))
    assert send(qtbot, w, "Second question", max_new_tokens=800) == "failed"  # killed long before its end
    assert w.isVisible()
    message = w.message_label.text()
    assert "SIGKILL" in message and tiny_gguf.name in message and "\n" not in message
    stored = w.controller.session.messages()
    assert [m.role for m in stored] == ["user", "assistant", "user", "assistant"]
    assert [m.status for m in stored] == ["complete", "complete", "complete", "failed"]
    assert stored[2].content == "Second question"
    w.set_local_generator(worker)  # the next message starts a new worker (the model is loaded again)
    assert send(qtbot, w, "Third question") == "complete"
    assert w.controller.session.messages()[-1].content


def test_a_model_that_aborts_llama_cpp_leaves_the_app_open(qtbot: Any, desktop: DesktopApp, tiny_gguf: Path,
                                                          tmp_path: Path) -> None:
    bad = tmp_path / "duplicate-vocab.gguf"
    duplicate_vocabulary(tiny_gguf, bad)
    w = desktop.window
    with qtbot.waitSignal(w.model_loaded, timeout=TIMEOUT_MS):
        w.load_model(tiny_gguf)
    assert send(qtbot, w, "Hello") == "complete"
    with qtbot.waitSignal(w.model_failed, timeout=TIMEOUT_MS) as failed:
        w.load_model(bad)
    message = str(failed.args[0])
    assert "GGML_ASSERT" in message and bad.name in message and "\n" not in message
    assert w.isVisible() and [m.role for m in w.controller.session.messages()] == ["user", "assistant"]
    status = send(qtbot, w, "Still there?")
    assert status == "complete", w.message_label.text()  # the model loaded before still answers
    # the load settings are the loaded model's again: a change is kept for it, not for the file that failed
    assert w.controller.model_path == str(tiny_gguf)
    w.settings_link.change_load_setting("n_ctx", 512)
    assert w.controller.load.n_ctx == 512 and str(bad) not in w.controller.load_by_model
    assert w.controller.load_by_model[str(tiny_gguf)]["n_ctx"] == 512


def test_a_sampled_reply_shows_and_stores_its_drawn_seed(qtbot: Any, desktop: DesktopApp, tiny_gguf: Path) -> None:
    w = desktop.window
    with qtbot.waitSignal(w.model_loaded, timeout=TIMEOUT_MS):
        w.load_model(tiny_gguf)
    w.settings_panel.rows["do_sample"].editor.setChecked(True)
    assert send(qtbot, w, "Surprise me") == "complete"
    reply = w.controller.session.messages()[-1]
    assert isinstance(reply.seed, int)
    bubble = w.chat_view.bubble(reply.id)
    assert bubble is not None and str(reply.seed) in bubble.header.toolTip()


def test_the_load_panel_shows_the_conversations_kept_after_each_reply(qtbot: Any, desktop: DesktopApp,
                                                                      tiny_gguf: Path) -> None:
    """The worker sends its kept-conversation figures with each reply; the panel shows them when it ends."""
    w = desktop.window
    with qtbot.waitSignal(w.model_loaded, timeout=TIMEOUT_MS):
        w.load_model(tiny_gguf)
    kept = w.settings_panel.load_panel.kept_label
    assert send(qtbot, w, "First question") == "complete"
    assert kept.text().startswith("Kept now: 0 conversations")  # the one being written is not kept apart
    w.new_conversation()
    assert send(qtbot, w, "Another conversation") == "complete"
    assert kept.text().startswith("Kept now: 1 conversations")  # the first one is kept while this one runs
