"""Settings a newcomer understands and cannot break by scrolling (real window offscreen, real llama.cpp loads):
the mouse wheel changes no setting it merely passes over, presets (LG's recommendation for the loaded family,
Precise, Balanced, Creative), the panel fits its width in English and Korean, and load settings (GPU layers,
CPU threads, context, KV cache type) are kept with each model file."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from exaone_desktop.app import DesktopApp
from exaone_desktop.ui import language
from PySide6.QtCore import QPoint, QPointF, Qt
from PySide6.QtGui import QWheelEvent
from PySide6.QtWidgets import QApplication, QWidget

from tests.support.app_fixtures import isolated_app

TIMEOUT_MS = 120_000


@pytest.fixture
def desktop(qtbot: Any, tmp_path: Path) -> Iterator[DesktopApp]:
    with isolated_app(tmp_path) as app:
        app.show()
        qtbot.waitExposed(app.window)
        yield app


def wheel(widget: QWidget, steps: int = 3) -> bool:
    """Wheel events over the middle of ``widget`` (scrolling up ``steps`` notches); True when it took them.

    One it leaves (ignores) Qt hands on to the parent: the scroll area around the panel (Qt does that only for
    a real wheel, so a test sees it as the event left unaccepted)."""
    centre = QPointF(widget.width() / 2, widget.height() / 2)
    taken = False
    for _ in range(steps):
        event = QWheelEvent(centre, QPointF(widget.mapToGlobal(centre.toPoint())), QPoint(0, 0), QPoint(0, 120),
                            Qt.MouseButton.NoButton, Qt.KeyboardModifier.NoModifier, Qt.ScrollPhase.NoScrollPhase,
                            False)
        QApplication.sendEvent(widget, event)
        taken = taken or event.isAccepted()
    return taken


def test_the_wheel_over_an_unfocused_setting_leaves_it_and_scrolls_the_panel(qtbot: Any,
                                                                             desktop: DesktopApp) -> None:
    w = desktop.window
    panel = w.settings_panel
    w.composer.input.setFocus()
    editors = [panel.rows[name].editor for name in ("presence_penalty", "temperature", "top_k", "seed",
                                                     "min_p", "num_return_sequences")]
    editors += [panel.preset, panel.language, *(getattr(panel.load_panel, n) for n in (
        "n_ctx", "kv_cache_type", "n_gpu_layers", "n_threads", "state_cache_mb"))]
    for editor in editors:
        assert not wheel(editor), editor.objectName()  # left for the panel to scroll
        assert editor.focusPolicy() == Qt.FocusPolicy.StrongFocus  # the wheel does not give it the focus
    assert w.controller.state.overrides == {} and w.ctx.get("generation/overrides") in (None, "", "{}")
    assert panel.preset.currentData() != "balanced" and w.controller.load == type(w.controller.load)()
    assert w.ctx.get("ui/language") in (None, "")
    bar = panel.generation_scroll.verticalScrollBar()
    bar.setValue(bar.maximum())
    assert wheel(panel.generation_scroll.viewport()) and bar.value() < bar.maximum()  # what Qt hands it scrolls

    spin = panel.rows["presence_penalty"].editor
    spin.setFocus()  # clicked or tabbed into: now the wheel is meant for it
    qtbot.waitUntil(spin.hasFocus)
    assert wheel(spin, 2)
    assert w.controller.state.effective().presence_penalty == pytest.approx(0.2)


def test_presets_set_the_sampling_settings_and_follow_the_loaded_family(qtbot: Any, desktop: DesktopApp,
                                                                       tiny_gguf: Path) -> None:
    w = desktop.window
    panel = w.settings_panel
    w.change_setting("max_new_tokens", 77)
    w.change_setting("seed", 5)
    panel.preset.setCurrentIndex(panel.preset.findData("balanced"))
    panel.preset.activated.emit(panel.preset.currentIndex())
    s = w.controller.state.effective()
    assert (s.do_sample, s.temperature, s.top_p, s.top_k) == (True, 0.7, 0.9, 40)
    assert (s.max_new_tokens, s.seed) == (77, 5)  # a preset keeps the length, the seed and the stop texts
    assert json.loads(str(w.ctx.get("generation/overrides")))["temperature"] == 0.7
    w.change_setting("temperature", 0.8)
    assert panel.preset.currentData() is None  # the user's own mix now

    with qtbot.waitSignal(w.model_loaded, timeout=TIMEOUT_MS):
        w.load_model(tiny_gguf)
    assert w.controller.family() == "exaone4"
    assert panel.preset.itemText(0) == "LG's recommended for EXAONE 4.0"
    panel.preset.setCurrentIndex(0)
    panel.preset.activated.emit(0)
    s = w.controller.state.effective()
    assert (s.do_sample, s.temperature, s.top_p) == (True, 0.6, 0.95)  # the family table's row for EXAONE 4.0
    assert panel.preset.currentData() == "recommended"
    panel.preset.setCurrentIndex(panel.preset.findData("precise"))
    panel.preset.activated.emit(panel.preset.currentIndex())
    assert w.controller.state.effective().do_sample is False
    panel.preset.setCurrentIndex(panel.preset.findData("creative"))
    panel.preset.activated.emit(panel.preset.currentIndex())
    s = w.controller.state.effective()
    assert s.do_sample and s.temperature > 1.0 and s.min_p == 0.05


@pytest.mark.parametrize("lang", ["en", "ko"])
def test_the_panel_fits_its_width_in_both_languages(qtbot: Any, tmp_path: Path, lang: str) -> None:
    try:
        with isolated_app(tmp_path) as app:
            language.install(lang)
            app.switch_language(lang)
            w = app.window
            w.resize(1280, 800)
            w.show()
            qtbot.waitExposed(w)
            panel = w.settings_panel
            bar = panel.tabBar()
            assert bar.sizeHint().width() <= panel.width(), [panel.tabText(i) for i in range(panel.count())]
            for i in range(panel.count()):
                assert bar.tabRect(i).right() <= panel.width(), panel.tabText(i)
                assert "…" not in panel.tabText(i)
            panel.setCurrentIndex(0)
            viewport = panel.generation_scroll.viewport()
            for name, row in panel.rows.items():
                if not row.shown:
                    continue
                right = row.reset_button.mapTo(viewport, QPoint(row.reset_button.width(), 0)).x()
                assert 0 < right <= viewport.width(), f"{lang}: the Reset button of {name} is cut off"
                assert row.label.text() and row.name_label.text() == name
            assert panel.generation_scroll.horizontalScrollBar().maximum() == 0
    finally:
        language.install("en")


def test_load_settings_are_kept_with_each_model(qtbot: Any, desktop: DesktopApp, tiny_gguf: Path,
                                                tmp_path: Path) -> None:
    w = desktop.window
    other = tmp_path / "other-copy.gguf"
    other.write_bytes(tiny_gguf.read_bytes())
    lp = w.settings_panel.load_panel
    assert lp.labels["n_gpu_layers"].text() == "Layers on the GPU (n_gpu_layers)"
    with qtbot.waitSignal(w.model_loaded, timeout=TIMEOUT_MS):
        w.load_model(tiny_gguf)
    lp.n_threads.setValue(1)
    lp.n_threads.editingFinished.emit()
    lp.n_gpu_layers.setValue(0)
    lp.n_gpu_layers.editingFinished.emit()
    lp.n_ctx.setValue(256)
    lp.n_ctx.editingFinished.emit()
    assert (w.controller.load.n_threads, w.controller.load.n_gpu_layers) == (1, 0)
    assert lp.reload_button.isEnabled()  # they apply at the next load
    with qtbot.waitSignal(w.model_loaded, timeout=TIMEOUT_MS):
        w.reload_model()
    assert w.loader.job is None and w.controller.loaded_with == w.controller.load
    assert w.controller.local.n_ctx == 256

    with qtbot.waitSignal(w.model_loaded, timeout=TIMEOUT_MS):
        w.load_model(other)  # a model loaded for the first time starts from the last choices
    lp.n_threads.setValue(2)
    lp.n_threads.editingFinished.emit()
    assert w.controller.load.n_threads == 2
    with qtbot.waitSignal(w.model_loaded, timeout=TIMEOUT_MS):
        w.load_model(tiny_gguf)  # its own choices come back
    assert (w.controller.load.n_threads, w.controller.load.n_gpu_layers, w.controller.load.n_ctx) == (1, 0, 256)
    assert (lp.n_threads.value(), lp.n_gpu_layers.value()) == (1, 0)
    saved = w.ctx.get_json("model/load_by_model")
    assert saved[str(tiny_gguf)]["n_threads"] == 1 and saved[str(other)]["n_threads"] == 2
