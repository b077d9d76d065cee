"""The model manager's offer of a draft model: the small model of the selected (else the loaded) model's family,
which drafts for it as its ``assistant_model`` (speculative decoding). Choosing it downloads the file through
the manager's download path when it is not in the models folder yet, then emits ``chosen`` with its path (the
window sets it as the load setting). Hidden while there is nothing to offer.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

from PySide6.QtCore import Signal
from PySide6.QtWidgets import QGroupBox, QHBoxLayout, QLabel, QPushButton

from ..session.draft_offer import DraftOffer, draft_offer
from ..session.models import CatalogueFile, catalogue_file, human_size

if TYPE_CHECKING:
    from .workers import Job


class OfferHost(Protocol):
    """What the box asks of the model manager that shows it (which wires the box to its table's selection and
    to its finished downloads)."""

    @property
    def models_dir(self) -> Path: ...

    @property
    def catalogue_files(self) -> Sequence[CatalogueFile]: ...

    def selected_path(self) -> Path | None: ...

    def download(self, repo: str, quant: str) -> Job | None: ...


class DraftOfferBox(QGroupBox):
    chosen = Signal(str, str)  # the model, and its draft model's path once that is in the models folder

    def __init__(self, manager: OfferHost) -> None:
        super().__init__()
        self.setTitle(self.tr("Draft model (faster replies, the same text)"))
        self.setObjectName("draft-offer")
        self.manager = manager
        self.loaded: Path | None = None
        self.offer: DraftOffer | None = None
        self.waiting: DraftOffer | None = None  # the offer whose draft file is being downloaded
        self.downloaded: set[Path] = set()  # draft files this box downloaded (not models to load)
        row = QHBoxLayout(self)
        self.label = QLabel("")
        self.label.setObjectName("draft-offer-text")
        self.label.setWordWrap(True)
        self.use_button = QPushButton(self.tr("Use it"))
        self.use_button.setObjectName("draft-offer-use")
        self.use_button.clicked.connect(self.accept)
        row.addWidget(self.label, 1)
        row.addWidget(self.use_button)
        self.setVisible(False)

    def show_loaded(self, path: str | Path | None) -> None:
        """The model the app has loaded (offered for when no row is selected)."""
        self.loaded = Path(path) if path else None
        self.update_offer()

    def update_offer(self) -> None:
        model = self.manager.selected_path() or self.loaded
        self.offer = None if model is None else draft_offer(model, self.manager.models_dir)
        self.setVisible(self.offer is not None)
        if self.offer is None:
            return
        known = catalogue_file(self.manager.catalogue_files, self.offer.repo_id, self.offer.quant)
        if self.offer.present:
            text = self.tr("{0} can draft for {1}: it proposes tokens that {1} checks in one step.")
        else:
            text = self.tr("{0} can draft for {1}: it proposes tokens that {1} checks in one step. "
                           "Use it downloads it first ({2}).")
        size = human_size(known.size) if known is not None else "?"
        self.label.setText(text.format(self.offer.name, self.offer.model.name, size))

    def accept(self) -> Job | None:
        """Use the offered draft model: set at once when it is here, else after its download."""
        offer = self.offer
        if offer is None:
            return None
        if offer.present or offer.path.is_file():
            self.chosen.emit(str(offer.model), str(offer.path))
            return None
        job = self.manager.download(offer.repo_id, offer.quant)
        self.waiting = offer if job is not None else None
        return job

    def is_draft(self, path: str) -> bool:
        """Whether ``path`` is a draft model this box downloaded (the window does not load it as the model)."""
        return Path(path).resolve() in self.downloaded

    def downloaded_file(self, path: str) -> None:
        """A download of the manager finished: when it was the offered draft, the offer is taken."""
        offer = self.waiting
        if offer is not None and Path(path).resolve() == offer.path.resolve():
            self.waiting = None
            self.downloaded.add(offer.path.resolve())
            self.update_offer()
            self.chosen.emit(str(offer.model), path)
