"""Every message translated: the Korean UI is walked widget by widget (the window, each settings tab, the
welcome page, the model manager) after the error paths a user can trigger without a model or a network
(sending with no model, a refused setting, a context too long for the model, a file that is not an image, a
proxy address that cannot work, an unreachable Hub, a cancelled Hub check, a failed conversion), and every
visible string must be Korean.

A string passes when, after the names that stay as they are (EXAONE, Hugging Face, GGUF, setting names,
file types, keys...) are taken out, no English word is left, or its English words come only after the first
": " of a Korean sentence: the engine's own technical line quoted as the detail (a file name, a signal).
"""

from __future__ import annotations

import re
import socket
from pathlib import Path
from typing import Any

import pytest
from exaone_desktop.app import create_app
from exaone_desktop.engine.settings_table import SETTINGS
from exaone_desktop.session import models
from exaone_desktop.ui import language
from PySide6.QtWidgets import (
    QAbstractButton,
    QComboBox,
    QGroupBox,
    QLabel,
    QLineEdit,
    QPlainTextEdit,
    QTableWidget,
    QTabWidget,
    QTextBrowser,
    QWidget,
)

from tests.support import memory_keyring

KEEP = {  # names and symbols that are the same in Korean
    "EXAONE", "LG", "AI", "Hugging", "Face", "Hub", "GGUF", "OpenAI", "API", "URL", "KV", "CPU", "GPU", "CUDA",
    "Metal", "MB", "GB", "kB", "HTTPS", "HTTP", "Enter", "Shift", "Ctrl", "Esc", "PNG", "JPEG", "WebP", "MoE",
    "Deep", "Instruct", "K", "EXAONE-4.5", "mmproj", "transformers", "exaone-generate", "localhost", "Desktop",
    "English", "License", "Model", "B", "Q", "K_M", "none", "f16", "q8_0", "q4_0", "https", "http", "example",
    "proxy", "huggingface", "co", "gguf", "demo", "tok", "s", "ID", "K-EXAONE", "Authorization", "Bearer",
} | {row.name for row in SETTINGS}
WORD = re.compile(r"[A-Za-z][A-Za-z'’-]+")
HANGUL = re.compile("[가-힣]")


def english_words(text: str) -> list[str]:
    text = re.sub(r"<[^>]+>", " ", text)  # rich text: its tags
    text = re.sub(r"\S*[/\\._\d]\S*", " ", text)  # paths, file names, addresses, sizes, identifiers
    return [w for w in WORD.findall(text) if w not in KEEP and w.strip("'’") not in KEEP]


def untranslated(text: str) -> bool:
    if not text.strip():
        return False
    if HANGUL.search(text):
        lead = text.split(": ", 1)[0]  # a Korean sentence may quote the engine's line after its colon
        return bool(english_words(lead))
    return bool(english_words(text))


def visible_strings(root: QWidget) -> list[tuple[str, str]]:
    """(where, text) of every string a user can read in ``root``: labels, buttons, placeholders, tooltips,
    group titles, list items, tab names, table headers and cells. What the user typed is not among them."""
    found: list[tuple[str, str]] = []

    def add(widget: QWidget, what: str, text: str) -> None:
        found.append((f"{type(widget).__name__}#{widget.objectName()}.{what}", text))

    for w in [root, *root.findChildren(QWidget)]:
        if w.objectName() != "composer-notice":  # its tooltip is the engine's own line, kept as the detail
            add(w, "toolTip", w.toolTip())
        if isinstance(w, QLabel) and w.objectName() != "status-message":
            add(w, "text", w.text())
        elif isinstance(w, QAbstractButton):
            add(w, "text", w.text())
        elif isinstance(w, (QLineEdit, QPlainTextEdit)) and not isinstance(w, QTextBrowser):
            add(w, "placeholder", w.placeholderText())
        elif isinstance(w, QGroupBox):
            add(w, "title", w.title())
        if isinstance(w, QComboBox) and w.objectName() != "language":
            for i in range(w.count()):
                add(w, f"item{i}", w.itemText(i))
        if isinstance(w, QTabWidget):
            for i in range(w.count()):
                add(w, f"tab{i}", w.tabText(i))
                add(w, f"tabTip{i}", w.tabToolTip(i))
        if isinstance(w, QTableWidget):
            for c in range(w.columnCount()):
                header = w.horizontalHeaderItem(c)
                add(w, f"header{c}", header.text() if header else "")
            for r in range(w.rowCount()):
                for c in range(w.columnCount()):
                    item = w.item(r, c)
                    add(w, f"cell{r},{c}", item.text() if item else "")
    return found


def test_the_detector_finds_english() -> None:
    assert untranslated("Send") and untranslated("no model is loaded: 확인하세요")
    assert not untranslated("보내기") and not untranslated("EXAONE 4.0 1.2B · Q4_K_M")
    assert not untranslated("답변을 만들지 못했습니다: llama.cpp stopped (SIGKILL)")
    assert untranslated("Cancel 취소")


def test_every_visible_string_of_the_korean_ui_is_korean(qtbot: Any, tmp_path: Path,
                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(models, "total_memory", lambda: 16 * 1024**3)
    with socket.socket() as dead:
        dead.bind(("127.0.0.1", 0))
        nobody = f"http://127.0.0.1:{dead.getsockname()[1]}"  # closed when the block ends: nobody answers
    with memory_keyring.installed():
        app = create_app(["--data-dir", str(tmp_path / "data"), "--lang", "ko"])
        try:
            _walk(qtbot, app, nobody, tmp_path)
        finally:
            app.window.close()
            app.ctx.store.close()
            language.install("en")


def _walk(qtbot: Any, app: Any, nobody: str, tmp_path: Path) -> None:
    app.show()
    w = app.window
    w.start()
    assert w.stack.currentWidget() is w.welcome
    # the error paths
    w.composer.input.setPlainText("안녕")
    w.send()  # no model
    assert w.message_label.text().startswith("불러온 모델이 없습니다")
    w.change_setting("do_sample", True)
    w.change_setting("temperature", 0.0)  # refused: sampling needs a temperature above 0
    w.change_setting("top_p", 7.0)  # refused: out of range
    w.change_load_setting("n_threads", -5)  # refused
    w.server_panel.serve_switch.click()  # no model to serve
    bad = tmp_path / "notes.png"
    bad.write_text("not an image")
    w.composer.attachments.add_files([bad])
    w.settings_panel.proxy.setText("proxy.example:8080")
    w.settings_panel.proxy.editingFinished.emit()
    w.show_model_manager()
    manager = w.manager
    w.settings_panel.mirror.setText(nobody)
    w.settings_panel.mirror.editingFinished.emit()
    with qtbot.waitSignal(manager.job_failed, timeout=60_000):
        manager.download("LGAI-EXAONE/EXAONE-4.0-1.2B-GGUF", "Q4_K_M")
    texts = visible_strings(manager.window())
    qtbot.waitUntil(lambda: manager.job is None, timeout=10_000)
    with qtbot.waitSignal(manager.job_failed, timeout=60_000):
        manager.source.setText(str(tmp_path / "no-such-folder"))
        manager.convert_button.click()
    texts += visible_strings(manager.window())
    manager.check_sizes()
    manager.cancel_button.click()
    qtbot.waitUntil(lambda: manager.catalogue_job is None, timeout=10_000)
    texts += visible_strings(manager.window())
    for i in range(w.settings_panel.count()):
        w.settings_panel.setCurrentIndex(i)
        texts += visible_strings(w)
    texts += [("StatusLine", w.message_label.text().split(": ", 1)[0])]
    from exaone_desktop.session.cloud_files import CloudFile
    from exaone_desktop.ui.cloud_dialog import CloudFilesDialog

    asking = CloudFilesDialog("api.openai.com", "gpt-4.1-mini",
                              [CloudFile("document", "보고서.pdf"), CloudFile("image", "PNG")], w)
    asking.show()  # what a send with attached files asks while the cloud may answer
    texts += visible_strings(asking)
    asking.reject()
    bad_ones = sorted({(where, text) for where, text in texts if untranslated(text)})
    assert bad_ones == [], "\n".join(f"{where}: {text!r}" for where, text in bad_ones)
