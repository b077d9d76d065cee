"""Package faces that load their modules on first use: a name -> module table instead of eager imports.

A face lists its public names in ``__all__`` and says in ``_LAZY`` which of its modules defines each heavy one
(llama.cpp, jinja2, openai...), so importing the package stays light; ``lazy_face`` makes the module-level
``__getattr__`` and ``__dir__`` that resolve those names (PEP 562). ``_LAZY`` is written module by module, as
the face's ``TYPE_CHECKING`` imports are (``by_module``): type checkers read those imports, the runtime this table.
"""

from __future__ import annotations

import importlib
import sys
from collections.abc import Callable, Iterable, Mapping
from typing import Any


def by_module(modules: Mapping[str, Iterable[str]]) -> dict[str, str]:
    """The name -> module table of the names each relative module of ``modules`` defines."""
    return {name: module for module, names in modules.items() for name in names}


def lazy_face(package: str, table: Mapping[str, str],
              public: Iterable[str]) -> tuple[Callable[[str], Any], Callable[[], list[str]]]:
    """``(__getattr__, __dir__)`` for ``package``: each name of ``table`` is imported from its relative module
    the first time it is asked for, and then kept in the package's namespace."""
    names = sorted(set(public))

    def getattr_(name: str) -> Any:
        try:
            module = table[name]
        except KeyError:
            raise AttributeError(f"module {package!r} has no attribute {name!r}") from None
        value = getattr(importlib.import_module(module, package), name)
        setattr(sys.modules[package], name, value)
        return value

    def dir_() -> list[str]:
        return sorted(set(vars(sys.modules[package])) | set(names))

    return getattr_, dir_
