"""Stream tensors into a GGUF file atomically (``files.atomic_path``: partial file, fsync, rename).

gguf-py's ``GGUFWriter`` writes the header, metadata and tensor table; the tensor data is then
streamed a chunk at a time (it would otherwise hold each whole tensor in memory), with the same
alignment padding GGUFWriter uses.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from gguf import GGMLQuantizationType, GGUFWriter

from . import files
from .errors import ConversionError
from .files import PARTIAL_NAME, NotEnoughSpace, is_disk_full, partial_path, remove_stale_partials

__all__ = ["PARTIAL_NAME", "ConversionCancelled", "PlannedTensor", "atomic_output", "check_free_space",
           "check_outfile", "conversion_error", "partial_path", "remove_stale_partials", "write_gguf"]

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


def check_outfile(outfile: Path, *, force: bool) -> None:
    if outfile.exists() and not force:
        raise ConversionError(f"{outfile} already exists; pass --force to overwrite it or choose another --outfile")
    if outfile.is_dir():
        raise ConversionError(f"{outfile} is a folder; --outfile must be a file path ending in .gguf")
    parent = outfile.parent if str(outfile.parent) else Path(".")
    if not parent.is_dir():
        raise ConversionError(f"folder {parent} does not exist; create it or choose another --outfile")


def check_report_path(path: Path, flag: str = "--verify-json") -> None:
    """Refuse, before any work, a report path that cannot be written: a folder, or one under a file (the
    folders that do not exist yet are created when the report is written)."""
    if path.is_dir():
        raise ConversionError(f"{path} is a folder; {flag} must be a file path ending in .json")
    for folder in (path.parent, *path.parent.parents):
        if folder.exists():
            if not folder.is_dir():
                raise ConversionError(f"{folder} is a file, not a folder; choose another {flag}")
            return


def conversion_error(err: OSError, outfile: Path, flag: str = "--outfile") -> ConversionError:
    """The converter's wording of a failed write of ``outfile`` (``flag`` names where to change it)."""
    if isinstance(err, NotEnoughSpace):
        return ConversionError(f"{err}; free some space or choose another {flag}")
    if is_disk_full(err):
        return ConversionError(f"the disk filled up while writing {outfile.name}; free some space or choose "
                               f"another {flag}")
    return ConversionError(f"cannot write {outfile}: {err.strerror or err}")


def check_free_space(folder: Path, needed: int, flag: str = "--outfile") -> None:
    """The project's free-space check, worded for the converter."""
    try:
        files.check_free_space(folder, needed)
    except NotEnoughSpace as err:
        raise conversion_error(err, folder, flag) from None


@contextlib.contextmanager
def atomic_output(outfile: Path, *, force: bool) -> Iterator[Path]:
    """Yield a partial path beside ``outfile`` (``files.atomic_path``); OSErrors become ConversionErrors."""
    check_outfile(outfile, force=force)
    try:
        with files.atomic_path(outfile) as tmp:
            yield tmp
    except OSError as err:
        raise conversion_error(err, outfile) from None


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
        check_free_space(tmp.parent, total)
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
