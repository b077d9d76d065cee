"""Build the double-clickable app with PyInstaller: ``python packaging/build.py``.

Output (one folder, no Python needed on the target machine):
- Linux: ``dist/exaone-desktop/`` (executable, ``_internal/``, ``.desktop`` entry, icons, ``install.sh``)
  and ``dist/exaone-desktop-<version>-linux-<arch>.tar.gz``;
- macOS: ``dist/EXAONE Desktop.app`` and ``dist/exaone-desktop-<version>-macos-<arch>.zip``;
- Windows: ``dist/exaone-desktop/exaone-desktop.exe`` and ``dist/exaone-desktop-<version>-windows-<arch>.zip``.
Run it with the project's venv active (the app's dependencies installed); PyInstaller is installed
into that venv when missing. See packaging/README.md for the per-OS details.
"""

from __future__ import annotations

import argparse
import platform
import shutil
import subprocess
import sys
import tarfile
import time
from pathlib import Path
from string import Template

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
PYINSTALLER = "pyinstaller==6.22.0"
OS_NAMES = {"linux": "linux", "darwin": "macos", "win32": "windows"}
APP = "exaone-desktop"


def version() -> str:
    for line in (ROOT / "desktop" / "__init__.py").read_text(encoding="utf-8").splitlines():
        if line.startswith("__version__"):
            return line.split("=", 1)[1].strip().strip("\"'")
    raise SystemExit("build: no __version__ in desktop/__init__.py")


def ensure_pyinstaller() -> None:
    try:
        import PyInstaller  # noqa: F401
    except ImportError:
        print(f"build: installing {PYINSTALLER} (a build tool, not an app dependency)", flush=True)
        subprocess.run([sys.executable, "-m", "pip", "install", "-q", PYINSTALLER], check=True)


def write_text(path: Path, text: str) -> None:
    from exaone_convert import atomic_write_text

    atomic_write_text(path, text)


def prepare(work: Path, ver: str) -> None:
    """Icons and the version resources the spec reads from the work folder."""
    sys.path.insert(0, str(HERE))
    from make_icon import make_icons

    make_icons(work / "icons")
    parts = [int(p) for p in ver.split(".")[:4] if p.isdigit()]
    values = {"version": ver, "version_tuple": repr(tuple(parts + [0] * (4 - len(parts))))}
    for src, name in ((HERE / "windows" / "version_info.txt", "version_info.txt"),
                      (HERE / "macos" / "Info.plist", "Info.plist")):
        write_text(work / name, Template(src.read_text(encoding="utf-8")).substitute(values))


def run_pyinstaller(work: Path, dist: Path) -> None:
    cmd = [sys.executable, "-m", "PyInstaller", "--noconfirm", "--clean", "--log-level", "WARN",
           "--distpath", str(dist), "--workpath", str(work), str(HERE / f"{APP}.spec")]
    subprocess.run(cmd, check=True, cwd=ROOT)


def add_linux_files(bundle: Path, work: Path) -> None:
    """The launcher entry, the icons in the hicolor layout, and the menu installer."""
    shutil.copy2(HERE / "linux" / f"{APP}.desktop", bundle / f"{APP}.desktop")
    shutil.copy2(HERE / "linux" / "install.sh", bundle / "install.sh")
    icons = bundle / "share" / "icons"
    if icons.exists():
        shutil.rmtree(icons)
    shutil.copytree(work / "icons" / "hicolor", icons / "hicolor")
    shutil.copy2(work / "icons" / f"{APP}.png", bundle / f"{APP}.png")


def archive(dist: Path, target: Path, name: str) -> Path:
    """A tarball on Linux (keeps permissions), a zip elsewhere (``ditto`` on macOS keeps the signature)."""
    if sys.platform == "linux":
        out = dist / f"{name}.tar.gz"
        from exaone_convert import atomic_path

        with atomic_path(out) as tmp, tarfile.open(tmp, "w:gz", compresslevel=6) as tar:
            tar.add(target, arcname=target.name)
        return out
    if sys.platform == "darwin":
        out = dist / f"{name}.zip"
        subprocess.run(["ditto", "-c", "-k", "--keepParent", str(target), str(out)], check=True)
        return out
    return Path(shutil.make_archive(str(dist / name), "zip", root_dir=target.parent, base_dir=target.name))


def folder_size(path: Path) -> int:
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file() and not p.is_symlink())


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Build the one-folder EXAONE Desktop app with PyInstaller.")
    parser.add_argument("--dist", type=Path, default=ROOT / "dist", help="output folder (default: dist/)")
    parser.add_argument("--work", type=Path, default=ROOT / "build" / "pyinstaller", help="PyInstaller's work folder")
    parser.add_argument("--no-archive", action="store_true", help="skip the .tar.gz / .zip")
    args = parser.parse_args(argv)
    started = time.monotonic()
    ver, os_name = version(), OS_NAMES.get(sys.platform, sys.platform)
    ensure_pyinstaller()
    work, dist = args.work.resolve(), args.dist.resolve()
    prepare(work, ver)
    run_pyinstaller(work, dist)
    bundle = dist / APP
    target = dist / "EXAONE Desktop.app" if sys.platform == "darwin" else bundle
    if sys.platform == "linux":
        add_linux_files(bundle, work)
    print(f"build: {target} ({folder_size(target) / 1e6:.0f} MB)")
    if not args.no_archive:
        out = archive(dist, target, f"{APP}-{ver}-{os_name}-{platform.machine().lower()}")
        print(f"build: {out} ({out.stat().st_size / 1e6:.0f} MB)")
    print(f"build: done in {time.monotonic() - started:.0f} s; check it with: {bundle / APP} --self-test")
    return 0


if __name__ == "__main__":
    sys.exit(main())
