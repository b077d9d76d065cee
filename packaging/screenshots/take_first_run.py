"""Screenshots of what a newcomer meets, rendered offscreen with ``QWidget.grab()`` (no X server needed):

    python packaging/screenshots/take_first_run.py

- ``welcome-en.png``, ``welcome-ko.png``: the first-run page, recommending a file for a 16 GB computer;
- ``catalogue-en.png``: the model manager's catalogue, one card per family;
- ``settings-en.png``, ``settings-ko.png``: the settings panel (its Replies tab, with the presets);
- ``chat-code-en.png``: a chat whose reply has a code block with its copy link, and a kept second reply
  (‹ 2/2 ›). The conversation is a sample written into the history by this script (to show how code is
  drawn), not a model's answer.

Korean needs a CJK font (fonts-noto-cjk on Debian and Ubuntu).
"""

from __future__ import annotations

import os
import sys
import tempfile
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from exaone_desktop.app import create_app  # noqa: E402
from exaone_desktop.session import models  # noqa: E402
from PySide6.QtCore import QEventLoop, QTimer  # noqa: E402
from PySide6.QtWidgets import QApplication  # noqa: E402

OUT = Path(__file__).resolve().parent
SAMPLE_QUESTION = "How do I count the lines of a file in Python?"
SAMPLE_REPLY = (
    "Open the file and count its lines as you read them, so even a large file needs little memory:\n\n"
    "```python\nfrom pathlib import Path\n\n\ndef count_lines(path: str) -> int:\n"
    "    with Path(path).open(encoding=\"utf-8\") as f:\n        return sum(1 for _ in f)\n\n\n"
    "print(count_lines(\"notes.txt\"))\n```\n\n"
    "`sum(1 for _ in f)` reads one line at a time. From a shell, `wc -l notes.txt` does the same:\n\n"
    "```bash\nwc -l notes.txt\n```\n"
)


def settle(ms: int = 300) -> None:
    loop = QEventLoop()
    QTimer.singleShot(ms, loop.quit)
    loop.exec()
    QApplication.processEvents()


def shoot(widget: object, name: str) -> None:
    settle()
    path = OUT / name
    widget.grab().save(str(path))  # type: ignore[attr-defined]
    print(f"wrote {path}")


def main() -> int:
    models.total_memory = lambda: 16 * 1024**3  # a 16 GB computer, whatever takes the picture
    for lang in ("en", "ko"):
        with tempfile.TemporaryDirectory() as data:
            desktop = create_app(["--data-dir", data, "--lang", lang])
            w = desktop.window
            w.resize(1280, 800)
            desktop.show()
            w.start()
            shoot(w, f"welcome-{lang}.png")
            w.settings_panel.setCurrentIndex(0)
            shoot(w.settings_panel, f"settings-{lang}.png")
            if lang == "en":
                w.show_model_manager()
                assert w.manager_dialog is not None
                w.manager_dialog.resize(900, 860)
                shoot(w.manager_dialog, "catalogue-en.png")
                w.manager_dialog.close()
                store = w.ctx.store
                conv = store.create_conversation("Counting lines in Python")
                question = store.add_message(conv.id, "user", SAMPLE_QUESTION)
                store.add_message(conv.id, "assistant", "Use `wc -l`.", engine="cpu", model="EXAONE-4.0-1.2B-Q4_K_M")
                store.add_message(conv.id, "assistant", SAMPLE_REPLY, engine="cpu", model="EXAONE-4.0-1.2B-Q4_K_M",
                                  parent_id=question.id)
                w.open_conversation(conv.id)
                shoot(w, "chat-code-en.png")
            desktop.shutdown()
    return 0


if __name__ == "__main__":
    sys.exit(main())
