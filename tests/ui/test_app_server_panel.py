"""Settings > Server in the real app (offscreen), with the real openai client against the served model: the
switch, the port (kept; a busy port is one translated line and is not replaced), "start with the app" (kept;
the server starts when the model loads at the next launch), the model reachable by the window's name, its
file name and any name a client sends (replies name the real model), the key, and the live request log."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from exaone_desktop.app import DesktopApp
from exaone_desktop.session.serving import LOG_SIZE, RequestLog, ServeOptions
from exaone_desktop.ui import language

from tests.support.app_fixtures import isolated_app

TIMEOUT_MS = 120_000
HELLO = [{"role": "user", "content": "hello"}]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def busy_port() -> Iterator[int]:
    """A port another program listens on while the test runs."""
    with socket.socket() as other:
        other.bind(("127.0.0.1", 0))
        other.listen(1)
        yield int(other.getsockname()[1])


def choose_port(panel: Any, port: int) -> None:
    panel.port.setValue(port)
    panel.port.editingFinished.emit()


def load(qtbot: Any, w: Any, gguf: Path) -> None:
    with qtbot.waitSignal(w.model_loaded, timeout=TIMEOUT_MS):
        w.load_model(gguf)


def serve(qtbot: Any, w: Any, gguf: Path) -> str:
    """Load ``gguf`` and switch the server on at a free port; returns the address it serves at."""
    load(qtbot, w, gguf)
    choose_port(w.server_panel, free_port())
    w.server_panel.serve_switch.click()
    return str(w.server_panel.serve_address.text())


def client_for(url: str, key: str = "none") -> Any:
    """The real openai client for the server at ``url`` (no retries)."""
    import openai

    return openai.OpenAI(base_url=url, api_key=key, max_retries=0, timeout=60)


def test_serve_switch_serves_the_loaded_model_on_the_chosen_port(qtbot: Any, desktop: DesktopApp,
                                                                 tiny_gguf: Path) -> None:
    import openai
    from PySide6.QtGui import QGuiApplication

    w = desktop.window
    panel = w.server_panel
    assert w.settings_panel.tabText(w.settings_panel.indexOf(panel)) == "Server"
    panel.serve_switch.click()  # no model yet: refused, the switch stays off
    assert not panel.serve_switch.isChecked() and "Load a model first" in w.message_label.text()
    assert panel.error_label.text() == "Load a model first: the server answers with the loaded model."
    load(qtbot, w, tiny_gguf)
    port = free_port()
    choose_port(panel, port)
    assert ServeOptions.from_json(w.ctx.get("server/options")).port == port  # kept for the next run

    panel.serve_switch.click()
    url = panel.serve_address.text()
    assert panel.serve_switch.isChecked() and url == f"http://127.0.0.1:{port}/v1" and panel.error_label.text() == ""
    panel.serve_copy.click()
    assert QGuiApplication.clipboard().text() == url
    client = client_for(url)
    served = client.chat.completions.create(model=client.models.list().data[0].id, max_completion_tokens=6,
                                            temperature=0, messages=HELLO)
    direct = w.controller.local.generate(HELLO, w.controller.local.default_settings(max_new_tokens=6, do_sample=False))
    assert served.choices[0].message.content == direct.generated[0].text  # the chat's own model answers

    moved = free_port()
    choose_port(panel, moved)  # a running server moves to the new port
    assert panel.serve_address.text() == f"http://127.0.0.1:{moved}/v1"
    panel.serve_switch.click()
    assert not panel.serve_switch.isChecked() and panel.serve_address.text() == ""
    with pytest.raises(openai.APIConnectionError):
        client.models.list()


def test_the_model_answers_to_the_windows_name_its_file_name_and_any_name(qtbot: Any, desktop: DesktopApp,
                                                                          tiny_gguf: Path) -> None:
    """Clients that hard-code a model name (gpt-4o) still get the loaded model; every reply names the real one."""
    w = desktop.window
    panel = w.server_panel
    client = client_for(serve(qtbot, w, tiny_gguf))
    real = tiny_gguf.stem
    assert [m.id for m in client.models.list().data] == [real]
    shown = w.controller.model_name()
    local = w.controller.local
    direct = local.generate(HELLO, local.default_settings(max_new_tokens=5, do_sample=False)).generated[0].text
    for name in (shown, real, tiny_gguf.name, "gpt-4o", "some-client-default"):
        reply = client.chat.completions.create(model=name, max_completion_tokens=5, temperature=0, messages=HELLO)
        assert reply.model == real and reply.choices[0].message.content == direct, name
        assert client.models.retrieve(name).id == real
    streamed = client.completions.create(model="gpt-4o", prompt="hello", max_tokens=3, stream=True)
    assert {chunk.model for chunk in streamed} == {real}
    names = ", ".join(dict.fromkeys((real, shown, tiny_gguf.name)))
    assert panel.names_label.text() == (f"Clients may name the model {names}, or give any other name: "
                                        f"replies name {real}.")
    panel.serve_switch.click()


def test_a_busy_port_is_reported_in_one_line_and_not_replaced(qtbot: Any, desktop: DesktopApp, tiny_gguf: Path,
                                                               busy_port: int) -> None:
    w = desktop.window
    panel = w.server_panel
    load(qtbot, w, tiny_gguf)
    choose_port(panel, busy_port)
    panel.serve_switch.click()
    line = f"Port {busy_port} is in use by another program: choose another port."
    assert panel.error_label.text() == line and w.message_label.text() == line
    assert not panel.serve_switch.isChecked() and w.controller.serving.url is None  # no other port taken

    ok = free_port()
    choose_port(panel, ok)
    panel.serve_switch.click()
    assert panel.serve_address.text() == f"http://127.0.0.1:{ok}/v1" and panel.error_label.text() == ""
    choose_port(panel, busy_port)  # running: it stays where it is, and says why
    assert panel.error_label.text() == line and panel.serve_address.text() == f"http://127.0.0.1:{ok}/v1"
    assert panel.port.value() == ok and ServeOptions.from_json(w.ctx.get("server/options")).port == ok
    panel.serve_switch.click()


def test_a_busy_port_in_korean(qtbot: Any, desktop: DesktopApp, tiny_gguf: Path, busy_port: int) -> None:
    try:
        language.install("ko")
        desktop.switch_language("ko")
        w = desktop.window
        load(qtbot, w, tiny_gguf)
        choose_port(w.server_panel, busy_port)
        w.server_panel.serve_switch.click()
        line = f"포트 {busy_port}번을 다른 프로그램이 쓰고 있습니다: 다른 포트를 고르세요."
        assert w.server_panel.error_label.text() == line and w.message_label.text() == line
    finally:
        language.install("en")


def test_start_with_the_app_serves_the_model_when_it_loads_at_the_next_launch(qtbot: Any, tmp_path: Path,
                                                                              tiny_gguf: Path) -> None:
    port = free_port()
    with isolated_app(tmp_path) as app:
        app.show()
        panel = app.window.server_panel
        assert not panel.autostart.isChecked()
        choose_port(panel, port)
        panel.autostart.click()
        load(qtbot, app.window, tiny_gguf)
        assert panel.serve_address.text() == ""  # remembered for the next launch; nothing started now
    with isolated_app(tmp_path) as app:
        app.show()
        w = app.window
        panel = w.server_panel
        assert panel.autostart.isChecked() and panel.port.value() == port
        with qtbot.waitSignal(w.model_loaded, timeout=TIMEOUT_MS):
            w.start()  # loads the last model
        assert panel.serve_switch.isChecked() and panel.serve_address.text() == f"http://127.0.0.1:{port}/v1"
        client = client_for(panel.serve_address.text())
        assert [m.id for m in client.models.list().data] == [tiny_gguf.stem]
        panel.serve_switch.click()  # stopped by the user: a window rebuilt for another language does not restart it
        try:
            app.switch_language("ko")
            w = app.window
            load(qtbot, w, tiny_gguf)
            assert not w.server_panel.serve_switch.isChecked() and w.server_panel.serve_address.text() == ""
        finally:
            app.switch_language("en")
        panel = app.window.server_panel
        panel.autostart.click()
    with isolated_app(tmp_path) as app:
        app.show()
        assert not app.window.server_panel.autostart.isChecked()


def test_the_request_log_shows_each_request_live_without_its_text(qtbot: Any, desktop: DesktopApp,
                                                                  tiny_gguf: Path) -> None:
    import openai

    w = desktop.window
    panel = w.server_panel
    client = client_for(serve(qtbot, w, tiny_gguf))
    secret = "the secret prompt 7319"
    reply = client.chat.completions.create(model="gpt-4o", max_completion_tokens=4, temperature=0,
                                           messages=[{"role": "user", "content": secret}])
    qtbot.waitUntil(lambda: panel.log_table.rowCount() == 1, timeout=5000)
    row = [panel.log_table.item(0, c).text() for c in range(panel.log_table.columnCount())]
    _time, who, model, tokens, seconds, status = row
    assert who.startswith("127.0.0.1:") and "OpenAI/Python" in who
    assert model == "gpt-4o" and status == "200" and seconds.endswith(" s")
    assert tokens == f"{reply.usage.prompt_tokens} → {reply.usage.completion_tokens}"
    stream = client.chat.completions.create(model="demo", max_completion_tokens=3, temperature=0, messages=HELLO,
                                            stream=True)
    chunks = list(stream)
    assert chunks
    with pytest.raises(openai.BadRequestError):  # refused before the model: logged with its status, no tokens
        client.chat.completions.create(model="x", messages=HELLO, logprobs=True)
    qtbot.waitUntil(lambda: panel.log_table.rowCount() == 3, timeout=5000)
    newest = [panel.log_table.item(0, c).text() for c in range(6)]
    streamed = [panel.log_table.item(1, c).text() for c in range(6)]
    assert newest[2:4] == ["x", "–"] and newest[5] == "400"
    assert streamed[2] == "demo" and streamed[5] == "200" and streamed[3].split(" → ")[1] != "0"
    records = w.controller.serving.log.records()
    assert all(secret not in repr(r) for r in records)  # metadata only
    panel.clear_log.click()
    qtbot.waitUntil(lambda: panel.log_table.rowCount() == 0, timeout=5000)
    panel.serve_switch.click()


def test_the_log_keeps_the_newest_requests_only() -> None:
    log = RequestLog()
    for i in range(LOG_SIZE + 5):
        log.add(i)
    assert log.records() == list(range(5, LOG_SIZE + 5)) and log.version == LOG_SIZE + 5


def test_options_read_back_and_refuse_nonsense() -> None:
    assert ServeOptions.from_json(ServeOptions(9000, True).to_json()) == ServeOptions(9000, True)
    for bad in ("", "not json", '{"port": 80}', '{"port": "x"}', "[1]"):
        assert ServeOptions.from_json(bad) == ServeOptions()


def test_the_key_is_required_kept_for_the_next_launch_and_replaced_by_new_key(qtbot: Any, tmp_path: Path,
                                                                              tiny_gguf: Path) -> None:
    import openai

    def answers(url: str, key: str) -> bool:
        try:
            client_for(url, key).models.list()
        except openai.AuthenticationError:
            return False
        return True

    port = free_port()
    with isolated_app(tmp_path) as app:
        app.show()
        w, panel = app.window, app.window.server_panel
        assert not panel.serve_new_key.isEnabled()
        choose_port(panel, port)
        load(qtbot, w, tiny_gguf)
        panel.serve_switch.click()
        url = panel.serve_address.text()
        assert answers(url, "none")  # no key asked for yet
        panel.serve_key_switch.click()
        key = panel.serve_key.text()
        assert panel.serve_key_switch.isChecked() and key.startswith("sk-local-") and panel.serve_new_key.isEnabled()
        assert not answers(url, "none") and answers(url, key)
    with isolated_app(tmp_path) as app:  # the next launch: the same key, so clients keep working
        app.show()
        w, panel = app.window, app.window.server_panel
        assert panel.serve_key_switch.isChecked() and panel.serve_key.text() == key
        load(qtbot, w, tiny_gguf)
        panel.serve_switch.click()
        url = panel.serve_address.text()
        assert answers(url, key) and not answers(url, "none")
        panel.serve_new_key.click()
        new = panel.serve_key.text()
        assert new != key and new.startswith("sk-local-")
        assert answers(url, new) and not answers(url, key)
        panel.serve_key_switch.click()  # off: no key, and none the next time
        assert panel.serve_key.text() == "" and answers(url, "none")
    with isolated_app(tmp_path) as app:
        app.show()
        assert not app.window.server_panel.serve_key_switch.isChecked()


def test_a_kept_key_reads_back_and_a_malformed_one_is_dropped() -> None:
    from exaone_desktop.session.serving import new_key

    key = new_key()
    assert ServeOptions.from_json(ServeOptions(9000, False, key).to_json()).key == key
    assert ServeOptions.from_json('{"port": 9000, "key": "hunter2"}') == ServeOptions(9000)
