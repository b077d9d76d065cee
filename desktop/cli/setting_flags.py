"""Command-line flags made from the settings table, for ``exaone-generate`` (and any other CLI of the app).

One flag per table row that names one: its type, choices and ``--help`` (the row's help, valid values and
default) come from the row, and its ``dest`` is the setting's name. A flag left out is None: not set, so the
model's defaults and then the table's apply. ``explicit_settings`` and ``load_settings`` read the parsed
flags back, each value checked against its row's range.
"""

from __future__ import annotations

import argparse
from collections.abc import Iterable
from typing import Any

from ..engine.settings import LoadSettings, check_value
from ..engine.settings_table import GENERATION_ROWS, LOAD_ROWS, Setting

__all__ = ["add_setting_flags", "explicit_settings", "flag_help", "load_settings"]


def _default_text(row: Setting) -> str:
    if row.default is None or row.default == ():
        return "unset"
    return str(row.default).lower() if isinstance(row.default, bool) else str(row.default)


def flag_help(row: Setting) -> str:
    """The row's help with its valid values and default, for ``--help``."""
    if row.cli_const is not None:
        text = f"{row.help} Sets {row.name} to {row.cli_const!r} (default: {row.default!r})."
    else:
        text = f"{row.help} Valid: {row.summary()}. Default: {_default_text(row)}."
    return text.replace("%", "%%")


def add_setting_flags(parser: argparse.ArgumentParser | argparse._ArgumentGroup, rows: Iterable[Setting]) -> None:
    """Add one flag per row that has one."""
    for row in rows:
        if row.cli is None:
            continue
        kwargs: dict[str, Any] = {"dest": row.name, "default": None, "help": flag_help(row)}
        if row.cli_const is not None:
            kwargs.update(action="store_const", const=row.cli_const)
        elif row.value_type is bool:
            kwargs["action"] = argparse.BooleanOptionalAction
        elif row.value_type is tuple:
            kwargs.update(nargs="+", metavar="TEXT")
        elif row.choices:
            kwargs["choices"] = row.choices
        else:
            metavar = {int: "N", str: "PATH"}.get(row.value_type, "X")
            kwargs.update(type=row.value_type, metavar=metavar)
        parser.add_argument(row.cli, **kwargs)


def explicit_settings(args: argparse.Namespace, rows: Iterable[Setting] = GENERATION_ROWS) -> dict[str, Any]:
    """The settings of ``rows`` given on the command line, by name (None: not given).

    Each given value is checked against its own row (SettingsError names the range); the rules between
    settings wait until the model's defaults are merged.
    """
    values: dict[str, Any] = {}
    for row in rows:
        if row.cli is None or not hasattr(args, row.name):
            continue
        value = getattr(args, row.name)
        if value is not None:
            value = tuple(value) if row.value_type is tuple else value
            check_value(row.name, value)
        values[row.name] = value
    return values


def load_settings(args: argparse.Namespace) -> LoadSettings:
    """How to load the local model: the load flags given, the table's defaults for the rest (validated)."""
    given = explicit_settings(args, LOAD_ROWS)
    return LoadSettings(**{name: value for name, value in given.items() if value is not None})
