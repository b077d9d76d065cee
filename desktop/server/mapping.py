"""OpenAI request parameters -> GenerationSettings (the other direction of the cloud engine's ``map_settings``).

Precedence, lowest first: transformers' pipeline defaults < the GGUF's generation config
(``general.sampling.*``) < the server's own flags (``exaone-serve --top-k 20`` ...) < the request.

One row per request field, in ``PARAMETERS``. Sampling follows OpenAI's API: a request samples unless it
sets ``temperature: 0`` or ``do_sample: false`` (then it is greedy, as transformers' ``do_sample=False``);
a request that says nothing about sampling samples too, unless the server was started with ``--no-do-sample``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from .schemas import SamplingRequest


@dataclass(frozen=True)
class Param:
    """One request field: the GenerationSettings field it sets and how its value converts."""

    field: str
    setting: str
    convert: Callable[[Any], Any]
    note: str


def _stop(value: str | list[str]) -> tuple[str, ...]:
    return (value,) if isinstance(value, str) else tuple(value)


PARAMETERS: tuple[Param, ...] = (
    Param("max_tokens", "max_new_tokens", int, "older name; max_completion_tokens wins when both are set"),
    Param("max_completion_tokens", "max_new_tokens", int,
          "unset: the rest of the context (the prompt's tokens subtracted)"),
    Param("temperature", "temperature", float, "0 means greedy (do_sample false); the value is then unused"),
    Param("top_p", "top_p", float, "nucleus after temperature and top_k, as transformers' TopPLogitsWarper"),
    Param("n", "num_return_sequences", int, "more than 1 needs sampling"),
    Param("seed", "seed", int, "same seed, same settings, same prompt: the same text as exaone-generate --seed"),
    Param("stop", "stop", _stop, "the text ends before the first stop string (it is not included)"),
    Param("presence_penalty", "presence_penalty", float, "OpenAI semantics, over the generated tokens"),
    Param("frequency_penalty", "frequency_penalty", float, "OpenAI semantics, over the generated tokens"),
    Param("top_k", "top_k", int, "extra body; 0 disables it; ties with the k-th logit stay (transformers)"),
    Param("repetition_penalty", "repetition_penalty", float, "extra body; over prompt and generated tokens"),
    Param("min_p", "min_p", float, "extra body"),
    Param("do_sample", "do_sample", bool, "extra body; false is greedy whatever the temperature"),
    Param("speculative", "speculative", str, "extra body; off / on / auto drafting (speed only, same distribution); "
          "--parallel above 1 decodes without drafts"),
    Param("prompt_lookup_num_tokens", "prompt_lookup_num_tokens", int, "extra body; draft by prompt lookup"),
    Param("num_assistant_tokens", "num_assistant_tokens", int, "extra body; drafts per step of --assistant-model"),
)


def request_settings(request: SamplingRequest, server_defaults: Mapping[str, Any] | None = None,
                     enable_thinking: bool | None = None) -> dict[str, Any]:
    """The explicit settings of ``request`` over the server's flags, as GenerationSettings field values.

    Fields the request leaves unset are absent (so the GGUF's defaults apply below them).
    """
    values: dict[str, Any] = {k: v for k, v in (server_defaults or {}).items() if v is not None}
    sent = request.model_fields_set
    for row in PARAMETERS:
        value = getattr(request, row.field)
        if row.field in sent and value is not None:
            values[row.setting] = row.convert(value)
    if request.max_completion_tokens is not None:
        values["max_new_tokens"] = request.max_completion_tokens
    if request.do_sample is None:
        if request.temperature == 0:
            values["do_sample"] = False
        elif request.temperature is not None or "do_sample" not in values:
            values["do_sample"] = True
    if values.get("do_sample") is False and values.get("temperature") == 0:
        values.pop("temperature")  # greedy: the temperature is unused, and 0 is not a valid sampling one
    if enable_thinking is not None:
        values["enable_thinking"] = enable_thinking
    return values


def sets_max_tokens(request: SamplingRequest, server_defaults: Mapping[str, Any] | None = None) -> bool:
    """Whether the request (or the server's ``--max-new-tokens``) bounds the reply's length."""
    return (request.max_completion_tokens is not None or request.max_tokens is not None
            or (server_defaults or {}).get("max_new_tokens") is not None)


def describe_table() -> str:
    """The mapping as text (for ``exaone-serve --help`` and the README)."""
    rows = [f"  {p.field:<22} -> {p.setting:<21} {p.note}" for p in PARAMETERS]
    rows.append(f"  {'chat_template_kwargs':<22} -> {'enable_thinking':<21} extra body: "
                "{\"enable_thinking\": true} lets EXAONE reason first")
    return "\n".join(rows)


__all__ = ["PARAMETERS", "Param", "describe_table", "request_settings", "sets_max_tokens"]
