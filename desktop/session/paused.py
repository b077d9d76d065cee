"""Downloads paused in the models folder, without Qt: what the model manager lists and resumes, also after the
app was restarted (the partial files and what they are stay beside their destination, see
``exaone_convert.resume``)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

__all__ = ["Paused", "discard", "discard_download", "find"]


@dataclass(frozen=True)
class Paused:
    dest: Path  # the finished file
    repo_id: str
    filename: str
    quant: str  # what to ask the Hub for again (the file name's quantization)
    done: int  # bytes already here
    size: int | None  # the whole file (None: unknown)

    @property
    def name(self) -> str:
        return self.dest.name


def find(models_dir: Path) -> list[Paused]:
    """The models' paused downloads in ``models_dir`` (vision projectors come with their model)."""
    from exaone_convert import find_partials, is_mmproj_file, quant_of

    return [Paused(Path(p.dest), p.repo_id, p.filename, quant_of(p.filename), p.done, p.size)
            for p in find_partials(models_dir) if not is_mmproj_file(p.filename)]


def discard(paused: Paused) -> None:
    """Delete a paused download's partial file (and its projector's, when one was under way)."""
    discard_download(paused.dest, paused.repo_id)


def discard_download(dest: Path, repo_id: str) -> None:
    """Delete the partial files of the download of ``repo_id`` to ``dest`` (its projector's too); each once
    no transfer writes it any more."""
    from exaone_convert import discard_partial, find_partials, is_mmproj_file

    for p in find_partials(dest.parent):
        if Path(p.dest) == dest or (p.repo_id == repo_id and is_mmproj_file(p.filename)):
            discard_partial(Path(p.dest))
