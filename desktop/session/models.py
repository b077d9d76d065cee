"""The model manager's logic without Qt: local GGUFs, official downloads, output names."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from exaone_convert import OUTTYPES, QUANTIZABLE, format_size, model_stem, official_gguf_repos, output_path

# Official EXAONE GGUF repos on the Hugging Face Hub (LGAI-EXAONE) and the quant files each publishes,
# from the EXAONE family table.
OFFICIAL_GGUF_REPOS: dict[str, tuple[str, ...]] = {r.repo_id: r.quants for r in official_gguf_repos().values()}
CONVERT_TYPES: tuple[str, ...] = tuple(OUTTYPES)  # the converter's table (gguf-free), default first
QUANTIZE_TYPES: tuple[str, ...] = QUANTIZABLE
DEMO_FILE = "exaone-demo-q8_0.gguf"


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
    from ..engine.gguf_check import inspect_gguf
    from ..engine.types import GenerationError

    try:
        info = inspect_gguf(path)
    except (GenerationError, OSError) as err:
        return LocalModel(path, path.stem, "?", path.stat().st_size if path.exists() else 0, "?", 0, False,
                          str(err).splitlines()[0] if str(err) else type(err).__name__)
    return LocalModel(path, info.name or path.stem, info.architecture, info.file_size, info.quant_type,
                      info.context_length, info.reasoning)


def list_local_models(folders: list[Path]) -> list[LocalModel]:
    """Every ``*.gguf`` in ``folders`` (not hidden temp files), by name."""
    seen: set[Path] = set()
    found: list[LocalModel] = []
    for folder in folders:
        if not folder.is_dir():
            continue
        for path in sorted(folder.glob("*.gguf")):
            if path.name.startswith(".") or path.resolve() in seen:
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
