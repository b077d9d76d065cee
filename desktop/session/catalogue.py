"""The official models as a newcomer meets them, without Qt and without the network: one card per family
(what it is, its sizes, the memory its smallest file needs, vision, reasoning) and one file recommended for
this computer.

The recommendation reads the family table's official files (their estimated sizes) and the machine's
memory: the first of ``RECOMMENDATIONS`` whose download, with the room a model needs beside it
(``models.FIT_HEADROOM``), takes at most ``RECOMMEND_SHARE`` of the memory; the rest stays for the system,
the other programs and the context. With 8 GB that is EXAONE 4.0 1.2B, with 16 GB EXAONE 3.5 7.8B, and from
about 50 GB EXAONE 4.5 33B (it reads images too).
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from exaone_convert import FAMILIES

from .models import CatalogueFile, official_catalogue

__all__ = ["LICENCE", "RECOMMENDATIONS", "RECOMMEND_SHARE", "FamilyCard", "display_name", "family_cards", "family_of",
           "recommend"]

LICENCE = "EXAONE AI Model License"  # every official EXAONE file (read it on the model's page before use)
RECOMMEND_SHARE = 0.5  # at most this share of the memory goes to the recommended model
# (repository, file type), best first: the newest capable model that fits comfortably.
RECOMMENDATIONS: tuple[tuple[str, str], ...] = (
    ("LGAI-EXAONE/EXAONE-4.5-33B-GGUF", "Q4_K_M"),
    ("LGAI-EXAONE/EXAONE-4.0-32B-GGUF", "Q4_K_M"),
    ("LGAI-EXAONE/EXAONE-3.5-7.8B-Instruct-GGUF", "Q4_K_M"),
    ("LGAI-EXAONE/EXAONE-4.0-1.2B-GGUF", "Q4_K_M"),
)


@dataclass(frozen=True)
class FamilyCard:
    """One family of the catalogue: its facts and its files (every size and type)."""

    key: str
    label: str
    vision: bool
    reasoning: bool
    moe: bool
    sizes: tuple[str, ...]  # "1.2B", "32B"...: the repositories' model sizes
    files: tuple[CatalogueFile, ...]

    @property
    def smallest_need(self) -> int:
        """Memory the family's smallest file needs (bytes)."""
        return min((f.needed for f in self.files), default=0)


def display_name(repo_id: str) -> str:
    """A repository as people name the model: "LGAI-EXAONE/EXAONE-4.0-1.2B-GGUF" -> "EXAONE 4.0 1.2B"."""
    words = repo_id.split("/")[-1].removesuffix("-GGUF").replace("-", " ")
    return re.sub(r"(\d+B) (A\d+B)", r"\1-\2", words.replace("K EXAONE", "K-EXAONE"))  # K-EXAONE 236B-A23B


def family_of(repo_id: str) -> str:
    """The family-table key of an official repository ("" for none)."""
    return next((f.key for f in FAMILIES if any(r.repo_id == repo_id for r in f.gguf_repos)), "")


def _size_of(repo_id: str) -> str:
    """The model size a repository name carries ("EXAONE-4.0-32B-GGUF" -> "32B")."""
    parts = repo_id.split("/")[-1].split("-")
    return next((p for p in parts if p[:1].isdigit() and p.endswith("B")), "")


def family_cards(memory: int | None, listings: Mapping[str, Mapping[str, int]] | None = None) -> list[FamilyCard]:
    """Every family that has official files, newest first, with its files judged against ``memory``."""
    files = official_catalogue(memory, listings)
    cards: list[FamilyCard] = []
    for fam in reversed(FAMILIES):
        repos = [r.repo_id for r in fam.gguf_repos]
        mine = tuple(f for f in files if f.repo_id in repos)
        if not mine:
            continue
        cards.append(FamilyCard(fam.key, fam.label, fam.vision, fam.reasoning_tags is not None, fam.moe,
                                tuple(dict.fromkeys(_size_of(r) for r in repos)), mine))
    return cards


def recommend(memory: int | None, files: Sequence[CatalogueFile] | None = None) -> CatalogueFile:
    """The one official file to start with on a computer with ``memory`` bytes (unknown: the smallest)."""
    catalogue = list(files) if files is not None else official_catalogue(memory)
    by_key = {(f.repo_id, f.quant): f for f in catalogue}
    rows = [by_key[k] for k in RECOMMENDATIONS if k in by_key]
    if not rows:
        raise LookupError("the family table names none of the recommended files")
    if memory is None:
        return rows[-1]
    return next((f for f in rows if f.needed <= memory * RECOMMEND_SHARE), rows[-1])
