"""The first-run page in the chat area (widgets only): one official file recommended for this computer with
one Download button and its licence, and the demo model as a clearly labelled "try without downloading".

The window decides what to recommend (``session.catalogue.recommend``) and runs the download; the page
shows it and its progress.
"""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QFrame,
    QHBoxLayout,
    QLabel,
    QProgressBar,
    QPushButton,
    QScrollArea,
    QVBoxLayout,
    QWidget,
)

from ..session.catalogue import LICENCE, display_name
from ..session.models import CatalogueFile, human_size
from .family_texts import good_at

WIDTH = 520


def _wrapped(text: str = "", style: str = "") -> QLabel:
    label = QLabel(text)
    label.setWordWrap(True)
    label.setStyleSheet(style)
    return label


class WelcomePage(QScrollArea):
    """First run: no model yet."""

    download_requested = Signal()
    cancel_requested = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("welcome")
        self.setWidgetResizable(True)
        self.setFrameShape(QFrame.Shape.NoFrame)
        inner = QWidget()
        outer = QVBoxLayout(inner)
        column = QWidget()
        column.setFixedWidth(WIDTH)
        layout = QVBoxLayout(column)
        outer.addStretch(1)
        outer.addWidget(column, 0, Qt.AlignmentFlag.AlignHCenter)
        outer.addStretch(2)
        self.setWidget(inner)

        title = QLabel(self.tr("Welcome to EXAONE Desktop"))
        title.setStyleSheet("font-size: 20px; font-weight: bold;")
        intro = _wrapped(self.tr("Chat with LG AI Research's EXAONE models on this computer: private, and offline "
                                 "once the model is here. Start with the model recommended for this computer."))

        card = QFrame()
        card.setObjectName("recommendation")
        card.setFrameShape(QFrame.Shape.StyledPanel)
        card.setStyleSheet("#recommendation { background: #eef4ff; border-radius: 8px; }")
        box = QVBoxLayout(card)
        self.heading = _wrapped(self.tr("Recommended for this computer"), "font-weight: bold; color: #1a4fa0;")
        self.model_name = _wrapped("", "font-size: 17px; font-weight: bold;")
        self.model_name.setObjectName("recommended-model")
        self.facts = _wrapped()
        self.facts.setObjectName("recommended-facts")
        self.good_at = _wrapped()
        self.licence = _wrapped()
        self.licence.setObjectName("licence")
        self.licence.setOpenExternalLinks(True)
        self.licence.setTextFormat(Qt.TextFormat.RichText)
        self.download_button = QPushButton(self.tr("Download"))
        self.download_button.setObjectName("welcome-download")
        self.download_button.setDefault(True)
        self.download_button.clicked.connect(self.download_requested)
        progress_row = QHBoxLayout()
        self.progress = QProgressBar()
        self.progress.setRange(0, 1000)
        self.cancel_button = QPushButton(self.tr("Cancel"))
        self.cancel_button.setObjectName("welcome-cancel")
        self.cancel_button.clicked.connect(self.cancel_requested)
        progress_row.addWidget(self.progress, 1)
        progress_row.addWidget(self.cancel_button)
        self.progress_text = _wrapped()
        self.progress_text.setObjectName("welcome-progress")
        for w in (self.heading, self.model_name, self.facts, self.good_at, self.licence):
            box.addWidget(w)
        box.addWidget(self.download_button, 0, Qt.AlignmentFlag.AlignLeft)
        box.addLayout(progress_row)
        box.addWidget(self.progress_text)

        demo_title = _wrapped(self.tr("Try without downloading"), "font-weight: bold;")
        demo_text = _wrapped(self.tr("A tiny demo model that works at once, offline. It is not EXAONE: it only "
                                     "recites one short text, to show the app working."), "color: #555555;")
        self.demo_button = QPushButton(self.tr("Try the demo model"))
        self.demo_button.setObjectName("welcome-demo")
        self.manager_button = QPushButton(self.tr("See every official model, or convert one…"))
        self.manager_button.setObjectName("welcome-manager")
        self.manager_button.setFlat(True)
        self.manager_button.setStyleSheet("text-align: left; color: #1a4fa0;")
        for part in (title, intro, card, demo_title, demo_text):
            layout.addWidget(part)
        layout.addWidget(self.demo_button, 0, Qt.AlignmentFlag.AlignLeft)
        layout.addSpacing(8)
        layout.addWidget(self.manager_button, 0, Qt.AlignmentFlag.AlignLeft)
        self.show_busy(False)

    def show_recommendation(self, file: CatalogueFile, family: str, memory: int | None) -> None:
        """``file`` (of the family ``family``), recommended for a computer with ``memory`` bytes."""
        self.model_name.setText(f"{display_name(file.repo_id)} · {file.quant}")
        memory_text = human_size(memory) if memory else self.tr("unknown")
        self.facts.setText(self.tr("{0} download · needs about {1} of this computer's {2} of memory")
                           .format(human_size(file.download_size), human_size(file.needed), memory_text))
        self.good_at.setText(good_at(family))
        url = f"https://huggingface.co/{file.repo_id}"
        self.licence.setText(self.tr("Licence: {0}. Read it on <a href=\"{1}\">the model's page</a> before you use "
                                     "the model.").format(LICENCE, url))
        self.download_button.setText(self.tr("Download ({0})").format(human_size(file.download_size)))

    def show_busy(self, busy: bool) -> None:
        """While a download or the demo set-up runs: its progress and Cancel, the buttons off."""
        for w in (self.progress, self.cancel_button):
            w.setVisible(busy)
        for b in (self.download_button, self.demo_button):
            b.setEnabled(not busy)
        if not busy:
            self.progress.setRange(0, 1000)

    def show_progress(self, fraction: float, text: str) -> None:
        if fraction < 0:
            self.progress.setRange(0, 0)
        else:
            self.progress.setRange(0, 1000)
            self.progress.setValue(int(min(1.0, fraction) * 1000))
        self.progress_text.setText(text)
