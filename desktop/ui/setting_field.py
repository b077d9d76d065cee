"""One setting in the settings panel: its plain-language label with the transformers name beside it, its
editor (a wheel-proof spin box, a check box, a choice, or the stop strings' lines), its default and Reset."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from PySide6.QtCore import QT_TRANSLATE_NOOP, QCoreApplication
from PySide6.QtGui import QFontDatabase
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDoubleSpinBox,
    QLabel,
    QPlainTextEdit,
    QPushButton,
    QSpinBox,
    QWidget,
)

from ..session.settings_state import FieldSpec, SettingsState
from . import language
from .guarded import GuardedComboBox, GuardedDoubleSpinBox, GuardedSpinBox

TRISTATE: tuple[tuple[str, bool | None], ...] = (
    (str(QT_TRANSLATE_NOOP("SettingsPanel", "model default")), None),
    (str(QT_TRANSLATE_NOOP("SettingsPanel", "on")), True),
    (str(QT_TRANSLATE_NOOP("SettingsPanel", "off")), False),
)
# The words of a choice setting's values (the values themselves stay the API).
CHOICE_WORDS = (QT_TRANSLATE_NOOP("SettingsPanel", "on"), QT_TRANSLATE_NOOP("SettingsPanel", "off"),
                QT_TRANSLATE_NOOP("SettingsPanel", "auto"))
UNSET = -1
EDITOR_WIDTH = 130  # px: the most a setting's editor takes of the panel's width
INT32_MAX = 2**31 - 1  # QSpinBox's limit: larger integer ranges (seed) use a QDoubleSpinBox without decimals


_ESCAPES = {"\\": "\\\\", "\n": "\\n", "\t": "\\t"}


def escape_stop(text: str) -> str:
    """A stop string as one editable line: newline and tab written as \\n and \\t."""
    return "".join(_ESCAPES.get(ch, ch) for ch in text)


def unescape_stop(line: str) -> str:
    out, i = [], 0
    back = {"n": "\n", "t": "\t", "\\": "\\"}
    while i < len(line):
        if line[i] == "\\" and i + 1 < len(line) and line[i + 1] in back:
            out.append(back[line[i + 1]])
            i += 2
        else:
            out.append(line[i])
            i += 1
    return "".join(out)


def field_help(spec: FieldSpec) -> str:
    """The row's one-line explanation in the UI's language (the table holds English and Korean)."""
    return spec.help_ko if language.current() == "ko" else spec.help


def field_label(spec: FieldSpec) -> str:
    """The row's plain-language name in the UI's language (the table's ``label`` column)."""
    return (spec.label_ko if language.current() == "ko" else spec.label) or spec.name


def _format(value: Any) -> str:
    if value is None:
        return QCoreApplication.translate("SettingsPanel", "unset")
    if isinstance(value, bool):
        return QCoreApplication.translate("SettingsPanel", TRISTATE[1][0] if value else TRISTATE[2][0])
    if isinstance(value, tuple):
        return ", ".join(repr(v) for v in value) or "—"
    if isinstance(value, float):
        return f"{value:g}"
    return str(value)


class FieldRow:
    """The editor of one field plus its defaults line, reset button and cloud marker."""

    def __init__(self, spec: FieldSpec, changed: Callable[[str, Any], None], reset: Callable[[str], None]) -> None:
        self.spec = spec
        self.shown = True
        self._changed = changed
        self.label = QLabel(field_label(spec))
        self.label.setObjectName(f"label-{spec.name}")
        self.label.setWordWrap(True)
        self.label.setStyleSheet("font-weight: bold;")
        self.label.setToolTip(field_help(spec))
        self.name_label = QLabel(spec.name)
        self.name_label.setFont(QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont))
        self.name_label.setStyleSheet("color: #666666; font-size: small;")
        self.name_label.setToolTip(QCoreApplication.translate("SettingsPanel", "The setting's name in transformers "
                                                              "and in exaone-generate"))
        self.help_label = QLabel(field_help(spec))
        self.help_label.setWordWrap(True)
        self.help_label.setStyleSheet("color: #666666; font-size: small;")
        self.defaults_label = QLabel()
        self.defaults_label.setStyleSheet("color: #666666; font-size: small;")
        self.cloud_label = QLabel(QCoreApplication.translate("SettingsPanel", "not applied by the cloud"))
        self.cloud_label.setObjectName(f"not-applied-{spec.name}")
        self.cloud_label.setStyleSheet("color: #b00020; font-size: small;")
        self.cloud_label.setVisible(False)
        self.reset_button = QPushButton(QCoreApplication.translate("SettingsPanel", "Reset"))
        self.reset_button.setObjectName(f"reset-{spec.name}")
        text_width = self.reset_button.fontMetrics().horizontalAdvance(self.reset_button.text())
        self.reset_button.setMaximumWidth(text_width + 24)  # as wide as its word, not the style's minimum
        self.reset_button.clicked.connect(lambda: reset(spec.name))
        self.editor = self._make_editor()
        self.editor.setObjectName(f"field-{spec.name}")
        if not isinstance(self.editor, QPlainTextEdit):
            self.editor.setMaximumWidth(EDITOR_WIDTH)  # the plain-language name gets the rest of the row
        self.editor.setToolTip(field_help(spec))

    def _make_editor(self) -> QWidget:
        """The editor for the row's kind; its range is the table's, one step below it meaning "unset"."""
        s = self.spec
        emit = self._emit
        kind = s.widget
        if kind in ("int", "optional_int", "float", "optional_float"):
            assert s.minimum is not None and s.maximum is not None, f"{s.name}: the panel needs a finite range"
            is_int = kind in ("int", "optional_int")
            low = s.smallest() - ((1 if is_int else s.step) if s.optional else 0)
            box: QSpinBox | QDoubleSpinBox
            if is_int and s.maximum <= INT32_MAX:
                spin = GuardedSpinBox()
                spin.setRange(int(low), int(s.maximum))
                box = spin
            else:
                dbox = GuardedDoubleSpinBox()
                dbox.setDecimals(0 if is_int else s.decimals)
                dbox.setSingleStep(s.step)
                dbox.setRange(low, s.maximum)
                box = dbox
            if s.optional:
                box.setSpecialValueText(QCoreApplication.translate("SettingsPanel", "unset"))
            box.valueChanged.connect(emit)
            return box
        if kind == "bool":
            check = QCheckBox()
            check.toggled.connect(emit)
            return check
        if kind in ("tristate", "choice"):
            combo = GuardedComboBox()
            if kind == "tristate":
                for text, value in TRISTATE:
                    combo.addItem(QCoreApplication.translate("SettingsPanel", text), value)
            else:
                if s.optional:
                    combo.addItem(QCoreApplication.translate("SettingsPanel", "unset"), None)
                for choice in s.choices:
                    combo.addItem(QCoreApplication.translate("SettingsPanel", choice), choice)
            combo.currentIndexChanged.connect(emit)
            return combo
        edit = QPlainTextEdit()  # stop strings, one per line
        edit.setPlaceholderText(QCoreApplication.translate("SettingsPanel", "One per line; \\n is a newline."))
        edit.setFixedHeight(56)
        edit.textChanged.connect(emit)
        return edit

    def value(self) -> Any:
        e, spec = self.editor, self.spec
        if isinstance(e, (QSpinBox, QDoubleSpinBox)):
            if spec.optional and e.value() <= e.minimum():
                return None
            if spec.value_type is int:
                return int(round(e.value()))
            return round(e.value(), spec.decimals)
        if isinstance(e, QCheckBox):
            return e.isChecked()
        if isinstance(e, QComboBox):
            return e.currentData()
        assert isinstance(e, QPlainTextEdit)
        return tuple(unescape_stop(line) for line in e.toPlainText().split("\n") if line)

    def show(self, value: Any, state: SettingsState) -> None:
        e = self.editor
        e.blockSignals(True)
        try:
            if isinstance(e, QSpinBox):
                e.setValue(e.minimum() if value is None else int(value))
            elif isinstance(e, QDoubleSpinBox):
                e.setValue(e.minimum() if value is None else float(value))
            elif isinstance(e, QCheckBox):
                e.setChecked(bool(value))
            elif isinstance(e, QComboBox):
                e.setCurrentIndex(max(0, e.findData(value)))
            elif isinstance(e, QPlainTextEdit) and self.value() != tuple(value):
                e.setPlainText("\n".join(escape_stop(v) for v in value))
        finally:
            e.blockSignals(False)
        name = self.spec.name
        text = QCoreApplication.translate("SettingsPanel", "default {0}").format(_format(state.pipeline_default(name)))
        model_value = state.model_default(name)
        if model_value is not None:
            text += " · " + QCoreApplication.translate("SettingsPanel", "model {0}").format(_format(model_value))
        self.defaults_label.setText(text)
        self.reset_button.setEnabled(state.is_overridden(name))

    def _emit(self, *_args: Any) -> None:
        self._changed(self.spec.name, self.value())

    def set_visible(self, visible: bool) -> None:
        self.shown = visible
        for w in (self.label, self.name_label, self.editor, self.help_label, self.defaults_label, self.reset_button):
            w.setVisible(visible)
        if not visible:
            self.cloud_label.setVisible(False)
