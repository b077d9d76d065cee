"""The double-clickable app: build the PyInstaller bundle from this checkout, then run it with no Python.

The build is the README's one command (``python packaging/build.py``, about 1.5 minutes on 2 cores)
into a temporary folder; the bundle is run from its unpacked tarball with an empty environment
(what ``env -i`` gives: no PATH, no venv, no network settings), so nothing outside it can help.
"""

from __future__ import annotations

import importlib.util
import os
import shutil
import subprocess
import sys
import tarfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parent.parent
PACKAGING = ROOT / "packaging"


def _load_startup_time() -> Any:
    """packaging/startup_time.py (Xvfb and window helpers), without putting packaging/ on sys.path."""
    spec = importlib.util.spec_from_file_location("exaone_packaging_startup_time", PACKAGING / "startup_time.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


startup_time = _load_startup_time()

frozen_linux = pytest.mark.skipif(sys.platform != "linux", reason="builds the Linux bundle")

APP = "exaone-desktop"
# Broken bundles: files removed -> the words the self-test's one-line failure must contain.
BREAKAGES: dict[str, tuple[str, str]] = {
    "llama.cpp libraries": ("_internal/llama_cpp/lib/libllama*", "llama.cpp library would not load"),
    "Qt platform plugin": ("_internal/PySide6/Qt/plugins/platforms/libqoffscreen*", "missing Qt plugin"),
}
NOT_BUNDLED = ("torch", "transformers", "pytest", "scipy", "tests", "PySide6/QtNetwork.abi3.so",
               "PySide6/Qt/lib/libQt6Qml.so.6", "PySide6/Qt/lib/libQt6Pdf.so.6")


@pytest.mark.parametrize("module", ["exaone_desktop", "desktop"])
def test_self_test_passes_from_source(tmp_path: Path, module: str) -> None:
    """The same check unfrozen (fast, every platform): the demo chat through the window, offscreen; also as
    ``python -m desktop`` from the checkout (the folder's own name), which once loaded every module twice."""
    env = {**os.environ, "HOME": str(tmp_path), "QT_QPA_PLATFORM": "offscreen"}
    where = tmp_path if module == "exaone_desktop" else ROOT
    proc = subprocess.run([sys.executable, "-m", module, "--self-test", "--data-dir", str(tmp_path / "data")],
                          env=env, capture_output=True, text=True, timeout=300, check=False, cwd=where)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    lines = proc.stdout.splitlines()
    assert lines[0].startswith("frozen: False") and lines[-1] == "self-test passed"
    assert "reply: equals demo.json's expected_reply" in lines
    assert any(line.startswith("serve: http://127.0.0.1:") for line in lines)
    assert "image: a PNG decoded to 8x6 pixels" in lines


@pytest.fixture(scope="module")
def bundle(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """Build with packaging/build.py, then unpack the tarball it made (that is what users get)."""
    out = tmp_path_factory.mktemp("packaging")
    proc = subprocess.run([sys.executable, str(PACKAGING / "build.py"), "--dist", str(out / "dist"),
                           "--work", str(out / "work")], capture_output=True, text=True, timeout=1200,
                          check=False, cwd=ROOT)
    if proc.returncode != 0:
        pytest.fail(f"packaging/build.py failed ({proc.returncode}):\n{(proc.stdout + proc.stderr)[-4000:]}")
    tarballs = sorted((out / "dist").glob(f"{APP}-*-linux-*.tar.gz"))
    assert len(tarballs) == 1, proc.stdout
    with tarfile.open(tarballs[0]) as tar:
        tar.extractall(out / "unpacked", filter="tar")
    shutil.rmtree(out / "dist")
    shutil.rmtree(out / "work", ignore_errors=True)
    yield out / "unpacked" / APP


def empty_env(home: Path, **extra: str) -> dict[str, str]:
    """The environment of ``env -i HOME=... VAR=...``: nothing inherited, no PATH."""
    home.mkdir(parents=True, exist_ok=True)
    return {"HOME": str(home), **extra}


def self_test(app_dir: Path, home: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(app_dir / APP), "--self-test"], env=empty_env(home, QT_QPA_PLATFORM="offscreen"),
                          capture_output=True, text=True, timeout=300, check=False, cwd=home)


@pytest.mark.slow
@frozen_linux
def test_bundle_holds_the_app_and_leaves_out_what_it_does_not_run(bundle: Path) -> None:
    internal = bundle / "_internal"
    assert os.access(bundle / APP, os.X_OK)
    assert sorted(p.name for p in (internal / "llama_cpp" / "lib").glob("libllama.so*"))
    assert (internal / "exaone_desktop" / "demo" / "model.safetensors").is_file()
    assert (internal / "exaone_desktop" / "ui" / "i18n" / "exaone_ko.qm").is_file()
    present = [name for name in NOT_BUNDLED if (internal / name).exists()]
    assert present == []
    desktop_entry = (bundle / f"{APP}.desktop").read_text(encoding="utf-8").splitlines()
    assert desktop_entry[0] == "[Desktop Entry]"
    assert {"Type=Application", f"Exec={APP}", f"Icon={APP}", "Terminal=false"} <= set(desktop_entry)
    assert (bundle / "share" / "icons" / "hicolor" / "256x256" / "apps" / f"{APP}.png").stat().st_size > 0
    assert os.access(bundle / "install.sh", os.X_OK)


@pytest.mark.slow
@frozen_linux
def test_frozen_self_test_chats_with_the_demo_model_in_an_empty_environment(bundle: Path, tmp_path: Path) -> None:
    proc = self_test(bundle, tmp_path / "home")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    lines = proc.stdout.splitlines()
    assert lines[0].startswith("frozen: True")
    assert "reply: equals demo.json's expected_reply" in lines
    assert any(line.startswith("serve: http://127.0.0.1:") for line in lines)  # fastapi and uvicorn are bundled
    assert "image: a PNG decoded to 8x6 pixels" in lines  # and Pillow
    assert any(line.startswith("history: conversation saved (2 messages)") for line in lines)
    assert lines[-1] == "self-test passed"
    for user_folder in (".local/share", ".config"):  # it used a temporary data folder, not the user's
        assert not (tmp_path / "home" / user_folder / APP).exists()


@pytest.mark.slow
@frozen_linux
@pytest.mark.parametrize("broken", sorted(BREAKAGES))
def test_self_test_names_what_is_missing_from_a_broken_bundle(bundle: Path, tmp_path: Path, broken: str) -> None:
    pattern, words = BREAKAGES[broken]
    copy = tmp_path / APP
    shutil.copytree(bundle, copy, symlinks=True, copy_function=os.link)  # hard links: cheap
    removed = list(copy.glob(pattern))
    assert removed
    for path in removed:
        path.unlink()
    proc = self_test(copy, tmp_path / "home")
    assert proc.returncode != 0
    last = proc.stderr.strip().splitlines()[-1]
    assert last.startswith("self-test FAILED: ") and words in last, proc.stderr


@pytest.mark.slow
@frozen_linux
def test_bundled_app_shows_its_main_window_under_xvfb(bundle: Path, tmp_path: Path) -> None:
    missing = startup_time.missing_tools() + ([] if shutil.which("import") else ["import (ImageMagick)"])
    if missing:
        pytest.skip(f"needs {', '.join(missing)} (apt-get install xvfb xdotool imagemagick)")
    from PySide6.QtGui import QImage

    shot = tmp_path / "frozen-main-window.png"
    with startup_time.xvfb() as display:
        proc = startup_time.start_app([str(bundle / APP)], display, tmp_path / "data", empty_env(tmp_path / "home"),
                                      log=tmp_path / "app.log")
        try:
            try:
                startup_time.wait_for_window(proc, display, timeout=120)
            except RuntimeError:
                if "could not connect to display" not in (tmp_path / "app.log").read_text(errors="replace"):
                    raise
                # in a long test session this machine's Xvfb has refused the app's first connection now and
                # then (while accepting xdotool's): start the app once more on the same server
                startup_time.stop(proc)
                proc = startup_time.start_app([str(bundle / APP)], display, tmp_path / "data",
                                              empty_env(tmp_path / "home"), log=tmp_path / "app.log")
                startup_time.wait_for_window(proc, display, timeout=120)
            deadline = time.monotonic() + 60
            while True:  # mapped comes before painted: take screenshots until the window is drawn
                subprocess.run(["import", "-window", "root", str(shot)], env={**os.environ, "DISPLAY": display},
                               check=True, timeout=60)
                image = QImage(str(shot))
                if colours(image) >= 3 or time.monotonic() > deadline:
                    break
                time.sleep(0.2)
            assert proc.poll() is None, (tmp_path / "app.log").read_text(errors="replace")
        finally:
            startup_time.stop(proc)
    assert not image.isNull() and (image.width(), image.height()) == (1280, 800)
    assert colours(image) >= 3  # a drawn window, not a blank screen


def colours(image: Any) -> int:
    """Distinct colours on a 16-pixel grid (a blank X screen has one)."""
    if image.isNull():
        return 0
    return len({image.pixel(x, y) for x in range(0, image.width(), 16) for y in range(0, image.height(), 16)})
