"""Conversations survive closing the app, and a kill -9 of the app in the middle of a streamed reply."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from exaone_desktop.app import create_app
from exaone_desktop.session.store import DB_NAME, ChatStore

from tests.support import memory_keyring
from tests.support.app_fixtures import convert_tiny

ROOT = Path(__file__).resolve().parents[2]  # on the children's PYTHONPATH: tests.support.*


@pytest.fixture(scope="module")
def tiny_gguf(tiny_checkpoint: Any, tmp_path_factory: pytest.TempPathFactory) -> Path:
    return convert_tiny(tiny_checkpoint("exaone3_untied"), tmp_path_factory.mktemp("gguf"))


@pytest.fixture(autouse=True)
def _keyring() -> Iterator[None]:
    with memory_keyring.installed():
        yield


def test_conversation_and_settings_survive_closing_and_reopening(qtbot: Any, tmp_path: Path,
                                                                 tiny_gguf: Path) -> None:
    data = tmp_path / "data"
    first = create_app(["--data-dir", str(data), "--lang", "en"])
    first.show()
    w = first.window
    with qtbot.waitSignal(w.model_loaded, timeout=120_000):
        w.load_model(tiny_gguf)
    w.change_setting("max_new_tokens", 6)
    w.composer.input.setPlainText("remember me")
    with qtbot.waitSignal(w.reply_finished, timeout=120_000):
        w.send()
    w.settings_panel.system_prompt.setPlainText("be kind")
    before = [(m.role, m.content, m.status) for m in w.controller.session.messages()]
    w.close()
    first.ctx.store.close()

    second = create_app(["--data-dir", str(data), "--lang", "en"])
    w2 = second.window
    with qtbot.waitSignal(w2.model_loaded, timeout=120_000):
        second.show()  # the event loop then reloads the last model
    assert len(w2.sidebar.ids()) == 1
    w2.sidebar.list.setCurrentRow(0)
    assert [(m.role, m.content, m.status) for m in w2.controller.session.messages()] == before
    assert [b.answer for b in w2.chat_view.bubbles] == [c for _r, c, _s in before]
    assert w2.settings_panel.system_prompt.toPlainText() == "be kind"
    assert w2.controller.state.effective().max_new_tokens == 6
    assert w2.controller.model_info is not None and Path(w2.controller.model_info.path) == tiny_gguf
    w2.close()
    second.ctx.store.close()


def test_kill_9_mid_stream_loses_no_earlier_message(qtbot: Any, tmp_path: Path, tiny_gguf: Path) -> None:
    data = tmp_path / "data"
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen",
               PYTHONPATH=os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")])))
    proc = subprocess.Popen([sys.executable, "-m", "tests.support.app_driver", str(data), str(tiny_gguf)],
                            env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert proc.stdout is not None
        assert proc.stdout.readline().strip() == "STREAMING", proc.stderr.read() if proc.stderr else ""
        deadline = time.monotonic() + 60
        partial = ""
        while time.monotonic() < deadline and not partial:  # wait until part of the reply is on disk
            store = ChatStore(data / DB_NAME)
            msgs = store.messages(store.conversations()[0].id)
            store.close()
            if len(msgs) == 4 and msgs[-1].status == "partial":
                partial = msgs[-1].content
            time.sleep(0.1)
        assert partial, "the streamed reply should be saved while it streams"
        proc.send_signal(signal.SIGKILL)
        proc.wait(30)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == -signal.SIGKILL

    store = ChatStore(data / DB_NAME)
    msgs = store.messages(store.conversations()[0].id)
    store.close()
    assert [(m.role, m.status) for m in msgs] == [("user", "complete"), ("assistant", "complete"),
                                                  ("user", "complete"), ("assistant", "partial")]
    assert msgs[0].content == "first message" and msgs[2].content == "second message"
    assert msgs[1].content and msgs[3].content.startswith(partial)

    # The app opens the crashed conversation with the partial reply marked as such.
    app = create_app(["--data-dir", str(data), "--lang", "en"])
    w = app.window
    w.sidebar.list.setCurrentRow(0)
    assert [b.answer for b in w.chat_view.bubbles] == [m.content for m in msgs]
    assert w.chat_view.bubbles[-1].status.text() == "interrupted"
    w.close()
    app.ctx.store.close()
