"""Chat templates rendered like transformers' ``apply_chat_template``, and reasoning (``<think>``) splitting.

Templates come from model files, so they are untrusted: they run in Jinja's immutable sandbox,
configured as transformers configures it, and any failure becomes a one-line GenerationError.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from datetime import datetime
from functools import lru_cache
from typing import Any, Literal

import jinja2
import jinja2.ext
import jinja2.nodes
from exaone_convert import families
from jinja2.sandbox import ImmutableSandboxedEnvironment

from .types import GenerationError

Kind = Literal["reasoning", "answer"]
Tags = tuple[str, str]

THINK: Tags = families.THINK  # EXAONE 4.x, K-EXAONE
THOUGHT: Tags = families.THOUGHT  # EXAONE Deep
# Known reasoning tag pairs (from the family table), in the order a template is searched for them.
REASONING_TAGS: tuple[Tags, ...] = families.known_reasoning_tags()
# Used only when a model has no chat template at all: the architecture's family row.
ARCHITECTURE_TAGS: Mapping[str, Tags] = {
    arch: fam.reasoning_tags for arch in families.supported_gguf_architectures()
    if (fam := families.family_for_gguf_arch(arch)) is not None and fam.reasoning_tags is not None
}
# Names a message's reasoning may be passed under (transformers reads the same three).
REASONING_FIELDS: tuple[str, ...] = ("reasoning_content", "thinking", "reasoning")

FIX_TEMPLATE = "fix the model's chat template (tokenizer.chat_template) or use --prompt for plain completion"


# ------------------------------------------------------------------------------------------------
# Template rendering


def _raise_exception(message: str) -> None:
    raise jinja2.exceptions.TemplateError(message)


def _tojson(value: Any, ensure_ascii: bool = False, indent: int | None = None,
            separators: tuple[str, str] | None = None, sort_keys: bool = False) -> str:
    # Unlike Jinja's own filter: no HTML escaping, and the json.dumps options templates use.
    return json.dumps(value, ensure_ascii=ensure_ascii, indent=indent, separators=separators, sort_keys=sort_keys)


def _strftime_now(fmt: str) -> str:
    return datetime.now().strftime(fmt)


class _PlainDict:
    """``dict(...)`` for templates, without exposing the dict type itself."""

    def __call__(self, *args: Any, **kwargs: Any) -> dict[Any, Any]:
        return dict(*args, **kwargs)


class _Namespace(jinja2.utils.Namespace):
    """Jinja's namespace, refusing underscore-prefixed attribute names."""

    def __init__(*args: Any, **kwargs: Any) -> None:  # same signature trick as jinja2.utils.Namespace
        self, rest = args[0], args[1:]
        attrs = dict(*rest, **kwargs)
        for name in attrs:
            _Namespace._check(name)
        jinja2.utils.Namespace.__init__(self, attrs)

    def __setitem__(self, name: str, value: Any) -> None:
        _Namespace._check(name)
        jinja2.utils.Namespace.__setitem__(self, name, value)

    @staticmethod
    def _check(name: object) -> None:
        if isinstance(name, str) and name.startswith("_"):
            raise jinja2.exceptions.SecurityError(f"templates cannot set underscore attributes ({name!r})")


class _GenerationTag(jinja2.ext.Extension):
    """Accept ``{% generation %}...{% endgeneration %}`` (assistant-mask markers) and render the body."""

    tags = {"generation"}

    def parse(self, parser: Any) -> jinja2.nodes.Node:
        lineno = next(parser.stream).lineno
        body = parser.parse_statements(("name:endgeneration",), drop_needle=True)
        return jinja2.nodes.CallBlock(self.call_method("_render", []), [], [], body).set_lineno(lineno)

    def _render(self, caller: Any) -> str:
        return str(caller())


@lru_cache(maxsize=32)
def _compile(template: str) -> jinja2.Template:
    env = ImmutableSandboxedEnvironment(
        trim_blocks=True, lstrip_blocks=True, extensions=[_GenerationTag, jinja2.ext.loopcontrols]
    )
    env.filters["tojson"] = _tojson
    env.globals.update(
        raise_exception=_raise_exception, strftime_now=_strftime_now, dict=_PlainDict(), namespace=_Namespace
    )
    return env.from_string(template)


def _plain(value: Any) -> Any:
    """Rebuild caller data out of plain JSON-like types so the sandbox sees no rich objects."""
    if value is None or type(value) in (str, int, float, bool):
        return value
    for base in (bool, str, int, float):
        if isinstance(value, base):
            return base(value)
    if isinstance(value, Mapping):
        return {_plain(k): _plain(v) for k, v in value.items()}
    if isinstance(value, tuple):
        return tuple(_plain(v) for v in value)
    if isinstance(value, list):
        return [_plain(v) for v in value]
    return f"<{type(value).__name__}>"


def _prepare_messages(messages: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """As transformers does: drop None values, plain data, and copy reasoning under its standard names."""
    out: list[dict[str, Any]] = []
    for m in messages:
        if not isinstance(m, Mapping):
            raise GenerationError(f"chat messages must be objects with 'role' and 'content', got {m!r}")
        msg = _plain({k: v for k, v in m.items() if v is not None})
        reasoning = next((msg[k] for k in REASONING_FIELDS if msg.get(k) is not None), None)
        if reasoning is not None:
            msg = {"thinking": reasoning, **msg, "reasoning_content": reasoning}
        out.append(msg)
    return out


def _one_line(text: str) -> str:
    return re.sub(r"\s+", " ", text).strip()


def render_chat(
    template: str,
    messages: Sequence[Mapping[str, Any]],
    *,
    add_generation_prompt: bool = True,
    enable_thinking: bool | None = None,
    bos_token: str = "",
    eos_token: str = "",
    tools: list[Any] | None = None,
    **extra: Any,
) -> str:
    """Render ``messages`` with a chat template exactly as transformers' ``apply_chat_template`` would."""
    if not isinstance(template, str) or not template.strip():
        raise GenerationError("the model has no chat template; use --prompt for plain completion, "
                              "or convert the model again with its tokenizer_config.json")
    try:
        compiled = _compile(template)
    except jinja2.TemplateSyntaxError as err:
        raise GenerationError(f"chat template has a syntax error at line {err.lineno}: "
                              f"{_one_line(err.message or str(err))}; {FIX_TEMPLATE}") from None
    variables: dict[str, Any] = {"bos_token": bos_token, "eos_token": eos_token, "documents": None}
    variables.update(_plain(extra))
    if enable_thinking is not None:
        variables["enable_thinking"] = enable_thinking
    try:
        return compiled.render(
            messages=_prepare_messages(messages),
            tools=_plain(tools),
            add_generation_prompt=add_generation_prompt,
            **variables,
        )
    except GenerationError:
        raise
    except jinja2.exceptions.SecurityError as err:
        raise GenerationError(f"chat template tried an unsafe operation ({_one_line(str(err))}); "
                              f"{FIX_TEMPLATE}") from None
    except Exception as err:  # anything a template can raise: TemplateError, TypeError, ZeroDivisionError...
        raise GenerationError(f"chat template failed: {_one_line(str(err)) or type(err).__name__}; "
                              f"{FIX_TEMPLATE}") from None


# ------------------------------------------------------------------------------------------------
# Reasoning


def reasoning_tags(architecture: str, template: str | None) -> Tags | None:
    """The reasoning tag pair a model uses: the first known pair its template mentions (see REASONING_TAGS)."""
    if template is None:
        return ARCHITECTURE_TAGS.get(architecture)
    return next((tags for tags in REASONING_TAGS if tags[1] in template or tags[0] in template), None)


def prompt_opens_reasoning(prompt_text: str, tags: Tags | None) -> bool:
    """True when the rendered prompt ends inside an open reasoning block (e.g. ``...[|assistant|]<think>\\n``)."""
    return tags is not None and prompt_text.rstrip().endswith(tags[0])


def split_reasoning(text: str, tags: Tags | None, *, starts_inside: bool = False) -> tuple[str | None, str]:
    """Split a complete reply into (reasoning, answer); reasoning is None when the reply has none.

    With ``starts_inside`` the prompt already opened the block, so the reply starts with reasoning.
    Otherwise a reply that begins (after whitespace) with the open tag starts a block. Whitespace
    around the reasoning and before the answer is stripped, as the official templates strip it.
    """
    if tags is None:
        return None, text
    open_tag, close_tag = tags
    if not starts_inside:
        stripped = text.lstrip()
        if not stripped.startswith(open_tag):
            return None, text
        text = stripped[len(open_tag):]
    reasoning, found, answer = text.partition(close_tag)
    if not found:
        return reasoning.strip(), ""  # cut off while still reasoning
    return reasoning.strip(), answer.lstrip()


def _partial_suffix(text: str, tag: str) -> int:
    """Length of the longest end of ``text`` that is a proper start of ``tag``."""
    for n in range(min(len(tag) - 1, len(text)), 0, -1):
        if text.endswith(tag[:n]):
            return n
    return 0


class ReasoningSplitter:
    """Streaming ``split_reasoning``: feed text pieces, get (kind, text) pieces; never emits part of a tag.

    It holds back whitespace that may turn out to be the trailing whitespace of the reasoning, and
    any ending that may be the start of a tag, until later text decides.
    """

    def __init__(self, open_tag: str, close_tag: str, starts_inside: bool = False) -> None:
        self.open_tag, self.close_tag = open_tag, close_tag
        self._state = "reasoning_lead" if starts_inside else "start"
        self._pending = ""
        self.saw_reasoning = starts_inside

    def feed(self, text: str) -> list[tuple[Kind, str]]:
        self._pending += text
        out: list[tuple[Kind, str]] = []
        while self._step(out):
            pass
        return out

    def flush(self) -> list[tuple[Kind, str]]:
        """Emit what is held back at the end of the reply."""
        pending, self._pending = self._pending, ""
        if self._state == "start":
            return [("answer", pending)] if pending else []
        if self._state == "reasoning":
            tail = pending.rstrip()
            return [("reasoning", tail)] if tail else []
        return []

    def _step(self, out: list[tuple[Kind, str]]) -> bool:
        """Advance the state machine once; False when it must wait for more text."""
        handler = getattr(self, f"_on_{self._state}")
        return bool(handler(out))

    def _on_start(self, out: list[tuple[Kind, str]]) -> bool:
        head = self._pending.lstrip()
        if head.startswith(self.open_tag):
            self._pending, self._state, self.saw_reasoning = head[len(self.open_tag):], "reasoning_lead", True
            return True
        if not head or self.open_tag.startswith(head):
            return False  # could still become the open tag
        self._state = "answer"
        return True

    def _on_reasoning_lead(self, out: list[tuple[Kind, str]]) -> bool:
        self._pending = self._pending.lstrip()
        if not self._pending:
            return False
        self._state = "reasoning"
        return True

    def _on_reasoning(self, out: list[tuple[Kind, str]]) -> bool:
        idx = self._pending.find(self.close_tag)
        if idx >= 0:
            body = self._pending[:idx].rstrip()
            if body:
                out.append(("reasoning", body))
            self._pending, self._state = self._pending[idx + len(self.close_tag):], "answer_lead"
            return True
        keep = _partial_suffix(self._pending, self.close_tag)
        ready = self._pending[: len(self._pending) - keep]
        body = ready.rstrip()
        if body:
            out.append(("reasoning", body))
        self._pending = self._pending[len(body):]
        return False

    def _on_answer_lead(self, out: list[tuple[Kind, str]]) -> bool:
        self._pending = self._pending.lstrip()
        if not self._pending:
            return False
        self._state = "answer"
        return True

    def _on_answer(self, out: list[tuple[Kind, str]]) -> bool:
        if self._pending:
            out.append(("answer", self._pending))
            self._pending = ""
        return False


def strip_reasoning(content: str) -> str:
    """An assistant reply without its reasoning block(s): the text after the last known closing tag."""
    for _open_tag, close_tag in REASONING_TAGS:
        if close_tag in content:
            content = content.split(close_tag)[-1].strip()
    return content


def history_for_model(messages: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """Copies of ``messages`` with the reasoning removed from assistant turns (as the official templates do)."""
    out: list[dict[str, Any]] = []
    for m in messages:
        msg = dict(m)
        if msg.get("role") == "assistant":
            for name in REASONING_FIELDS:
                msg.pop(name, None)
            if isinstance(msg.get("content"), str):
                msg["content"] = strip_reasoning(msg["content"])
        out.append(msg)
    return out
