"""Editors that a mouse wheel cannot change by accident: spin boxes and lists change on the wheel only while
they have the keyboard focus (clicked or tabbed into); otherwise the wheel scrolls the panel around them."""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import Qt
from PySide6.QtGui import QWheelEvent
from PySide6.QtWidgets import QComboBox, QDoubleSpinBox, QSpinBox, QWidget


class _WheelOnlyWhenFocused:
    """Mixed in before a Qt editor class: the focus comes from a click or Tab, and the wheel acts only then."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)  # type: ignore[call-arg]  # the Qt class after this one in the MRO takes it
        widget: Any = self
        widget.setFocusPolicy(Qt.FocusPolicy.StrongFocus)  # not WheelFocus: the wheel does not give it the focus

    def wheelEvent(self, event: QWheelEvent) -> None:  # noqa: N802 - Qt override
        widget: Any = self
        if widget.hasFocus():
            super().wheelEvent(event)  # type: ignore[misc]
        else:
            event.ignore()  # goes on to the scroll area


class GuardedSpinBox(_WheelOnlyWhenFocused, QSpinBox):
    pass


class GuardedDoubleSpinBox(_WheelOnlyWhenFocused, QDoubleSpinBox):
    pass


class GuardedComboBox(_WheelOnlyWhenFocused, QComboBox):
    pass
