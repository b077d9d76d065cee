"""Convert (or download) a Hub repo through the app's model manager in a child process (HF_ENDPOINT is
read at import).

``python -m tests.support.app_convert_driver DATA_DIR REPO_ID OUTTYPE`` (from the repository root) converts;
``... DATA_DIR REPO_ID --download QUANT`` downloads that file of an official-style GGUF repo. Prints one JSON
line: the progress signals seen, the manager's final message, the files in the models folder and the loaded
model's path. Tests run it through :func:`run_driver`.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

from exaone_desktop.app import create_app
from PySide6.QtCore import QEventLoop, QTimer

ROOT = Path(__file__).resolve().parents[2]


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


def run_driver(hub_endpoint: str, tmp_path: Path, repo_id: str, *args: str) -> dict[str, Any]:
    """Run this driver (``args``: OUTTYPE, or --download QUANT) in a child process that reaches only the
    stand-in Hub at ``hub_endpoint``, with its data in ``tmp_path/data`` and its Hub cache in ``tmp_path/hf``;
    it must exit 0. Returns the JSON line it printed."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("HF_", "HUGGING"))}
    env.update(HF_ENDPOINT=hub_endpoint, HF_HOME=str(tmp_path / "hf"), HF_HUB_DISABLE_XET="1",
               HF_HUB_DISABLE_TELEMETRY="1", QT_QPA_PLATFORM="offscreen",
               PYTHONPATH=os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")])))
    proc = subprocess.run([sys.executable, "-m", "tests.support.app_convert_driver", str(tmp_path / "data"), repo_id,
                           *args], env=env, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-2000:]
    return dict(json.loads(proc.stdout.strip().splitlines()[-1]))


if __name__ == "__main__":
    main(*sys.argv[1:5])
