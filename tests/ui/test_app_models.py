"""The model manager and the first run: local GGUF list, conversion through the Hub stand-in with
progress, cancel without a partial file, the demo model offered when no model exists."""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

from exaone_desktop.app import DesktopApp
from PySide6.QtCore import Qt

from tests.support.app_convert_driver import run_driver
from tests.support.app_fixtures import convert_tiny, isolated_app
from tests.support.hub_stub import HubStub

TIMEOUT_MS = 120_000


def test_manager_lists_local_ggufs_with_their_facts(desktop: DesktopApp, tiny_checkpoint: Any) -> None:
    models = desktop.ctx.models_dir
    models.mkdir(parents=True)
    convert_tiny(tiny_checkpoint("exaone4"), models, "q8_0")
    (models / "broken.gguf").write_bytes(b"not a gguf")
    manager = desktop.window.model_manager()
    rows = {manager.table.item(r, 0).text(): [manager.table.item(r, c).text() for c in range(5)]
            for r in range(manager.table.rowCount())}
    good = next(v for k, v in rows.items() if "⚠" not in k)
    assert good[1] == "exaone4" and "Q8_0" in good[3].upper() and good[4] == "1,024"
    assert good[2].endswith(("kB", "MB"))  # decimal units, as every size message of the project
    bad = next(k for k in rows if "⚠" in k)
    assert "broken" in bad


def test_first_run_offers_the_demo_model_and_sets_it_up(qtbot: Any, desktop: DesktopApp) -> None:
    w = desktop.window
    w.start()
    assert w.stack.currentWidget() is w.welcome
    w.composer.input.setPlainText("hello")
    w.send()  # no model yet: a message names the fix, nothing is stored
    assert "model" in w.message_label.text() and w.controller.session.messages() == []
    with qtbot.waitSignal(w.model_loaded, timeout=TIMEOUT_MS):
        w.welcome.demo_button.click()
    assert w.manager.last_fraction == 1.0
    assert Path(w.controller.model_info.path).parent == desktop.ctx.models_dir
    assert w.stack.currentIndex() == 0


def test_cancel_leaves_no_partial_file(qtbot: Any, desktop: DesktopApp, tiny_checkpoint: Any) -> None:
    manager = desktop.window.model_manager()
    manager.source.setText(str(tiny_checkpoint("exaone3_tied_sharded")))
    manager.convert_type.setCurrentText("f32")
    manager.convert_button.click()
    job = manager.job
    assert job is not None
    fired = threading.Event()

    def cancel_mid_write(stage: str, fraction: float) -> None:  # runs in the worker thread, mid-conversion
        if 0 < fraction < 1 and not fired.is_set():
            fired.set()
            job.cancel()

    job.progress.connect(cancel_mid_write, Qt.ConnectionType.DirectConnection)
    with qtbot.waitSignal(job.cancelled, timeout=TIMEOUT_MS):
        pass
    qtbot.waitUntil(lambda: manager.job is None, timeout=TIMEOUT_MS)
    assert fired.is_set()
    assert list(desktop.ctx.models_dir.iterdir()) == []
    assert "Cancelled" in manager.message.text()
    assert manager.convert_button.isEnabled()


def test_failure_is_one_clear_line(qtbot: Any, desktop: DesktopApp, tmp_path: Path) -> None:
    manager = desktop.window.model_manager()
    manager.source.setText(str(tmp_path / "no-such-folder"))
    manager.convert_button.click()
    with qtbot.waitSignal(manager.job_failed, timeout=TIMEOUT_MS) as blocker:
        pass
    message = blocker.args[0]
    assert "\n" not in message and "Traceback" not in message and "no-such-folder" in message
    assert manager.message.text() == message


def test_convert_through_the_hub_stand_in_reaches_100_percent(tiny_checkpoint: Any, tmp_path: Path) -> None:
    repo = "LGAI-EXAONE/EXAONE-Tiny-Instruct"
    with HubStub() as hub:
        hub.add_folder(repo, tiny_checkpoint("exaone4"))
        out = run_driver(hub.endpoint, tmp_path, repo, "q8_0")
    fractions = [f for _stage, f in out["progress"]]
    assert fractions and max(fractions) == 1.0 and out["bar"] == 1.0
    assert any(0 < f < 1 for f in fractions), "progress should be reported along the way"
    assert out["files"] == ["EXAONE-Tiny-Instruct-Q8_0.gguf"]  # the CLI's naming: <model>-<TYPE>.gguf
    assert out["loaded"].endswith("EXAONE-Tiny-Instruct-Q8_0.gguf")  # the new model is put to use
    assert hub.count("GET", "/cdn/") >= 1  # the weights really came through the stand-in Hub


def test_download_an_official_gguf_through_the_hub_stand_in(tiny_checkpoint: Any, tmp_path: Path) -> None:
    from exaone_convert.convert import convert_checkpoint
    from exaone_convert.quantize import quantize_gguf

    repo = "LGAI-EXAONE/EXAONE-Tiny-Instruct-GGUF"
    bf16 = convert_checkpoint(tiny_checkpoint("exaone4"), tmp_path / "bf16.gguf", "bf16")
    q4 = quantize_gguf(bf16, tmp_path / "EXAONE-Tiny-Instruct-Q4_K_M.gguf", "q4_k_m", threads=1)
    with HubStub() as hub:
        hub.add_commit(repo, {"README.md": b"official ggufs", q4.name: q4.read_bytes()})
        out = run_driver(hub.endpoint, tmp_path, repo, "--download", "Q4_K_M")
    assert [stage for stage, _ in out["progress"]] and max(f for _, f in out["progress"]) == 1.0
    assert out["bar"] == 1.0
    assert len(out["files"]) == 1 and out["files"][0].endswith(".gguf")
    downloaded = tmp_path / "data" / "models" / out["files"][0]
    assert downloaded.read_bytes() == q4.read_bytes()
    assert out["loaded"] == str(downloaded)  # the downloaded model is put to use


def test_quantize_a_listed_gguf(qtbot: Any, desktop: DesktopApp, tiny_checkpoint: Any) -> None:
    from exaone_convert.gguf_check import inspect_gguf

    models = desktop.ctx.models_dir
    models.mkdir(parents=True)
    src = convert_tiny(tiny_checkpoint("exaone4"), models, "bf16")
    manager = desktop.window.model_manager()
    manager.refresh()
    manager.select(Path(src))
    manager.quantize_type.setCurrentText("q8_0")
    seen: list[float] = []
    manager.quantize_button.click()
    assert manager.job is not None
    manager.job.progress.connect(lambda _stage, f: seen.append(f))
    with qtbot.waitSignal(manager.job_finished, timeout=TIMEOUT_MS) as blocker:
        pass
    out = Path(blocker.args[0])
    assert out.parent == models and out != Path(src)
    assert inspect_gguf(out).quant_type == "Q8_0"
    assert seen and seen[-1] == 1.0


def test_demo_flag_sets_up_and_loads_the_demo_model(qtbot: Any, tmp_path: Path) -> None:
    """What the README's run command does on a fresh machine: the app comes up on the demo model."""
    with isolated_app(tmp_path, "--demo") as app:
        with qtbot.waitSignal(app.window.model_loaded, timeout=TIMEOUT_MS):
            app.show()
        assert Path(app.window.controller.model_info.path).parent == app.ctx.models_dir
        assert app.window.controller.model_info.architecture == "exaone"
