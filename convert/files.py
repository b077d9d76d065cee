"""Files written whole or not at all, and the free-space check: one mechanism for the whole project.

The converter (GGUFs, quantized GGUFs, downloads, reports) and the app (exported chats) both write through
``atomic_path``: the data goes to a hidden partial file beside the target, named ``.NAME.PID.partial`` so
that a later run can tell whose it was, is fsynced, and is renamed over the target only when complete; on
any error the partial file is removed. Before writing, partial files of the same folder whose owner process
is gone (a killed run) are removed. These functions raise plain ``OSError``s (``NotEnoughSpace`` for a
failed free-space check); each caller words them for its user (which flag or folder to change).

This module imports only the standard library at import time; psutil (a runtime dependency: it tells, on
every platform, whether a process is alive and when it started) only when it looks for stale files.
"""

from __future__ import annotations

import contextlib
import errno
import os
import re
import shutil
from collections.abc import Iterator
from pathlib import Path

PARTIAL_SUFFIX = ".partial"
PARTIAL_NAME = re.compile(r"^\.(?P<name>.+)\.(?P<pid>\d+)\.partial$")  # .NAME.PID.partial


def partial_path(target: Path, pid: int | None = None) -> Path:
    """The hidden file ``target`` is written to first: ``.NAME.PID.partial`` in the same folder."""
    return target.with_name(f".{target.name}.{os.getpid() if pid is None else pid}{PARTIAL_SUFFIX}")


def _owner_running(pid: int, written_at: float) -> bool:
    """True when process ``pid`` is alive and is the one that wrote the file (started before it was written)."""
    import psutil

    if pid == os.getpid():
        return True
    try:
        return bool(psutil.Process(pid).create_time() <= written_at + 1.0)
    except (psutil.NoSuchProcess, psutil.ZombieProcess):
        return False
    except (psutil.AccessDenied, OSError):
        return True  # cannot tell: leave it


def remove_stale_partials(folder: Path) -> list[Path]:
    """Delete ``.NAME.PID.partial`` files in ``folder`` left by killed runs (their owner process is gone,
    or its PID now belongs to a process that started after the file was written); returns what was removed."""
    removed: list[Path] = []
    try:
        entries = list(Path(folder).iterdir())
    except OSError:
        return removed
    for path in entries:
        match = PARTIAL_NAME.match(path.name)
        if match is None:
            continue
        try:
            written_at = path.stat().st_mtime
            if not _owner_running(int(match["pid"]), written_at):
                path.unlink()
                removed.append(path)
        except OSError:
            continue
    return removed


def format_size(n_bytes: float) -> str:
    """A byte count for people, in decimal units (as file managers show them): "2.8 MB", "4.21 GB"."""
    if n_bytes >= 1e9:
        return f"{n_bytes / 1e9:.2f} GB"
    if n_bytes >= 1e6:
        return f"{n_bytes / 1e6:.1f} MB"
    if n_bytes >= 1e3:
        return f"{n_bytes / 1e3:.1f} kB"
    return f"{n_bytes:.0f} B"


class NotEnoughSpace(OSError):
    """``needed`` bytes will not fit in ``folder``'s ``free`` bytes."""

    def __init__(self, folder: Path, needed: int, free: int) -> None:
        super().__init__(errno.ENOSPC, f"not enough disk space in {folder}: {format_size(needed)} needed, "
                                       f"{format_size(free)} free")
        self.folder, self.needed, self.free = folder, needed, free

    def __str__(self) -> str:
        return str(self.strerror)


def check_free_space(folder: Path, needed: int) -> None:
    """Raise ``NotEnoughSpace`` when ``needed`` bytes do not fit in ``folder`` (the free-space check)."""
    free = shutil.disk_usage(folder).free
    if needed > free:
        raise NotEnoughSpace(folder, needed, free)


def is_disk_full(err: OSError) -> bool:
    return err.errno in (errno.ENOSPC, getattr(errno, "EDQUOT", errno.ENOSPC))


def fsync_dir(folder: Path) -> None:
    """Make a rename in ``folder`` durable (not supported everywhere, e.g. Windows: then skipped)."""
    with contextlib.suppress(OSError):
        fd = os.open(folder, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


@contextlib.contextmanager
def atomic_path(target: Path) -> Iterator[Path]:
    """Yield the partial path to write; on success it is fsynced and renamed to ``target``, else removed.

    The caller creates and closes the file at the yielded path. Any exception (a cancel, a full disk)
    removes the partial file and propagates unchanged. Stale partial files of killed runs in the same
    folder are removed first.
    """
    remove_stale_partials(target.parent if str(target.parent) else Path("."))
    tmp = partial_path(target)
    try:
        yield tmp
        with open(tmp, "rb+") as f:
            os.fsync(f.fileno())
        os.replace(tmp, target)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    fsync_dir(target.parent if str(target.parent) else Path("."))


def move_into_place(finished: Path, target: Path) -> None:
    """Rename a file written whole elsewhere in the same folder (a resumed download's partial file) to
    ``target``, durably: its data is fsynced first, the folder after."""
    with open(finished, "rb+") as f:
        os.fsync(f.fileno())
    os.replace(finished, target)
    fsync_dir(target.parent if str(target.parent) else Path("."))


def atomic_write_bytes(target: Path, data: bytes) -> None:
    """Write ``data`` to ``target`` whole or not at all (the folder is created when missing)."""
    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    with atomic_path(target) as tmp, open(tmp, "wb") as fh:
        fh.write(data)


def atomic_write_text(target: Path, text: str) -> None:
    """``atomic_write_bytes`` of ``text`` as UTF-8 with ``\\n`` line ends."""
    atomic_write_bytes(target, text.encode("utf-8"))
