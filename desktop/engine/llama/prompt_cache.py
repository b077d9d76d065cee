"""What the local engine keeps between requests: saved KV states of conversations, in a byte budget.

``StateCache`` is a least-recently-used store of ``SavedState`` (the token ids a KV cache held and
llama.cpp's bytes for that sequence), keyed by conversation id. It keeps at most ``budget_bytes`` in
memory; what it drops is written to ``directory`` when one is given (atomic files, at most
``disk_budget_bytes``, oldest removed first) and read back from there on the next ``take``.
Nothing here touches llama.cpp: the generator saves and restores the bytes.
"""

from __future__ import annotations

import hashlib
import json
import math
import struct
import threading
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from exaone_convert import atomic_path, remove_stale_partials

from ..types import GenerationError, StateCacheUsage

MB = 1 << 20
FILE_MAGIC = b"EXAONE-KV-STATE\x001"
FILE_SUFFIX = ".kvstate"
_LEN = struct.Struct("<Q")


def common_prefix(a: Sequence[int], b: Sequence[int]) -> int:
    """Length of the longest common prefix of two token id lists."""
    n = min(len(a), len(b))
    if n == 0:
        return 0
    x = np.asarray(a[:n], dtype=np.int64)
    y = np.asarray(b[:n], dtype=np.int64)
    diff = np.flatnonzero(x != y)
    return int(diff[0]) if diff.size else n


@dataclass
class Checkpoint:
    """The cache right after position ``pos - 1``: the next-token logits there and, on sliding-window
    models, llama.cpp's bytes of the window (restorable after the window has moved on)."""

    pos: int
    logits: np.ndarray
    window: bytes | bytearray | None = None

    @property
    def nbytes(self) -> int:
        return int(self.logits.nbytes) + len(self.window or b"")


@dataclass
class SavedState:
    """One conversation's KV cache: the ids it held, llama.cpp's sequence bytes and its checkpoints."""

    tokens: list[int]
    data: bytes | bytearray  # bytearray as llama.cpp wrote it (no copy), bytes when read from disk
    checkpoints: list[Checkpoint] = field(default_factory=list)

    @property
    def nbytes(self) -> int:
        return len(self.data) + 4 * len(self.tokens) + sum(c.nbytes for c in self.checkpoints)


class StateCache:
    """Least-recently-used saved states by conversation id, within a memory (and optional disk) budget."""

    def __init__(self, budget_bytes: int, directory: str | Path | None = None, disk_budget_bytes: int = 0) -> None:
        self._lock = threading.Lock()
        self._memory: OrderedDict[str, SavedState] = OrderedDict()
        self._budget = max(int(budget_bytes), 0)
        self._dir = Path(directory) if directory is not None else None
        self._disk_budget = max(int(disk_budget_bytes), 0)
        self._disk: OrderedDict[str, int] = OrderedDict()  # file name -> size, oldest first
        if self._dir is not None:
            self._scan_disk()

    # -- budget ----------------------------------------------------------------------------------

    @property
    def budget_bytes(self) -> int:
        return self._budget

    def set_budget(self, budget_bytes: int, disk_budget_bytes: int | None = None) -> None:
        """Change the budgets now; least recently used entries go (to disk, if kept there) until they fit."""
        with self._lock:
            self._budget = max(int(budget_bytes), 0)
            if disk_budget_bytes is not None:
                self._disk_budget = max(int(disk_budget_bytes), 0)
            self._shrink()
            self._shrink_disk()

    @property
    def keeps_anything(self) -> bool:
        """False when both budgets are zero (or there is no folder): saving a state would be wasted."""
        return self._budget > 0 or (self._dir is not None and self._disk_budget > 0)

    @property
    def has_folder(self) -> bool:
        return self._dir is not None and self._disk_budget > 0

    def spill(self) -> None:
        """Write every state kept in memory to the folder (when there is one) and empty the memory."""
        with self._lock:
            while self._memory:
                key, state = self._memory.popitem(last=False)
                self._write_file(key, state)

    def usage(self) -> StateCacheUsage:
        with self._lock:
            return StateCacheUsage(
                entries=len(self._memory), bytes=sum(s.nbytes for s in self._memory.values()),
                budget_bytes=self._budget, disk_entries=len(self._disk), disk_bytes=sum(self._disk.values()),
                disk_budget_bytes=self._disk_budget if self._dir is not None else 0,
            )

    # -- entries ---------------------------------------------------------------------------------

    def __contains__(self, key: str) -> bool:
        with self._lock:
            return key in self._memory or _file_name(key) in self._disk

    def put(self, key: str, state: SavedState) -> None:
        """Keep ``state`` for ``key`` as the most recently used entry (replacing an older one)."""
        with self._lock:
            self._memory.pop(key, None)
            self._forget_file(key)
            self._memory[key] = state
            self._shrink()

    def take(self, key: str) -> SavedState | None:
        """Remove and return the state kept for ``key`` (from memory, else from disk); None if none."""
        with self._lock:
            state = self._memory.pop(key, None)
            if state is not None:
                self._forget_file(key)
                return state
            return self._read_file(key)

    def discard(self, key: str) -> None:
        with self._lock:
            self._memory.pop(key, None)
            self._forget_file(key)

    def clear(self) -> None:
        """Drop everything kept in memory and on disk."""
        with self._lock:
            self._memory.clear()
            for name in list(self._disk):
                self._unlink(name)

    # -- internals (lock held) -------------------------------------------------------------------

    def _shrink(self) -> None:
        total = sum(s.nbytes for s in self._memory.values())
        while self._memory and total > self._budget:
            key, state = self._memory.popitem(last=False)
            total -= state.nbytes
            self._write_file(key, state)

    def _scan_disk(self) -> None:
        assert self._dir is not None
        try:
            self._dir.mkdir(parents=True, exist_ok=True)
            remove_stale_partials(self._dir)  # files of a write that a killed process left unfinished
            files = []
            for p in self._dir.iterdir():
                if p.suffix == FILE_SUFFIX:
                    st = p.stat()
                    files.append((st.st_mtime_ns, p.name, st.st_size))
        except OSError:
            self._dir = None  # an unusable folder: keep states in memory only
            return
        for _mtime, name, size in sorted(files):
            self._disk[name] = size
        self._shrink_disk()

    def _write_file(self, key: str, state: SavedState) -> None:
        if self._dir is None or state.nbytes > self._disk_budget:
            return
        name = _file_name(key)
        header = json.dumps({
            "key": key, "tokens": len(state.tokens), "data": len(state.data),
            "checkpoints": [[c.pos, int(c.logits.size), len(c.window or b"")] for c in state.checkpoints],
        }).encode()
        try:
            with atomic_path(self._dir / name) as partial, open(partial, "wb") as f:
                f.write(FILE_MAGIC + _LEN.pack(len(header)) + header)
                f.write(np.asarray(state.tokens, dtype="<i4").tobytes())
                f.write(state.data)
                for c in state.checkpoints:
                    f.write(np.asarray(c.logits, dtype="<f4").tobytes())
                    f.write(c.window or b"")
            self._disk.pop(name, None)
            self._disk[name] = (self._dir / name).stat().st_size
        except OSError:
            return  # a full or read-only disk: the state is dropped, as without a folder
        self._shrink_disk()

    def _read_file(self, key: str) -> SavedState | None:
        name = _file_name(key)
        if self._dir is None or name not in self._disk:
            return None
        path = self._dir / name
        try:
            raw = path.read_bytes()
        except OSError:
            raw = b""
        self._unlink(name)  # taken: the live cache holds it from now on
        try:
            return _parse(raw, key)
        except (ValueError, KeyError, TypeError, struct.error):
            return None  # a damaged file: evaluate the conversation again

    def _shrink_disk(self) -> None:
        while self._disk and sum(self._disk.values()) > self._disk_budget:
            self._unlink(next(iter(self._disk)))

    def _forget_file(self, key: str) -> None:
        name = _file_name(key)
        if name in self._disk:
            self._unlink(name)

    def _unlink(self, name: str) -> None:
        self._disk.pop(name, None)
        if self._dir is not None:
            try:
                (self._dir / name).unlink(missing_ok=True)
            except OSError:
                pass


def _file_name(key: str) -> str:
    return hashlib.sha256(key.encode("utf-8")).hexdigest()[:32] + FILE_SUFFIX


def _parse(raw: bytes, key: str) -> SavedState:
    if not raw.startswith(FILE_MAGIC):
        raise ValueError("not a saved state")
    at = len(FILE_MAGIC)
    (n,) = _LEN.unpack_from(raw, at)
    at += _LEN.size
    header = json.loads(raw[at: at + n])
    at += n
    if header["key"] != key:
        raise ValueError("another conversation's state")

    def take(size: int) -> bytes:
        nonlocal at
        if size < 0 or at + size > len(raw):
            raise ValueError("truncated state file")
        out = raw[at: at + size]
        at += size
        return out

    tokens = np.frombuffer(take(4 * int(header["tokens"])), dtype="<i4").tolist()
    data = take(int(header["data"]))
    checkpoints = []
    for pos, n_logits, n_window in header["checkpoints"]:
        logits = np.frombuffer(take(4 * int(n_logits)), dtype="<f4").astype(np.float32)
        window = take(int(n_window)) or None
        checkpoints.append(Checkpoint(int(pos), logits, window))
    return SavedState(tokens, data, checkpoints)


def budget_bytes(name: str, value: object) -> int:
    """A user-given budget in MB as bytes; GenerationError naming the valid range otherwise."""
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value) or value < 0:
        raise GenerationError(f"{name} must be a number of megabytes >= 0 (0 keeps nothing), got {value!r}")
    return int(value * MB)


def model_key(path: Path, *settings: object) -> str:
    """Names the cache folder of a model file and the settings its saved states depend on (KV type, batch,
    sliding window): saved states fit nothing else."""
    path = path.resolve()
    st = path.stat()
    key = "|".join([str(path), str(st.st_size), str(st.st_mtime_ns), *(str(s) for s in settings)])
    return hashlib.sha256(key.encode()).hexdigest()[:16]
