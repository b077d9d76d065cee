"""Settings > Server: the loaded model served to other programs on this computer (``session.serving``).

The switch, the port (kept between runs; a port another program holds is said in one line, not replaced),
"start with the app" (kept; the server starts when the model loads at launch), the address and the key to
copy, the model names clients may use, and a live log of the requests answered (metadata only).
"""

from __future__ import annotations

import time
from typing import Any

from PySide6.QtCore import QT_TRANSLATE_NOOP, QTimer, Signal
from PySide6.QtGui import QGuiApplication
from PySide6.QtWidgets import (
    QAbstractItemView,
    QCheckBox,
    QFormLayout,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QPushButton,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from ..engine import GenerationError
from ..session.serving import LOWEST_PORT, PortBusy, ServeOptions
from ..session.turns import Refused
from .context import KEY_SERVER, AppContext
from .guarded import GuardedSpinBox

POLL_MS = 250  # how often the log is looked at for new requests
LOG_COLUMNS = (
    str(QT_TRANSLATE_NOOP("ServerPanel", "Time")),
    str(QT_TRANSLATE_NOOP("ServerPanel", "Client")),
    str(QT_TRANSLATE_NOOP("ServerPanel", "Model")),
    str(QT_TRANSLATE_NOOP("ServerPanel", "Tokens")),
    str(QT_TRANSLATE_NOOP("ServerPanel", "Duration")),
    str(QT_TRANSLATE_NOOP("ServerPanel", "Status")),
)


class ServerPanel(QWidget):
    said = Signal(str, bool)  # a line for the status bar (error or not)

    def __init__(self, ctx: AppContext, controller: Any, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("server-panel")
        self.ctx, self.controller = ctx, controller
        self.options = ServeOptions.from_json(str(ctx.get(KEY_SERVER, "") or ""))
        self.serving.port = self.options.port
        if self.options.key and self.serving.api_key is None and self.serving.url is None:
            self.serving.use_key(self.options.key)  # a key chosen in an earlier run stays the key
        self._shown_version = -1
        self._autostart_chosen = self.options.autostart  # chosen in an earlier run: serve this run's first model
        layout = QVBoxLayout(self)
        self.serve_switch = QCheckBox(self.tr("Serve the loaded model on localhost"))
        self.serve_switch.setObjectName("serve-switch")
        self.serve_switch.setToolTip(self.tr("An OpenAI-compatible server on this computer only (127.0.0.1): "
                                             "editors, notebooks and agent frameworks can use the model."))
        self.serve_switch.clicked.connect(self._serve_clicked)
        form = QFormLayout()
        form.setRowWrapPolicy(QFormLayout.RowWrapPolicy.WrapLongRows)
        self.port = GuardedSpinBox()
        self.port.setObjectName("serve-port")
        self.port.setRange(LOWEST_PORT, 65535)
        self.port.setValue(self.options.port)
        self.port.setToolTip(self.tr("Clients are set up with this port; kept for the next time"))
        self.port.editingFinished.connect(lambda: self.set_port(self.port.value()))
        form.addRow(self.tr("Port"), self.port)
        self.autostart = QCheckBox(self.tr("Start with the app"))
        self.autostart.setObjectName("serve-autostart")
        self.autostart.setToolTip(self.tr("Serve as soon as the model has loaded when the app starts"))
        self.autostart.setChecked(self.options.autostart)
        self.autostart.toggled.connect(self._autostart_toggled)
        self.error_label = QLabel("")
        self.error_label.setObjectName("serve-error")
        self.error_label.setWordWrap(True)
        self.error_label.setStyleSheet("color: #b00020;")
        row, self.serve_address, self.serve_copy = self._copy_row("serve-address", "serve-copy",
                                                                  self.tr("not serving"))
        self.serve_key_switch = QCheckBox(self.tr("Require an API key"))
        self.serve_key_switch.setObjectName("serve-key-switch")
        self.serve_key_switch.setToolTip(self.tr("Programs must then send this key ('Authorization: Bearer KEY'); "
                                                 "it is kept for the next time until you make a new one."))
        self.serve_key_switch.clicked.connect(self._key_clicked)
        key_row, self.serve_key, self.serve_key_copy = self._copy_row(
            "serve-key", "serve-key-copy", self.tr("no key: any program on this computer may use it"))
        self.serve_new_key = QPushButton(self.tr("New key"))
        self.serve_new_key.setObjectName("serve-new-key")
        self.serve_new_key.setToolTip(self.tr("Replace the key: programs set up with the old one are refused"))
        self.serve_new_key.clicked.connect(lambda: self._key_clicked(True))
        key_row.addWidget(self.serve_new_key)
        self.names_label = QLabel("")
        self.names_label.setObjectName("serve-names")
        self.names_label.setWordWrap(True)
        self.log_table = QTableWidget(0, len(LOG_COLUMNS))
        self.log_table.setObjectName("serve-log")
        self.log_table.setHorizontalHeaderLabels([self.tr(c) for c in LOG_COLUMNS])
        self.log_table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.log_table.verticalHeader().setVisible(False)
        self.log_table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        self.log_table.setToolTip(self.tr("The requests answered, newest first: no prompt or reply is kept"))
        self.clear_log = QPushButton(self.tr("Clear the log"))
        self.clear_log.setObjectName("serve-clear-log")
        self.clear_log.clicked.connect(lambda: self.serving.log.clear())
        layout.addWidget(self.serve_switch)
        layout.addLayout(form)
        layout.addWidget(self.autostart)
        layout.addWidget(self.error_label)
        layout.addLayout(row)
        layout.addWidget(self.serve_key_switch)
        layout.addLayout(key_row)
        layout.addWidget(self.names_label)
        layout.addWidget(QLabel(self.tr("Requests")))
        layout.addWidget(self.log_table, 1)
        layout.addWidget(self.clear_log)
        self._timer = QTimer(self)
        self._timer.setInterval(POLL_MS)
        self._timer.timeout.connect(self._show_log)
        self._timer.start()
        self.refresh()


    def _copy_row(self, name: str, copy_name: str, placeholder: str) -> tuple[QHBoxLayout, QLineEdit, QPushButton]:
        """A read-only field and its Copy button, which puts the field's text on the clipboard."""
        field = QLineEdit()
        field.setObjectName(name)
        field.setReadOnly(True)
        field.setPlaceholderText(placeholder)
        copy = QPushButton(self.tr("Copy"))
        copy.setObjectName(copy_name)
        copy.clicked.connect(lambda: QGuiApplication.clipboard().setText(field.text()))
        row = QHBoxLayout()
        row.addWidget(field, 1)
        row.addWidget(copy)
        return row, field, copy

    def title(self) -> str:
        return self.tr("Server")

    @property
    def serving(self) -> Any:
        return self.controller.serving  # looked up each time: a language switch hands the server to a new window

    # -- what the user does ----------------------------------------------------------------------

    def _serve_clicked(self, checked: bool) -> None:
        self.serve_switch.setChecked(not checked)  # shown once it has really started (or stopped)
        self.serve(checked)

    def serve(self, on: bool) -> str | None:
        """Serve the loaded model on localhost, or stop; returns the address while serving."""
        try:
            url = self.controller.serve(on)
        except Refused:
            self._fail(self.tr("Load a model first: the server answers with the loaded model."))
            url = None
        except GenerationError as err:
            self._fail(self.error_text(err))
            url = None
        else:
            self.error_label.setText("")
            if url:
                self.said.emit(self.tr("Serving the model at {0}").format(url), False)
        self.refresh()
        return url

    def set_port(self, port: int) -> None:
        """Use ``port`` (kept for the next run); a running server moves to it, or stays where it is when another
        program holds the new one (said in one line)."""
        if port != self.serving.port:
            try:
                url = self.serving.set_port(port)
            except GenerationError as err:
                self._fail(self.error_text(err))
            else:
                self.error_label.setText("")
                if url:
                    self.said.emit(self.tr("Serving the model at {0}").format(url), False)
            self._keep(port=self.serving.port)
        self.refresh()

    def _key_clicked(self, checked: bool) -> None:
        """The key switch (or New key): a new key, or none; kept for the next run either way."""
        self.serve_key_switch.setChecked(not checked)
        try:
            self.serving.set_key(checked)
        except GenerationError as err:
            self._fail(self.error_text(err))
        self._keep(key=self.serving.api_key or "")
        self.refresh()

    def _autostart_toggled(self, on: bool) -> None:
        self._keep(autostart=on)

    def model_loaded(self, *_: Any) -> None:
        """A model finished loading: with "start with the app" (chosen before this launch), serve it (the first
        model of this run only)."""
        chosen = self._autostart_chosen and self.options.autostart and self.controller.local is not None
        if self.serving.autostart_due(chosen) and self.serving.url is None:
            self.serve(True)

    # -- what is shown ---------------------------------------------------------------------------

    def error_text(self, err: GenerationError) -> str:
        if isinstance(err, PortBusy):
            return self.tr("Port {0} is in use by another program: choose another port.").format(err.port)
        return self.tr("The server could not start: {0}").format(err)

    def _fail(self, line: str) -> None:
        self.error_label.setText(line)
        self.said.emit(line, True)

    def _keep(self, **changes: Any) -> None:
        self.options = ServeOptions(**{**self.options.__dict__, **changes})
        self.ctx.put(KEY_SERVER, self.options.to_json())

    def refresh(self) -> None:
        """Show the server as it is now (running or not, its address, key and names)."""
        serving = self.serving
        url, key = serving.url, serving.api_key
        self.serve_switch.setChecked(url is not None)
        self.serve_address.setText(url or "")
        self.serve_copy.setEnabled(url is not None)
        self.serve_key_switch.setChecked(key is not None)
        self.serve_key.setText(key or "")
        self.serve_key_copy.setEnabled(key is not None)
        self.serve_new_key.setEnabled(key is not None)
        if self.port.value() != serving.port and not self.port.hasFocus():
            self.port.setValue(serving.port)
        names = serving.names()
        self.names_label.setText(self.tr("Clients may name the model {0}, or give any other name: replies name {1}.")
                                 .format(", ".join(names), names[0]) if names else "")
        self._shown_version = -1
        self._show_log()

    def _show_log(self) -> None:
        log = self.serving.log
        if log.version == self._shown_version:
            return
        self._shown_version = log.version
        records = list(reversed(log.records()))
        self.log_table.setRowCount(len(records))
        for i, r in enumerate(records):
            tokens = "–" if r.prompt_tokens is None else f"{r.prompt_tokens} → {r.completion_tokens}"
            cells = (time.strftime("%H:%M:%S", time.localtime(r.at)), r.client, r.model or "–", tokens,
                     self.tr("{0} s").format(f"{r.seconds:.2f}"), str(r.status or "–"))
            for j, text in enumerate(cells):
                item = QTableWidgetItem(text)
                item.setToolTip(f"{r.method} {r.path}")
                self.log_table.setItem(i, j, item)
