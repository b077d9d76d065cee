"""How much work one request may cause before the model sees it: one row per limit, each an ``exaone-serve`` flag.

A request over a limit gets a 400 (or 504 for time) whose message names the limit and the flag that raises
it. The checks run before the work they bound: the nesting of the body before it is parsed, the size of a
JSON schema before it is turned into a grammar, the number of messages and characters before the chat
template renders them (a prompt that cannot fit the context is refused without rendering or tokenizing).
"""

from __future__ import annotations

import dataclasses
import sys
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, TypeVar

__all__ = ["LIMITS", "Limit", "ServerLimits", "TimeLimit", "run_with_deadline"]


@dataclass(frozen=True)
class Limit:
    """One limit: the ``ServerLimits`` field, its default (an int or a float, as the flag takes it), unit and what
    it bounds."""

    name: str
    default: float
    unit: str
    help: str

    @property
    def flag(self) -> str:
        """``exaone-serve``'s flag: the field's name, ``--max-json-depth`` for ``max_json_depth``."""
        return "--" + self.name.replace("_", "-")

    @property
    def value_type(self) -> type:
        return type(self.default)

    def phrase(self, value: float) -> str:
        """``"64 levels (--max-json-depth)"``: the limit as error messages name it."""
        return f"{value:g} {self.unit} ({self.flag})"


LIMITS: tuple[Limit, ...] = (
    Limit("request_timeout", 600.0, "s",
          "a request still running after this many seconds (waiting included) is cancelled with an error, and "
          "the model is free for the next one"),
    Limit("max_json_depth", 64, "levels",
          "deepest nesting of arrays and objects in a request body, and in tool-call arguments"),
    Limit("max_chars_per_token", 32, "characters per token",
          "a prompt with more characters than the context's tokens times this cannot fit and is refused before "
          "it is rendered or tokenized (EXAONE's longest token is 31 characters)"),
    Limit("max_schema_bytes", 65536, "bytes",
          "largest JSON schema (response_format, and each tool's parameters) as JSON text"),
    Limit("max_schema_depth", 32, "levels", "deepest nesting inside a JSON schema"),
    Limit("max_schema_enum", 1000, "enum values",
          "enum values in all the JSON schemas of a request together"),
    Limit("max_schema_properties", 5000, "properties",
          "object properties in all the JSON schemas of a request together"),
    Limit("max_schema_repeat", 10000, "repetitions",
          "minItems, maxItems, minLength and maxLength of all JSON schemas of a request added up (each pattern "
          "quantifier counts its number times the pattern's length): each becomes that many grammar items"),
    Limit("max_grammar_bytes", 262144, "bytes",
          "largest grammar a schema or a forced tool call may become"),
    Limit("schema_timeout", 5.0, "s",
          "longest a JSON schema may take to become a grammar (off the server's event loop)"),
)
_ROWS: Mapping[str, Limit] = {row.name: row for row in LIMITS}


def _default(name: str) -> Any:
    return _ROWS[name].default


@dataclass(frozen=True)
class ServerLimits:
    """The limits one server runs with (``LIMITS`` gives each one's flag, unit and default)."""

    request_timeout: float = _default("request_timeout")
    max_json_depth: int = _default("max_json_depth")
    max_chars_per_token: int = _default("max_chars_per_token")
    max_schema_bytes: int = _default("max_schema_bytes")
    max_schema_depth: int = _default("max_schema_depth")
    max_schema_enum: int = _default("max_schema_enum")
    max_schema_properties: int = _default("max_schema_properties")
    max_schema_repeat: int = _default("max_schema_repeat")
    max_grammar_bytes: int = _default("max_grammar_bytes")
    schema_timeout: float = _default("schema_timeout")

    def __post_init__(self) -> None:
        for f in dataclasses.fields(self):
            value = getattr(self, f.name)
            if not value > 0:
                raise ValueError(f"{_ROWS[f.name].flag} must be more than 0, got {value:g}")

    def phrase(self, name: str) -> str:
        """This server's value of limit ``name`` with its unit and flag, for an error message."""
        return _ROWS[name].phrase(getattr(self, name))


# ---------------------------------------------------------------------------------------------------
# A time limit for pure-Python work on a thread


class TimeLimit(Exception):
    """The work ran past its deadline and was stopped."""


T = TypeVar("T")


def run_with_deadline(fn: Callable[[], T], seconds: float) -> T:
    """``fn()`` on this thread, stopped with TimeLimit once it has run ``seconds``.

    The check runs at every Python function call (a trace function that sees calls only), so it stops
    pure-Python work such as the JSON-schema converter; the work's inputs must already be bounded so that
    no single built-in call runs long.
    """
    deadline = time.monotonic() + seconds

    def tracer(frame: Any, event: str, arg: Any) -> None:
        if event == "call" and time.monotonic() > deadline:
            raise TimeLimit()
        return None  # no line events: only calls are watched

    old = sys.gettrace()  # a debugger's or coverage's, put back afterwards
    sys.settrace(tracer)
    try:
        return fn()
    finally:
        sys.settrace(old)
