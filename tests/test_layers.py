"""The package layering the README shows: ui -> session -> (server ->) engine -> exaone_convert, never the
other way, and no Qt below the ui. Read from the source's import statements (including imports inside functions)."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
# package folder -> (its dotted name, the packages it must not import)
LAYERS: dict[str, tuple[str, tuple[str, ...]]] = {
    "convert": ("exaone_convert", ("exaone_desktop", "PySide6")),
    "desktop/engine": ("exaone_desktop.engine", ("exaone_desktop.server", "exaone_desktop.session", "exaone_desktop.ui",
                                                 "PySide6")),
    "desktop/server": ("exaone_desktop.server", ("exaone_desktop.session", "exaone_desktop.ui", "PySide6")),
    "desktop/session": ("exaone_desktop.session", ("exaone_desktop.ui", "PySide6")),
}


def imported_modules(path: Path, package: str) -> set[str]:
    """Absolute names of every module ``path`` imports (relative imports resolved against ``package``)."""
    out: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            out.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[: len(package.split(".")) - node.level + 1]
                name = ".".join(base + ([node.module] if node.module else []))
            else:
                name = node.module or ""
            out.add(name)
            out.update(f"{name}.{alias.name}" for alias in node.names)
    return out


@pytest.mark.parametrize("folder", sorted(LAYERS))
def test_lower_layers_do_not_import_upper_ones(folder: str) -> None:
    package, forbidden = LAYERS[folder]
    files = sorted((ROOT / folder).glob("*.py"))
    assert files
    offenders = [f"{path.relative_to(ROOT)} imports {name}"
                 for path in files for name in sorted(imported_modules(path, package))
                 if any(name == bad or name.startswith(bad + ".") for bad in forbidden)]
    assert offenders == []


def test_the_resolver_sees_relative_imports() -> None:
    names = imported_modules(ROOT / "desktop/session/controller.py", "exaone_desktop.session")
    assert "exaone_desktop.engine.cloud.routing" in names and "exaone_desktop.session.chat_session" in names
    names = imported_modules(ROOT / "desktop/ui/main_window.py", "exaone_desktop.ui")
    assert "PySide6.QtWidgets" in names and "exaone_desktop.session.controller" in names
