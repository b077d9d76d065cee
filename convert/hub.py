"""Hugging Face Hub access: checkpoint snapshots and single official GGUF files.

Everything goes through huggingface_hub (standard cache, ``HF_TOKEN`` or the saved login, revisions,
``HF_HUB_OFFLINE``); this module only chooses the files and turns its errors into one-line fixes.

Resuming: files finished before an interruption stay in the cache and are not fetched again; a file
cut off mid-way is fetched again from its start (huggingface_hub 2.x writes each download to a
process-unique temp file, and resumes with HTTP ranges only within one process). A GGUF downloaded
with ``resumable=True`` (the app's downloads) goes straight to its destination through ``resume``:
pausing keeps the partial file, and the next call continues it with an HTTP Range request.
"""

from __future__ import annotations

import contextlib
import errno
import json
import re
import shutil
import threading
from collections.abc import Callable, Iterator, Mapping
from dataclasses import replace
from pathlib import Path

from .errors import ConversionError, DownloadCancelled
from .families import GGUFFile, GGUFRepo, supported_model_types
from .gguf_check import inspect_gguf, inspect_mmproj
from .writer import atomic_output

# What a conversion needs from a checkpoint repo; nothing else is downloaded.
CHECKPOINT_PATTERNS = [
    "config.json",
    "generation_config.json",
    "tokenizer.json",
    "tokenizer_config.json",
    "special_tokens_map.json",
    "chat_template.jinja",
    "preprocessor_config.json",  # EXAONE 4.5's image processor (its mmproj needs the normalisation)
    "processor_config.json",
    "*.safetensors",
    "model.safetensors.index.json",
]
SUPPORTED_MODEL_TYPES = supported_model_types()
_REPO_ID = re.compile(r"^[A-Za-z0-9][\w.-]*/[\w.-]+$")
TOKEN_FIX = "set HF_TOKEN or run `hf auth login`"


def is_hub_id(source: str) -> bool:
    """True when ``source`` names a Hub repo (``namespace/name``) rather than an existing local path."""
    if Path(source).expanduser().exists() or source.startswith((".", "/", "~")):
        return False
    return bool(_REPO_ID.match(source))


def _reporting_tqdm(progress: Callable[[float], None] | None, cancel: threading.Event | None) -> type:
    """A huggingface_hub progress-bar class that also reports the fraction done and honours ``cancel``."""
    from huggingface_hub.utils import tqdm as hub_tqdm

    class ReportingTqdm(hub_tqdm):  # type: ignore[misc, valid-type]
        done = 0.0  # counted here: a disabled bar (HF_HUB_DISABLE_PROGRESS_BARS) does not count

        def __init__(self, *args: object, **kwargs: object) -> None:
            super().__init__(*args, **kwargs)
            self.done = float(kwargs.get("initial") or 0)  # type: ignore[arg-type]  # a resumed file's bytes

        def update(self, n: float | None = 1) -> bool | None:
            if cancel is not None and cancel.is_set():
                raise DownloadCancelled("download cancelled; run it again to resume")
            self.done += n or 0
            if progress is not None and self.total:
                progress(min(1.0, self.done / self.total))
            return super().update(n)

    return ReportingTqdm


def resolve_checkpoint(
    source: str,
    *,
    revision: str | None = None,
    token: str | None = None,
    offline: bool = False,
    show_progress: bool = True,
    progress: Callable[[float], None] | None = None,
    cancel: threading.Event | None = None,
) -> Path:
    """A local HF folder as is, or the cached snapshot of a Hub repo (downloaded if needed).

    ``progress`` gets the fraction of files done; ``cancel`` stops between chunks (DownloadCancelled).
    """
    if not is_hub_id(source):
        return _local_checkpoint(source)
    from huggingface_hub import hf_hub_download, snapshot_download

    with _hub_errors(source, revision, offline), _progress_bars(show_progress):
        config = hf_hub_download(source, "config.json", revision=revision, token=token,
                                 local_files_only=_offline(offline))
        _require_exaone(Path(config), source)
        path = snapshot_download(source, revision=revision, token=token, allow_patterns=CHECKPOINT_PATTERNS,
                                 local_files_only=_offline(offline),
                                 tqdm_class=_reporting_tqdm(progress, cancel))
    sweep_stale_partials(source)
    return Path(path)


def download_gguf_file(
    repo_id: str,
    quant: str,
    *,
    revision: str | None = None,
    token: str | None = None,
    offline: bool = False,
    outfile: Path | None = None,
    force: bool = False,
    show_progress: bool = True,
    progress: Callable[[float], None] | None = None,
    cancel: threading.Event | None = None,
    with_mmproj: bool = True,
    resumable: bool = False,
) -> Path:
    """Download the ``quant`` file (e.g. ``Q4_K_M``) of an official GGUF repo and check it.

    Returns the cached file, or ``outfile`` when one is given (copied atomically). A repo with a vision
    projector (``mmproj-*.gguf``, EXAONE 4.5) has it downloaded too and placed beside the model, unless
    ``with_mmproj`` is false. ``progress`` gets the fraction of the model's bytes done; ``cancel`` stops
    between chunks (DownloadCancelled). ``resumable`` (with ``outfile``, online): the files go straight to
    their destination through partial files that a later call continues (``resume``), not through the cache.
    """
    if outfile is not None and outfile.exists() and not force:
        raise ConversionError(f"{outfile} already exists; pass --force to overwrite it")
    from huggingface_hub import hf_hub_download

    if resumable and outfile is not None and not _offline(offline):
        return _download_resumable(repo_id, quant, outfile, revision=revision, token=token, progress=progress,
                                   cancel=cancel, with_mmproj=with_mmproj, show_progress=show_progress)

    with _hub_errors(repo_id, revision, offline), _progress_bars(show_progress):
        files = _repo_files(repo_id, revision, token, offline)
        parts = gguf_parts(files, pick_gguf_file(files, quant, repo_id), repo_id)
        outs = None if outfile is None else part_outfiles(outfile, len(parts))
        for out in outs or []:
            if out.exists() and not force:
                raise ConversionError(f"{out} already exists; pass --force to overwrite it")
        mmproj_name = pick_mmproj_file(files) if with_mmproj else None
        paths = [Path(hf_hub_download(repo_id, name, revision=revision, token=token,
                                      local_files_only=_offline(offline),
                                      tqdm_class=_reporting_tqdm(_part_progress(progress, i, len(parts)), cancel)))
                 for i, name in enumerate(parts)]
        mmproj = None if mmproj_name is None else Path(hf_hub_download(
            repo_id, mmproj_name, revision=revision, token=token, local_files_only=_offline(offline),
            tqdm_class=_reporting_tqdm(None, cancel)))
    model = inspect_gguf(paths[0])  # raises ConversionError on a corrupt file or another architecture
    if mmproj is not None:
        inspect_mmproj(mmproj, model)  # ... or a projector that belongs to another model
    if outs is None:
        return paths[0]  # the cached mmproj (and the other parts of a split model) sit beside it
    with _hub_errors(repo_id, revision, offline):
        if mmproj is not None:
            mmproj_out = outs[0].parent / Path(mmproj.name)
            if mmproj_out.exists() and not force:
                raise ConversionError(f"{mmproj_out} already exists; pass --force to overwrite it")
            _copy_atomic(mmproj, mmproj_out)
        for path, out in reversed(list(zip(paths, outs, strict=True))):  # the first part (the one opened) last
            _copy_atomic(path, out)
    return outs[0]


def _download_resumable(repo_id: str, quant: str, outfile: Path, *, revision: str | None, token: str | None,
                        progress: Callable[[float], None] | None, cancel: threading.Event | None,
                        with_mmproj: bool, show_progress: bool) -> Path:
    """``download_gguf_file`` through resumable partial files: both files are complete and checked before either
    is moved into place, so a paused or failed download leaves no half model in the folder."""
    from .resume import discard_partial, fetch_part, finish_part

    with _hub_errors(repo_id, revision, False), _progress_bars(show_progress):
        files = _repo_files(repo_id, revision, token, False)
        names = gguf_parts(files, pick_gguf_file(files, quant, repo_id), repo_id)
        outs = part_outfiles(outfile, len(names))
        mmproj_name = pick_mmproj_file(files) if with_mmproj else None
        mmproj_out = None if mmproj_name is None else outfile.parent / Path(mmproj_name).name
        parts = [fetch_part(repo_id, name, out, revision=revision, token=token, cancel=cancel,
                            tqdm_class=_reporting_tqdm(_part_progress(progress, i, len(names)), cancel))
                 for i, (name, out) in enumerate(zip(names, outs, strict=True))]
        mmproj = None if mmproj_out is None or mmproj_name is None else fetch_part(
            repo_id, mmproj_name, mmproj_out, revision=revision, token=token,
            tqdm_class=_reporting_tqdm(None, cancel), cancel=cancel)
    try:
        model = inspect_gguf(parts[0])
        if mmproj is not None:
            inspect_mmproj(mmproj, model)
    except ConversionError:
        for dest in (*outs, mmproj_out):
            if dest is not None:
                discard_partial(dest)  # a damaged file is not worth resuming
        raise
    with _hub_errors(repo_id, revision, False):
        if mmproj_out is not None:
            finish_part(mmproj_out)
        for out in reversed(outs[1:]):
            finish_part(out)
        return finish_part(outs[0])


def _part_progress(progress: Callable[[float], None] | None, i: int, n: int) -> Callable[[float], None] | None:
    """Part ``i`` of ``n``'s fraction as the fraction of the whole (each part counted alike)."""
    if progress is None or n == 1:
        return progress
    return lambda f: progress((i + f) / n)


def list_gguf_sizes(repo_id: str, *, revision: str | None = None, token: str | None = None,
                    endpoint: str | None = None) -> dict[str, int]:
    """The repo's ``.gguf`` files (vision projectors included) and their sizes in bytes, read off the Hub.

    ``endpoint`` overrides ``HF_ENDPOINT`` for this call (a mirror, or a test server)."""
    from huggingface_hub import HfApi
    from huggingface_hub.hf_api import RepoFile

    with _hub_errors(repo_id, revision, False):
        tree = HfApi(endpoint=endpoint).list_repo_tree(repo_id, revision=revision, token=token, recursive=True)
        return {e.path: int(e.size) for e in tree if isinstance(e, RepoFile) and e.path.lower().endswith(".gguf")}


def sweep_stale_partials(repo_id: str) -> list[Path]:
    """Delete temp files that killed downloads left in the repo's cache; returns what was removed.

    huggingface_hub downloads into ``blobs/<etag>.<random>.incomplete`` while holding
    ``.locks/<repo>/<etag>.lock``; a file whose lock nobody holds belongs to a dead process.
    """
    from filelock import FileLock, Timeout
    from huggingface_hub import constants

    folder = "models--" + repo_id.replace("/", "--")
    blobs = Path(constants.HF_HUB_CACHE) / folder / "blobs"
    removed: list[Path] = []
    for part in blobs.glob("*.incomplete") if blobs.is_dir() else []:
        lock = FileLock(str(Path(constants.HF_HUB_CACHE) / ".locks" / folder / f"{part.name.split('.')[0]}.lock"))
        try:
            with lock.acquire(timeout=0):
                part.unlink(missing_ok=True)
                removed.append(part)
        except (Timeout, OSError):
            continue
    return removed


def is_mmproj_file(name: str) -> bool:
    return Path(name).name.lower().startswith("mmproj")


def pick_mmproj_file(files: list[str]) -> str | None:
    """A repo's vision projector: its one ``mmproj*.gguf`` (the F16 one where there are several), or None."""
    found = sorted(f for f in files if f.lower().endswith(".gguf") and is_mmproj_file(f))
    return next((f for f in found if "f16" in Path(f).stem.lower().split("-")), found[0] if found else None)


# llama.cpp's split GGUF: NAME-QUANT-00001-of-00003.gguf, ... (it opens the first and finds the rest beside it).
_SPLIT = re.compile(r"-(\d{5})-of-(\d{5})\.gguf$", re.IGNORECASE)


def split_of(name: str) -> tuple[int, int] | None:
    """(part number, part count) of a split GGUF's file name, or None for a whole file."""
    m = _SPLIT.search(name)
    return None if m is None else (int(m.group(1)), int(m.group(2)))


def _unsplit(name: str) -> str:
    """A split GGUF's name without its part suffix (``NAME-QUANT.gguf``); a whole file's name as is."""
    return _SPLIT.sub(".gguf", name)


def gguf_parts(files: list[str], first: str, repo_id: str) -> list[str]:
    """The files of the model ``first`` names: itself, or every part of a split GGUF (first part first)."""
    split = split_of(first)
    if split is None:
        return [first]
    prefix, count = _unsplit(first)[: -len(".gguf")], split[1]
    by_lower = {f.lower(): f for f in files}
    wanted = [f"{prefix}-{i:05d}-of-{count:05d}.gguf" for i in range(1, count + 1)]
    missing = [w for w in wanted if w.lower() not in by_lower]
    if missing:
        raise ConversionError(f"{repo_id} lacks {len(missing)} of the {count} parts of {first} ({missing[0]}, ...); "
                              "choose another --file")
    return [by_lower[w.lower()] for w in wanted]


def part_outfiles(outfile: Path, count: int) -> list[Path]:
    """Where the ``count`` parts of a model go for ``outfile``: ``outfile`` itself for a whole file; for a split
    one, the part names llama.cpp looks for (``outfile``'s name with ``-0000N-of-0000M`` unless it has it)."""
    if count == 1:
        return [outfile]
    whole = _unsplit(outfile.name)
    prefix = whole[: -len(".gguf")] if whole.lower().endswith(".gguf") else whole
    return [outfile.with_name(f"{prefix}-{i:05d}-of-{count:05d}.gguf") for i in range(1, count + 1)]


def pick_gguf_file(files: list[str], quant: str, repo_id: str) -> str:
    """The one model ``.gguf`` file whose name ends with ``quant`` (case-insensitive), e.g. ``...-Q4_K_M.gguf``;
    vision projectors (``mmproj-*``) are not models. A model split into parts (``...-Q4_K_M-00001-of-00002.gguf``)
    is named by its first part (``gguf_parts`` gives them all)."""
    suffix = re.compile(rf"[-_.]{re.escape(quant)}\.gguf$", re.IGNORECASE)
    ggufs = sorted(f for f in files if f.lower().endswith(".gguf") and not is_mmproj_file(f)
                   and (split_of(f) or (1, 1))[0] == 1)
    matches = [f for f in ggufs if suffix.search(_unsplit(f))]
    if len(matches) == 1:
        return matches[0]
    if not ggufs:
        raise ConversionError(f"{repo_id} has no .gguf files; pass a checkpoint repo without --file to convert it")
    if not matches:
        available = ", ".join(quant_of(f) for f in ggufs)
        raise ConversionError(f"{repo_id} has no {quant} file; choose --file from: {available}")
    raise ConversionError(f"--file {quant} matches several files in {repo_id} ({', '.join(matches)}); "
                          "pass the full quant name")


def listed_files(repo: GGUFRepo, listing: Mapping[str, int]) -> GGUFRepo:
    """``repo`` with the files a Hub listing of it has (``list_gguf_sizes``) and their exact sizes instead of
    the table's: models from the smallest, then the vision projector (the F16 one where there are several)."""
    projector = pick_mmproj_file(list(listing))
    sizes: dict[str, int] = {}  # model (a split one by its first part) -> bytes of all its parts
    for n in listing:
        if not is_mmproj_file(n):
            first = _SPLIT.sub("-00001-of-\\2.gguf", n) if split_of(n) else n
            sizes[first] = sizes.get(first, 0) + listing[n]
    models = sorted(sizes, key=lambda n: (sizes[n], n))
    files = [GGUFFile(Path(n).name, quant_of(n), sizes[n]) for n in models]
    if projector is not None:
        files.append(GGUFFile(Path(projector).name, quant_of(projector), listing[projector], mmproj=True))
    return replace(repo, files=tuple(files))


def quant_of(filename: str) -> str:
    """The quantization a GGUF's name ends with (LG's ``NAME-QUANT.gguf``), e.g. ``Q4_K_M``."""
    stem = _unsplit(Path(filename).name)[: -len(".gguf")]
    return re.split(r"[-.]", stem)[-1]


def _repo_files(repo_id: str, revision: str | None, token: str | None, offline: bool) -> list[str]:
    """File names of the repo: from the Hub, or from the cached tree listing when offline."""
    from huggingface_hub import HfApi, get_cached_repo_tree
    from huggingface_hub.errors import CachedRepoTreeNotFoundError

    if not _offline(offline):
        return HfApi().list_repo_files(repo_id, revision=revision, token=token)
    try:
        return [f.path for f in get_cached_repo_tree(repo_id, revision=revision)]
    except CachedRepoTreeNotFoundError:
        # hf_hub_download caches no tree listing: fall back to what the snapshot folder holds.
        return _cached_snapshot_files(repo_id, revision)


def _cached_snapshot_files(repo_id: str, revision: str | None) -> list[str]:
    """Files of the cached revision (a branch, tag or commit), found with huggingface_hub's cache scan."""
    from huggingface_hub import scan_cache_dir

    rev = revision or "main"
    for repo in scan_cache_dir().repos:
        if repo.repo_id != repo_id or repo.repo_type != "model":
            continue
        for cached in repo.revisions:
            if rev in cached.refs or cached.commit_hash.startswith(rev):
                return [str(f.file_path.relative_to(cached.snapshot_path)) for f in cached.files]
    raise ConversionError(_not_cached(repo_id, rev))


def _local_checkpoint(source: str) -> Path:
    path = Path(source).expanduser()
    if not path.exists():
        raise ConversionError(f"{source} is neither a local folder nor a Hub repo id like "
                              "LGAI-EXAONE/EXAONE-3.5-2.4B-Instruct; check the spelling")
    if not path.is_dir():
        raise ConversionError(f"{source} is a file; pass the checkpoint folder that holds config.json")
    return path


def _require_exaone(config_path: Path, repo_id: str) -> None:
    try:
        model_type = json.loads(config_path.read_text(encoding="utf-8")).get("model_type")
    except (OSError, ValueError) as err:
        raise ConversionError(f"{repo_id}: config.json is unreadable ({err}); check the repo") from None
    if model_type not in SUPPORTED_MODEL_TYPES:
        raise ConversionError(f"{repo_id} is not an EXAONE checkpoint (model_type {model_type!r}); "
                              "pass an LGAI-EXAONE repo such as LGAI-EXAONE/EXAONE-3.5-2.4B-Instruct")


def _offline(flag: bool) -> bool:
    from huggingface_hub import constants

    return flag or constants.HF_HUB_OFFLINE


@contextlib.contextmanager
def _progress_bars(show: bool) -> Iterator[None]:
    from huggingface_hub.utils import are_progress_bars_disabled, disable_progress_bars, enable_progress_bars

    was_disabled = are_progress_bars_disabled()
    if not show:
        disable_progress_bars()
    try:
        yield
    finally:
        if not show and not was_disabled:
            enable_progress_bars()


def _copy_atomic(src: Path, dst: Path) -> None:
    dst.parent.mkdir(parents=True, exist_ok=True)
    with atomic_output(dst, force=True) as tmp, open(src, "rb") as fin, open(tmp, "wb") as fout:
        shutil.copyfileobj(fin, fout, 16 << 20)


# ------------------------------------------------------------------------------------------------
# huggingface_hub errors -> one-line messages naming the fix (first matching class wins).

def _error_table() -> list[tuple[type[BaseException], Callable[[str, str, BaseException], str]]]:
    from huggingface_hub import constants
    from huggingface_hub.errors import (
        CachedRepoTreeNotFoundError,
        DisabledRepoError,
        GatedRepoError,
        HfHubHTTPError,
        IncompleteSnapshotError,
        LocalEntryNotFoundError,
        OfflineModeIsEnabled,
        RemoteEntryNotFoundError,
        RepositoryNotFoundError,
        RevisionNotFoundError,
    )

    endpoint = constants.ENDPOINT
    return [
        (GatedRepoError, lambda r, v, e: f"{r} is gated: accept its license on the Hub page, then {TOKEN_FIX}"),
        (DisabledRepoError, lambda r, v, e: f"{r} has been disabled on the Hub; pick another repo"),
        (RepositoryNotFoundError, lambda r, v, e: (
            f"repo {r} not found on {endpoint}; check the id (e.g. LGAI-EXAONE/EXAONE-3.5-2.4B-Instruct), "
            f"or if it is private, {TOKEN_FIX}")),
        (RevisionNotFoundError, lambda r, v, e: f"revision {v!r} not found in {r}; pass an existing "
                                                 "branch, tag or commit to --revision"),
        (RemoteEntryNotFoundError, lambda r, v, e: (
            f"{r} has no config.json at {v}; for an official GGUF repo pass --file QUANT (e.g. --file Q4_K_M)")),
        (IncompleteSnapshotError, lambda r, v, e: (
            f"the cached copy of {r}@{v} is incomplete and the Hub cannot be reached; "
            "reconnect and run again to finish the download")),
        (CachedRepoTreeNotFoundError, lambda r, v, e: _not_cached(r, v)),
        (OfflineModeIsEnabled, lambda r, v, e: _not_cached(r, v)),
        (LocalEntryNotFoundError, lambda r, v, e: (
            f"cannot reach the Hub at {endpoint} and {r}@{v} is not in the cache "
            f"({constants.HF_HUB_CACHE}); check your connection or proxy (HTTPS_PROXY) and retry")),
        (HfHubHTTPError, lambda r, v, e: (
            f"the Hub refused {r}: {_first_line(e)}; {TOKEN_FIX} if the repo is private, else retry later")),
    ]


def _not_cached(repo: str, rev: str) -> str:
    return (f"offline mode is on and {repo}@{rev} is not in the Hub cache; run once without --offline "
            "(and without HF_HUB_OFFLINE=1) to download it")


def _first_line(err: BaseException) -> str:
    lines = [s for s in str(err).splitlines() if s.strip()]
    return lines[0] if lines else type(err).__name__


@contextlib.contextmanager
def _hub_errors(repo_id: str, revision: str | None, offline: bool) -> Iterator[None]:
    """Translate what huggingface_hub raises into a ConversionError naming the fix."""
    import httpx2  # huggingface_hub's HTTP client
    from huggingface_hub import constants
    from huggingface_hub.errors import CachedRepoTreeNotFoundError, LocalEntryNotFoundError

    rev = revision or "main"
    try:
        yield
    except ConversionError:
        raise
    except (OSError, CachedRepoTreeNotFoundError) as err:
        if isinstance(err, OSError) and err.errno in (errno.ENOSPC, errno.EDQUOT):
            raise ConversionError(f"disk full while writing {repo_id}; free some space or point HF_HOME "
                                  f"at a bigger disk (cache: {constants.HF_HUB_CACHE})") from None
        if isinstance(err, LocalEntryNotFoundError) and _offline(offline):
            raise ConversionError(_not_cached(repo_id, rev)) from None
        for cls, message in _error_table():
            if isinstance(err, cls):
                raise ConversionError(message(repo_id, rev, err)) from None
        raise ConversionError(f"download of {repo_id} failed: {_first_line(err)}; retry") from None
    except httpx2.HTTPError as err:
        raise ConversionError(f"network error talking to {constants.ENDPOINT} ({type(err).__name__}); "
                              "check your connection and run again: finished files are kept") from None
    except ValueError as err:  # e.g. a malformed repo id
        raise ConversionError(f"{repo_id}: {_first_line(err)}") from None
