"""Documents in the desktop app (offscreen Qt, the real window, a real tiny model in the app's worker process):
attach and drop onto the composer, reading in a worker with Cancel, the chip on the sent message, the
document kept with the history and removed with its conversation, and a bad file refused in one line."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from exaone_desktop.app import DesktopApp
from PySide6.QtCore import QMimeData, QUrl

from tests.support.document_files import make_hwpx, make_pdf

TIMEOUT_MS = 120_000


def test_attach_drop_send_keep_and_delete(qtbot: Any, desktop: DesktopApp, tiny_gguf: Path, tmp_path: Path) -> None:
    w = desktop.window
    with qtbot.waitSignal(w.model_loaded, timeout=TIMEOUT_MS):
        w.load_model(tiny_gguf)
    tray = w.composer.documents
    pdf, hwpx = tmp_path / "report.pdf", tmp_path / "규정.hwpx"
    pdf.write_bytes(make_pdf(["첫 쪽: 예산은 3억 원이다.", "Second page: the deadline is May 2."]))
    hwpx.write_bytes(make_hwpx(["제1조 목적", "제2조 적용 범위"]))
    with qtbot.waitSignal(tray.read_done, timeout=TIMEOUT_MS):
        tray.add_files([pdf])  # what the Attach button's file dialog hands over
    dropped = QMimeData()
    dropped.setUrls([QUrl.fromLocalFile(str(hwpx))])
    assert w.composer.input.canInsertFromMimeData(dropped)
    with qtbot.waitSignal(tray.read_done, timeout=TIMEOUT_MS):
        w.composer.input.insertFromMimeData(dropped)
    assert w.composer.input.toPlainText() == ""
    assert [a.filename for a in tray.pending] == ["report.pdf", "규정.hwpx"]
    assert [c.text() for c in tray.chips] == ["📄 report.pdf · 2 p.  ✕", "📄 규정.hwpx · 2 §  ✕"]

    w.composer.input.setPlainText("마감일은 언제인가요?")
    with qtbot.waitSignal(w.reply_finished, timeout=TIMEOUT_MS) as blocker:
        w.composer.send_button.click()
    assert blocker.args[0] == "complete", w.message_label.text()
    assert tray.pending == [] and tray.chips == []
    store = w.controller.store
    cid = w.controller.session.conversation_id
    user = store.messages(cid)[0]
    assert [d.filename for d in user.documents] == ["report.pdf", "규정.hwpx"]
    assert Path(user.documents[0].file).read_bytes() == pdf.read_bytes()
    bubble = w.chat_view.bubble(user.id)
    assert [c.text() for c in bubble.document_chips] == ["📄 report.pdf", "📄 규정.hwpx"]
    kept = [Path(d.file) for d in user.documents]
    assert w.controller.delete_conversation(cid)
    assert not any(p.exists() for p in kept)


def test_a_bad_document_is_one_line_and_cancel_attaches_nothing(qtbot: Any, desktop: DesktopApp,
                                                                tmp_path: Path) -> None:
    w = desktop.window
    tray = w.composer.documents
    bad = tmp_path / "locked.hwp"
    bad.write_bytes(b"HWP Document File V3.00 \x1a" + b"\0" * 300)
    with qtbot.waitSignal(tray.refused, timeout=TIMEOUT_MS) as blocker:
        tray.add_files([bad])
    assert "before HWP 5.0" in blocker.args[0] and "\n" not in blocker.args[0]
    qtbot.waitUntil(lambda: not tray.busy(), timeout=TIMEOUT_MS)
    big = tmp_path / "big.pdf"
    big.write_bytes(make_pdf([f"page {i} " * 40 for i in range(120)]))
    with qtbot.waitSignal(tray.read_done, timeout=TIMEOUT_MS):
        tray.add_files([big])
        assert tray.busy() and tray.cancel_button.isVisibleTo(tray)
        tray.cancel_button.click()
    assert tray.pending == [] and not tray.busy()


def test_closing_the_window_while_a_document_is_read_stops_the_read_first(
        qtbot: Any, desktop: DesktopApp, tmp_path: Path, monkeypatch: Any) -> None:
    """The reading thread belongs to the composer's tray: closing the window cancels it and waits, so the
    thread is never destroyed while it runs (which aborts the process)."""
    import threading

    from exaone_desktop.session.controller import ChatController

    started = threading.Event()

    def slow_read(path: Path, *, cancel: threading.Event) -> Any:
        started.set()
        cancel.wait(60)  # a long PDF, read until Cancel
        raise RuntimeError("cancelled")

    monkeypatch.setattr(ChatController, "read_document", staticmethod(slow_read))
    w = desktop.window
    tray = w.composer.documents
    doc = tmp_path / "long.pdf"
    doc.write_bytes(make_pdf(["page"]))
    tray.add_files([doc])
    worker = tray.worker
    assert worker is not None and started.wait(30)
    w.close()
    assert not worker.isRunning() and not tray.busy()
