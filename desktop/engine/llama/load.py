"""Loading a GGUF with llama-cpp-python's ``Llama`` without running the model file's chat template.

``Llama.__init__`` compiles every ``tokenizer.chat_template*`` string of the file with Jinja, unbounded:
a template with a syntax error raises a bare ``TemplateSyntaxError`` and ``{{ 'a' * 3000000000 }}`` is
folded at compile time into a 3 GB string. The engine never uses those chat handlers (templates are
rendered, with limits, by ``chat.render_chat``), so while ``Llama`` is built they are replaced by a stub.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterator
from typing import Any

import llama_cpp.llama_chat_format as llama_chat_format

_lock = threading.Lock()


def _unavailable(*_args: Any, **_kwargs: Any) -> Any:
    raise RuntimeError("chat templates are rendered by exaone_desktop.engine.chat.render_chat, not by llama_cpp")


class _SkippedChatFormatter:
    """Stands in for ``Jinja2ChatFormatter``: keeps the template text, compiles nothing."""

    def __init__(self, template: str, *_args: Any, **_kwargs: Any) -> None:
        self.template = template

    def to_chat_handler(self) -> Any:
        return _unavailable


@contextlib.contextmanager
def chat_templates_not_compiled() -> Iterator[None]:
    """While inside, ``Llama(...)`` does not compile the file's chat templates."""
    with _lock:
        original = llama_chat_format.Jinja2ChatFormatter
        llama_chat_format.Jinja2ChatFormatter = _SkippedChatFormatter  # type: ignore[misc, assignment]
        try:
            yield
        finally:
            llama_chat_format.Jinja2ChatFormatter = original  # type: ignore[misc]
