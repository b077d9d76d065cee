"""Declared dependencies are the real ones: deptry (configured in pyproject.toml) finds every module that
convert/ and desktop/ import at run time among [project] dependencies, and fails on a test-only package
imported at run time, or one not declared at all (proved on planted copies of the source)."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def deptry(root: Path) -> subprocess.CompletedProcess[str]:
    """``deptry .`` in ``root`` with its pyproject.toml, as CI runs it."""
    return subprocess.run([sys.executable, "-m", "deptry", "--no-ansi", "."], cwd=root, capture_output=True,
                          text=True, timeout=300)


def test_the_source_imports_only_declared_runtime_dependencies() -> None:
    proc = deptry(ROOT)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "No dependency issues found" in proc.stdout + proc.stderr


@pytest.fixture
def copy(tmp_path: Path) -> Path:
    """The runtime source and pyproject.toml in a folder of their own, to plant violations in."""
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc")
    for folder in ("convert", "desktop"):
        shutil.copytree(ROOT / folder, tmp_path / folder, ignore=ignore)
    shutil.copy2(ROOT / "pyproject.toml", tmp_path / "pyproject.toml")
    return tmp_path


def _append(path: Path, text: str) -> None:
    path.write_text(path.read_text(encoding="utf-8") + text, encoding="utf-8")


@pytest.mark.parametrize(("module", "line", "expected"), [
    ("convert/files.py", "import torch\n", "convert/files.py:{n}:8: DEP004 'torch' imported but declared as a dev "
                                           "dependency"),
    ("desktop/engine/llama/local.py", "import transformers\n",
     "desktop/engine/llama/local.py:{n}:8: DEP004 'transformers'"),
    ("desktop/server/app.py", "import no_such_package_here\n", "desktop/server/app.py:{n}:8: DEP001 "
                                                               "'no_such_package_here' imported but missing"),
])
def test_a_test_only_or_undeclared_import_at_run_time_fails(copy: Path, module: str, line: str,
                                                            expected: str) -> None:
    n = len((copy / module).read_text(encoding="utf-8").splitlines()) + 1
    _append(copy / module, line)
    proc = deptry(copy)
    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert expected.format(n=n) in proc.stdout + proc.stderr


def test_psutil_in_the_test_extra_only_fails(copy: Path) -> None:
    """Issue 19's clean-install traceback: convert/files.py imported psutil, which only the test extra had."""
    toml = copy / "pyproject.toml"
    text = toml.read_text(encoding="utf-8")
    runtime = next(ln for ln in text.splitlines() if ln.strip().startswith('"psutil'))
    text = text.replace(runtime + "\n", "").replace('    "pytest>=8",\n', '    "pytest>=8",\n    "psutil>=5.9",\n')
    toml.write_text(text, encoding="utf-8")
    proc = deptry(copy)
    assert proc.returncode == 1, proc.stdout + proc.stderr
    out = proc.stdout + proc.stderr
    assert "convert/files.py" in out and "DEP004 'psutil' imported but declared as a dev dependency" in out
