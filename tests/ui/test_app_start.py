"""Starting the app: entry points, nothing heavy imported before the window shows, languages, QSettings."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from exaone_desktop.app import create_app
from exaone_desktop.ui import language
from exaone_desktop.ui.i18n import build_translations
from PySide6.QtCore import QTranslator

from tests.support import memory_keyring

ROOT = Path(__file__).resolve().parents[2]
# exaone_convert's package and its gguf_keys table are light (no third-party imports); its modules that
# pull in gguf, numpy or huggingface_hub are not.
HEAVY = ("llama_cpp", "openai", "exaone_convert.convert", "exaone_convert.gguf_check", "exaone_convert.hub",
         "exaone_convert.quantize", "keyring", "torch", "jinja2", "gguf", "numpy", "huggingface_hub")


@pytest.fixture(autouse=True)
def _english_after() -> Iterator[None]:
    with memory_keyring.installed():
        yield
    language.install("en")


@pytest.mark.parametrize("module", ["exaone_desktop", "desktop"])
def test_python_dash_m_starts_it(module: str) -> None:
    proc = subprocess.run([sys.executable, "-m", module, "--help"], cwd=ROOT, capture_output=True, text=True,
                          timeout=60)
    assert proc.returncode == 0 and "--data-dir" in proc.stdout and "--lang" in proc.stdout


def test_console_script_is_declared() -> None:
    text = (ROOT / "pyproject.toml").read_text(encoding="utf-8")
    assert 'exaone-desktop = "exaone_desktop.app:main"' in text


def test_window_shows_before_anything_heavy_is_imported(tmp_path: Path) -> None:
    code = (
        "import sys\n"
        "from PySide6.QtWidgets import QApplication\n"
        "from exaone_desktop.app import create_app\n"
        f"app = create_app(['--data-dir', {str(tmp_path)!r}, '--lang', 'ko'])\n"
        "app.show(); QApplication.processEvents()\n"
        "assert app.window.isVisible()\n"
        f"print(','.join(m for m in {HEAVY!r} if m in sys.modules))\n"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60,
                          env={**__import__("os").environ, "QT_QPA_PLATFORM": "offscreen"})
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == ""


def test_language_follows_the_os_unless_chosen() -> None:
    assert language.resolve_language(None, "ko_KR") == "ko"
    assert language.resolve_language("system", "ko-KR") == "ko"
    assert language.resolve_language(None, "en_GB") == "en"
    assert language.resolve_language(None, "fr_FR") == "en"
    assert language.resolve_language("en", "ko_KR") == "en"
    assert language.resolve_language("ko", "en_US") == "ko"


def test_every_ui_string_has_a_korean_translation(tmp_path: Path) -> None:
    """lupdate over today's UI sources: every string has a Korean text in ``KO``, ``KO`` holds no text the UI
    no longer has, and the .qm the app loads gives that text in the string's context (so a tr() string added
    without its Korean text, or without rebuilding the .qm, fails here)."""
    root = build_translations.extract(tmp_path / "exaone_ko.ts").getroot()
    messages = [(ctx.findtext("name") or "", msg.findtext("source") or "")
                for ctx in root.iter("context") for msg in ctx.iter("message")]
    assert len(messages) > 100
    sources = {source for _, source in messages}
    assert sorted(sources - set(build_translations.KO)) == []
    assert sorted(set(build_translations.KO) - sources) == []
    qm = QTranslator()
    assert qm.load(str(language.I18N_DIR / "exaone_ko.qm"))
    stale = [(context, source) for context, source in messages
             if qm.translate(context, source) != build_translations.KO[source]]
    assert stale == []


def test_korean_ui(qtbot: Any, tmp_path: Path) -> None:
    app = create_app(["--data-dir", str(tmp_path), "--lang", "ko"])
    w = app.window
    assert w.composer.send_button.text() == "보내기"
    assert w.composer.stop_button.text() == "멈추기"
    assert w.settings_panel.tabText(0) == "답변"
    help_label = w.settings_panel.rows["max_new_tokens"].help_label.text()
    assert help_label == "한 번의 답변에서 생성할 최대 토큰 수입니다."
    assert w.settings_panel.rows["max_new_tokens"].name_label.text() == "max_new_tokens"  # pipeline name kept
    w.close()
    app.ctx.store.close()


def test_language_switch_in_settings_rebuilds_the_window(qtbot: Any, tmp_path: Path) -> None:
    app = create_app(["--data-dir", str(tmp_path), "--lang", "en"])
    app.show()
    conv = app.ctx.store.create_conversation("kept")
    app.window.open_conversation(conv.id)
    assert app.window.composer.send_button.text() == "Send"
    panel = app.window.settings_panel
    panel.language.setCurrentIndex(panel.language.findData("ko"))
    assert app.window.composer.send_button.text() == "보내기"
    assert app.window.controller.session.conversation_id == conv.id
    assert app.ctx.get("ui/language") == "ko"
    app.window.close()
    app.ctx.store.close()


def test_settings_persist_and_reset(qtbot: Any, tmp_path: Path) -> None:
    app = create_app(["--data-dir", str(tmp_path), "--lang", "en"])
    app.window.change_setting("top_p", 0.5)
    app.window.close()
    app.ctx.store.close()
    again = create_app(["--data-dir", str(tmp_path), "--lang", "en"])
    assert again.window.controller.state.effective().top_p == 0.5
    assert (tmp_path / "settings.ini").exists()
    again.window.close()
    again.ctx.store.close()
    fresh = create_app(["--data-dir", str(tmp_path), "--lang", "en", "--reset-settings"])
    assert fresh.window.controller.state.effective().top_p == 1.0
    fresh.window.close()
    fresh.ctx.store.close()


def _pyside_version() -> tuple[int, ...]:
    import PySide6

    return tuple(int(p) for p in PySide6.__version__.split(".")[:3])


@pytest.mark.xfail(_pyside_version() == (6, 12, 0), strict=True,
                   reason="PySide6 6.12.0 drops a reference to True on every Signal.emit; a long session "
                          "then aborts with 'bool_dealloc'. Pin PySide6-Essentials != 6.12.0.")
def test_signal_emit_keeps_reference_counts(qtbot: Any) -> None:
    import gc

    from PySide6.QtCore import QObject, Signal

    class Emitter(QObject):
        ping = Signal(int)

    e = Emitter()
    e.ping.connect(lambda _n: None)
    gc.collect()
    before = sys.getrefcount(True)
    for i in range(200):
        e.ping.emit(i)
    gc.collect()
    assert sys.getrefcount(True) >= before - 5
