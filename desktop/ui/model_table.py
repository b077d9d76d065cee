"""The model manager's table of the GGUFs on this computer: its columns, and filling it from the model list."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QT_TRANSLATE_NOOP, Qt
from PySide6.QtWidgets import QAbstractItemView, QHeaderView, QTableWidget, QTableWidgetItem

from ..session.models import LocalModel, human_size

COLUMNS = (
    str(QT_TRANSLATE_NOOP("ModelManager", "Name")),
    str(QT_TRANSLATE_NOOP("ModelManager", "Architecture")),
    str(QT_TRANSLATE_NOOP("ModelManager", "Size")),
    str(QT_TRANSLATE_NOOP("ModelManager", "Quant type")),
    str(QT_TRANSLATE_NOOP("ModelManager", "Context")),
)


def model_table(headers: list[str]) -> QTableWidget:
    """An empty table with ``headers`` (the translated ``COLUMNS``): whole rows selected, one at a time."""
    table = QTableWidget(0, len(headers))
    table.setHorizontalHeaderLabels(headers)
    table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
    table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
    table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
    table.horizontalHeader().setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
    return table


def fill_table(table: QTableWidget, models: list[LocalModel]) -> None:
    """One row per model (a file that cannot be read is marked ⚠, its error as the tooltip)."""
    table.setRowCount(len(models))
    for i, m in enumerate(models):
        cells = (m.name if not m.error else f"{m.name} ⚠", m.architecture, human_size(m.file_size),
                 m.quant_type, f"{m.context_length:,}" if m.context_length else "?")
        for j, text in enumerate(cells):
            item = QTableWidgetItem(text)
            item.setToolTip(m.error or str(m.path))
            item.setData(Qt.ItemDataRole.UserRole, str(m.path))
            table.setItem(i, j, item)


def selected_path(table: QTableWidget) -> Path | None:
    """The file of the selected row (None when no row is selected)."""
    rows = table.selectionModel().selectedRows()
    item = table.item(rows[0].row(), 0) if rows else None
    return Path(item.data(Qt.ItemDataRole.UserRole)) if item is not None else None
