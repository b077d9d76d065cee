"""OpenAI request parameters -> GenerationSettings (the other direction of the cloud engine's ``map_settings``).

Precedence, lowest first: transformers' pipeline defaults < the GGUF's generation config
(``general.sampling.*``) < the server's own flags (``exaone-serve --top-k 20`` ...) < the request.

The parameters are the settings table's rows with a ``served`` column: ``PARAMETERS`` lists them as request
fields (an older name such as ``max_tokens`` is a parameter of its own), ``setting_param`` names the
request field a settings error is about. Sampling follows OpenAI's API: a request samples unless it sets
``temperature: 0`` or ``do_sample: false`` (then it is greedy, as transformers' ``do_sample=False``); a
request that says nothing about sampling samples too, unless the server was started with ``--no-do-sample``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel

from ..engine.settings_table import SERVED_ROWS, OpenAIParam, Setting


@dataclass(frozen=True)
class Param:
    """One request field: the GenerationSettings field it sets and how its value converts."""

    field: str
    setting: str
    convert: Callable[[Any], Any]
    note: str


def _stop(value: str | list[str]) -> tuple[str, ...]:
    return (value,) if isinstance(value, str) else tuple(value)


def _convert(row: Setting) -> Callable[[Any], Any]:
    return _stop if row.value_type is tuple else row.value_type


def parameters(rows: Iterable[Setting] = SERVED_ROWS) -> tuple[Param, ...]:
    """The top-level request fields of ``rows`` (older names first: the newer name wins when both are sent)."""
    out: list[Param] = []
    for row in rows:
        if row.served is None or row.served.template or row.request_name is None:
            continue
        note = row.served.note if isinstance(row.openai, OpenAIParam) else "extra body; " + row.served.note
        out += [Param(old, row.name, _convert(row), f"older name; {row.request_name} wins when both are set")
                for old in row.served.older]
        out.append(Param(row.request_name, row.name, _convert(row), note))
    return tuple(out)


PARAMETERS: tuple[Param, ...] = parameters()
TEMPLATE_ROWS: tuple[Setting, ...] = tuple(row for row in SERVED_ROWS if row.served and row.served.template)
_FIELDS: Mapping[str, str] = {row.name: row.request_name for row in SERVED_ROWS
                              if row.request_name and row.served and not row.served.template}


def setting_param(message: str) -> str | None:
    """The request field a GenerationSettings error is about (its message starts with the setting's name)."""
    return _FIELDS.get(message.split(" ", 1)[0])


def request_settings(request: BaseModel, server_defaults: Mapping[str, Any] | None = None,
                     template: BaseModel | None = None) -> dict[str, Any]:
    """The explicit settings of ``request`` over the server's flags, as GenerationSettings field values.

    ``template`` is a chat request's ``chat_template_kwargs`` (its ``enable_thinking`` ...). Fields the
    request leaves unset are absent (so the GGUF's defaults apply below them).
    """
    values: dict[str, Any] = {k: v for k, v in (server_defaults or {}).items() if v is not None}
    given = {p.field: getattr(request, p.field) for p in PARAMETERS}
    sent = request.model_fields_set
    for p in PARAMETERS:
        if p.field in sent and given[p.field] is not None:
            values[p.setting] = p.convert(given[p.field])
    if given["do_sample"] is None:
        if given["temperature"] == 0:
            values["do_sample"] = False
        elif given["temperature"] is not None or "do_sample" not in values:
            values["do_sample"] = True
    if values.get("do_sample") is False and values.get("temperature") == 0:
        values.pop("temperature")  # greedy: the temperature is unused, and 0 is not a valid sampling one
    for row in TEMPLATE_ROWS:
        value = None if template is None else getattr(template, row.name)
        if value is not None:
            values[row.name] = value
    return values


def sets_max_tokens(request: BaseModel, server_defaults: Mapping[str, Any] | None = None) -> bool:
    """Whether the request (or the server's ``--max-new-tokens``) bounds the reply's length."""
    return (any(getattr(request, p.field) is not None for p in PARAMETERS if p.setting == "max_new_tokens")
            or (server_defaults or {}).get("max_new_tokens") is not None)


def describe_table() -> str:
    """The mapping as text (for ``exaone-serve --help`` and the README)."""
    rows = [f"  {p.field:<22} -> {p.setting:<21} {p.note}" for p in PARAMETERS]
    rows += [f"  {'chat_template_kwargs':<22} -> {row.name:<21} extra body: {row.served.note}"
             for row in TEMPLATE_ROWS if row.served]
    return "\n".join(rows)


__all__ = ["PARAMETERS", "Param", "describe_table", "parameters", "request_settings", "sets_max_tokens",
           "setting_param"]
