"""Files written whole or not at all, and the free-space check: one mechanism for the whole project.

The converter (GGUFs, quantized GGUFs, downloads, reports) and the app (exported chats) both write through
``atomic_path``: the data goes to a hidden partial file beside the target, named ``.NAME.PID.partial`` so
that a later run can tell whose it was, is fsynced, and is renamed over the target only when complete; on
any error the partial file is removed. These functions raise plain ``OSError``s (``NotEnoughSpace`` for a
failed free-space check); each caller words them for its user (which flag or folder to change).

This module imports nothing outside the standard library.
"""

from __future__ import annotations

import contextlib
import errno
import os
import shutil
from collections.abc import Iterator
from pathlib import Path

PARTIAL_SUFFIX = ".partial"


def partial_path(target: Path, pid: int | None = None) -> Path:
    """The hidden file ``target`` is written to first: ``.NAME.PID.partial`` in the same folder."""
    return target.with_name(f".{target.name}.{os.getpid() if pid is None else pid}{PARTIAL_SUFFIX}")


def format_size(n_bytes: float) -> str:
    """A byte count for messages, in decimal units (the ones file managers show): "812 MB", "4.21 GB"."""
    if n_bytes >= 1e9:
        return f"{n_bytes / 1e9:.2f} GB"
    if n_bytes >= 1e6:
        return f"{n_bytes / 1e6:.0f} MB"
    return f"{n_bytes / 1e3:.0f} kB"


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
    removes the partial file and propagates unchanged.
    """
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


def atomic_write_bytes(target: Path, data: bytes) -> None:
    """Write ``data`` to ``target`` whole or not at all (the folder is created when missing)."""
    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    with atomic_path(target) as tmp, open(tmp, "wb") as fh:
        fh.write(data)


def atomic_write_text(target: Path, text: str) -> None:
    """``atomic_write_bytes`` of ``text`` as UTF-8 with ``\\n`` line ends."""
    atomic_write_bytes(target, text.encode("utf-8"))
