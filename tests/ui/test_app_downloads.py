"""Downloads a person can trust (real window offscreen, a Hub stand-in on 127.0.0.1): Cancel works on every
network action, the Hub check included, within a second even when the Hub never answers; an unreachable Hub
is one translated line; a download shows its speed and the time left; the mirror and proxy are settings."""

from __future__ import annotations

import contextlib
import os
import socket
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from exaone_desktop.app import DesktopApp
from exaone_desktop.session import models, network
from exaone_desktop.session.transfer import Transfer
from exaone_desktop.ui import language

from tests.support.app_fixtures import isolated_app
from tests.support.hub_stub import HubStub

REPO = "LGAI-EXAONE/EXAONE-4.0-1.2B-GGUF"


@pytest.fixture
def desktop(qtbot: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[DesktopApp]:
    for key in ("HF_ENDPOINT", "HTTPS_PROXY", "https_proxy"):
        monkeypatch.delenv(key, raising=False)
    monkeypatch.setenv("HF_HOME", str(tmp_path / "hf"))
    with isolated_app(tmp_path) as app:
        app.show()
        yield app
    network.apply(network.NetworkSettings(network.DEFAULT_ENDPOINT))  # the Hub client as it was


def test_cancel_during_the_hub_check_returns_within_a_second(qtbot: Any, desktop: DesktopApp,
                                                             monkeypatch: pytest.MonkeyPatch) -> None:
    manager = desktop.window.model_manager()
    with HubStub() as hub:
        hub.add_commit(REPO, {"EXAONE-4.0-1.2B-Q4_K_M.gguf": b"m" * 100})
        hub.stall = threading.Event()  # it takes the requests and never answers
        real = models.fetch_listings
        monkeypatch.setattr(models, "fetch_listings", lambda **kw: real([REPO], **kw))  # one repository, not all
        w = desktop.window
        w.settings_panel.mirror.setText(hub.endpoint)  # the Hub as a mirror setting points the app at it
        w.settings_panel.mirror.editingFinished.emit()
        try:
            assert manager.check_sizes() is not None
            qtbot.waitUntil(lambda: len(hub.requests) > 0, timeout=10_000)  # the question is with the Hub
            assert manager.cancel_button.isEnabled() and not manager.check_sizes_button.isEnabled()
            manager.cancel_button.click()
            qtbot.waitUntil(lambda: manager.catalogue_job is None, timeout=1000)
        finally:
            hub.stall.set()
        # the dropped call ends once its reachability check is answered, asking nothing more of the Hub
        qtbot.waitUntil(lambda: not any(t.name == "CatalogueWorker-call" for t in threading.enumerate()),
                        timeout=10_000)
        assert not [r for r in hub.requests if "/tree/" in r.path]
    assert manager.message.text() == "Stopped asking the Hub; the sizes stay estimates."
    assert manager.check_sizes_button.isEnabled() and not manager.cancel_button.isEnabled()
    assert not any(f.exact for f in manager.catalogue_files)


@pytest.mark.parametrize("lang", ["en", "ko"])
def test_a_hub_that_does_not_answer_is_one_translated_line_within_seconds(qtbot: Any, desktop: DesktopApp,
                                                                         lang: str) -> None:
    """The mirror setting is used, and a server that takes the connection but never answers (a dead network)
    ends in one line of the UI's language after the short time limit, not minutes of silent retries."""
    import socket

    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen(16)  # connections are taken (by the kernel) and never answered
        mirror = f"http://127.0.0.1:{silent.getsockname()[1]}"
        try:
            language.install(lang)
            desktop.switch_language(lang)
            w = desktop.window
            w.settings_panel.mirror.setText(mirror)
            w.settings_panel.mirror.editingFinished.emit()
            assert os.environ["HF_ENDPOINT"] == mirror and w.ctx.get_json("network/hub")["endpoint"] == mirror
            manager = w.model_manager()
            with qtbot.waitSignal(manager.job_failed, timeout=90_000) as blocker:
                manager.download(REPO, "Q4_K_M")
            silent.settimeout(0)
            asked, _ = silent.accept()  # the download went to the mirror
            asked.close()
        finally:
            language.install("en")
    line = blocker.args[0]
    assert "\n" not in line and manager.message.text() == line
    if lang == "ko":
        assert line.startswith("Hugging Face에 연결할 수 없습니다"), line
    else:
        assert line.startswith("Cannot reach Hugging Face: this computer seems to be offline"), line


def test_the_mirror_and_proxy_are_settings_that_say_when_they_cannot_work(desktop: DesktopApp) -> None:
    w = desktop.window
    w.settings_panel.proxy.setText("proxy.example:8080")
    w.settings_panel.proxy.editingFinished.emit()
    assert "http://" in w.settings_panel.network_error.text()
    assert os.environ.get("HTTPS_PROXY") != "proxy.example:8080"
    w.settings_panel.proxy.setText("http://proxy.example:8080")
    w.settings_panel.proxy.editingFinished.emit()
    assert w.settings_panel.network_error.text() == ""
    assert os.environ["HTTPS_PROXY"] == "http://proxy.example:8080"
    assert w.ctx.get_json("network/hub") == {"endpoint": "", "proxy": "http://proxy.example:8080"}
    assert int(os.environ["HF_HUB_ETAG_TIMEOUT"]) <= network.CONNECT_TIMEOUT_S
    w.settings_panel.proxy.setText("")  # cleared: the environment's own (here none) again
    w.settings_panel.proxy.editingFinished.emit()
    assert "HTTPS_PROXY" not in os.environ and "https_proxy" not in os.environ
    assert w.ctx.get_json("network/hub") == {"endpoint": "", "proxy": ""}


def test_progress_says_how_far_how_fast_and_how_long_still(desktop: DesktopApp) -> None:
    clock = [0.0]
    t = Transfer(1_000_000_000, clock=lambda: clock[0])
    assert t.update(0.0).bytes_per_s is None
    clock[0] = 2.0
    f = t.update(0.02)  # 20 MB in 2 s
    assert (f.done, f.bytes_per_s, f.seconds_left) == (20_000_000, 10_000_000, 98.0)
    clock[0] = 60.0
    stalled = t.update(0.02)  # nothing for a minute: the speed falls, the time left grows
    assert stalled.bytes_per_s == 0 and stalled.seconds_left is None

    manager = desktop.window.model_manager()
    manager.transfer = Transfer(4_700_000_000, clock=lambda: clock[0])
    clock[0] = 64.0
    text = manager.transfer_text(0.25)
    assert text == "1.18 GB of 4.70 GB · 293.8 MB/s · about 12 s left", text


# -- pause and resume ----------------------------------------------------------------------------------


def _partial_size(dest: Path) -> int:
    """The partial file's size once no transfer writes it (a paused one stops at its next chunk)."""
    from exaone_convert.resume import part_path
    from filelock import FileLock

    with FileLock(str(part_path(dest)) + ".lock").acquire(timeout=30):
        return part_path(dest).stat().st_size


@pytest.mark.parametrize("stopped_by", ["pause", "closing the app"])
def test_a_paused_download_survives_a_restart_and_resumes_with_a_range_request(
        qtbot: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, tiny_gguf: Path, stopped_by: str) -> None:
    """Pause, or closing the app mid-download, keeps the partial file; after the app is restarted the download
    is listed as paused, and Resume asks the Hub for the rest only (``Range: bytes=<partial size>-``); the
    finished file is the Hub's, byte for byte."""
    from huggingface_hub import constants

    for key in ("HF_ENDPOINT", "HTTPS_PROXY", "https_proxy"):
        monkeypatch.delenv(key, raising=False)
    monkeypatch.setenv("HF_HOME", str(tmp_path / "hf"))
    monkeypatch.setattr(constants, "DOWNLOAD_CHUNK_SIZE", 16 << 10)  # the client's chunk: a pause lands mid-file
    data = tiny_gguf.read_bytes()
    name = "EXAONE-4.0-1.2B-Q4_K_M.gguf"
    try:
        with HubStub() as hub:
            hub.add_commit(REPO, {name: data})
            hub.throttle_bps = max(len(data) // 4, 64 << 10)  # about four seconds for the whole file
            with isolated_app(tmp_path) as app:
                app.show()
                w = app.window
                w.settings_panel.mirror.setText(hub.endpoint)
                w.settings_panel.mirror.editingFinished.emit()
                manager = w.model_manager()
                assert not manager.pause_button.isEnabled() and not manager.paused_box.isVisibleTo(manager)
                job = manager.download(REPO, "Q4_K_M")
                assert job is not None and manager.pause_button.isEnabled()
                dest = job.outfile
                qtbot.waitUntil(lambda: manager.progress.value() > 0, timeout=30_000)
                if stopped_by == "pause":
                    with qtbot.waitSignal(manager.job_cancelled, timeout=10_000):
                        manager.pause_button.click()
                    qtbot.waitUntil(lambda: manager.job is None, timeout=10_000)
                    assert manager.message.text() == "Paused; Resume continues the download from where it stopped."
            kept = _partial_size(dest)
            assert 0 < kept < len(data) and not dest.exists()
            hub.throttle_bps = None
            gets_before = len([r for r in hub.requests if r.method == "GET" and "/cdn/" in r.path])
            with isolated_app(tmp_path) as app:  # the app again: the download is shown as paused
                app.show()
                manager = app.window.model_manager()
                assert manager.paused_box.isVisibleTo(manager) and manager.paused_list.count() == 1
                assert manager.paused_list.item(0).text().startswith(f"{dest.name}: ")
                assert manager.paused_list.item(0).text().endswith(", paused")
                assert manager.resume_button.isEnabled()
                with qtbot.waitSignal(manager.job_finished, timeout=60_000) as done:
                    manager.resume_button.click()
                assert Path(done.args[0]) == dest and dest.read_bytes() == data
                assert manager.paused_list.count() == 0 and not manager.paused_box.isVisibleTo(manager)
                assert [m.path.name for m in manager.models] == [dest.name]
            resumed = [r for r in hub.requests if r.method == "GET" and "/cdn/" in r.path][gets_before:]
            assert [r.range for r in resumed] == [f"bytes={kept}-"]  # only the rest was asked for
            assert sorted(p.name for p in dest.parent.iterdir() if not p.name.endswith(".lock")) == [dest.name]
    finally:
        network.apply(network.NetworkSettings(network.DEFAULT_ENDPOINT))


def test_cancel_deletes_the_partial_download_and_discard_forgets_a_paused_one(
        qtbot: Any, desktop: DesktopApp, monkeypatch: pytest.MonkeyPatch, tiny_gguf: Path) -> None:
    from exaone_convert.resume import part_path
    from huggingface_hub import constants

    monkeypatch.setattr(constants, "DOWNLOAD_CHUNK_SIZE", 16 << 10)
    data = tiny_gguf.read_bytes()
    with HubStub() as hub:
        hub.add_commit(REPO, {"EXAONE-4.0-1.2B-Q4_K_M.gguf": data})
        hub.throttle_bps = max(len(data) // 4, 64 << 10)
        w = desktop.window
        w.settings_panel.mirror.setText(hub.endpoint)
        w.settings_panel.mirror.editingFinished.emit()
        manager = w.model_manager()
        for stop in (manager.cancel_button, manager.pause_button):
            job = manager.download(REPO, "Q4_K_M")
            assert job is not None
            qtbot.waitUntil(lambda: manager.progress.value() > 0, timeout=30_000)
            with qtbot.waitSignal(manager.job_cancelled, timeout=10_000):
                stop.click()
            qtbot.waitUntil(lambda: manager.job is None, timeout=10_000)
            if stop is manager.cancel_button:
                assert manager.message.text() == "Cancelled; no file was written."
                qtbot.waitUntil(lambda j=job: not part_path(j.outfile).exists(), timeout=30_000)
                assert manager.paused_list.count() == 0
        manager.refresh()
        assert manager.paused_list.count() == 1 and part_path(job.outfile).exists()
        manager.discard_button.click()
        assert not part_path(job.outfile).exists() and manager.paused_list.count() == 0
        assert manager.message.text() == f"Deleted the partial download of {job.outfile.name}."


@contextlib.contextmanager
def _silent_hub(desktop: DesktopApp) -> Iterator[None]:
    """The app's Hub mirror set to a port that accepts connections and never answers: a download waits."""
    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen(16)
        panel = desktop.window.settings_panel
        panel.mirror.setText(f"http://127.0.0.1:{silent.getsockname()[1]}")
        panel.mirror.editingFinished.emit()
        yield


def test_a_language_switch_during_a_download_keeps_it_going_in_the_new_window(qtbot: Any,
                                                                             desktop: DesktopApp) -> None:
    """The manager working on a download moves to the new window (its job is neither lost nor destroyed with
    the old window); once idle, opening it again builds one in the new language."""
    with _silent_hub(desktop):
        w = desktop.window
        w.show_model_manager()
        manager = w.model_manager()
        try:
            manager.download(REPO, "Q4_K_M")
            job = manager.job
            assert job is not None and job.isRunning()
            desktop.switch_language("ko")
            new = desktop.window
            assert new is not w and new.manager is manager and manager.job is job and new.manager_dialog.isVisible()
            with qtbot.waitSignal(manager.job_failed, timeout=90_000) as blocker:
                pass  # the short connect limit ends it, in the window that now owns it
            assert "\n" not in blocker.args[0] and manager.job is None
            new.show_model_manager()  # idle now: a manager of the new window, in its language
            assert new.manager is not manager and new.manager.job is None and new.manager_dialog.isVisible()
        finally:
            language.install("en")
            desktop.switch_language("en")


def test_a_language_switch_during_the_first_run_download_keeps_its_page(qtbot: Any, desktop: DesktopApp) -> None:
    """The welcome page's download goes on in the new window's welcome page: shown as busy there, and its Cancel
    cancels it (the old page, deleted, is no longer followed)."""
    with _silent_hub(desktop):
        w = desktop.window
        w.show_welcome()
        try:
            job = w.download_recommended()
            assert job is not None and w.welcome.cancel_button.isVisibleTo(w.welcome)
            desktop.switch_language("ko")
            new = desktop.window
            assert new is not w and new.first_run.job is job and w.first_run.job is None
            assert new.welcome.cancel_button.isVisibleTo(new.welcome)
            assert not new.welcome.download_button.isEnabled()
            with qtbot.waitSignal(job.finished, timeout=30_000):
                new.welcome.cancel_button.click()
            assert job.cancel_event.is_set() and new.first_run.job is None
            assert new.welcome.download_button.isEnabled()
        finally:
            language.install("en")
            desktop.switch_language("en")
