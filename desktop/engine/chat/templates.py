"""Chat templates rendered like transformers' ``apply_chat_template``, and reasoning (``<think>``) splitting.

Templates come from model files, so they are untrusted: they run in Jinja's immutable sandbox,
configured as transformers configures it, with limits on time (``RENDER_TIME_LIMIT_S``) and output
(``RENDER_OUTPUT_LIMIT``). The sandbox alone blocks attribute escapes but not resource use, so:

- operators and string methods that can build huge values (``'a' * N``, ``x ** N``, ``'%9999999999s' % x``,
  ``s.center(N)``, ``'{:>N}'.format(x)``, the ``center``/``indent`` filters) are checked before they run;
- ``range`` checks the clock as it counts, and the output is checked per chunk as it streams;
- a watchdog thread interrupts a render that runs past its time (a loop that prints nothing) or
  whose ``cancel`` event is set (Stop).

A template that breaks a limit, does not compile or raises gives one GenerationError line.
"""

from __future__ import annotations

import ctypes
import json
import operator
import re
import threading
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from datetime import datetime
from functools import lru_cache
from typing import Any, Literal

import jinja2
import jinja2.ext
import jinja2.nodes
from exaone_convert import families
from jinja2.sandbox import MAX_RANGE, ImmutableSandboxedEnvironment

from ..types import GenerationError

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

FIX_TEMPLATE = "use --prompt for plain completion, or convert the model again with a working chat template"
BROKEN = "the model's chat template is broken or hostile"
RENDER_TIME_LIMIT_S = 1.0  # the official EXAONE templates render in about a millisecond
RENDER_OUTPUT_LIMIT = 4 * 2**20  # characters: far beyond any context window a prompt must fit


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


class TemplateLimit(jinja2.exceptions.TemplateError):
    """A template tried to build a value or output beyond the limits."""


class _Interrupted(BaseException):
    """Raised asynchronously in a render that ran out of time or was cancelled (BaseException, so that no
    ``except Exception`` inside Jinja swallows it)."""


class _Budget(threading.local):
    deadline: float = float("inf")
    seconds: float = RENDER_TIME_LIMIT_S


_budget = _Budget()


def _check_clock() -> None:
    if time.monotonic() > _budget.deadline:
        raise TemplateLimit(f"it ran longer than the time limit of {_budget.seconds:g} s")


def _size(value: Any) -> int:
    """Characters (or items) a value stands for, counting the strings inside a list or tuple."""
    if isinstance(value, str):
        return len(value)
    if isinstance(value, (list, tuple)):
        return sum(len(v) if isinstance(v, str) else 1 for v in value)
    return 1


def _too_big(size: float, what: str) -> None:
    if size > RENDER_OUTPUT_LIMIT:
        raise TemplateLimit(f"{what} would build {size:.3g} characters, over the limit of {RENDER_OUTPUT_LIMIT}")


_WIDTHS = re.compile(r"(\d{7,})")  # a width or precision of a million or more in a format spec


def _check_format(fmt: str) -> None:
    for digits in _WIDTHS.findall(fmt):
        _too_big(int(digits), "a format width")


def _checked_mul(left: Any, right: Any) -> Any:
    for seq, n in ((left, right), (right, left)):
        if isinstance(seq, (str, list, tuple)) and isinstance(n, int):
            _too_big(_size(seq) * max(n, 0), "repeating a value")
    return operator.mul(left, right)


def _checked_pow(left: Any, right: Any) -> Any:
    if isinstance(left, int) and isinstance(right, int) and abs(left) > 1 and right > 0:
        _too_big(right * abs(left).bit_length() / 3.3, "a power")  # ~decimal digits of the result
    return operator.pow(left, right)


def _checked_mod(left: Any, right: Any) -> Any:
    if isinstance(left, str):
        _check_format(left)
        if "*" in left:
            sizes = right if isinstance(right, tuple) else (right,)
            for n in sizes:
                if isinstance(n, int):
                    _too_big(n, "a format width")
    return operator.mod(left, right)


def _checked_add(left: Any, right: Any) -> Any:
    if isinstance(left, (str, list, tuple)) and isinstance(right, (str, list, tuple)):
        _too_big(_size(left) + _size(right), "joining two values")
    return operator.add(left, right)


_BINOPS: dict[str, Callable[[Any, Any], Any]] = {"*": _checked_mul, "**": _checked_pow, "%": _checked_mod,
                                                 "+": _checked_add}


def _width_guard(method: Callable[..., Any], name: str) -> Callable[..., Any]:
    def guarded(*args: Any, **kwargs: Any) -> Any:
        for n in (*args, *kwargs.values()):
            if isinstance(n, int):
                _too_big(n * (8 if name == "expandtabs" else 1), f"str.{name}")
        return method(*args, **kwargs)

    return guarded


def _format_guard(method: Callable[..., Any], fmt: str) -> Callable[..., Any]:
    def guarded(*args: Any, **kwargs: Any) -> Any:
        _check_format(fmt)
        return method(*args, **kwargs)

    return guarded


def _bounded_range(*args: Any) -> Iterator[int]:
    numbers = range(*args)
    if len(numbers) > MAX_RANGE:
        raise TemplateLimit(f"range() of {len(numbers)} numbers is over the limit of {MAX_RANGE}")
    for i, n in enumerate(numbers):
        if not i & 1023:
            _check_clock()
        yield n


def _filter_size(name: str, value: Any, args: tuple[Any, ...]) -> float:
    """An upper bound on what filter ``name`` builds from ``value`` and its arguments."""
    ints = [n for n in args if isinstance(n, int)]
    strs = [n for n in args if isinstance(n, str)]
    if name in ("center", "indent", "wordwrap"):  # a width (indent adds it to every line)
        lines = value.count("\n") + 1 if isinstance(value, str) and name == "indent" else 1
        widths = ints + [len(s) for s in strs] if name == "indent" else ints
        return max(widths, default=0) * lines + _size(value)
    if name == "format":
        if isinstance(value, str):
            _check_format(value)
            return max(ints, default=0) if "*" in value else 0
        return 0
    return max((len(s) for s in strs), default=0) * _size(value)  # replace, join: per character or item


def _bounded_filter(name: str, original: Callable[..., Any]) -> Callable[..., Any]:
    skip = 1 if hasattr(original, "jinja_pass_arg") else 0  # @pass_environment / @pass_eval_context

    def guarded(*args: Any, **kwargs: Any) -> Any:
        value = args[skip] if len(args) > skip else None
        _too_big(_filter_size(name, value, (*args[skip + 1:], *kwargs.values())), f"the {name} filter")
        return original(*args, **kwargs)

    if skip:
        guarded.jinja_pass_arg = original.jinja_pass_arg  # type: ignore[attr-defined]
    return guarded


class _BoundedSandbox(ImmutableSandboxedEnvironment):
    """The immutable sandbox, with the value-building operations checked against the limits."""

    intercepted_binops = frozenset(_BINOPS)

    def call_binop(self, context: Any, operator: str, left: Any, right: Any) -> Any:
        return _BINOPS[operator](left, right)

    def getattr(self, obj: Any, attribute: str) -> Any:
        return self._guard(obj, attribute, super().getattr(obj, attribute))

    def getitem(self, obj: Any, argument: Any) -> Any:
        return self._guard(obj, argument, super().getitem(obj, argument))

    @staticmethod
    def _guard(obj: Any, name: Any, value: Any) -> Any:
        if isinstance(obj, str) and callable(value):
            if name in ("center", "ljust", "rjust", "zfill", "expandtabs"):
                return _width_guard(value, name)
            if name in ("format", "format_map"):
                return _format_guard(value, obj)
        return value


@lru_cache(maxsize=32)
def _compile(template: str) -> jinja2.Template:
    env = _BoundedSandbox(
        trim_blocks=True, lstrip_blocks=True, extensions=[_GenerationTag, jinja2.ext.loopcontrols]
    )
    env.filters["tojson"] = _tojson
    for name in ("center", "indent", "format", "wordwrap", "replace", "join"):
        env.filters[name] = _bounded_filter(name, env.filters[name])
    env.globals.update(
        raise_exception=_raise_exception, strftime_now=_strftime_now, dict=_PlainDict(), namespace=_Namespace,
        range=_bounded_range,
    )
    return env.from_string(template)


class _Watchdog:
    """Interrupts the rendering thread when its time is up or ``cancel`` is set."""

    def __init__(self, seconds: float, cancel: threading.Event | None) -> None:
        self._thread_id = threading.get_ident()
        self._deadline = time.monotonic() + seconds
        self._cancel = cancel
        self._done = threading.Event()
        self._lock = threading.Lock()
        self._active = True
        self.fired: str | None = None
        self._watcher = threading.Thread(target=self._watch, name="template-watchdog", daemon=True)

    def __enter__(self) -> _Watchdog:
        self._watcher.start()
        return self

    def _watch(self) -> None:
        while not self._done.wait(0.02):
            cancelled = self._cancel is not None and self._cancel.is_set()
            if cancelled or time.monotonic() > self._deadline:
                with self._lock:
                    if self._active:
                        self.fired = "cancelled" if cancelled else "time"
                        ctypes.pythonapi.PyThreadState_SetAsyncExc(ctypes.c_ulong(self._thread_id),
                                                                   ctypes.py_object(_Interrupted))
                return

    def __exit__(self, *exc: object) -> None:
        with self._lock:
            self._active = False
            if self.fired is not None:  # a pending interruption must not land after the render
                ctypes.pythonapi.PyThreadState_SetAsyncExc(ctypes.c_ulong(self._thread_id), None)
        self._done.set()


def _render_bounded(compiled: jinja2.Template, variables: dict[str, Any], time_limit: float,
                    output_limit: int, cancel: threading.Event | None) -> str:
    parts: list[str] = []
    size = 0
    old = _budget.deadline, _budget.seconds
    _budget.deadline, _budget.seconds = time.monotonic() + time_limit, time_limit
    watchdog = _Watchdog(time_limit, cancel)
    try:
        with watchdog:
            for chunk in compiled.generate(**variables):
                size += len(chunk)
                if size > output_limit:
                    raise TemplateLimit(f"its output passed the limit of {output_limit} characters")
                parts.append(chunk)
                _check_clock()
    except _Interrupted:
        if watchdog.fired == "cancelled":
            raise GenerationError("rendering the chat template was cancelled") from None
        raise TemplateLimit(f"it ran longer than the time limit of {time_limit:g} s") from None
    finally:
        _budget.deadline, _budget.seconds = old
    return "".join(parts)


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
    time_limit: float = RENDER_TIME_LIMIT_S,
    output_limit: int = RENDER_OUTPUT_LIMIT,
    cancel: threading.Event | None = None,
    **extra: Any,
) -> str:
    """Render ``messages`` with a chat template exactly as transformers' ``apply_chat_template`` would.

    Bounded by ``time_limit`` seconds and ``output_limit`` characters; a set ``cancel`` stops it.
    """
    if not isinstance(template, str) or not template.strip():
        raise GenerationError("the model has no chat template; use --prompt for plain completion, "
                              "or convert the model again with its tokenizer_config.json")
    try:
        compiled = _compile(template)
    except jinja2.TemplateSyntaxError as err:
        raise _broken(f"syntax error at line {err.lineno}: {_one_line(err.message or str(err))}") from None
    except Exception as err:  # noqa: BLE001 - the compiler can fail in other ways on hostile input
        raise _broken(f"it does not compile ({_one_line(str(err)) or type(err).__name__})") from None
    variables: dict[str, Any] = {"bos_token": bos_token, "eos_token": eos_token, "documents": None}
    variables.update(_plain(extra))
    if enable_thinking is not None:
        variables["enable_thinking"] = enable_thinking
    variables.update(messages=_prepare_messages(messages), tools=_plain(tools),
                     add_generation_prompt=add_generation_prompt)
    try:
        return _render_bounded(compiled, variables, time_limit, output_limit, cancel)
    except GenerationError:
        raise
    except TemplateLimit as err:
        raise _broken(str(err)) from None
    except jinja2.exceptions.SecurityError as err:
        raise _broken(f"it tried an unsafe operation ({_one_line(str(err))})") from None
    except MemoryError:
        raise _broken("it ran out of memory") from None
    except RecursionError:
        raise _broken("it recursed too deeply") from None
    except Exception as err:  # anything a template can raise: TemplateError, TypeError, ZeroDivisionError...
        raise _broken(f"rendering failed: {_one_line(str(err)) or type(err).__name__}") from None


def _broken(detail: str) -> GenerationError:
    return GenerationError(f"{BROKEN}: {detail}; {FIX_TEMPLATE}")


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
