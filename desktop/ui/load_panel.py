"""Settings > Model: context size, KV cache type, GPU layers, CPU threads and the kept-conversation memory
budget, kept with each model file.

They apply when the model is loaded: the panel shows what a choice will take before it is applied,
and "Reload" loads the model again with it. The panel only shows and emits; the window decides.
Each row is labelled in plain words with the setting's engine name beside it (the settings table's columns).
"""

from __future__ import annotations

from PySide6.QtCore import Signal
from PySide6.QtWidgets import (
    QFormLayout,
    QLabel,
    QPushButton,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from ..engine import LOAD_ROWS, ROWS, Setting, StateCacheUsage
from ..session.load_settings import LoadSettings
from ..session.models import human_size
from ..session.turns import LoadFigures
from . import language
from .guarded import GuardedComboBox, GuardedSpinBox

AUTOMATIC = 0  # the context spin box's lowest value, shown as "automatic": the engine decides


def row_help(row: Setting) -> str:
    """The table's one-line explanation in the UI's language."""
    return row.help_ko if language.current() == "ko" else row.help


def row_label(row: Setting) -> str:
    """The table's plain-language name in the UI's language, with the engine's name beside it."""
    return f"{row.label_ko if language.current() == 'ko' else row.label} ({row.name})"


def _spin(row: Setting) -> QSpinBox:
    box = GuardedSpinBox()
    box.setObjectName(f"load-{row.name}")
    box.setRange(int(row.minimum or 0), int(row.maximum or 0))
    box.setToolTip(row_help(row))
    return box


class LoadPanel(QWidget):
    load_setting_changed = Signal(str, object)
    reload_requested = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("load-panel")
        layout = QVBoxLayout(self)
        note = QLabel(self.tr("These apply when the model is loaded: Reload applies a change."))
        note.setWordWrap(True)
        form = QFormLayout()
        self.n_ctx = _spin(ROWS["n_ctx"])
        self.n_ctx.setSingleStep(1024)
        self.n_ctx.setSpecialValueText(self.tr("automatic"))
        self.n_ctx.editingFinished.connect(self._n_ctx_done)
        kv_row = ROWS["kv_cache_type"]
        self.kv_cache_type = GuardedComboBox()
        self.kv_cache_type.setObjectName("load-kv_cache_type")
        for name in kv_row.choices:
            self.kv_cache_type.addItem(name, name)
        self.kv_cache_type.setToolTip(row_help(kv_row))
        self.kv_cache_type.currentIndexChanged.connect(
            lambda _i: self.load_setting_changed.emit("kv_cache_type", self.kv_cache_type.currentData()))
        self.kv_label = QLabel()
        self.kv_label.setObjectName("load-kv-estimate")
        self.state_cache_mb = _spin(ROWS["state_cache_mb"])
        self.state_cache_mb.setSuffix(" MB")
        self.state_cache_mb.editingFinished.connect(
            lambda: self.load_setting_changed.emit("state_cache_mb", self.state_cache_mb.value()))
        self.kept_label = QLabel()
        self.kept_label.setObjectName("load-kept")
        self.kept_label.setWordWrap(True)
        self.n_gpu_layers = _spin(ROWS["n_gpu_layers"])
        self.n_gpu_layers.setSpecialValueText(self.tr("all"))
        self.n_gpu_layers.editingFinished.connect(
            lambda: self.load_setting_changed.emit("n_gpu_layers", self.n_gpu_layers.value()))
        self.n_threads = _spin(ROWS["n_threads"])
        self.n_threads.setMinimum(AUTOMATIC)
        self.n_threads.setSpecialValueText(self.tr("automatic"))
        self.n_threads.editingFinished.connect(
            lambda: self.load_setting_changed.emit("n_threads", self.n_threads.value() or None))
        form.setRowWrapPolicy(QFormLayout.RowWrapPolicy.WrapLongRows)
        self.labels: dict[str, QLabel] = {}
        notes = {"kv_cache_type": self.kv_label, "state_cache_mb": self.kept_label}  # what a choice takes
        for row in LOAD_ROWS:  # the table's load rows that the app shows, in the table's order
            if row.panel:
                form.addRow(self._label(row.name), getattr(self, row.name))
                if row.name in notes:
                    form.addRow("", notes[row.name])
        self.error_label = QLabel("")
        self.error_label.setObjectName("load-error")
        self.error_label.setWordWrap(True)
        self.error_label.setStyleSheet("color: #b00020;")
        self.reload_button = QPushButton(self.tr("Reload the model with these settings"))
        self.reload_button.setObjectName("load-reload")
        self.reload_button.clicked.connect(self.reload_requested)
        layout.addWidget(note)
        layout.addLayout(form)
        layout.addWidget(self.error_label)
        layout.addWidget(self.reload_button)
        layout.addStretch(1)

    def _label(self, name: str) -> QLabel:
        label = QLabel(row_label(ROWS[name]))
        label.setObjectName(f"load-label-{name}")
        label.setWordWrap(True)
        label.setToolTip(row_help(ROWS[name]))
        self.labels[name] = label
        return label

    def _n_ctx_done(self) -> None:
        value = self.n_ctx.value()
        self.load_setting_changed.emit("n_ctx", None if value == AUTOMATIC else value)

    def show_load(self, load: LoadSettings, figures: LoadFigures, kept: StateCacheUsage | None = None) -> None:
        editors = (self.n_ctx, self.kv_cache_type, self.state_cache_mb, self.n_gpu_layers, self.n_threads)
        for w in editors:
            w.blockSignals(True)
        try:
            if figures.max_ctx:
                self.n_ctx.setMaximum(figures.max_ctx)
            self.n_ctx.setValue(load.n_ctx or AUTOMATIC)
            self.kv_cache_type.setCurrentIndex(max(0, self.kv_cache_type.findData(load.kv_cache_type)))
            self.state_cache_mb.setValue(load.state_cache_mb)
            self.n_gpu_layers.setValue(load.n_gpu_layers)
            self.n_threads.setValue(load.n_threads or AUTOMATIC)
        finally:
            for w in editors:
                w.blockSignals(False)
        self.kv_label.setText(self.estimate_text(figures))
        self.show_kept(kept)
        self.reload_button.setEnabled(figures.pending)

    def show_kept(self, kept: StateCacheUsage | None) -> None:
        self.kept_label.setText(self.kept_text(kept))

    def estimate_text(self, f: LoadFigures) -> str:
        if not f.n_ctx:
            return self.tr("Load a model to see the memory its context takes.")
        tokens = f"{f.n_ctx:,}"
        if f.kv_bytes is None:
            return self.tr("{0} tokens of context").format(tokens)
        return self.tr("{0} tokens of context take {1} ({2})").format(tokens, human_size(f.kv_bytes), f.kv_cache_type)

    def kept_text(self, kept: StateCacheUsage | None) -> str:
        """The engine's report on kept conversation states, or nothing when it keeps none."""
        if kept is None:
            return ""
        return self.tr("Kept now: {0} conversations, {1} of {2}").format(kept.entries, human_size(kept.bytes),
                                                                       human_size(kept.budget_bytes))

    def show_error(self, message: str) -> None:
        self.error_label.setText(message)

