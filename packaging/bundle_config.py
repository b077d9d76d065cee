"""What goes into the bundle and what stays out: tables read by ``exaone-desktop.spec``.

The app imports only QtCore, QtGui and QtWidgets; the converter is numpy + gguf; llama.cpp comes
with llama-cpp-python; "Serve on localhost" needs fastapi and uvicorn, and attached images Pillow.
torch and transformers are imported only by the verifier's HF reference check (``exaone_convert.verify``),
which the app never runs, so they are excluded with the rest.
"""

from __future__ import annotations

import fnmatch
import shutil
from pathlib import Path

APP_NAME = "exaone-desktop"
BUNDLE_NAME = "EXAONE Desktop"  # macOS .app name and the window's display name
BUNDLE_ID = "ai.exaone-desktop.app"

# Source folder -> import name (as pyproject.toml's package-dir maps them).
PACKAGES: dict[str, str] = {"desktop": "exaone_desktop", "convert": "exaone_convert"}
# Left out when the packages are staged: bytecode and the translation build script (the .qm it writes stays).
STAGE_IGNORE = ("__pycache__", "*.pyc", "build_translations.py")

# Modules the frozen app must not carry (each pulls in tens to hundreds of MB or is test-only).
EXCLUDES: tuple[str, ...] = (
    "torch", "transformers", "tokenizers", "safetensors", "scipy", "sympy", "pandas", "matplotlib",
    "IPython", "jedi", "pytest", "pytestqt", "_pytest", "tests", "mypy", "ruff", "setuptools",
    "pkg_resources", "pip", "tkinter", "_tkinter", "unittest", "pydoc_data", "lib2to3",
    "llama_cpp.server",  # llama-cpp-python's own server; ours (fastapi, uvicorn) is "Serve on localhost"
    # PySide6 modules the app does not import.
    "PySide6.QtNetwork", "PySide6.QtQml", "PySide6.QtQuick", "PySide6.QtQuickWidgets", "PySide6.QtQuickControls2",
    "PySide6.QtQuickTest", "PySide6.QtPdf", "PySide6.QtPdfWidgets", "PySide6.QtSvg", "PySide6.QtSvgWidgets",
    "PySide6.QtOpenGL", "PySide6.QtOpenGLWidgets", "PySide6.QtPrintSupport", "PySide6.QtSql", "PySide6.QtTest",
    "PySide6.QtXml", "PySide6.QtHelp", "PySide6.QtDesigner", "PySide6.QtUiTools", "PySide6.QtConcurrent",
    "PySide6.QtMultimedia", "PySide6.QtWebEngineCore", "PySide6.QtWebEngineWidgets", "PySide6.Qt3DCore",
)

# Collected files (destination paths inside the bundle) that are dropped after analysis.
DROP_PATTERNS: tuple[str, ...] = (
    # Qt platform plugins: keep xcb and wayland (desktops), offscreen (self-test), minimal.
    "PySide6/Qt/plugins/platforms/*qeglfs*", "PySide6/Qt/plugins/platforms/*qlinuxfb*",
    "PySide6/Qt/plugins/platforms/*qvnc*", "PySide6/Qt/plugins/platforms/*qvkkhrdisplay*",
    "PySide6/Qt/plugins/platforms/*qminimalegl*", "PySide6/Qt/plugins/egldeviceintegrations/*",
    # Image formats the UI never reads (it draws no pictures; the PDF plugin drags in QtPdf).
    "PySide6/Qt/plugins/imageformats/*qpdf*", "PySide6/Qt/plugins/imageformats/*qtiff*",
    "PySide6/Qt/plugins/imageformats/*qwebp*", "PySide6/Qt/plugins/imageformats/*qtga*",
    "PySide6/Qt/plugins/imageformats/*qwbmp*", "PySide6/Qt/plugins/imageformats/*qjpeg*",
    "PySide6/Qt/plugins/imageformats/*qgif*", "PySide6/Qt/plugins/imageformats/*qsvg*",
    "PySide6/Qt/plugins/iconengines/*", "PySide6/Qt/plugins/networkinformation/*", "PySide6/Qt/plugins/tls/*",
    "PySide6/Qt/plugins/generic/*",
    "PySide6/Qt/lib/libQt6Pdf*", "PySide6/Qt/lib/libQt6Svg*", "PySide6/Qt/lib/libQt6Network*",
    "PySide6/Qt/lib/libQt6Qml*", "PySide6/Qt/lib/libQt6Quick*", "PySide6/Qt/lib/libQt6VirtualKeyboard*",
    # Qt's own translations: only the languages the app offers (qtbase_ko for Korean dialogs).
    "PySide6/Qt/translations/*",
)
KEEP_PATTERNS: tuple[str, ...] = ("PySide6/Qt/translations/qtbase_ko.qm",)


def dropped(dest: str) -> bool:
    """True when a collected file at bundle path ``dest`` is left out."""
    dest = dest.replace("\\", "/")
    if any(fnmatch.fnmatch(dest, k) for k in KEEP_PATTERNS):
        return False
    return any(fnmatch.fnmatch(dest, p) for p in DROP_PATTERNS)


def stage_sources(root: Path, stage: Path) -> Path:
    """Copy the source folders to ``stage`` under their import names (so no install is needed)."""
    if stage.exists():
        shutil.rmtree(stage)
    for folder, name in PACKAGES.items():
        shutil.copytree(root / folder, stage / name, ignore=shutil.ignore_patterns(*STAGE_IGNORE))
    return stage


def data_files(root: Path) -> list[tuple[str, str]]:
    """(source, bundle folder) pairs: the demo checkpoint and the UI's compiled translations."""
    demo = root / "desktop" / "demo"
    pairs = [(str(p), "exaone_desktop/demo") for p in sorted(demo.iterdir()) if p.is_file()]
    pairs += [(str(p), "exaone_desktop/ui/i18n") for p in sorted((root / "desktop/ui/i18n").glob("*.qm"))]
    return pairs
