"""Which small model the model manager offers as the ``assistant_model`` of a larger one, without Qt.

LG publishes same-tokenizer pairs: the small model of a family drafts for its larger ones (speculative
decoding). The pairing is the family table's ``draft_repo`` column; this module finds the official repo a
local GGUF came from (by its file name: LG's ``NAME-QUANT.gguf`` or the app's download name, which is the same)
and the draft file to offer: one already in the models folder, else the one to download.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from exaone_convert import GGUFRepo, draft_repo_for, model_stem, official_gguf_repos, quant_of

from .models import download_outfile

PREFERRED_QUANT = "Q4_K_M"  # the draft's quant when the model's own is not among the draft repo's files

__all__ = ["DraftOffer", "draft_offer", "official_repo_of"]


@dataclass(frozen=True)
class DraftOffer:
    """The draft model offered for ``model``: ``quant`` of ``repo_id``, at ``path`` (there when ``present``)."""

    model: Path
    repo_id: str
    quant: str
    path: Path
    present: bool

    @property
    def name(self) -> str:
        return self.path.name


def _form(text: str) -> str:
    return "".join(c for c in text.lower() if c not in " -_.")


def official_repo_of(path: Path) -> GGUFRepo | None:
    """The official repo whose model the GGUF file ``path`` is, read off its name (the longest repo name its
    name starts with, ignoring case, '-', '_', '.' and spaces); None for any other file."""
    stem = _form(path.stem)
    found = [r for r in official_gguf_repos().values() if stem.startswith(_form(model_stem(r.repo_id)))]
    return max(found, key=lambda r: len(model_stem(r.repo_id)), default=None)


def draft_offer(model: Path, models_dir: Path) -> DraftOffer | None:
    """The draft model for ``model`` (None when its family has no smaller same-tokenizer sibling): a file of
    the draft repo already in ``models_dir`` (the model's own quant first), else that quant to download (or
    ``PREFERRED_QUANT`` when the draft repo has no such file; every draft repo has that one)."""
    repo = official_repo_of(model)
    draft = draft_repo_for(repo.repo_id) if repo is not None else None
    if draft is None:
        return None
    own = quant_of(model.name).upper()
    quants = sorted(draft.quants, key=lambda q: (q.upper() != own, q != PREFERRED_QUANT))
    for quant in quants:
        path = download_outfile(models_dir, draft.repo_id, quant)
        if path.is_file():
            return DraftOffer(model, draft.repo_id, quant, path, True)
    quant = quants[0]  # the model's own quant, else PREFERRED_QUANT (else the repo's first)
    return DraftOffer(model, draft.repo_id, quant, download_outfile(models_dir, draft.repo_id, quant), False)
