"""Read an HF-layout checkpoint lazily: config.json plus single-file or sharded safetensors.

Only headers are parsed up front; tensor data is memory-mapped a slice at a time, so memory stays
bounded by the slice, not the model. safetensors' own numpy loader cannot read bf16, so this reads
the format directly (8-byte little-endian header length, JSON header, raw data).
"""

from __future__ import annotations

import json
import math
import struct
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from .errors import ConversionError

SAFETENSORS_DTYPES: Mapping[str, np.dtype] = {
    "BF16": np.dtype("<u2"),  # bf16 bits, kept as uint16
    "F16": np.dtype("<f2"),
    "F32": np.dtype("<f4"),
}
INDEX_FILE = "model.safetensors.index.json"
SINGLE_FILE = "model.safetensors"
MAX_HEADER_BYTES = 100 * 1024 * 1024


@dataclass(frozen=True)
class TensorRecord:
    """Where one tensor's bytes live."""

    name: str
    dtype: str  # safetensors dtype name: BF16, F16 or F32
    shape: tuple[int, ...]
    file: Path
    offset: int  # absolute byte offset in ``file``
    nbytes: int

    def read(self, row_start: int = 0, row_stop: int | None = None) -> np.ndarray:
        """Rows [row_start, row_stop) of the tensor (all of a 1-D tensor), as a fresh in-memory array."""
        np_dtype = SAFETENSORS_DTYPES[self.dtype]
        rows = self.shape[0] if self.shape else 1
        row_stop = rows if row_stop is None else row_stop
        row_elems = math.prod(self.shape[1:])
        count = (row_stop - row_start) * row_elems
        if count == 0:
            return np.empty((0, *self.shape[1:]), dtype=np_dtype)
        view = np.memmap(self.file, dtype=np_dtype, mode="r",
                         offset=self.offset + row_start * row_elems * np_dtype.itemsize, shape=(count,))
        data = np.array(view)  # copy out, then drop the mapping
        del view
        return data.reshape((row_stop - row_start, *self.shape[1:]) if self.shape else ())


def read_json(path: Path, what: str) -> dict[str, Any]:
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConversionError(f"{what} not found at {path}; is this an HF checkpoint folder?") from None
    except (OSError, UnicodeDecodeError) as err:
        raise ConversionError(f"cannot read {path}: {err}; check the file's permissions and encoding") from None
    try:
        data = json.loads(text)
    except json.JSONDecodeError as err:
        raise ConversionError(
            f"{path.name} is not valid JSON ({err.msg} at line {err.lineno}); re-download the checkpoint"
        ) from None
    if not isinstance(data, dict):
        raise ConversionError(f"{path.name} must hold a JSON object; re-download the checkpoint")
    return data


def read_optional_json(path: Path, what: str) -> dict[str, Any]:
    return read_json(path, what) if path.exists() else {}


def read_safetensors_header(path: Path) -> list[TensorRecord]:
    """Parse one safetensors file's header, checking every offset against the file's real size."""
    try:
        size = path.stat().st_size
        with path.open("rb") as f:
            head = f.read(8)
            if len(head) < 8:
                raise ConversionError(f"{path.name} is truncated (no header); re-download it")
            (header_len,) = struct.unpack("<Q", head)
            if header_len > min(size - 8, MAX_HEADER_BYTES):
                raise ConversionError(f"{path.name} is corrupted or truncated (bad header length); re-download it")
            raw = f.read(header_len)
    except FileNotFoundError:
        raise ConversionError(f"weights file {path.name} is missing from {path.parent}; re-download the checkpoint"
                              ) from None
    except OSError as err:
        raise ConversionError(f"cannot read {path}: {err}") from None
    try:
        header = json.loads(raw)
    except (json.JSONDecodeError, UnicodeDecodeError):
        raise ConversionError(f"{path.name} has a corrupted header; re-download it") from None
    if not isinstance(header, dict):
        raise ConversionError(f"{path.name} has a corrupted header; re-download it")
    data_start = 8 + header_len
    records = []
    for name, info in header.items():
        if name == "__metadata__":
            continue
        entry = _tensor_entry(info)
        if entry is None:
            raise ConversionError(f"{path.name}: tensor {name!r} has a malformed entry; re-download it")
        dtype, shape, (begin, end) = entry
        if dtype not in SAFETENSORS_DTYPES:
            raise ConversionError(
                f"{path.name}: tensor {name!r} has dtype {dtype}; only BF16, F16 and F32 checkpoints are supported"
            )
        nbytes = math.prod(shape) * SAFETENSORS_DTYPES[dtype].itemsize
        if any(d < 0 for d in shape) or end - begin != nbytes or begin < 0:
            raise ConversionError(f"{path.name}: tensor {name!r} has inconsistent offsets; re-download it")
        if data_start + end > size:
            raise ConversionError(
                f"{path.name} is truncated ({size} bytes, tensor {name!r} needs {data_start + end}); re-download it"
            )
        records.append(TensorRecord(name, dtype, shape, path, data_start + begin, nbytes))
    return records


def _is_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _tensor_entry(info: object) -> tuple[str, tuple[int, ...], tuple[int, int]] | None:
    """A safetensors header entry's (dtype, shape, data offsets) when each has its type (a string, a list of
    integers, two integers), else None."""
    if not isinstance(info, dict):
        return None
    dtype, shape, offsets = info.get("dtype"), info.get("shape"), info.get("data_offsets")
    if not isinstance(dtype, str) or not isinstance(shape, list) or not isinstance(offsets, list):
        return None
    if not all(_is_int(d) for d in shape) or len(offsets) != 2 or not all(_is_int(o) for o in offsets):
        return None
    return dtype, tuple(shape), (offsets[0], offsets[1])


@dataclass
class Checkpoint:
    """An HF checkpoint folder: parsed json files and a lazy table of tensors."""

    root: Path
    config: dict[str, Any]
    generation_config: dict[str, Any]
    tensors: dict[str, TensorRecord]

    def __iter__(self) -> Iterator[TensorRecord]:
        return iter(self.tensors.values())

    @property
    def name(self) -> str:
        return self.root.name if self.root.name not in ("", ".") else self.root.resolve().name


def weight_files(root: Path) -> list[Path]:
    """The safetensors files of a checkpoint, from the index when there is one."""
    index_path = root / INDEX_FILE
    if index_path.exists():
        index = read_json(index_path, "the safetensors index")
        weight_map = index.get("weight_map")
        if not isinstance(weight_map, dict) or not weight_map:
            raise ConversionError(f"{INDEX_FILE} has no weight_map; re-download the checkpoint")
        files = sorted({str(v) for v in weight_map.values()})
        missing = [f for f in files if not (root / f).is_file()]
        if missing:
            raise ConversionError(
                f"shard {missing[0]} is named in {INDEX_FILE} but missing from {root}; re-download the checkpoint"
            )
        return [root / f for f in files]
    if (root / SINGLE_FILE).is_file():
        return [root / SINGLE_FILE]
    found = sorted(root.glob("*.safetensors"))
    if found:
        return found
    if any(root.glob("*.bin")) or any(root.glob("*.pth")):
        raise ConversionError(f"{root} has only PyTorch .bin weights; convert them to safetensors first")
    raise ConversionError(f"no .safetensors weights in {root}; download the full checkpoint")


def open_checkpoint(root: str | Path) -> Checkpoint:
    root = Path(root)
    if not root.is_dir():
        raise ConversionError(f"{root} is not a folder; pass a Hub repo id or an HF checkpoint folder")
    config = read_json(root / "config.json", "config.json")
    generation_config = read_optional_json(root / "generation_config.json", "generation_config.json")
    tensors: dict[str, TensorRecord] = {}
    for path in weight_files(root):
        for rec in read_safetensors_header(path):
            if rec.name in tensors:
                raise ConversionError(f"tensor {rec.name!r} appears in two weight files; re-download the checkpoint")
            tensors[rec.name] = rec
    return Checkpoint(root=root, config=config, generation_config=generation_config, tensors=tensors)
