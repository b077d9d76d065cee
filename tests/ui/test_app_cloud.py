"""The cloud fallback in the app: off by default, consent before it turns on, nothing sent while off,
every cloud reply marked, unsupported settings flagged."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from exaone_desktop.app import DesktopApp

from tests.support.app_fixtures import convert_tiny, isolated_app
from tests.support.openai_stub import OpenAIStub, guarded_stub
from tests.support.socket_guard import socket_guard

TIMEOUT_MS = 120_000


@pytest.fixture(scope="module")
def tiny_gguf(tiny_checkpoint: Any, tmp_path_factory: pytest.TempPathFactory) -> Path:
    return convert_tiny(tiny_checkpoint("exaone3_untied"), tmp_path_factory.mktemp("gguf"))


@pytest.fixture
def desktop(qtbot: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[DesktopApp]:
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    monkeypatch.delenv("OPENAI_BASE_URL", raising=False)
    with isolated_app(tmp_path) as app:
        app.show()
        yield app


def consent(qtbot: Any, window: Any, *, agree: bool) -> None:
    panel = window.settings_panel
    panel.cloud_switch.click()
    dialog = window.settings_link.consent_dialog
    assert dialog is not None and dialog.isVisible()
    assert not panel.cloud_switch.isChecked(), "the switch stays off until the user consents"
    assert window.controller.cloud_host() in dialog.body.text()
    if agree:
        assert not dialog.ok_button.isEnabled()
        dialog.agree.setChecked(True)
        dialog.ok_button.click()
    else:
        dialog.reject()


def test_cloud_switch_starts_off_and_needs_consent(qtbot: Any, desktop: DesktopApp) -> None:
    w = desktop.window
    panel = w.settings_panel
    assert not panel.cloud_switch.isChecked() and not w.controller.cloud_active()
    consent(qtbot, w, agree=False)
    assert not panel.cloud_switch.isChecked() and not w.controller.cloud_active()
    assert not w.ctx.get_json("cloud/policy").get("enabled")
    consent(qtbot, w, agree=True)
    assert panel.cloud_switch.isChecked() and w.controller.cloud_active()
    saved = w.ctx.get_json("cloud/policy")
    assert saved["enabled"] and saved["consented"]
    panel.cloud_switch.click()  # turning it off needs no dialog
    assert w.settings_link.consent_dialog is None and not w.controller.cloud_active()


def test_with_the_cloud_off_nothing_connects(qtbot: Any, desktop: DesktopApp, tiny_gguf: Path) -> None:
    w = desktop.window
    panel = w.settings_panel
    with socket_guard(allow=()) as guard:
        panel.api_key.setText("sk-test-key")
        panel.save_key.click()  # a key and a base URL are set, but the switch is off
        panel.cloud_base_url.setText("http://127.0.0.1:9/v1")
        panel.cloud_base_url.editingFinished.emit()
        panel.setCurrentWidget(panel.cloud_scroll)
        with qtbot.waitSignal(w.model_loaded, timeout=TIMEOUT_MS):
            w.load_model(tiny_gguf)
        w.change_setting("max_new_tokens", 5)
        w.composer.input.setPlainText("stay local")
        with qtbot.waitSignal(w.reply_finished, timeout=TIMEOUT_MS):
            w.send()
    assert guard.blocked == [] and guard.allowed == []
    reply = w.controller.session.messages()[-1]
    assert reply.engine == "cpu" and reply.status == "complete"
    assert "Cloud" not in w.chat_view.bubble(reply.id).header.text()  # type: ignore[union-attr]


def test_cloud_reply_is_marked_and_unsupported_settings_are_flagged(qtbot: Any, desktop: DesktopApp) -> None:
    w = desktop.window
    panel = w.settings_panel
    with guarded_stub() as stub:
        panel.cloud_base_url.setText(stub.base_url)
        panel.cloud_base_url.editingFinished.emit()
        panel.api_key.setText("sk-test-key")
        panel.save_key.click()
        assert "keychain" in panel.key_status.text()
        assert panel.api_key.text() == ""  # the key does not stay in the widget
        consent(qtbot, w, agree=True)
        panel.cloud_mode.setCurrentIndex(panel.cloud_mode.findData("cloud"))
        w.change_setting("do_sample", True)
        w.change_setting("repetition_penalty", 1.2)
        assert not panel.rows["repetition_penalty"].cloud_label.isHidden()
        assert not panel.rows["top_k"].cloud_label.isHidden()  # sampling with top_k 50: no such API parameter
        assert panel.rows["temperature"].cloud_label.isHidden()
        w.composer.input.setPlainText("hello cloud")
        with qtbot.waitSignal(w.reply_finished, timeout=TIMEOUT_MS) as blocker:
            w.send()
        assert blocker.args == ["complete"]
        (request,) = stub.chat_requests
    body = request.body
    assert body["messages"][-1] == {"role": "user", "content": "hello cloud"}
    assert "top_k" not in json.dumps(body)
    reply = w.controller.session.messages()[-1]
    assert reply.engine == "openai" and "hello cloud" in reply.content
    bubble = w.chat_view.bubble(reply.id)
    assert bubble is not None and "Cloud" in bubble.header.text()
    assert w.backend_label.text().endswith("OpenAI")
    assert "sk-test-key" not in Path(w.ctx.settings.fileName()).read_text(encoding="utf-8")


def cloud_on(qtbot: Any, w: Any, stub: OpenAIStub, mode: str) -> None:
    panel = w.settings_panel
    panel.cloud_base_url.setText(stub.base_url)
    panel.cloud_base_url.editingFinished.emit()
    panel.api_key.setText("sk-test-key")
    panel.save_key.click()
    consent(qtbot, w, agree=True)
    panel.cloud_mode.setCurrentIndex(panel.cloud_mode.findData(mode))


def attach_report(qtbot: Any, w: Any, tmp_path: Path) -> None:
    from tests.support.document_files import make_pdf

    pdf = tmp_path / "report.pdf"
    pdf.write_bytes(make_pdf(["First page: the budget is 300 million won.", "Second page: the deadline is May 2."]))
    with qtbot.waitSignal(w.composer.documents.read_done, timeout=TIMEOUT_MS):
        w.composer.documents.add_files([pdf])


def asked(qtbot: Any, w: Any, text: str) -> Any:
    """Send ``text``: the window asks about the conversation's files before anything runs."""
    w.composer.input.setPlainText(text)
    w.send()
    dialog = w.chat_actions.files_dialog
    assert dialog is not None and dialog.isVisible() and w.runner.worker is None
    return dialog


def test_each_cloud_send_with_files_asks_naming_them(qtbot: Any, desktop: DesktopApp, tiny_gguf: Path,
                                                     tmp_path: Path) -> None:
    """Consent covers the conversation's text; attached files are asked about at every send that may reach the
    cloud: Keep local answers locally and sends nothing over HTTP, Send to cloud sends the files' text."""
    w = desktop.window
    with guarded_stub() as stub:
        cloud_on(qtbot, w, stub, "cloud")
        with qtbot.waitSignal(w.model_loaded, timeout=TIMEOUT_MS):
            w.load_model(tiny_gguf)
        w.change_setting("max_new_tokens", 4)
        attach_report(qtbot, w, tmp_path)
        dialog = asked(qtbot, w, "When is the deadline?")
        assert dialog.names == ["report.pdf"] and "report.pdf" in dialog.body.text()
        assert w.controller.cloud_host() in dialog.body.text() and dialog.keep_button.isDefault()
        with qtbot.waitSignal(w.reply_finished, timeout=TIMEOUT_MS) as blocker:
            dialog.keep_button.click()
        assert blocker.args == ["complete"] and w.chat_actions.files_dialog is None
        assert stub.requests == []  # nothing went over HTTP
        assert w.controller.session.messages()[-1].engine == "cpu"  # the local model answered

        dialog = asked(qtbot, w, "And the budget?")  # the answer was not remembered: asked again
        assert dialog.names == ["report.pdf"]  # the document is still in the conversation
        with qtbot.waitSignal(w.reply_finished, timeout=TIMEOUT_MS) as blocker:
            dialog.send_button.click()
        assert blocker.args == ["complete"]
        (request,) = stub.chat_requests
    sent = json.dumps(request.body["messages"], ensure_ascii=False)
    assert "the deadline is May 2" in sent and "the budget is 300 million won" in sent and "report.pdf" in sent
    assert request.body["messages"][-1]["content"].endswith("And the budget?")
    assert w.controller.session.messages()[-1].engine == "openai"


def test_keep_local_without_a_local_model_sends_nothing(qtbot: Any, desktop: DesktopApp, tmp_path: Path) -> None:
    import io

    from PIL import Image

    w = desktop.window
    picture = tmp_path / "chart.png"
    buffer = io.BytesIO()
    Image.new("RGB", (8, 8), "red").save(buffer, format="PNG")
    picture.write_bytes(buffer.getvalue())
    with guarded_stub() as stub:
        cloud_on(qtbot, w, stub, "cloud")
        attach_report(qtbot, w, tmp_path)
        w.composer.attachments.add_files([picture])
        dialog = asked(qtbot, w, "What does the chart show?")
        assert dialog.names == ["report.pdf", "image 1 (PNG)"]
        with qtbot.waitSignal(w.reply_finished, timeout=TIMEOUT_MS) as blocker:
            dialog.reject()  # Esc or closing the dialog: Keep local
        assert blocker.args == ["failed"]
        assert "stayed on this computer" in w.message_label.text()
        assert stub.requests == []
    user = w.controller.session.messages()[-2]
    assert user.content == "What does the chart show?" and len(user.images) == 1  # nothing the user had is lost
    assert [d.filename for d in user.documents] == ["report.pdf"]
