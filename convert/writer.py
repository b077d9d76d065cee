"""Stream tensors into a GGUF file atomically: temp file in the target folder, fsync, rename.

gguf-py's ``GGUFWriter`` writes the header, metadata and tensor table; the tensor data is then
streamed a chunk at a time (it would otherwise hold each whole tensor in memory), with the same
alignment padding GGUFWriter uses.
"""

from __future__ import annotations

import contextlib
import errno
import os
import re
import shutil
import threading
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from gguf import GGMLQuantizationType, GGUFWriter

from .errors import ConversionError

Progress = Callable[[float], None]


class ConversionCancelled(ConversionError):
    """The user cancelled; no output file was left behind."""


@dataclass
class PlannedTensor:
    name: str
    shape: tuple[int, ...]  # numpy order (rows, cols)
    gguf_type: GGMLQuantizationType
    nbytes: int
    chunks: Callable[[], Iterable[np.ndarray]]  # produces the data in order, chunk by chunk


PARTIAL_NAME = re.compile(r"^\.(?P<name>.+)\.(?P<pid>\d+)\.partial$")  # .NAME.PID.partial


def partial_path(outfile: Path) -> Path:
    return outfile.with_name(f".{outfile.name}.{os.getpid()}.partial")


def _owner_running(pid: int, written_at: float) -> bool:
    """True when process ``pid`` is alive and is the one that wrote the file (started before it was written)."""
    import psutil

    if pid == os.getpid():
        return True
    try:
        return psutil.Process(pid).create_time() <= written_at + 1.0
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


def check_outfile(outfile: Path, *, force: bool) -> None:
    if outfile.exists() and not force:
        raise ConversionError(f"{outfile} already exists; pass --force to overwrite it or choose another --outfile")
    if outfile.is_dir():
        raise ConversionError(f"{outfile} is a folder; --outfile must be a file path ending in .gguf")
    parent = outfile.parent if str(outfile.parent) else Path(".")
    if not parent.is_dir():
        raise ConversionError(f"folder {parent} does not exist; create it or choose another --outfile")


def _check_free_space(folder: Path, needed: int) -> None:
    free = shutil.disk_usage(folder).free
    if needed > free:
        raise ConversionError(
            f"not enough disk space in {folder}: {needed / 1e9:.2f} GB needed, {free / 1e9:.2f} GB free; "
            "free some space or choose another --outfile"
        )


def _fsync_dir(folder: Path) -> None:
    with contextlib.suppress(OSError):  # not supported on every platform (e.g. Windows)
        fd = os.open(folder, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


@contextlib.contextmanager
def atomic_output(outfile: Path, *, force: bool) -> Iterator[Path]:
    """Yield a temp path beside ``outfile``; on success it is fsynced and renamed, on any error removed."""
    check_outfile(outfile, force=force)
    remove_stale_partials(outfile.parent if str(outfile.parent) else Path("."))
    tmp = partial_path(outfile)
    try:
        yield tmp
        with open(tmp, "rb+") as f:
            os.fsync(f.fileno())
        os.replace(tmp, outfile)
        _fsync_dir(outfile.parent)
    except OSError as err:
        tmp.unlink(missing_ok=True)
        if err.errno == errno.ENOSPC:
            raise ConversionError(
                f"the disk filled up while writing {outfile.name}; free some space or choose another --outfile"
            ) from None
        raise ConversionError(f"cannot write {outfile}: {err.strerror or err}") from None
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def write_gguf(
    outfile: Path,
    writer: GGUFWriter,
    tensors: list[PlannedTensor],
    *,
    force: bool = False,
    progress: Progress | None = None,
    cancel: threading.Event | None = None,
) -> Path:
    """Write ``writer``'s metadata and ``tensors`` to ``outfile`` atomically."""
    total = sum(t.nbytes for t in tensors) or 1
    with atomic_output(outfile, force=force) as tmp:
        _check_free_space(tmp.parent, total)
        for t in tensors:
            writer.add_tensor_info(t.name, t.shape, np.dtype(np.float32), t.nbytes, raw_dtype=t.gguf_type)
        writer.write_header_to_file(tmp)
        writer.write_kv_data_to_file()
        writer.write_ti_data_to_file()
        assert writer.fout is not None
        fout = writer.fout[0]
        done = 0
        try:
            for t in tensors:
                writer.write_padding(fout, fout.tell())
                written = 0
                for chunk in t.chunks():
                    if cancel is not None and cancel.is_set():
                        raise ConversionCancelled("conversion cancelled; no output file was written")
                    data = np.ascontiguousarray(chunk)
                    fout.write(data.data)
                    written += data.nbytes
                    if progress is not None:
                        progress(min(1.0, (done + written) / total))
                if written != t.nbytes:
                    raise ConversionError(f"internal error: tensor {t.name} produced {written} bytes, "
                                          f"expected {t.nbytes}")
                writer.write_padding(fout, written)
                done += written
            fout.flush()
        finally:
            writer.close()
    if progress is not None:
        progress(1.0)
    return outfile
