"""The desktop app's chat with a real tiny model loaded by llama.cpp (offscreen Qt, real widgets)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from exaone_desktop.app import DesktopApp
from exaone_desktop.engine.settings import GenerationSettings

from tests.support.app_fixtures import Recording, Slowed, convert_tiny

TIMEOUT_MS = 120_000


def set_field(window: Any, name: str, value: Any) -> None:
    """Change a setting the way a user does: through its editor widget in the panel."""
    from PySide6.QtWidgets import QCheckBox, QDoubleSpinBox, QPlainTextEdit, QSpinBox

    editor = window.settings_panel.rows[name].editor
    if isinstance(editor, (QSpinBox, QDoubleSpinBox)):
        editor.setValue(value)
    elif isinstance(editor, QCheckBox):
        editor.setChecked(value)
    elif isinstance(editor, QPlainTextEdit):
        from exaone_desktop.ui.setting_field import escape_stop

        editor.setPlainText("\n".join(escape_stop(v) for v in value))
    else:
        editor.setCurrentIndex(editor.findData(value))


def send(qtbot: Any, window: Any, text: str) -> str:
    window.composer.input.setPlainText(text)
    with qtbot.waitSignal(window.reply_finished, timeout=TIMEOUT_MS) as blocker:
        window.composer.send_button.click()
    return str(blocker.args[0])


def test_reply_streams_into_the_view_and_equals_exaone_generate(
        qtbot: Any, desktop: DesktopApp, tiny_gguf: Path, real_generator: Any, tmp_path: Path, capsys: Any) -> None:
    w = desktop.window
    with qtbot.waitSignal(w.model_loaded, timeout=TIMEOUT_MS):
        w.load_model(tiny_gguf)
    # The same file in this process, paced so pieces arrive apart (the app's worker process batches the
    # pieces a fast tiny model makes within a few milliseconds into one).
    w.set_local_generator(Slowed(real_generator, delay=0.01))
    set_field(w, "max_new_tokens", 24)
    shown: list[str] = []
    real_stream = w.chat_view.stream
    w.chat_view.stream = lambda mid, answer, reasoning: (shown.append(answer), real_stream(mid, answer, reasoning))
    assert send(qtbot, w, "Hello there") == "complete"

    stored = w.controller.session.messages()
    assert [m.role for m in stored] == ["user", "assistant"]
    reply = stored[-1]
    assert reply.status == "complete" and reply.engine == "cpu"
    assert len(set(shown)) > 1, "the reply should arrive in several pieces"
    assert all(reply.content.startswith(piece) for piece in shown)
    bubble = w.chat_view.bubble(reply.id)
    assert bubble is not None and bubble.answer == reply.content
    assert bubble.body.toPlainText().strip() != ""

    messages = tmp_path / "messages.json"
    messages.write_text(json.dumps([{"role": "user", "content": "Hello there"}]), encoding="utf-8")
    from exaone_desktop.cli.generate import main as generate_main

    capsys.readouterr()
    assert generate_main(["--model", str(tiny_gguf), "--messages", str(messages), "--max-new-tokens", "24",
                          "--json"]) == 0
    cli = json.loads(capsys.readouterr().out)
    assert reply.content == cli["generated"][0]["text"]
    assert w.backend_label.text().endswith("CPU")
    used = len(cli["prompt_token_ids"]) + len(cli["generated"][0]["token_ids"])
    assert f"{used:,}" in w.context_label.text()


def test_stop_ends_early_and_keeps_the_partial_text(qtbot: Any, desktop: DesktopApp, real_generator: Any) -> None:
    w = desktop.window
    slow = Slowed(real_generator, delay=0.05)
    w.set_local_generator(slow)
    set_field(w, "max_new_tokens", 200)
    w.composer.input.setPlainText("Tell me a long story")
    with qtbot.waitSignal(w.reply_finished, timeout=TIMEOUT_MS) as blocker:
        w.composer.send_button.click()
        qtbot.waitUntil(lambda: w.controller.session.reply is not None and len(w.controller.session.reply.answer) > 3,
                        timeout=TIMEOUT_MS)
        assert w.composer.stop_button.isEnabled()
        w.composer.stop_button.click()
    assert blocker.args == ["stopped"]
    reply = w.controller.session.messages()[-1]
    assert reply.status == "stopped" and reply.content
    full = real_generator.generate(slow.calls[0][0], slow.calls[0][1]).generated[0]
    assert full.text.startswith(reply.content) and len(reply.content) < len(full.text)
    assert w.chat_view.bubble(reply.id).answer == reply.content  # type: ignore[union-attr]
    assert w.composer.send_button.isEnabled() and not w.composer.stop_button.isEnabled()


def test_panel_changes_what_the_engine_receives(qtbot: Any, desktop: DesktopApp, real_generator: Any) -> None:
    w = desktop.window
    rec = Recording(real_generator)
    w.set_local_generator(rec)
    set_field(w, "max_new_tokens", 7)
    set_field(w, "do_sample", True)
    set_field(w, "temperature", 0.5)
    set_field(w, "top_k", 0)
    set_field(w, "seed", 1234)
    set_field(w, "stop", ("\n\n",))
    w.settings_panel.system_prompt.setPlainText("You answer in one line.")
    send(qtbot, w, "Hi")
    prompt, settings = rec.calls[-1]
    assert isinstance(settings, GenerationSettings)
    assert (settings.max_new_tokens, settings.do_sample, settings.temperature, settings.top_k, settings.seed,
            settings.stop) == (7, True, 0.5, 0, 1234, ("\n\n",))
    assert prompt[0] == {"role": "system", "content": "You answer in one line."}
    assert prompt[-1] == {"role": "user", "content": "Hi"}

    # Reset puts the model's own default back (the tiny model's generation_config has top_k 40).
    w.settings_panel.rows["top_k"].reset_button.click()
    w.settings_panel.rows["seed"].reset_button.click()
    send(qtbot, w, "Again")
    _prompt, settings = rec.calls[-1]
    assert settings.top_k == real_generator.model_info.sampling_defaults.get("top_k", 50)
    assert settings.seed is None and settings.max_new_tokens == 7
    # The settings persist in QSettings.
    assert json.loads(str(w.ctx.get("generation/overrides")))["max_new_tokens"] == 7


def test_invalid_setting_is_refused_with_a_message(desktop: DesktopApp, real_generator: Any) -> None:
    w = desktop.window
    set_field(w, "do_sample", True)
    set_field(w, "temperature", 0.0)
    assert "temperature" in w.settings_panel.error_label.text()
    assert w.controller.state.effective().temperature > 0


def test_regenerate_edit_and_copy(qtbot: Any, desktop: DesktopApp, real_generator: Any) -> None:
    w = desktop.window
    rec = Recording(real_generator)
    w.set_local_generator(rec)
    set_field(w, "max_new_tokens", 8)
    send(qtbot, w, "First question")
    first = w.controller.session.messages()
    with qtbot.waitSignal(w.reply_finished, timeout=TIMEOUT_MS):
        w.composer.regenerate_button.click()
    again = w.controller.session.messages()
    assert len(again) == 2 and again[1].id != first[1].id
    assert again[1].content == first[1].content  # greedy: the same answer
    assert rec.calls[-1][0] == [{"role": "user", "content": "First question"}]

    w.composer.edit_button.click()
    assert w.composer.input.toPlainText() == "First question"
    w.composer.input.setPlainText("Edited question")
    with qtbot.waitSignal(w.reply_finished, timeout=TIMEOUT_MS):
        w.composer.send_button.click()
    edited = w.controller.session.messages()
    assert [m.content for m in edited if m.role == "user"] == ["Edited question"]
    assert rec.calls[-1][0] == [{"role": "user", "content": "Edited question"}]

    bubble = w.chat_view.bubbles[-1]
    bubble.copy_button.click()
    from PySide6.QtGui import QGuiApplication

    assert QGuiApplication.clipboard().text() == edited[-1].content


def test_conversations_new_rename_delete_search_export(qtbot: Any, desktop: DesktopApp, real_generator: Any,
                                                       tmp_path: Path) -> None:
    w = desktop.window
    w.set_local_generator(real_generator)
    set_field(w, "max_new_tokens", 4)
    send(qtbot, w, "about apples")
    first = w.controller.session.conversation_id
    w.sidebar.new_button.click()
    assert w.chat_view.bubbles == []
    send(qtbot, w, "about pears")
    second = w.controller.session.conversation_id
    assert w.sidebar.ids() == [second, first]
    w.sidebar.search.setText("apples")
    assert w.sidebar.ids() == [first]
    w.sidebar.search.setText("")
    w.sidebar.rename(first, "Fruit")
    assert w.ctx.store.conversation(first).title == "Fruit"
    w.sidebar.list.setCurrentRow(1)  # opens "Fruit"
    assert w.controller.session.conversation_id == first
    assert [b.answer for b in w.chat_view.bubbles][0] == "about apples"
    out = w.sidebar.export(first, tmp_path / "fruit.md")
    assert out is not None and "about apples" in out.read_text(encoding="utf-8")
    data = json.loads(w.sidebar.export(first, tmp_path / "fruit.json").read_text(encoding="utf-8"))  # type: ignore[union-attr]
    assert data["conversation"]["title"] == "Fruit"
    w.sidebar.delete(first, confirm=False)
    assert w.sidebar.ids() == [second]


def test_reasoning_is_shown_collapsed_and_never_sent_back(qtbot: Any, desktop: DesktopApp, tiny_checkpoint: Any,
                                                         tmp_path: Path) -> None:
    from exaone_desktop.engine.llama.local import LocalGenerator

    gguf = convert_tiny(tiny_checkpoint("exaone4"), tmp_path)
    with LocalGenerator(gguf, n_threads=1) as real:
        w = desktop.window
        rec = Recording(real)
        w.set_local_generator(rec)
        assert not w.settings_panel.rows["enable_thinking"].editor.isHidden()
        set_field(w, "enable_thinking", True)
        set_field(w, "max_new_tokens", 12)
        send(qtbot, w, "Think first")
        assert rec.calls[-1][1].enable_thinking is True
        reply = w.controller.session.messages()[-1]
        assert reply.reasoning, "with enable_thinking the tiny model's output opens inside <think>"
        bubble = w.chat_view.bubble(reply.id)
        assert bubble is not None and bubble.reasoning_toggle.isVisibleTo(bubble)
        assert not bubble.reasoning_view.isVisibleTo(bubble)  # collapsed
        bubble.reasoning_toggle.click()
        assert bubble.reasoning_view.isVisibleTo(bubble)
        assert bubble.reasoning_view.toPlainText() == reply.reasoning
        send(qtbot, w, "And now?")
        history = rec.calls[-1][0]
        assert history[1]["role"] == "assistant" and reply.reasoning not in history[1]["content"]


def test_code_blocks_render_in_a_monospace_font(desktop: DesktopApp) -> None:
    from exaone_desktop.ui.chat_view import is_code_block, render_markdown
    from PySide6.QtWidgets import QTextBrowser

    view = QTextBrowser()
    render_markdown(view, "Some **bold** text\n\n```python\nprint('hi')\n```\n")
    blocks = []
    block = view.document().begin()
    while block.isValid():
        blocks.append((block.text(), is_code_block(block)))
        block = block.next()
    assert ("print('hi')", True) in blocks and ("Some bold text", False) in blocks
    assert "bold" in view.toHtml() and "font-weight" in view.toHtml()


class StreamsThenFails(Recording):
    """Streams a piece, then fails at once (a worker that dies mid-reply): the piece is still in the queue."""

    def generate(self, prompt: Any, settings: Any, *, on_event: Any = None, cancel: Any = None) -> Any:
        from exaone_desktop.engine.types import GenerationError, StreamEvent

        if on_event is not None:
            on_event(StreamEvent(0, "half an answer"))
        raise GenerationError("the model worker stopped")


def test_a_failed_reply_keeps_the_text_it_streamed_last(qtbot: Any, desktop: DesktopApp,
                                                        real_generator: Any) -> None:
    w = desktop.window
    w.set_local_generator(StreamsThenFails(real_generator))
    assert send(qtbot, w, "Hello") == "failed"
    reply = w.controller.session.messages()[-1]
    assert (reply.status, reply.content) == ("failed", "half an answer")  # stored after the last piece was taken
    assert w.chat_view.bubble(reply.id).answer == "half an answer"  # type: ignore[union-attr]
