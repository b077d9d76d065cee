"""The bounded Jinja sandbox chat templates run in: transformers' configuration, with limits on time and size.

Templates come from model files, so they are untrusted: they run in Jinja's immutable sandbox, configured as
transformers configures it, with limits on time (``RENDER_TIME_LIMIT_S``) and output (``RENDER_OUTPUT_LIMIT``).
The sandbox alone blocks attribute escapes but not resource use, so:

- operators and string methods that can build huge values (``'a' * N``, ``x ** N``, ``'%9999999999s' % x``,
  ``s.center(N)``, ``'{:>N}'.format(x)``, the ``center``/``indent`` filters) are checked before they run;
- ``range`` checks the clock and the ``cancel`` event (Stop) as it counts, every 16th call or read the template
  makes checks them too, and the output is checked per chunk as it streams;
- a watchdog thread interrupts a render that runs past its time (a loop that prints nothing) or whose ``cancel`` is
  set.
"""

from __future__ import annotations

import ctypes
import itertools
import json
import operator
import re
import threading
import time
from collections.abc import Callable, Iterator
from datetime import datetime
from functools import lru_cache
from typing import Any

import jinja2
import jinja2.ext
import jinja2.nodes
from jinja2.sandbox import MAX_RANGE, ImmutableSandboxedEnvironment

from ..types import GenerationError

RENDER_TIME_LIMIT_S = 1.0  # the official EXAONE templates render in about a millisecond
RENDER_OUTPUT_LIMIT = 4 * 2**20  # characters: far beyond any context window a prompt must fit
ASYNC_LANDING_S = 1.0  # the most a fired interruption takes to land (it lands at the next bytecode)


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
    cancel: threading.Event | None = None


_budget = _Budget()


def _check_clock() -> None:
    """Where the render looks at its budget itself (each output chunk, each 16th call, attribute or item it reads,
    each 1,024th count of ``range``): a loop that makes objects whose ``__del__`` is where the watchdog's
    interruption lands (and is dropped) is still ended, since making them is a call."""
    if time.monotonic() > _budget.deadline:
        raise TemplateLimit(f"it ran longer than the time limit of {_budget.seconds:g} s")
    if _budget.cancel is not None and _budget.cancel.is_set():
        raise GenerationError("rendering the chat template was cancelled")


_reads = itertools.count()


def _now_and_then() -> None:
    """``_check_clock`` at every 16th call, attribute or item a template reads (each check costs several reads)."""
    if not next(_reads) & 15:
        _check_clock()


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

    def call(__self, __context: Any, __obj: Any, *args: Any, **kwargs: Any) -> Any:  # noqa: N805 - Jinja's names
        _now_and_then()
        return super().call(__context, __obj, *args, **kwargs)

    def getattr(self, obj: Any, attribute: str) -> Any:
        _now_and_then()
        return self._guard(obj, attribute, super().getattr(obj, attribute))

    def getitem(self, obj: Any, argument: Any) -> Any:
        _now_and_then()
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
def compile_template(template: str) -> jinja2.Template:
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
        # It fires once: a second interruption could still be pending when __exit__ has taken the first, and would
        # land in the caller's code. One that lands in a ``__del__`` run by the rendering thread is dropped by
        # Python; the render's own checks (``_check_clock``) still end a loop that counts, prints, calls or reads.
        while not self._done.wait(0.02):
            cancelled = self._cancel is not None and self._cancel.is_set()
            if cancelled or time.monotonic() > self._deadline:
                with self._lock:
                    if self._active:
                        self.fired = "cancelled" if cancelled else "time"
                        ctypes.pythonapi.PyThreadState_SetAsyncExc(ctypes.c_ulong(self._thread_id),
                                                                   ctypes.py_object(_Interrupted))
                return

    def __exit__(self, exc_type: type[BaseException] | None, *exc: object) -> None:
        delivered = exc_type is _Interrupted
        try:
            with self._lock:
                self._active = False
            self._done.set()
            if self.fired is not None and not delivered:
                # The interruption is still pending: it lands at the next bytecode, so take it here, never in the
                # caller's code. (Withdrawing it with PyThreadState_SetAsyncExc(id, NULL) leaves CPython 3.11's
                # eval breaker signalled for good: every thread that runs a trace function, as the server's
                # schema deadline does, then spins.)
                end = time.monotonic() + ASYNC_LANDING_S
                while time.monotonic() < end:
                    pass
        except _Interrupted:
            pass


def render_bounded(compiled: jinja2.Template, variables: dict[str, Any], time_limit: float,
                    output_limit: int, cancel: threading.Event | None) -> str:
    parts: list[str] = []
    size = 0
    old = _budget.deadline, _budget.seconds, _budget.cancel
    _budget.deadline, _budget.seconds, _budget.cancel = time.monotonic() + time_limit, time_limit, cancel
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
        _budget.deadline, _budget.seconds, _budget.cancel = old
    return "".join(parts)
