"""Run the real app in a child process for crash tests: ``python app_driver.py DATA_DIR MODEL.gguf``.

It answers one message to the end, then starts a second, slowed reply (the real generator with a
pause per piece) and keeps streaming until the parent kills it with SIGKILL.
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from app_fixtures import Slowed  # noqa: E402
from exaone_desktop.app import create_app  # noqa: E402
from exaone_desktop.engine.llama.local import LocalGenerator  # noqa: E402
from PySide6.QtCore import QEventLoop, QTimer  # noqa: E402
from PySide6.QtWidgets import QApplication  # noqa: E402


def wait_for(signal: object) -> None:
    loop = QEventLoop()
    signal.connect(loop.quit)  # type: ignore[attr-defined]
    QTimer.singleShot(120_000, loop.quit)
    loop.exec()


def main(data_dir: str, model: str) -> None:
    desktop = create_app(["--data-dir", data_dir, "--lang", "en"])
    desktop.show()
    w = desktop.window
    w.change_setting("max_new_tokens", 400)
    slow = Slowed(LocalGenerator(model, n_threads=1), delay=0.02)
    w.set_local_generator(slow)
    w.composer.input.setPlainText("first message")
    w.send()
    wait_for(w.reply_finished)
    slow.delay = 0.2
    w.composer.input.setPlainText("second message")
    w.send()
    print("STREAMING", flush=True)
    QApplication.instance().exec()  # type: ignore[union-attr]


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
