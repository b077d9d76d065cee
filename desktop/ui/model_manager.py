"""The model manager: local GGUFs, official downloads, conversion, quantization, the demo model.

Each long task is a ``Job`` (QThread) with a progress bar and Cancel; one runs at a time.
"""

from __future__ import annotations

from pathlib import Path
from typing import cast

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QComboBox,
    QFileDialog,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QProgressBar,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from ..session import paused
from ..session.catalogue import family_cards
from ..session.models import (
    CONVERT_TYPES,
    DEMO_FILE,
    OFFICIAL_GGUF_REPOS,
    QUANTIZE_TYPES,
    CatalogueFile,
    LocalModel,
    catalogue_file,
    convert_outfile,
    download_outfile,
    human_size,
    list_local_models,
    official_catalogue,
    quantize_outfile,
    total_memory,
)
from ..session.network import problem_kind
from ..session.transfer import Transfer
from .catalogue_cards import CatalogueCards
from .draft_offer_box import DraftOfferBox
from .model_table import COLUMNS, fill_table, model_table, selected_path
from .workers import DEMO_DIR, CatalogueWorker, ConvertWorker, DemoConvertWorker, DownloadWorker, Job, QuantizeWorker


class ModelManager(QWidget):
    model_chosen = Signal(str)
    job_finished = Signal(str)  # the new file
    job_failed = Signal(str)
    job_cancelled = Signal()
    progress_shown = Signal(float, str)  # fraction done (-1: unknown), the line that says it

    def __init__(self, models_dir: Path, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("model-manager")
        self.models_dir = models_dir
        self.models: list[LocalModel] = []
        self.job: Job | None = None
        self.last_fraction = 0.0
        self.stage = ""
        self.transfer: Transfer | None = None  # the download running: its speed and time left
        self.cancelled: dict[Path, DownloadWorker] = {}  # downloads cancelled (their partial files being deleted)
        layout = QVBoxLayout(self)

        self.table = model_table([self.tr(c) for c in COLUMNS])
        self.table.doubleClicked.connect(lambda _i: self._use_selected())
        layout.addWidget(QLabel(self.tr("Models on this computer")))
        layout.addWidget(self.table, 1)
        row = QHBoxLayout()
        self.use_button = QPushButton(self.tr("Use selected model"))
        self.use_button.clicked.connect(self._use_selected)
        self.open_button = QPushButton(self.tr("Open a GGUF file…"))
        self.open_button.clicked.connect(self._open_file)
        self.demo_button = QPushButton(self.tr("Set up the demo model"))
        self.demo_button.clicked.connect(self.start_demo)
        self.demo_button.setEnabled(DEMO_DIR.joinpath("config.json").exists())
        self.refresh_button = QPushButton(self.tr("Refresh"))
        self.refresh_button.clicked.connect(self.refresh)
        for b in (self.use_button, self.open_button, self.demo_button, self.refresh_button):
            row.addWidget(b)
        layout.addLayout(row)
        self.draft_offer = DraftOfferBox(self)  # the small model of the selected (else loaded) model's family
        self.table.itemSelectionChanged.connect(self.draft_offer.update_offer)
        self.job_finished.connect(self.draft_offer.downloaded_file)
        layout.addWidget(self.draft_offer)

        download = QGroupBox(self.tr("Download an official EXAONE GGUF"))
        form = QFormLayout(download)
        self.memory = total_memory()
        self.catalogue_files: list[CatalogueFile] = official_catalogue(self.memory)
        self.memory_label = QLabel(self.tr("This computer has {0} of memory.").format(human_size(self.memory))
                                   if self.memory else self.tr("This computer's memory is unknown."))
        self.catalogue = CatalogueCards()  # one card per family, its files inside
        self.catalogue.setMinimumHeight(260)
        self.catalogue.picked.connect(self._catalogue_picked)
        self._listings: dict[str, dict[str, int]] = {}
        self._fill_catalogue()
        self.check_sizes_button = QPushButton(self.tr("Check files and sizes on the Hub"))
        self.check_sizes_button.setObjectName("check-sizes")
        self.check_sizes_button.setToolTip(self.tr("Sizes marked ≈ are estimates; this asks Hugging Face for each "
                                                   "repository's real files (nothing is downloaded)"))
        self.check_sizes_button.clicked.connect(self.check_sizes)
        self.catalogue_job: CatalogueWorker | None = None
        memory_row = QHBoxLayout()
        memory_row.addWidget(self.memory_label, 1)
        memory_row.addWidget(self.check_sizes_button)
        form.addRow(memory_row)
        form.addRow(self.catalogue)
        self.repo = QComboBox()
        self.repo.setEditable(True)
        self.repo.addItems(list(OFFICIAL_GGUF_REPOS))
        self.quant = QComboBox()
        self.quant.setEditable(True)
        self.repo.currentTextChanged.connect(self._fill_quants)
        self._fill_quants(self.repo.currentText())
        self.download_button = QPushButton(self.tr("Download"))
        self.download_button.clicked.connect(self.start_download)
        form.addRow(self.tr("Repository"), self.repo)
        form.addRow(self.tr("File"), self.quant)
        form.addRow("", self.download_button)
        layout.addWidget(download)
        layout.addWidget(self._paused_box())

        convert = QGroupBox(self.tr("Convert a Hugging Face checkpoint"))
        form = QFormLayout(convert)
        source_row = QHBoxLayout()
        self.source = QLineEdit()
        self.source.setObjectName("convert-source")
        self.source.setPlaceholderText(self.tr("Hub id (LGAI-EXAONE/EXAONE-3.5-2.4B-Instruct) or a local folder"))
        browse = QPushButton(self.tr("Folder…"))
        browse.clicked.connect(self._browse_folder)
        source_row.addWidget(self.source, 1)
        source_row.addWidget(browse)
        self.convert_type = QComboBox()
        self.convert_type.addItems(list(CONVERT_TYPES))
        self.convert_button = QPushButton(self.tr("Convert"))
        self.convert_button.clicked.connect(self.start_convert)
        form.addRow(self.tr("Source"), source_row)
        form.addRow(self.tr("Type"), self.convert_type)
        form.addRow("", self.convert_button)
        layout.addWidget(convert)

        quantize = QGroupBox(self.tr("Quantize the selected GGUF"))
        qrow = QHBoxLayout(quantize)
        self.quantize_type = QComboBox()
        self.quantize_type.addItems(list(QUANTIZE_TYPES))
        self.quantize_button = QPushButton(self.tr("Quantize"))
        self.quantize_button.clicked.connect(self.start_quantize)
        qrow.addWidget(self.quantize_type, 1)
        qrow.addWidget(self.quantize_button)
        layout.addWidget(quantize)

        progress_row = QHBoxLayout()
        self.progress = QProgressBar()
        self.progress.setRange(0, 1000)
        self.progress.setValue(0)
        self.cancel_button = QPushButton(self.tr("Cancel"))
        self.cancel_button.setEnabled(False)
        self.cancel_button.clicked.connect(self.cancel)
        self.pause_button = QPushButton(self.tr("Pause"))
        self.pause_button.setObjectName("download-pause")
        self.pause_button.setToolTip(self.tr("Stop the download and keep what has arrived; Resume continues it, "
                                             "also after the app is restarted"))
        self.pause_button.setEnabled(False)
        self.pause_button.clicked.connect(self.pause)
        progress_row.addWidget(self.progress, 1)
        progress_row.addWidget(self.pause_button)
        progress_row.addWidget(self.cancel_button)
        layout.addLayout(progress_row)
        self.message = QLabel("")
        self.message.setObjectName("manager-message")
        self.message.setWordWrap(True)
        layout.addWidget(self.message)
        self.refresh()

    # -- the list --------------------------------------------------------------------------------

    def _paused_box(self) -> QGroupBox:
        box = QGroupBox(self.tr("Paused downloads"))
        box.setObjectName("paused-downloads")
        row = QHBoxLayout(box)
        self.paused_list = QListWidget()
        self.paused_list.setObjectName("paused-list")
        self.paused_list.setMaximumHeight(70)
        self.resume_button = QPushButton(self.tr("Resume"))
        self.resume_button.setObjectName("download-resume")
        self.resume_button.clicked.connect(lambda: self.resume())
        self.discard_button = QPushButton(self.tr("Discard"))
        self.discard_button.setObjectName("download-discard")
        self.discard_button.setToolTip(self.tr("Delete the part already downloaded"))
        self.discard_button.clicked.connect(self.discard)
        buttons = QVBoxLayout()
        buttons.addWidget(self.resume_button)
        buttons.addWidget(self.discard_button)
        row.addWidget(self.paused_list, 1)
        row.addLayout(buttons)
        self.paused_box = box
        return box

    def _fill_paused(self) -> None:
        """The downloads paused in the models folder (also those of an earlier run of the app)."""
        self.paused_list.clear()
        found = [p for p in paused.find(self.models_dir) if p.dest not in self.cancelled] if self.job is None else []
        for p in found:
            item = QListWidgetItem(self.tr("{0}: {1} of {2}, paused").format(
                p.name, human_size(p.done), human_size(p.size) if p.size else "?"))
            item.setData(Qt.ItemDataRole.UserRole, p)
            self.paused_list.addItem(item)
        if found:
            self.paused_list.setCurrentRow(0)
        self.paused_box.setVisible(bool(found))
        self.resume_button.setEnabled(bool(found) and self.job is None)
        self.discard_button.setEnabled(bool(found) and self.job is None)

    def _chosen_paused(self) -> paused.Paused | None:
        item = self.paused_list.currentItem()
        return None if item is None else cast("paused.Paused", item.data(Qt.ItemDataRole.UserRole))

    def resume(self, which: paused.Paused | None = None) -> Job | None:
        """Continue a paused download from where it stopped (the Hub sends only the rest)."""
        p = which or self._chosen_paused()
        if p is None:
            return None
        return self.download(p.repo_id, p.quant, done=p.done, size=p.size)

    def discard(self) -> None:
        p = self._chosen_paused()
        if p is not None and self.job is None:
            paused.discard(p)
            self.show_message(self.tr("Deleted the partial download of {0}.").format(p.name))
            self._fill_paused()

    def refresh(self) -> None:
        self._fill_paused()
        self.models = list_local_models([self.models_dir])
        fill_table(self.table, self.models)

    def selected_path(self) -> Path | None:
        return selected_path(self.table)

    def select(self, path: Path) -> None:
        for i, m in enumerate(self.models):
            if m.path.resolve() == Path(path).resolve():
                self.table.selectRow(i)

    def _use_selected(self) -> None:
        path = self.selected_path()
        if path is None:
            self.show_message(self.tr("Select a model in the list first."), error=True)
            return
        self.model_chosen.emit(str(path))

    def _open_file(self) -> None:
        name, _ = QFileDialog.getOpenFileName(self, self.tr("Open a GGUF model"), str(self.models_dir),
                                              "GGUF (*.gguf)")
        if name:
            self.model_chosen.emit(name)

    def _browse_folder(self) -> None:
        name = QFileDialog.getExistingDirectory(self, self.tr("Checkpoint folder"))
        if name:
            self.source.setText(name)

    def _fill_catalogue(self) -> None:
        self.catalogue.show_cards(family_cards(self.memory, self._listings))

    def _catalogue_picked(self, f: CatalogueFile) -> None:
        self.repo.setCurrentText(f.repo_id)
        self.quant.setCurrentText(f.quant)

    def _fill_quants(self, repo: str) -> None:
        self.quant.clear()
        self.quant.addItems([f.quant for f in self.catalogue_files if f.repo_id == repo] or ["Q4_K_M"])

    def check_sizes(self) -> CatalogueWorker | None:
        """Replace the estimated catalogue rows with each repository's real files and sizes, in a worker."""
        if self.catalogue_job is not None:
            return None
        job = self.catalogue_job = CatalogueWorker()
        job.succeeded.connect(self._on_listings)
        job.failed.connect(lambda message: self.show_message(self.network_line(message), error=True))
        job.cancelled.connect(lambda: self.show_message(self.tr("Stopped asking the Hub; the sizes stay estimates.")))
        job.finished.connect(self._on_catalogue_done)
        self.check_sizes_button.setEnabled(False)
        self.cancel_button.setEnabled(True)
        self.progress.setRange(0, 0)
        self.show_message(self.tr("Asking the Hub for the official files…"))
        job.start()
        return job

    def _on_listings(self, outcome: object) -> None:
        listings, failures = cast("tuple[dict[str, dict[str, int]], dict[str, str]]", outcome)
        self._listings = listings
        self.catalogue_files = official_catalogue(self.memory, listings)
        self._fill_catalogue()
        self._fill_quants(self.repo.currentText())
        if failures:
            first = next(iter(failures.values()))
            self.show_message(self.tr("Read {0} of {1} repositories; the others keep estimated sizes ({2})")
                              .format(len(listings), len(listings) + len(failures), first), error=True)
        else:
            self.show_message(self.tr("Read the files and sizes of all {0} repositories.").format(len(listings)))

    def _on_catalogue_done(self) -> None:
        self.catalogue_job = None
        self.check_sizes_button.setEnabled(True)
        self.progress.setRange(0, 1000)
        self.cancel_button.setEnabled(self.job is not None)

    # -- jobs ------------------------------------------------------------------------------------

    def start_demo(self) -> Job | None:
        return self._start(DemoConvertWorker(self.models_dir / DEMO_FILE), self.tr("Setting up the demo model…"))

    def start_download(self) -> Job | None:
        repo, quant = self.repo.currentText().strip(), self.quant.currentText().strip()
        if not repo or not quant:
            self.show_message(self.tr("Choose a repository and a file."), error=True)
            return None
        return self.download(repo, quant)

    def download(self, repo: str, quant: str, *, done: int = 0, size: int | None = None) -> Job | None:
        """Download ``quant`` of the official repository ``repo`` into the models folder (a job); a paused
        download of it continues from ``done`` bytes."""
        known = catalogue_file(self.catalogue_files, repo, quant)
        outfile = download_outfile(self.models_dir, repo, quant)
        job = self._start(DownloadWorker(repo, quant, outfile), self.tr("Downloading {0}…").format(repo))
        if job is not None:
            earlier = self.cancelled.pop(outfile, None)
            if earlier is not None:
                earlier.paused = True  # the same file again: its transfer must not delete what this one continues
            self.transfer = Transfer(size or (known.size if known is not None else 0), done=done)
            self.pause_button.setEnabled(True)
            self._fill_paused()
        return job

    def pause(self) -> None:
        """Stop the running download and keep its partial file (Resume continues it)."""
        if isinstance(self.job, DownloadWorker):
            self.job.pause()
            self.pause_button.setEnabled(False)

    def transfer_text(self, fraction: float) -> str:
        """"1.2 GB of 4.7 GB · 11.0 MB/s · about 5 min left" (what is known of it)."""
        assert self.transfer is not None
        f = self.transfer.update(fraction)
        if not f.total:
            return self.tr("{0}% downloaded").format(int(fraction * 100))
        parts = [self.tr("{0} of {1}").format(human_size(f.done), human_size(f.total))]
        if f.bytes_per_s is not None:
            parts.append(self.tr("{0}/s").format(human_size(int(f.bytes_per_s))))
        if f.seconds_left is not None:
            parts.append(self.tr("about {0} left").format(self.duration(f.seconds_left)))
        return " · ".join(parts)

    def duration(self, seconds: float) -> str:
        s = int(round(seconds))
        if s < 60:
            return self.tr("{0} s").format(s)
        if s < 3600:
            return self.tr("{0} min").format(round(s / 60))
        return self.tr("{0} h {1} min").format(s // 3600, (s % 3600) // 60)

    def network_line(self, message: str) -> str:
        """A Hub failure in one line of the UI's language (the engine's own words kept as the detail)."""
        kind = problem_kind(message)
        lines = {
            "offline": self.tr("Cannot reach Hugging Face: this computer seems to be offline, or needs a proxy "
                               "(Settings → App → Network)."),
            "gated": self.tr("Hugging Face refused the download: accept the model's licence on its page, or log in "
                             "with a token."),
            "missing": self.tr("This file is not on Hugging Face (any more); check the name or the mirror."),
            "disk": self.tr("There is not enough free disk space for this file; free some space and try again."),
        }
        return lines.get(kind, self.tr("The download failed: {0}").format(message))

    def start_convert(self) -> Job | None:
        source, outtype = self.source.text().strip(), self.convert_type.currentText()
        if not source:
            self.show_message(self.tr("Enter a Hub id or choose a checkpoint folder."), error=True)
            return None
        return self._start(ConvertWorker(source, convert_outfile(self.models_dir, source, outtype), outtype),
                           self.tr("Converting {0}…").format(source))

    def start_quantize(self) -> Job | None:
        src = self.selected_path()
        if src is None:
            self.show_message(self.tr("Select the GGUF to quantize in the list first."), error=True)
            return None
        outtype = self.quantize_type.currentText()
        return self._start(QuantizeWorker(src, quantize_outfile(src, outtype), outtype),
                           self.tr("Quantizing {0}…").format(src.name))

    def _start(self, job: Job, text: str) -> Job | None:
        if self.job is not None:
            self.show_message(self.tr("Another task is running; wait for it or cancel it."), error=True)
            return None
        self.models_dir.mkdir(parents=True, exist_ok=True)
        self.job = job
        self.last_fraction, self.stage = 0.0, ""
        job.progress.connect(self._on_progress)
        job.succeeded.connect(self._on_succeeded)
        job.failed.connect(self._on_failed)
        job.cancelled.connect(self._on_cancelled)
        job.finished.connect(self._on_thread_done)
        self.progress.setRange(0, 1000)
        self.progress.setValue(0)
        self.cancel_button.setEnabled(True)
        self._set_busy(True)
        self.show_message(text)
        job.start()
        return job

    def working(self) -> bool:
        """Whether a download, a conversion or a Hub check is running."""
        return self.job is not None or self.catalogue_job is not None

    def cancel_and_wait(self, ms: int = 10000) -> None:
        """The app is closing: a download is paused (what arrived is kept, and the next start lists it to
        resume), every other job is cancelled; each is waited for up to ``ms``."""
        jobs = [job for job in (self.job, self.catalogue_job) if job is not None]
        self.pause()
        self.cancel()
        for job in jobs:
            job.wait(ms)

    def cancel(self) -> None:
        """Cancel every network action and task running (a download, a conversion, the Hub check)."""
        for job in (self.job, self.catalogue_job):
            if job is not None:
                job.cancel()
                self.show_message(self.tr("Cancelling…"))

    def _on_progress(self, stage: str, fraction: float) -> None:
        if fraction < 0:
            self.progress.setRange(0, 0)  # busy: no fraction known
            return
        if stage != self.stage and stage != "done":
            self.stage, self.last_fraction = stage, 0.0  # a new stage (convert, quantize, ...) starts at 0
        self.progress.setRange(0, 1000)
        self.progress.setFormat(f"{stage} %p%")
        self.last_fraction = max(self.last_fraction, min(1.0, fraction))
        self.progress.setValue(int(self.last_fraction * 1000))
        if stage == "download" and self.transfer is not None:
            self.show_message(self.transfer_text(self.last_fraction))
        self.progress_shown.emit(self.last_fraction, self.message.text())

    def _on_succeeded(self, path: object) -> None:
        self._on_progress("done", 1.0)
        self.show_message(self.tr("Done: {0}").format(Path(str(path)).name))
        self.refresh()
        self.select(Path(str(path)))
        self.job_finished.emit(str(path))

    def _on_failed(self, message: str) -> None:
        self.progress.setRange(0, 1000)
        if isinstance(self.job, DownloadWorker):
            message = self.network_line(message)
        else:
            message = self.tr("The task failed: {0}").format(message)
        self.show_message(message, error=True)
        self.job_failed.emit(message)

    def _on_cancelled(self) -> None:
        self.progress.setRange(0, 1000)
        if isinstance(self.job, DownloadWorker) and self.job.paused:
            self.show_message(self.tr("Paused; Resume continues the download from where it stopped."))
        else:
            if isinstance(self.job, DownloadWorker):
                self.cancelled[self.job.outfile] = self.job
            self.progress.setValue(0)
            self.show_message(self.tr("Cancelled; no file was written."))
        self.job_cancelled.emit()

    def _on_thread_done(self) -> None:
        self.job = None
        self.transfer = None
        self.pause_button.setEnabled(False)
        self._fill_paused()
        self.cancel_button.setEnabled(self.catalogue_job is not None)
        self._set_busy(False)

    def _set_busy(self, busy: bool) -> None:
        for b in (self.download_button, self.convert_button, self.quantize_button, self.demo_button):
            b.setEnabled(not busy)
        if not busy:
            self.demo_button.setEnabled(DEMO_DIR.joinpath("config.json").exists())

    def show_message(self, text: str, *, error: bool = False) -> None:
        self.message.setStyleSheet("color: #b00020;" if error else "")
        self.message.setText(text)
