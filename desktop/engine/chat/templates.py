"""Chat templates rendered like transformers' ``apply_chat_template``, bounded, with one-line errors.

The template runs in the bounded sandbox of ``sandbox`` (time and output limits, Stop); messages are handed over
as transformers hands them (plain data, reasoning under its standard names). A template that breaks a limit,
does not compile or raises gives one GenerationError line.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Mapping, Sequence
from typing import Any

import jinja2

from ..plain import plain
from ..types import GenerationError
from .reasoning import REASONING_FIELDS
from .sandbox import RENDER_OUTPUT_LIMIT, RENDER_TIME_LIMIT_S, TemplateLimit, compile_template, render_bounded

FIX_TEMPLATE = "use --prompt for plain completion, or convert the model again with a working chat template"
BROKEN = "the model's chat template is broken or hostile"

def _plain(value: Any) -> Any:
    """Rebuild caller data out of plain JSON-like types so the sandbox sees no rich objects."""
    return plain(value, lambda other: f"<{type(other).__name__}>")


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
        compiled = compile_template(template)
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
        return render_bounded(compiled, variables, time_limit, output_limit, cancel)
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


def render_prompt(template: str | None, messages: Sequence[Mapping[str, Any]], *, model_name: str,
                  enable_thinking: bool | None = None, tools: list[Any] | None = None, bos_token: str = "",
                  eos_token: str = "") -> str:
    """A model's prompt from chat messages (``render_chat``): a final assistant turn is a prefill (transformers'
    ``continue_final_message``: the text is cut after that message's content), else the generation prompt is
    added. ``model_name`` names the file in the error when it has no template."""
    if not template:
        raise GenerationError(f"{model_name} has no chat template; use a plain --prompt instead")
    if not messages:
        raise GenerationError("the message list is empty; give at least one message")
    prefill = messages[-1].get("role") == "assistant"
    text = render_chat(template, messages, add_generation_prompt=not prefill, enable_thinking=enable_thinking,
                       tools=tools, bos_token=bos_token, eos_token=eos_token)
    if prefill:
        final = str(messages[-1].get("content", "")).strip()
        at = text.rfind(final)
        if final and at >= 0:
            text = text[: at + len(final)]
    return text


def _broken(detail: str) -> GenerationError:
    return GenerationError(f"{BROKEN}: {detail}; {FIX_TEMPLATE}")
