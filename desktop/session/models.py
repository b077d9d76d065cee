"""The model manager's logic without Qt: local GGUFs, official downloads, output names."""

from __future__ import annotations

import threading
from collections.abc import Iterable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace
from pathlib import Path

from exaone_convert import (
    OUTTYPES,
    QUANTIZABLE,
    ConversionError,
    format_size,
    model_stem,
    official_gguf_repos,
    output_path,
)

# Official EXAONE GGUF repos on the Hugging Face Hub (LGAI-EXAONE) and the quant files each publishes,
# from the EXAONE family table.
OFFICIAL_GGUF_REPOS: dict[str, tuple[str, ...]] = {r.repo_id: r.quants for r in official_gguf_repos().values()}
CONVERT_TYPES: tuple[str, ...] = tuple(OUTTYPES)  # the converter's table (gguf-free), default first
QUANTIZE_TYPES: tuple[str, ...] = QUANTIZABLE
DEMO_FILE = "exaone-demo-q8_0.gguf"
MMPROJ_PREFIX = "mmproj"  # vision projectors (mmproj-*.gguf) sit beside their model and are not models


@dataclass(frozen=True)
class LocalModel:
    path: Path
    name: str
    architecture: str
    file_size: int
    quant_type: str
    context_length: int
    reasoning: bool
    error: str = ""


def human_size(n: int) -> str:
    """A file or memory size as every message of the project writes it (decimal units)."""
    return format_size(n)


def describe(path: Path) -> LocalModel:
    """Header facts of one GGUF (cheap: the tensor data is not read); a bad file keeps its error."""
    from ..engine import GenerationError, inspect_gguf

    try:
        info = inspect_gguf(path)
    except (GenerationError, OSError) as err:
        return LocalModel(path, path.stem, "?", path.stat().st_size if path.exists() else 0, "?", 0, False,
                          str(err).splitlines()[0] if str(err) else type(err).__name__)
    return LocalModel(path, info.name or path.stem, info.architecture, info.file_size, info.quant_type,
                      info.context_length, info.reasoning)


def list_local_models(folders: list[Path]) -> list[LocalModel]:
    """Every model ``*.gguf`` in ``folders`` (not hidden temp files, nor vision projectors), by name."""
    seen: set[Path] = set()
    found: list[LocalModel] = []
    for folder in folders:
        if not folder.is_dir():
            continue
        for path in sorted(folder.glob("*.gguf")):
            if path.name.startswith(".") or path.name.lower().startswith(MMPROJ_PREFIX) or path.resolve() in seen:
                continue
            seen.add(path.resolve())
            found.append(describe(path))
    return found


def slug(source: str) -> str:
    """A file-name-safe stem for a Hub id or a folder: ``LGAI-EXAONE/EXAONE-3.5-2.4B`` -> ``EXAONE-3.5-2.4B``."""
    return model_stem(source)


def convert_outfile(models_dir: Path, source: str, outtype: str) -> Path:
    return output_path(source, outtype, models_dir)


def download_outfile(models_dir: Path, repo_id: str, quant: str) -> Path:
    return output_path(repo_id, quant, models_dir)


def quantize_outfile(src: Path, outtype: str) -> Path:
    return output_path(src, outtype, src.parent)


# -- the official catalogue: every LG GGUF file, its size, and whether it fits this machine -------------

# A model needs its file in memory plus room for the context (KV cache) and the runtime: it "fits" when
# (file + projector) x FIT_HEADROOM is at most the machine's total memory.
FIT_HEADROOM = 1.2
LISTING_THREADS = 8  # Hub repos listed at once by fetch_listings


@dataclass(frozen=True)
class CatalogueFile:
    """One downloadable model file of an official repo (its vision projector, if any, comes with it)."""

    repo_id: str
    name: str
    quant: str
    size: int  # bytes of the model file: read off the Hub when ``exact``, else parameters x bits per weight
    mmproj: str = ""  # the projector file downloaded with it ("" when the repo has none)
    mmproj_size: int = 0
    fits: bool | None = None  # None: this machine's memory is unknown
    exact: bool = False  # the sizes (and names) come from the repository's listing on the Hub

    @property
    def download_size(self) -> int:
        return self.size + self.mmproj_size

    @property
    def needed(self) -> int:
        return round(self.download_size * FIT_HEADROOM)


def catalogue_file(files: Iterable[CatalogueFile], repo_id: str, quant: str) -> CatalogueFile | None:
    """The catalogue row of ``quant`` of ``repo_id`` among ``files``, or None when the catalogue has none."""
    return next((f for f in files if f.repo_id == repo_id and f.quant == quant), None)


def total_memory() -> int | None:
    """This machine's physical memory in bytes (POSIX sysconf; Windows GlobalMemoryStatusEx), or None."""
    import os
    import sys

    if sys.platform == "win32":
        import ctypes

        class MemoryStatus(ctypes.Structure):
            _fields_ = [("dwLength", ctypes.c_ulong), ("dwMemoryLoad", ctypes.c_ulong),
                        ("ullTotalPhys", ctypes.c_ulonglong), ("ullAvailPhys", ctypes.c_ulonglong),
                        ("ullTotalPageFile", ctypes.c_ulonglong), ("ullAvailPageFile", ctypes.c_ulonglong),
                        ("ullTotalVirtual", ctypes.c_ulonglong), ("ullAvailVirtual", ctypes.c_ulonglong),
                        ("ullAvailExtendedVirtual", ctypes.c_ulonglong)]

        status = MemoryStatus()
        status.dwLength = ctypes.sizeof(MemoryStatus)
        ok = ctypes.windll.kernel32.GlobalMemoryStatusEx(ctypes.byref(status))  # type: ignore[attr-defined]
        return int(status.ullTotalPhys) if ok else None
    try:
        pages, page_size = os.sysconf("SC_PHYS_PAGES"), os.sysconf("SC_PAGE_SIZE")
    except (AttributeError, ValueError, OSError):
        return None
    return pages * page_size if pages > 0 and page_size > 0 else None


def official_catalogue(memory: int | None,
                       listings: Mapping[str, Mapping[str, int]] | None = None) -> list[CatalogueFile]:
    """Every model file of every official GGUF repo in the EXAONE family table, in the table's order, with
    whether it fits ``memory`` bytes (None: unknown). A repo in ``listings`` (its ``.gguf`` files and sizes,
    from ``fetch_listings``) shows the files it really has, with exact sizes; the others keep the table's
    names and estimated sizes."""
    out: list[CatalogueFile] = []
    for repo in official_gguf_repos().values():
        listing = (listings or {}).get(repo.repo_id)
        if listing:
            from exaone_convert import listed_files  # huggingface_hub: loaded when asked, not at the app's start

            repo = listed_files(repo, listing)
        projector = repo.mmproj
        for f in repo.files:
            if f.mmproj:
                continue
            entry = CatalogueFile(repo.repo_id, f.name, f.quant, f.size, projector.name if projector else "",
                                  projector.size if projector else 0, exact=bool(listing))
            out.append(replace(entry, fits=None if memory is None else entry.needed <= memory))
    return out


def fetch_listings(repo_ids: Sequence[str] | None = None, *, endpoint: str | None = None,
                   cancel: threading.Event | None = None) -> tuple[dict[str, dict[str, int]], dict[str, str]]:
    """(repo id -> its ``.gguf`` files and sizes, repo id -> the one-line reason it could not be listed) for
    the official repos (or ``repo_ids``), asked of the Hub. Nothing is downloaded. Once ``cancel`` is set,
    no further repository is asked (those left are failures saying so)."""
    from exaone_convert import list_gguf_sizes  # huggingface_hub: loaded when asked, not at the app's start

    def listing(repo_id: str) -> dict[str, int] | str:
        if cancel is not None and cancel.is_set():
            return "cancelled"
        try:
            return list_gguf_sizes(repo_id, endpoint=endpoint)
        except ConversionError as err:
            return str(err)

    repos = list(repo_ids if repo_ids is not None else OFFICIAL_GGUF_REPOS)
    with ThreadPoolExecutor(max_workers=LISTING_THREADS) as pool:  # a round trip each: ask them together
        answers = dict(zip(repos, pool.map(listing, repos), strict=True))
    listings = {repo: answer for repo, answer in answers.items() if not isinstance(answer, str)}
    failures = {repo: answer for repo, answer in answers.items() if isinstance(answer, str)}
    return listings, failures
