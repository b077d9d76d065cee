"""The model manager's catalogue: one card per EXAONE family (what it is good at, its sizes, the memory its
smallest file needs, vision and reasoning) with its files inside, in a table whose columns fit their text.

Widgets only: the cards come from ``session.catalogue.family_cards``; picking a file emits ``picked``.
"""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QAbstractItemView,
    QFrame,
    QHeaderView,
    QLabel,
    QScrollArea,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from ..session.catalogue import FamilyCard, display_name
from ..session.models import CatalogueFile, human_size
from .family_texts import good_at


class FamilyCardWidget(QFrame):
    """One family: a heading, what it is good at, its facts, and its files."""

    picked = Signal(object)  # the CatalogueFile

    def __init__(self, card: FamilyCard, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.card = card
        self.setObjectName(f"family-{card.key}")
        self.setFrameShape(QFrame.Shape.StyledPanel)
        layout = QVBoxLayout(self)
        title = QLabel(card.label)
        title.setStyleSheet("font-size: 15px; font-weight: bold;")
        badges = [self.tr("reads images")] if card.vision else []
        if card.reasoning:
            badges.append(self.tr("reasoning"))
        if card.moe:
            badges.append(self.tr("mixture of experts"))
        self.about = QLabel(good_at(card.key))
        self.about.setWordWrap(True)
        self.facts = QLabel(self.tr("Sizes: {0} · needs at least {1} of memory").format(
            ", ".join(card.sizes), human_size(card.smallest_need)) + ("  ·  " + " · ".join(badges) if badges else ""))
        self.facts.setObjectName("family-facts")
        self.facts.setWordWrap(True)
        self.facts.setStyleSheet("color: #555555;")
        self.table = QTableWidget(len(card.files), 3)
        self.table.setObjectName("family-files")
        self.table.setHorizontalHeaderLabels([self.tr("File"), self.tr("Size"), self.tr("This computer")])
        self.table.verticalHeader().setVisible(False)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.table.setVerticalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.table.setWordWrap(True)
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
        header.setSectionResizeMode(1, QHeaderView.ResizeMode.ResizeToContents)
        header.setSectionResizeMode(2, QHeaderView.ResizeMode.ResizeToContents)
        for row, f in enumerate(card.files):
            for col, text in enumerate(self.cells(f)):
                item = QTableWidgetItem(text)
                item.setToolTip(self.tip(f))
                if f.fits is False:
                    item.setForeground(Qt.GlobalColor.gray)
                self.table.setItem(row, col, item)
        self.table.resizeRowsToContents()
        height = self.table.horizontalHeader().height() + sum(self.table.rowHeight(r) for r in range(len(card.files)))
        self.table.setFixedHeight(height + 2 * self.table.frameWidth())
        self.table.itemSelectionChanged.connect(self._picked)
        for w in (title, self.about, self.facts, self.table):
            layout.addWidget(w)

    def cells(self, f: CatalogueFile) -> tuple[str, str, str]:
        """(file, size, verdict) as the table shows them."""
        size = human_size(f.size)
        if f.mmproj:
            size = self.tr("{0} + {1} vision projector").format(size, human_size(f.mmproj_size))
        if not f.exact:
            size = "≈ " + size
        if f.fits is None:
            verdict = self.tr("unknown")
        elif f.fits:
            verdict = self.tr("fits")
        else:
            verdict = self.tr("too large (needs about {0})").format(human_size(f.needed))
        return f"{display_name(f.repo_id)} · {f.quant}", size, verdict

    def tip(self, f: CatalogueFile) -> str:
        if f.mmproj:
            return self.tr("Downloads {0} with its vision projector {1}").format(f.name, f.mmproj)
        return f"{f.repo_id}: {f.name}"

    def _picked(self) -> None:
        rows = self.table.selectionModel().selectedRows()
        if rows:
            self.picked.emit(self.card.files[rows[0].row()])


class CatalogueCards(QScrollArea):
    """Every family's card, newest first, in a column that scrolls up and down."""

    picked = Signal(object)  # the CatalogueFile chosen

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("official-catalogue")
        self.setWidgetResizable(True)
        self.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.cards: list[FamilyCardWidget] = []

    def show_cards(self, cards: list[FamilyCard]) -> None:
        inner = QWidget()
        column = QVBoxLayout(inner)
        self.cards = []
        for card in cards:
            widget = FamilyCardWidget(card)
            widget.picked.connect(self.picked)
            column.addWidget(widget)
            self.cards.append(widget)
        column.addStretch(1)
        self.setWidget(inner)  # the previous inner widget is deleted by Qt

    def rows(self) -> list[tuple[str, str, str, str]]:
        """(repository, file name, size, verdict) of every file shown, card by card."""
        out = []
        for w in self.cards:
            for r, f in enumerate(w.card.files):
                size, verdict = (w.table.item(r, c) for c in (1, 2))
                out.append((f.repo_id, f.name, size.text() if size else "", verdict.text() if verdict else ""))
        return out

    def select(self, name: str) -> None:
        """Pick the file named ``name`` as a user would, in its card."""
        for w in self.cards:
            for r, f in enumerate(w.card.files):
                if f.name == name:
                    w.table.selectRow(r)
                    return
