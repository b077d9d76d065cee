"""Images in the desktop app (offscreen Qt, real window, real models in the app's worker process): attach,
paste and drop onto the composer, thumbnails in the chat, images kept with the history and removed with it,
and a model without a vision projector saying so in one line."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from exaone_convert.cli import main as convert_main
from exaone_desktop.app import DesktopApp
from PySide6.QtCore import QMimeData, QPointF, Qt, QUrl
from PySide6.QtGui import QDragEnterEvent, QDropEvent, QImage
from PySide6.QtWidgets import QApplication, QLabel

from tests.support.app_fixtures import convert_tiny

TIMEOUT_MS = 120_000


def picture(fmt: str = "PNG", seed: int = 0) -> bytes:
    from PIL import Image

    pixels = np.random.default_rng(seed).integers(0, 256, (20, 28, 3), dtype=np.uint8)
    buf = io.BytesIO()
    Image.fromarray(pixels).save(buf, format=fmt)
    return buf.getvalue()


@pytest.fixture(scope="module")
def vl_gguf(tiny_checkpoint: Any, tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("vl")
    assert convert_main([str(tiny_checkpoint("exaone4_5")), "--outfile", str(out / "vl-F32.gguf"),
                         "--outtype", "f32", "--quiet"]) == 0
    assert (out / "mmproj-vl-F32.gguf").exists() or list(out.glob("mmproj*.gguf"))
    return out / "vl-F32.gguf"


def test_attach_paste_and_drop_then_send_to_a_vision_model(qtbot: Any, desktop: DesktopApp, vl_gguf: Path,
                                                          tmp_path: Path) -> None:
    w = desktop.window
    with qtbot.waitSignal(w.model_loaded, timeout=TIMEOUT_MS):
        w.load_model(vl_gguf)
    tray = w.composer.attachments
    assert tray.attach_button.isEnabled() and tray.attach_button.toolTip() == ""  # its projector is beside it
    png, webp = tmp_path / "a.png", tmp_path / "b.webp"
    png.write_bytes(picture("PNG", 1))
    webp.write_bytes(picture("WEBP", 2))
    tray.add_files([png])  # what the Attach button's file dialog hands over
    dropped = QMimeData()
    dropped.setUrls([QUrl.fromLocalFile(str(webp))])
    viewport, at = w.composer.input.viewport(), QPointF(5, 5)
    enter = QDragEnterEvent(at.toPoint(), Qt.DropAction.CopyAction, dropped, Qt.MouseButton.NoButton,
                            Qt.KeyboardModifier.NoModifier)
    QApplication.sendEvent(viewport, enter)
    assert enter.isAccepted()
    QApplication.sendEvent(viewport, QDropEvent(at, Qt.DropAction.CopyAction, dropped, Qt.MouseButton.NoButton,
                                                Qt.KeyboardModifier.NoModifier))  # a real drop event
    pasted = QMimeData()
    pasted.setImageData(QImage.fromData(picture("JPEG", 3)))
    w.composer.input.insertFromMimeData(pasted)  # a screenshot on the clipboard
    assert w.composer.input.toPlainText() == ""  # images never land in the text
    assert len(tray.pending) == 3 and len(tray.thumbs) == 3
    assert tray.pending[:2] == [png.read_bytes(), webp.read_bytes()] and tray.pending[2].startswith(b"\x89PNG")
    assert all(not t.pixmap().isNull() for t in tray.thumbs)

    w.composer.input.setPlainText("무엇이 보여?")
    with qtbot.waitSignal(w.reply_finished, timeout=TIMEOUT_MS) as blocker:
        w.composer.send_button.click()
    assert blocker.args[0] == "complete", w.message_label.text()
    assert tray.pending == []
    cid = w.controller.session.conversation_id
    store = desktop.ctx.store
    [user] = [m for m in store.messages(cid) if m.role == "user"]
    assert len(user.images) == 3 and Path(user.images[0]).read_bytes() == png.read_bytes()
    assert all(Path(f).is_relative_to(desktop.ctx.store.path.parent) for f in user.images)
    bubble = w.chat_view.bubble(user.id)
    assert bubble is not None
    thumbs = [label for label in bubble.findChildren(QLabel) if label.objectName() == "thumbnail"]
    assert len(thumbs) == 3 and all(not t.pixmap().isNull() for t in thumbs)

    assert w.controller.delete_conversation(cid)
    assert not any(Path(f).exists() for f in user.images)


def test_a_model_without_a_projector_says_so_and_keeps_the_image(qtbot: Any, desktop: DesktopApp,
                                                                tiny_checkpoint: Any, tmp_path: Path) -> None:
    w = desktop.window
    text_model = convert_tiny(tiny_checkpoint("exaone4"), tmp_path)
    with qtbot.waitSignal(w.model_loaded, timeout=TIMEOUT_MS):
        w.load_model(text_model)
    attach = w.composer.attachments.attach_button
    assert not attach.isEnabled()  # the reason is its tooltip, in whole sentences
    assert "cannot read images" in attach.toolTip() and attach.toolTip().endswith(".")
    w.composer.attachments.add(picture())  # a paste or a drop still reaches the tray
    w.composer.input.setPlainText("what is this?")
    w.composer.send_button.click()
    notice = w.composer.notice  # where the user looks: above the input, the whole text
    assert notice.isVisibleTo(w.composer) and notice.wordWrap()
    assert "no vision projector" in notice.text() and notice.text().endswith("The image stays attached.")
    assert len(w.composer.attachments.pending) == 1 and w.composer.input.toPlainText() == "what is this?"
    assert desktop.ctx.store.conversations() == [] or all(
        not desktop.ctx.store.messages(c.id) for c in desktop.ctx.store.conversations())


def test_a_file_that_is_not_an_image_is_not_attached(desktop: DesktopApp, tmp_path: Path) -> None:
    w = desktop.window
    bad = tmp_path / "notes.png"
    bad.write_text("hello")
    w.composer.attachments.add_files([bad])
    assert w.composer.attachments.pending == []
    assert w.composer.notice.text().startswith("This was not attached: only PNG, JPEG and WebP images")
    assert "is not a PNG, JPEG or WebP image" in w.composer.notice.toolTip()  # the engine's own line
    assert w.composer.notice.isVisibleTo(w.composer)


def test_in_cloud_mode_the_image_goes_to_the_api_as_a_data_url(qtbot: Any, desktop: DesktopApp) -> None:
    import base64

    from tests.support.openai_stub import guarded_stub

    w = desktop.window
    panel = w.settings_panel
    data = picture("PNG", 7)
    with guarded_stub() as stub:
        panel.cloud_base_url.setText(stub.base_url)
        panel.cloud_base_url.editingFinished.emit()
        panel.api_key.setText("sk-test-key")
        panel.save_key.click()
        panel.cloud_switch.click()
        dialog = w.settings_link.consent_dialog
        assert dialog is not None
        dialog.agree.setChecked(True)
        dialog.ok_button.click()
        panel.cloud_mode.setCurrentIndex(panel.cloud_mode.findData("cloud"))
        w.composer.attachments.add(data)  # no local model at all: the cloud reads the image
        w.composer.input.setPlainText("read this")
        with qtbot.waitSignal(w.reply_finished, timeout=TIMEOUT_MS) as blocker:
            w.send()
            files = w.chat_actions.files_dialog  # an image for the cloud: this send asks first, naming it
            assert files is not None and files.names == ["image 1 (PNG)"]
            files.send_button.click()
        assert blocker.args == ["complete"], w.message_label.text()
        (request,) = stub.chat_requests
    image, text = request.body["messages"][-1]["content"]
    assert text == {"type": "text", "text": "read this"}
    assert image["image_url"]["url"] == "data:image/png;base64," + base64.b64encode(data).decode()
    [user] = [m for m in w.controller.session.messages() if m.role == "user"]
    assert len(user.images) == 1 and Path(user.images[0]).read_bytes() == data
