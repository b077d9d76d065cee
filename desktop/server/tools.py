"""OpenAI messages and tools <-> what EXAONE's chat templates expect, and tool calls parsed back.

EXAONE 4.0 lists tools in the system turn (``<tool>{json}</tool>`` lines); EXAONE 4.5 and K-EXAONE declare them
in a first ``<|tool_declare|>`` turn. Both write a call as ``<tool_call>{"name": ..., "arguments": {...}}</tool_call>``
and read results from a tool turn (``[|tool|]`` / ``<|tool|>``) of ``<tool_result>...</tool_result>`` items; the
4.0 template wraps a result as ``{"result": <JSON>}``, the 4.5 template puts string content in as it is. The
4.0 template dumps a call's ``function.arguments`` as JSON, so the arguments (a JSON *string* in OpenAI's API)
are handed to it parsed; the 4.5 template writes string arguments as they are, so they are handed to it as the
model wrote them (the family table's ``tool_arguments_as_text``).

Forcing a call (``tool_choice: "required"`` or a named function) constrains decoding with a grammar
that only admits ``<tool_call>{"name": <one of the tools>, "arguments": <its parameters>}</tool_call>``.
"""

from __future__ import annotations

import json
import re
import secrets
from collections.abc import Sequence
from typing import Any

from ..engine.sampling.grammar import GrammarError, grammar_for_schema
from .errors import APIError
from .schemas import ChatMessage, FunctionCall, NamedToolChoice, Tool, ToolCall

CALL_OPEN, CALL_CLOSE = "<tool_call>", "</tool_call>"
_CALL = re.compile(re.escape(CALL_OPEN) + r"\s*(.*?)\s*" + re.escape(CALL_CLOSE), re.DOTALL)


def _content(content: Any, where: str) -> str | list[dict[str, Any]]:
    """A message's content for the template: a string, text parts joined, or "" for none; with images, the
    parts themselves (the generator reads ``image_url`` parts). Images must be inline ``data:`` URLs: the
    server neither reads files nor fetches URLs for its clients."""
    if content is None:
        return ""
    if isinstance(content, str):
        return content
    parts: list[dict[str, Any]] = []
    for i, part in enumerate(content):
        if part.type == "text" and part.text is not None:
            parts.append({"type": "text", "text": part.text})
            continue
        if part.type == "file":  # a document: read and put in by the service (documents.prepare)
            spec = (part.model_extra or {}).get("file")
            if not isinstance(spec, dict) or not str(spec.get("file_data", "")).startswith("data:"):
                raise APIError(400, f"{where}.content[{i}].file.file_data must be a base64 data: URL (this server "
                                    "does not read files or keep uploads)", param=f"{where}.content[{i}].file",
                               code="invalid_value")
            parts.append({"type": "file", "file": {"filename": spec.get("filename"), "file_data": spec["file_data"]}})
            continue
        url = (part.model_extra or {}).get("image_url")
        url = url.get("url") if isinstance(url, dict) else url
        if part.type != "image_url":
            raise APIError(400, f"{where}.content[{i}] is a {part.type!r} part; send text, image_url or file parts",
                           param=f"{where}.content[{i}].type", code="unsupported_content")
        if not isinstance(url, str) or not url.startswith("data:image/"):
            raise APIError(400, f"{where}.content[{i}].image_url.url must be a data:image/...;base64 URL (this server "
                                "does not read files or fetch URLs)", param=f"{where}.content[{i}].image_url.url",
                           code="invalid_value")
        parts.append({"type": "image_url", "image_url": {"url": url}})
    if all(p["type"] == "text" for p in parts):
        return "".join(p["text"] for p in parts)
    return parts


def has_images(messages: Sequence[dict[str, Any]]) -> bool:
    return any(isinstance(m.get("content"), list) and any(p.get("type") == "image_url" for p in m["content"])
               for m in messages)


def _arguments(raw: str, where: str) -> Any:
    try:
        return json.loads(raw) if raw.strip() else {}
    except json.JSONDecodeError as err:
        raise APIError(400, f"{where} is not valid JSON ({err.msg} at character {err.pos}); send the arguments "
                            "as the model returned them", param=where, code="invalid_value") from None


def tool_arguments_as_text(model_info: Any) -> bool:
    """Whether the model's chat template takes a tool call's arguments as the JSON text OpenAI sends (its family
    row says so), rather than parsed."""
    from exaone_convert import families

    family = families.family_by_key(model_info.family if model_info is not None else None)
    return bool(family is not None and family.tool_arguments_as_text)


def _call_arguments(raw: str, as_text: bool, where: str) -> Any:
    parsed = _arguments(raw, where)
    return (raw if raw.strip() else "{}") if as_text else parsed


def template_messages(messages: Sequence[ChatMessage], *, arguments_as_text: bool = False) -> list[dict[str, Any]]:
    """OpenAI chat messages as the chat template reads them (``developer`` is a system message). A tool call's
    arguments are checked to be JSON and handed over parsed, or with ``arguments_as_text`` as the text sent."""
    out: list[dict[str, Any]] = []
    for i, m in enumerate(messages):
        where = f"messages[{i}]"
        msg: dict[str, Any] = {"role": "system" if m.role == "developer" else m.role,
                               "content": _content(m.content, where)}
        if m.reasoning_content is not None:
            msg["reasoning_content"] = m.reasoning_content
        if m.tool_calls:
            msg["tool_calls"] = [
                {"id": call.id, "type": "function",
                 "function": {"name": call.function.name,
                              "arguments": _call_arguments(call.function.arguments, arguments_as_text,
                                                           f"{where}.tool_calls[{j}].function.arguments")}}
                for j, call in enumerate(m.tool_calls)]
        if m.role == "tool" and m.tool_call_id is not None:
            msg["tool_call_id"] = m.tool_call_id
        if m.name is not None:
            msg["name"] = m.name
        out.append(msg)
    return out


def template_tools(tools: Sequence[Tool]) -> list[dict[str, Any]]:
    """Tool definitions as plain JSON objects, as the template dumps them."""
    return [tool.model_dump(exclude_none=True) for tool in tools]


def new_call_id() -> str:
    return "call_" + secrets.token_hex(12)


def parse_tool_calls(text: str) -> tuple[str | None, list[ToolCall]]:
    """(the text around the calls or None, the calls) from an answer with ``<tool_call>{...}</tool_call>``.

    A block whose body is not a JSON object with a string ``name`` stays in the text.
    """
    calls: list[ToolCall] = []
    kept: list[str] = []
    at = 0
    for match in _CALL.finditer(text):
        try:
            body = json.loads(match.group(1))
        except json.JSONDecodeError:
            continue
        if not isinstance(body, dict) or not isinstance(body.get("name"), str):
            continue
        arguments = body.get("arguments", body.get("parameters", {}))
        encoded = arguments if isinstance(arguments, str) else json.dumps(arguments, ensure_ascii=False)
        calls.append(ToolCall(id=new_call_id(), function=FunctionCall(name=body["name"], arguments=encoded)))
        kept.append(text[at: match.start()])
        at = match.end()
    kept.append(text[at:])
    content = "".join(kept).strip()
    return (content or None), calls


def forced_tools(tools: Sequence[Tool], choice: str | NamedToolChoice | None) -> list[Tool]:
    """The tools a reply must call one of (empty: the model may answer in text)."""
    if isinstance(choice, NamedToolChoice):
        named = [t for t in tools if t.function.name == choice.function.name]
        if not named:
            raise APIError(400, f"tool_choice names function {choice.function.name!r}, which is not in tools; "
                                f"pick one of {[t.function.name for t in tools]}", param="tool_choice",
                           code="invalid_value")
        return named
    return list(tools) if choice == "required" else []


def call_grammar(tools: Sequence[Tool]) -> str:
    """GBNF that admits exactly one ``<tool_call>{"name": ..., "arguments": ...}</tool_call>`` of ``tools``."""
    variants = [{"type": "object",
                 "properties": {"name": {"const": t.function.name},
                                "arguments": t.function.parameters or {"type": "object"}},
                 "required": ["name", "arguments"], "additionalProperties": False}
                for t in tools]
    schema = variants[0] if len(variants) == 1 else {"anyOf": variants}
    try:
        body = grammar_for_schema(schema)
    except GrammarError as err:
        raise APIError(400, f"cannot force a call to these tools: {err}", param="tools", code="invalid_value") from None
    body = re.sub(r"^root\s*::=", "tool-call-body ::=", body, count=1, flags=re.MULTILINE)
    return f'root ::= "{CALL_OPEN}" tool-call-body "{CALL_CLOSE}"\n{body}'
