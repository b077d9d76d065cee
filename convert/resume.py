"""Downloads that pause and resume, across restarts: one Hub file is written to ``NAME.download`` beside its
destination, with ``NAME.download.json`` saying what it is (repo, file, revision, ETag, size).

huggingface_hub 2.4 writes each cached download to a process-unique temp file and deletes it when the call
fails or is cancelled, so its cache cannot resume a download the user paused or the app lost. Here the same
client's ``http_get`` continues a partial file with an HTTP ``Range`` request from the partial size; a file
that changed on the Hub (another ETag or size) starts again from zero. A process holds
``NAME.download.lock`` while it writes, so a resume waits for a paused transfer to stop before continuing.
A finished file whose ETag is a SHA-256 (the Hub's LFS files: model weights) is checked against it: bytes
damaged on the way or in the kept partial file are deleted, not moved into place.
"""

from __future__ import annotations

import hashlib
import json
import re
import threading
from dataclasses import asdict, dataclass
from pathlib import Path

from .errors import ConversionError, DownloadCancelled
from .files import atomic_write_text, move_into_place

__all__ = ["PartialDownload", "discard_partial", "fetch_part", "finish_part", "find_partials", "part_path"]

SUFFIX = ".download"
STATE_SUFFIX = ".download.json"
_SHA256 = re.compile(r"[0-9a-f]{64}")  # an LFS file's ETag is its SHA-256 (the LFS oid)
_HASH_CHUNK = 8 << 20
LOCK_WAIT_S = 60.0  # how long a resume waits for a paused transfer (stopping at its next chunk) to let go


@dataclass(frozen=True)
class PartialDownload:
    """A download stopped before its end: ``done`` of ``size`` bytes of ``filename`` from ``repo_id``."""

    dest: str  # the finished file's path
    repo_id: str
    filename: str
    revision: str | None
    etag: str | None
    size: int | None

    @property
    def done(self) -> int:
        try:
            return part_path(Path(self.dest)).stat().st_size
        except OSError:
            return 0


def part_path(dest: Path) -> Path:
    return dest.with_name(dest.name + SUFFIX)


def _state_path(dest: Path) -> Path:
    return dest.with_name(dest.name + STATE_SUFFIX)


def _lock_path(dest: Path) -> Path:
    return dest.with_name(dest.name + SUFFIX + ".lock")


def _lock(dest: Path) -> object:
    from filelock import FileLock

    return FileLock(str(_lock_path(dest)))


def _read_state(dest: Path) -> PartialDownload | None:
    try:
        data = json.loads(_state_path(dest).read_text(encoding="utf-8"))
        return PartialDownload(**{k: data.get(k) for k in PartialDownload.__dataclass_fields__})
    except (OSError, ValueError, TypeError):
        return None


def find_partials(folder: Path) -> list[PartialDownload]:
    """The paused downloads in ``folder`` (those whose partial file is still there), by file name."""
    found = []
    for state in sorted(Path(folder).glob("*" + STATE_SUFFIX)) if Path(folder).is_dir() else []:
        dest = state.with_name(state.name[: -len(STATE_SUFFIX)])
        partial = _read_state(dest)
        if partial is not None and part_path(dest).is_file():
            found.append(partial)
    return found


def discard_partial(dest: Path) -> None:
    """Forget a paused download: its partial file and what it was are deleted (once no transfer writes it)."""
    with _lock(dest).acquire(timeout=LOCK_WAIT_S):  # type: ignore[attr-defined]
        for path in (part_path(dest), _state_path(dest)):
            path.unlink(missing_ok=True)
    _lock_path(dest).unlink(missing_ok=True)  # nothing is left to download: no lock file stays behind


def fetch_part(repo_id: str, filename: str, dest: Path, *, revision: str | None = None, token: str | None = None,
               tqdm_class: type | None = None, cancel: threading.Event | None = None) -> Path:
    """Download ``filename`` of ``repo_id`` to ``dest``'s partial file, continuing what is already there; returns
    the complete partial file (``finish_part`` moves it into place). Raises what huggingface_hub raises (a
    cancel from ``tqdm_class`` keeps the bytes written so far for the next call)."""
    from huggingface_hub import get_hf_file_metadata, hf_hub_url
    from huggingface_hub.file_download import http_get
    from huggingface_hub.utils import build_hf_headers

    meta = get_hf_file_metadata(hf_hub_url(repo_id, filename, revision=revision), token=token)
    wanted = PartialDownload(str(dest), repo_id, filename, revision, meta.etag, meta.size)
    part = part_path(dest)
    dest.parent.mkdir(parents=True, exist_ok=True)
    with _lock(dest).acquire(timeout=LOCK_WAIT_S):  # type: ignore[attr-defined]
        if cancel is not None and cancel.is_set():
            raise DownloadCancelled("download paused")
        saved = _read_state(dest)
        have = part.stat().st_size if part.is_file() else 0
        same = saved is not None and (saved.repo_id, saved.filename, saved.etag, saved.size) == (
            repo_id, filename, meta.etag, meta.size)
        if not same or (meta.size is not None and have > meta.size):
            part.unlink(missing_ok=True)  # another file (or another version of it): start again
            have = 0
        atomic_write_text(_state_path(dest), json.dumps(asdict(wanted)))
        with open(part, "ab") as out:
            http_get(meta.location, out, resume_size=have, headers=build_hf_headers(token=token),
                     expected_size=meta.size, displayed_filename=filename, tqdm_class=tqdm_class)
        _check_sha256(part, dest, filename, meta.etag)
    return part


def _check_sha256(part: Path, dest: Path, filename: str, etag: str | None) -> None:
    """When ``etag`` is a SHA-256, the finished partial file must hash to it; else it is deleted (its record
    too) and ConversionError says to download it again."""
    if etag is None or not _SHA256.fullmatch(etag):
        return
    digest = hashlib.sha256()
    with open(part, "rb") as f:
        while chunk := f.read(_HASH_CHUNK):
            digest.update(chunk)
    if digest.hexdigest() != etag:
        part.unlink(missing_ok=True)
        _state_path(dest).unlink(missing_ok=True)
        raise ConversionError(f"the downloaded {filename} does not match the Hub's checksum (it was damaged in "
                              "transfer or on disk) and was deleted; download it again")


def finish_part(dest: Path) -> Path:
    """Move a complete partial file into place (atomically) and forget it; returns ``dest``."""
    with _lock(dest).acquire(timeout=LOCK_WAIT_S):  # type: ignore[attr-defined]
        move_into_place(part_path(dest), dest)
        _state_path(dest).unlink(missing_ok=True)
    _lock_path(dest).unlink(missing_ok=True)  # the file is in place: no lock file stays beside it
    return dest


def resume_point(dest: Path) -> int:
    """Bytes a download to ``dest`` would not fetch again (0: none kept)."""
    saved = _read_state(dest)
    return saved.done if saved is not None else 0

