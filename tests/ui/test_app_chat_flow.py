"""The chat as LM Studio and Jan users expect it (real window offscreen, a real tiny model through llama.cpp):
Enter sends and Shift+Enter breaks the line (switchable), Regenerate keeps the earlier replies to page through,
editing any of your messages branches the chat with Cancel and Escape and never loses the draft, the last chat
reopens at launch, chats have dates and distinct titles, code blocks have a copy link, search says when nothing
matches, and export opens in the documents folder."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from exaone_desktop.app import DesktopApp, create_app
from PySide6.QtCore import QStandardPaths, Qt
from PySide6.QtGui import QGuiApplication
from PySide6.QtWidgets import QFileDialog

from tests.support import memory_keyring
from tests.support.app_fixtures import Recording, chatting_app

TIMEOUT_MS = 120_000


@pytest.fixture
def desktop(qtbot: Any, tmp_path: Path, real_generator: Any) -> Iterator[DesktopApp]:
    with chatting_app(tmp_path, real_generator, 6) as app:
        yield app


def send(qtbot: Any, w: Any, text: str) -> None:
    w.composer.input.setPlainText(text)
    with qtbot.waitSignal(w.reply_finished, timeout=TIMEOUT_MS):
        w.composer.send_button.click()


def test_enter_sends_and_shift_enter_breaks_the_line_switchable(qtbot: Any, desktop: DesktopApp) -> None:
    w = desktop.window
    box = w.composer.input
    box.setFocus()
    qtbot.keyClicks(box, "first line")
    qtbot.keyClick(box, Qt.Key.Key_Return, Qt.KeyboardModifier.ShiftModifier)
    qtbot.keyClicks(box, "second")
    assert box.toPlainText() == "first line\nsecond" and w.controller.session.messages() == []
    with qtbot.waitSignal(w.reply_finished, timeout=TIMEOUT_MS):
        qtbot.keyClick(box, Qt.Key.Key_Return)
    assert [m.content for m in w.controller.session.messages() if m.role == "user"] == ["first line\nsecond"]
    assert box.toPlainText() == ""

    w.settings_panel.enter_sends.setChecked(False)  # Settings > Interface: Enter breaks the line
    assert w.ctx.get("chat/enter_sends") == "false"
    qtbot.keyClicks(box, "a")
    qtbot.keyClick(box, Qt.Key.Key_Return)
    qtbot.keyClicks(box, "b")
    assert box.toPlainText() == "a\nb" and len(w.controller.session.messages()) == 2
    with qtbot.waitSignal(w.reply_finished, timeout=TIMEOUT_MS):
        qtbot.keyClick(box, Qt.Key.Key_Return, Qt.KeyboardModifier.ControlModifier)
    assert [m.content for m in w.controller.session.messages() if m.role == "user"][-1] == "a\nb"
    assert "Ctrl+Enter" in box.placeholderText()


def test_regenerate_keeps_the_earlier_replies_to_page_through(qtbot: Any, desktop: DesktopApp,
                                                              tmp_path: Path) -> None:
    w = desktop.window
    w.change_setting("do_sample", True)
    w.change_setting("temperature", 1.5)
    w.change_setting("max_new_tokens", 12)
    send(qtbot, w, "Tell me something")
    first = w.controller.session.messages()[-1]
    replies = [first.content]
    for _ in range(2):
        with qtbot.waitSignal(w.reply_finished, timeout=TIMEOUT_MS):
            w.composer.regenerate_button.click()
        replies.append(w.controller.session.messages()[-1].content)
    messages = w.controller.session.messages()
    assert [m.role for m in messages] == ["user", "assistant"]  # one reply on screen, the others kept
    bubble = w.chat_view.bubbles[-1]
    assert bubble.variant_label.isVisibleTo(bubble) and bubble.variant_label.text() == "3/3"
    assert not bubble.next_button.isEnabled()
    bubble.previous_button.click()
    bubble = w.chat_view.bubbles[-1]
    assert bubble.variant_label.text() == "2/3" and bubble.answer == replies[1]
    bubble.previous_button.click()
    bubble = w.chat_view.bubbles[-1]
    assert bubble.variant_label.text() == "1/3" and bubble.answer == replies[0] == first.content
    assert w.controller.session.messages()[-1].id == first.id
    user_bubble = w.chat_view.bubbles[0]
    assert not user_bubble.variant_label.isVisibleTo(user_bubble)  # one version of the question

    # Kept in the history: a second store on the same file sees all three, and the one on screen.
    from exaone_desktop.session.store import ChatStore

    other = ChatStore(w.ctx.store.path)
    cid = w.controller.session.conversation_id
    assert [m.content for m in other.all_messages(cid) if m.role == "assistant"] == replies  # type: ignore[arg-type]
    assert other.messages(cid)[-1].id == first.id  # type: ignore[arg-type]
    other.close()


def test_editing_any_message_branches_and_never_loses_the_draft(qtbot: Any, desktop: DesktopApp) -> None:
    w = desktop.window
    send(qtbot, w, "question one")
    send(qtbot, w, "question two")
    rec = Recording(w.controller.local)
    w.set_local_generator(rec)
    box = w.composer.input
    box.setPlainText("my unsent draft")
    png = _png()
    w.composer.attachments.add(png)

    first_user = w.chat_view.bubbles[0]
    assert first_user.edit_button.isVisibleTo(first_user)
    assert not w.chat_view.bubbles[1].edit_button.isVisibleTo(w.chat_view.bubbles[1])  # replies: no Edit
    first_user.edit_button.click()
    assert box.toPlainText() == "question one" and w.composer.editing_bar.isVisibleTo(w.composer)
    assert w.composer.attachments.pending == []
    qtbot.keyClick(box, Qt.Key.Key_Escape)  # Escape cancels: the draft is back
    assert box.toPlainText() == "my unsent draft" and w.composer.attachments.pending == [png]
    assert not w.composer.editing_bar.isVisibleTo(w.composer)

    w.chat_view.bubbles[2].edit_button.click()
    assert box.toPlainText() == "question two"
    w.composer.cancel_edit_button.click()  # Cancel does the same
    assert box.toPlainText() == "my unsent draft" and w.composer.attachments.pending == [png]
    assert len(w.controller.session.messages()) == 4

    w.chat_view.bubbles[0].edit_button.click()
    box.setPlainText("question one, edited")
    with qtbot.waitSignal(w.reply_finished, timeout=TIMEOUT_MS):
        w.composer.send_button.click()
    assert rec.calls[-1][0] == [{"role": "user", "content": "question one, edited"}]  # the branch only
    assert [m.content for m in w.controller.session.messages() if m.role == "user"] == ["question one, edited"]
    assert box.toPlainText() == "my unsent draft" and w.composer.attachments.pending == [png]
    edited = w.chat_view.bubbles[0]
    assert edited.variant_label.text() == "2/2"
    edited.previous_button.click()  # the old branch, whole
    assert [m.content for m in w.controller.session.messages() if m.role == "user"] == ["question one", "question two"]
    assert [b.answer for b in w.chat_view.bubbles if b.role == "user"] == ["question one", "question two"]


def test_the_last_chat_reopens_at_launch(qtbot: Any, tmp_path: Path, real_generator: Any) -> None:
    data = tmp_path / "data"
    with memory_keyring.installed():
        first = create_app(["--data-dir", str(data), "--lang", "en"])
        first.show()
        w = first.window
        w.set_local_generator(real_generator)
        w.change_setting("max_new_tokens", 4)
        send(qtbot, w, "the chat about apples")
        apples = w.controller.session.conversation_id
        w.new_conversation()
        send(qtbot, w, "the chat about pears")
        w.open_conversation(apples)  # type: ignore[arg-type]
        w.release_model()
        w.close()
        first.ctx.store.close()

        second = create_app(["--data-dir", str(data), "--lang", "en"])
        try:
            second.show()
            w2 = second.window
            assert w2.controller.session.conversation_id == apples
            assert w2.stack.currentIndex() == 0  # the chat, not a blank page or the welcome
            assert [b.answer for b in w2.chat_view.bubbles][0] == "the chat about apples"
            assert w2.sidebar.current_id() == apples
        finally:
            second.window.close()
            second.ctx.store.close()


def test_chats_show_dates_and_distinct_titles_and_search_says_when_nothing_matches(
        qtbot: Any, desktop: DesktopApp) -> None:
    w = desktop.window
    send(qtbot, w, "Hello")
    w.new_conversation()
    send(qtbot, w, "Hello")
    titles = [w.ctx.store.conversation(cid).title for cid in w.sidebar.ids()]
    assert titles == ["Hello (2)", "Hello"]
    texts = [w.sidebar.list.item(i).text() for i in range(w.sidebar.list.count())]
    assert all(t.split("\n")[1].startswith("Today") for t in texts), texts
    assert not w.sidebar.empty_label.isVisibleTo(w.sidebar)
    w.sidebar.search.setText("kiwi")
    assert w.sidebar.ids() == []
    assert w.sidebar.empty_label.isVisibleTo(w.sidebar) and "kiwi" in w.sidebar.empty_label.text()
    w.sidebar.search.setText("Hello")
    assert len(w.sidebar.ids()) == 2 and not w.sidebar.empty_label.isVisibleTo(w.sidebar)


def test_code_blocks_in_a_reply_have_a_copy_link(qtbot: Any, desktop: DesktopApp) -> None:
    from exaone_desktop.session.store import StoredMessage
    from exaone_desktop.ui.chat_view import MessageWidget

    text = "Try this:\n\n```python\nprint('hi')\nx = 1\n```\n\nand this:\n\n~~~\nls -l\n~~~\n"
    bubble = MessageWidget(StoredMessage(1, 1, "assistant", text, None, "cpu", "m", "complete", 0, 0))
    qtbot.addWidget(bubble)
    bubble.resize(500, 400)
    bubble.show()
    qtbot.waitExposed(bubble)
    links = _anchors(bubble.body)
    assert [href for href, _rect in links] == ["copy-code:0", "copy-code:1"]
    for (href, rect), expected in zip(links, ["print('hi')\nx = 1", "ls -l"], strict=True):
        with qtbot.waitSignal(bubble.code_copied):
            qtbot.mouseClick(bubble.body.viewport(), Qt.MouseButton.LeftButton, pos=rect.center())
        assert QGuiApplication.clipboard().text() == expected, href
    bubble.copy_button.click()
    assert QGuiApplication.clipboard().text() == text


def test_export_opens_in_the_documents_folder(qtbot: Any, desktop: DesktopApp, monkeypatch: Any,
                                              tmp_path: Path) -> None:
    w = desktop.window
    send(qtbot, w, "a chat: to export?")
    cid = w.controller.session.conversation_id
    asked: list[str] = []
    target = tmp_path / "out.md"

    def dialog(_parent: Any, _title: str, start: str, _filters: str) -> tuple[str, str]:
        asked.append(start)
        return str(target), ""

    monkeypatch.setattr(QFileDialog, "getSaveFileName", dialog)
    w.sidebar.export_button.click()
    documents = QStandardPaths.writableLocation(QStandardPaths.StandardLocation.DocumentsLocation)
    assert Path(asked[0]).parent == Path(documents) and Path(asked[0]).name == "a chat_ to export_.md"
    assert cid is not None and "to export" in target.read_text(encoding="utf-8")


def _png() -> bytes:
    from exaone_desktop.ui.attachments import png_bytes
    from PySide6.QtGui import QImage

    image = QImage(4, 4, QImage.Format.Format_RGB32)
    image.fill(0x336699)
    return png_bytes(image)


def _anchors(browser: Any) -> list[tuple[str, Any]]:
    """(href, rectangle in the viewport) of every link the browser shows."""
    from PySide6.QtGui import QTextCursor

    found = []
    doc = browser.document()
    block = doc.begin()
    while block.isValid():
        it = block.begin()
        while not it.atEnd():
            fragment = it.fragment()
            href = fragment.charFormat().anchorHref()
            if href:
                cursor = QTextCursor(doc)
                cursor.setPosition(fragment.position() + 1)
                found.append((href, browser.cursorRect(cursor)))
            it += 1
        block = block.next()
    return found
