"""Settings > Model in the app: the context size and KV cache type apply by reloading the real model, persist,
and show what they cost; the status line shows the context a reply used."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from app_fixtures import isolated_app
from exaone_desktop.app import DesktopApp

TIMEOUT_MS = 120_000


def choose_n_ctx(panel: Any, value: int) -> None:
    """Type a context size into the spin box and leave it, as a user does."""
    panel.n_ctx.setValue(value)
    panel.n_ctx.editingFinished.emit()


def test_context_size_applies_on_reload_and_persists(qtbot: Any, tiny_gguf: Path, tmp_path: Path) -> None:
    with isolated_app(tmp_path) as first_app:
        first_app.show()
        w = first_app.window
        panel = w.settings_panel.load_panel
        assert "Load a model" in panel.kv_label.text() and not panel.reload_button.isEnabled()
        with qtbot.waitSignal(w.model_loaded, timeout=TIMEOUT_MS):
            w.load_model(tiny_gguf)
        first = w.local
        trained = first.model_info.context_length
        assert panel.n_ctx.maximum() == trained
        assert f"{first.n_ctx:,} tokens" in panel.kv_label.text()

        choose_n_ctx(panel, 160)
        assert panel.reload_button.isEnabled(), "a changed load setting waits for a reload"
        assert "160 tokens" in panel.kv_label.text()
        from exaone_desktop.engine.llama.context import kv_cache_bytes
        from exaone_desktop.session.models import human_size

        assert human_size(kv_cache_bytes(first.model_info, 160, "f16")) in panel.kv_label.text()
        panel.kv_cache_type.setCurrentIndex(panel.kv_cache_type.findData("q8_0"))
        q8 = kv_cache_bytes(first.model_info, 160, "q8_0")
        assert q8 < kv_cache_bytes(first.model_info, 160, "f16") and human_size(q8) in panel.kv_label.text()
        panel.kv_cache_type.setCurrentIndex(panel.kv_cache_type.findData("f16"))
        assert w.local is first  # nothing reloads until the user asks
        old_pid = first.pid
        assert old_pid is not None
        with qtbot.waitSignal(w.model_loaded, timeout=TIMEOUT_MS):
            panel.reload_button.click()
        assert w.local is not first and w.local.n_ctx == 160
        assert first.pid is None and w.local.pid != old_pid, "the replaced model's worker process was ended"
        assert not panel.reload_button.isEnabled()

        w.change_setting("max_new_tokens", 4)
        w.composer.input.setPlainText("hello")
        with qtbot.waitSignal(w.reply_finished, timeout=TIMEOUT_MS) as blocker:
            w.send()
        assert blocker.args == ["complete"]
        assert w.context_label.text().endswith("/ 160") or "/ 160 " in w.context_label.text()
        w.release_model()

    with isolated_app(tmp_path) as again:  # the same data folder: the choice was saved
        w2 = again.window
        with qtbot.waitSignal(w2.model_loaded, timeout=TIMEOUT_MS):
            again.show()  # start() loads the saved model with the saved load settings
        assert w2.local.n_ctx == 160 and w2.settings_panel.load_panel.n_ctx.value() == 160
        w2.release_model()


def test_out_of_range_context_is_refused_with_the_range(qtbot: Any, desktop: DesktopApp, tiny_gguf: Path) -> None:
    w = desktop.window
    with qtbot.waitSignal(w.model_loaded, timeout=TIMEOUT_MS):
        w.load_model(tiny_gguf)
    trained = w.local.model_info.context_length
    w.change_load_setting("n_ctx", trained + 1)
    panel = w.settings_panel.load_panel
    assert f"at most {trained:,} tokens" in panel.error_label.text()
    assert w.controller.load.n_ctx is None and not panel.reload_button.isEnabled()
    panel.kv_cache_type.setCurrentIndex(panel.kv_cache_type.findData("q8_0"))
    assert panel.error_label.text() == "" and w.controller.load.kv_cache_type == "q8_0"
    assert panel.reload_button.isEnabled()


def test_serve_switch_serves_the_loaded_model_on_localhost(qtbot: Any, desktop: DesktopApp, tiny_gguf: Path) -> None:
    import openai
    from PySide6.QtGui import QGuiApplication

    w = desktop.window
    panel = w.settings_panel.load_panel
    panel.serve_switch.click()  # no model yet: refused, the switch stays off
    assert not panel.serve_switch.isChecked() and "Load a model first" in w.message_label.text()
    with qtbot.waitSignal(w.model_loaded, timeout=TIMEOUT_MS):
        w.load_model(tiny_gguf)

    panel.serve_switch.click()
    url = panel.serve_address.text()
    assert panel.serve_switch.isChecked() and url.startswith("http://127.0.0.1:") and url.endswith("/v1")
    panel.serve_copy.click()
    assert QGuiApplication.clipboard().text() == url
    client = openai.OpenAI(base_url=url, api_key="none", max_retries=0, timeout=60)
    served = client.chat.completions.create(model=client.models.list().data[0].id, max_completion_tokens=6,
                                            temperature=0, messages=[{"role": "user", "content": "hello"}])
    direct = w.local.generate([{"role": "user", "content": "hello"}],
                              w.local.default_settings(max_new_tokens=6, do_sample=False))
    assert served.choices[0].message.content == direct.generated[0].text  # the chat's own model answers

    panel.serve_switch.click()
    assert not panel.serve_switch.isChecked() and panel.serve_address.text() == ""
    with pytest.raises(openai.APIConnectionError):
        client.models.list()


def test_serve_switch_offers_a_key_and_guards_like_exaone_serve(qtbot: Any, desktop: DesktopApp,
                                                                   tiny_gguf: Path) -> None:
    """The app's server refuses a foreign Host as exaone-serve does; "Require an API key" shows a new key, which
    clients must then send; switched off, no key is needed again. The panel shows the address and the key."""
    import openai
    from server_helpers import request

    w = desktop.window
    panel = w.settings_panel.load_panel
    with qtbot.waitSignal(w.model_loaded, timeout=TIMEOUT_MS):
        w.load_model(tiny_gguf)
    assert not panel.serve_key_switch.isChecked() and panel.serve_key.text() == ""
    panel.serve_switch.click()
    url = panel.serve_address.text()
    root = url.removesuffix("/v1")
    assert request(root, "GET", "/health").status == 200
    assert request(root, "GET", "/health", headers={"Host": "evil.example.com"}).status == 403
    assert request(root, "POST", "/v1/models", "{}", {"Content-Type": "text/plain"}).status == 415

    panel.serve_key_switch.click()
    key = panel.serve_key.text()
    url = panel.serve_address.text()
    assert panel.serve_key_switch.isChecked() and key.startswith("sk-local-") and panel.serve_switch.isChecked()
    with pytest.raises(openai.AuthenticationError):
        openai.OpenAI(base_url=url, api_key="none", max_retries=0).models.list()
    client = openai.OpenAI(base_url=url, api_key=key, max_retries=0, timeout=60)
    assert client.models.list().data

    panel.serve_key_switch.click()
    url = panel.serve_address.text()
    assert not panel.serve_key_switch.isChecked() and panel.serve_key.text() == ""
    assert openai.OpenAI(base_url=url, api_key="none", max_retries=0).models.list().data
    panel.serve_switch.click()
    assert panel.serve_address.text() == "" and not panel.serve_switch.isChecked()
