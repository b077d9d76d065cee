"""Screenshot of the main window with a Korean chat, taken from a real X server (Xvfb).

    xvfb-run -a -s "-screen 0 1280x800x24" python packaging/screenshots/take_main_window.py

Needs fonts-noto-cjk (Korean glyphs), Qt's xcb libraries and ImageMagick's ``import``. The chat is
real: the bundled demo model is converted, loaded with llama.cpp and answers in the app.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
from pathlib import Path

from exaone_desktop.app import create_app
from PySide6.QtCore import QEventLoop, QTimer
from PySide6.QtWidgets import QApplication

OUT = Path(__file__).resolve().parent / "main-window-ko.png"


def wait(signal: object, ms: int = 120_000) -> None:
    loop = QEventLoop()
    signal.connect(loop.quit)  # type: ignore[attr-defined]
    QTimer.singleShot(ms, loop.quit)
    loop.exec()


def pause(ms: int) -> None:
    loop = QEventLoop()
    QTimer.singleShot(ms, loop.quit)
    loop.exec()


def main() -> int:
    if not os.environ.get("DISPLAY"):
        print("run under an X server, e.g. xvfb-run -a -s '-screen 0 1280x800x24' python ...", file=sys.stderr)
        return 2
    os.environ["QT_QPA_PLATFORM"] = "xcb"
    with tempfile.TemporaryDirectory() as data:
        desktop = create_app(["--data-dir", data, "--lang", "ko"])
        desktop.show()
        w = desktop.window
        w.move(0, 0)
        w.resize(1280, 800)
        w.setup_demo()
        wait(w.model_loaded)
        if w.manager_dialog is not None:
            w.manager_dialog.close()
        # The demo model is tiny and knows a few greetings only (desktop/demo/demo.json): one chat each.
        for text in ("Hello", "안녕하세요"):
            w.new_conversation()
            w.composer.input.setPlainText(text)
            w.send()
            wait(w.reply_finished)
        pause(800)
        QApplication.processEvents()
        subprocess.run(["import", "-window", "root", "-crop", "1280x800+0+0", str(OUT)], check=True)
        desktop.shutdown()
    print(f"wrote {OUT}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
