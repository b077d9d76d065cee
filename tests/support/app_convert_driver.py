"""Convert (or download) a Hub repo through the app's model manager in a child process (HF_ENDPOINT is
read at import).

``python -m tests.support.app_convert_driver DATA_DIR REPO_ID OUTTYPE`` (from the repository root) converts;
``... DATA_DIR REPO_ID --download QUANT`` downloads that file of an official-style GGUF repo. Prints one JSON
line: the progress signals seen, the manager's final message, the files in the models folder and the loaded
model's path.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from exaone_desktop.app import create_app
from PySide6.QtCore import QEventLoop, QTimer


def main(data_dir: str, repo_id: str, outtype: str, quant: str = "") -> None:
    desktop = create_app(["--data-dir", data_dir, "--lang", "en"])
    w = desktop.window
    manager = w.model_manager()
    seen: list[tuple[str, float]] = []
    manager.progress_seen = seen
    loop = QEventLoop()
    if outtype == "--download":
        manager.repo.setCurrentText(repo_id)
        manager.quant.clear()
        manager.quant.addItem(quant)
        manager.download_button.click()
    else:
        manager.source.setText(repo_id)
        manager.convert_type.setCurrentText(outtype)
        manager.convert_button.click()
    job = manager.job
    job.progress.connect(lambda stage, f: seen.append((stage, f)))
    w.model_loaded.connect(loop.quit)
    w.model_failed.connect(loop.quit)
    manager.job_failed.connect(loop.quit)
    QTimer.singleShot(240_000, loop.quit)
    loop.exec()
    files = sorted(p.name for p in Path(data_dir, "models").iterdir())
    print(json.dumps({"progress": seen, "bar": manager.last_fraction, "message": manager.message.text(),
                      "files": files, "loaded": str(getattr(w.controller.model_info, "path", ""))}), flush=True)
    desktop.shutdown()


if __name__ == "__main__":
    main(*sys.argv[1:5])
