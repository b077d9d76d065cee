"""The app's state lives beside the window: ``DesktopApp`` owns one ``ChatController`` (the open chat, the model,
the draft and the edit, busy or not) with the reply being written and the model load. A language switch builds
a new window over the same objects, so the draft, the model, the open chat and a reply still being written carry
on without being copied; "busy" has one source, the controller."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from exaone_desktop.ui import language

from tests.support.app_fixtures import Slowed, chatting_app

TIMEOUT_MS = 120_000


@pytest.fixture
def real_generator(tiny_gguf: Path) -> Iterator[Any]:
    from exaone_desktop.engine import LocalGenerator

    gen = LocalGenerator(tiny_gguf, n_threads=1)
    yield gen
    gen.close()


@pytest.fixture
def app(qtbot: Any, tmp_path: Path, real_generator: Any) -> Iterator[Any]:
    with chatting_app(tmp_path, real_generator, 4) as desktop:
        try:
            yield desktop
        finally:
            language.install("en")


def _png() -> bytes:
    from exaone_desktop.ui.attachments import png_bytes
    from PySide6.QtGui import QImage

    image = QImage(4, 4, QImage.Format.Format_RGB32)
    image.fill(0x336699)
    return png_bytes(image)


def _switch_to_korean(app: Any) -> Any:
    panel = app.window.settings_panel
    panel.language.setCurrentIndex(panel.language.findData("ko"))
    return app.window


def test_a_language_switch_keeps_the_draft_the_edit_the_model_and_the_open_chat(qtbot: Any, app: Any,
                                                                                real_generator: Any) -> None:
    w, controller = app.window, app.controller
    for text in ("question one", "question two"):
        w.composer.input.setPlainText(text)
        with qtbot.waitSignal(w.reply_finished, timeout=TIMEOUT_MS):
            w.composer.send_button.click()
    conversation = controller.session.conversation_id
    shown = [b.answer for b in w.chat_view.bubbles]
    w.composer.input.setPlainText("half a thought")
    png = _png()
    w.composer.attachments.add(png)

    new = _switch_to_korean(app)
    assert new is not w and new.composer.send_button.text() == "보내기"
    assert new.controller is controller is app.controller  # built over the same state, nothing copied
    assert new.composer.input.toPlainText() == "half a thought" and new.composer.attachments.pending == [png]
    assert controller.local is real_generator and new.model_label.text() != "" and "없음" not in new.model_label.text()
    assert controller.session.conversation_id == conversation and [b.answer for b in new.chat_view.bubbles] == shown
    assert new.composer.send_button.isEnabled() and new.composer.regenerate_button.isEnabled()

    new.chat_view.bubbles[0].edit_button.click()  # an edit in progress survives a switch too
    assert new.composer.input.toPlainText() == "question one"
    app.switch_language("en")
    newer = app.window
    assert newer.composer.editing_bar.isVisibleTo(newer.composer) and newer.composer.editing is not None
    assert newer.composer.input.toPlainText() == "question one"
    newer.composer.cancel_edit_button.click()  # the draft put aside comes back in the newest window
    assert newer.composer.input.toPlainText() == "half a thought" and newer.composer.attachments.pending == [png]


def test_a_language_switch_while_a_reply_is_written_shows_the_same_reply(qtbot: Any, app: Any,
                                                                        real_generator: Any) -> None:
    w, controller = app.window, app.controller
    w.set_local_generator(Slowed(real_generator, delay=0.05))
    w.change_setting("max_new_tokens", 200)
    w.composer.input.setPlainText("Tell me a long story")
    w.composer.send_button.click()
    qtbot.waitUntil(lambda: controller.session.reply is not None and len(controller.session.reply.answer) > 3,
                    timeout=TIMEOUT_MS)
    turn = controller.turn
    new = _switch_to_korean(app)
    assert controller.turn is turn and controller.busy()  # the same reply, still being written
    assert new.composer.stop_button.isEnabled() and not new.composer.send_button.isEnabled()
    assert not new.sidebar.isEnabled()
    bubble = new.chat_view.bubble(turn.reply.message_id)
    assert bubble is not None
    before = len(controller.session.reply.answer)
    qtbot.waitUntil(lambda: len(bubble.answer) > before, timeout=TIMEOUT_MS)  # it streams into the new window
    with qtbot.waitSignal(new.reply_finished, timeout=TIMEOUT_MS) as blocker:
        new.composer.stop_button.click()
    assert blocker.args == ["stopped"]
    stored = controller.session.messages()[-1]
    assert stored.status == "stopped" and stored.content and new.chat_view.bubble(stored.id).answer == stored.content
    assert not controller.busy() and new.composer.send_button.isEnabled()


def test_busy_has_one_source_the_controller(qtbot: Any, app: Any, real_generator: Any) -> None:
    w, controller = app.window, app.controller
    assert not hasattr(w, "worker") and not hasattr(w, "loader_job")  # the window keeps no flag of its own
    w.set_local_generator(Slowed(real_generator, delay=0.05))
    w.change_setting("max_new_tokens", 200)
    w.composer.input.setPlainText("Tell me a long story")
    with qtbot.waitSignal(w.reply_finished, timeout=TIMEOUT_MS):
        w.composer.send_button.click()
        assert controller.busy() and controller.buttons().stop
        assert w.composer.stop_button.isEnabled() and not w.composer.send_button.isEnabled()
        assert not w.sidebar.isEnabled() and w.loader.reload() is None  # no reload under a reply
        w.composer.input.setPlainText("another")
        w.send()  # refused while busy: the draft stays
        assert w.composer.input.toPlainText() == "another" and len(controller.session.messages()) == 2
        w.composer.stop_button.click()
    assert not controller.busy() and controller.turn is None
    assert w.composer.send_button.isEnabled() and not w.composer.stop_button.isEnabled() and w.sidebar.isEnabled()


def test_a_language_switch_while_a_document_is_read_attaches_it_in_the_new_window(
        qtbot: Any, app: Any, tmp_path: Path, monkeypatch: Any) -> None:
    """The file being read and the one waiting carry on in the new window's tray: none is lost or read twice."""
    import threading

    from exaone_desktop.session.controller import ChatController

    real_read = ChatController.read_document
    release, started, reads = threading.Event(), threading.Event(), []

    def held_read(path: Path, **kw: Any) -> Any:
        reads.append(path.name)
        started.set()
        assert release.wait(60)
        return real_read(path, **kw)

    monkeypatch.setattr(ChatController, "read_document", staticmethod(held_read))
    first, second = tmp_path / "first.txt", tmp_path / "second.md"
    first.write_text("첫 번째 문서입니다.\n", encoding="utf-8")
    second.write_text("# Second\n\nThe second document.\n", encoding="utf-8")
    w = app.window
    w.composer.documents.add_files([first, second])
    qtbot.waitUntil(started.is_set, timeout=TIMEOUT_MS)
    new = _switch_to_korean(app)
    assert new is not w and new.composer.documents.busy() and not w.composer.documents.busy()
    assert "first.txt" in new.composer.documents.reading.text()
    release.set()
    qtbot.waitUntil(lambda: len(new.composer.documents.pending) == 2, timeout=TIMEOUT_MS)
    assert [d.filename for d in new.composer.documents.pending] == ["first.txt", "second.md"]
    assert reads == ["first.txt", "second.md"] and not new.composer.documents.busy()
    assert [d.filename for d in app.controller.drafting.draft.documents] == ["first.txt", "second.md"]
