"""The checks behind ``limits``: cheap looks at a request that refuse what would cost too much later.

Each takes plain JSON (bytes, or what ``json.loads`` returns) and raises ``APIError`` (400) naming the limit
and its flag; none of them recurses, so no input can exhaust the stack.

- ``json_depth``: the nesting of JSON text, without parsing it (strings are skipped).
- ``check_request``: a chat or completions body before pydantic, the template or the tokenizer see it: the
  messages and characters a context can hold, the JSON schemas' sizes, tool-call arguments' nesting.
- ``check_grammar``: a grammar made from a schema, before llama.cpp parses it.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from .errors import APIError
from .limits import ServerLimits

__all__ = ["SchemaSize", "check_grammar", "check_request", "check_schema", "json_depth", "pattern_repeats"]

_STRING = re.compile(rb'"[^"\\]*(?:\\.[^"\\]*)*"', re.DOTALL)
_NOT_BRACKET = bytes(b for b in range(256) if b not in b"[]{}")
_REPEAT_KEYS = ("minItems", "maxItems", "minLength", "maxLength")
_QUANTIFIER = re.compile(r"\{\s*(\d*)\s*(?:,\s*(\d*)\s*)?\}")
# GBNF read left to right: a string or a character class is skipped whole, so only real quantifiers count.
_GBNF_TOKEN = re.compile(r'"[^"\\]*(?:\\.[^"\\]*)*"|\[[^\]\\]*(?:\\.[^\]\\]*)*\]|\{\s*(\d*)\s*(?:,\s*(\d*)\s*)?\}',
                         re.DOTALL)


def json_depth(text: bytes | str) -> int:
    """How deeply arrays and objects nest in JSON ``text`` (0 for a scalar), without parsing it: strings are
    cut out, then the running count of brackets is followed. Linear in the text's length."""
    data = text.encode("utf-8", "surrogatepass") if isinstance(text, str) else text
    brackets = _STRING.sub(b"", data).translate(None, _NOT_BRACKET)
    if not brackets:
        return 0
    import numpy as np

    steps = np.frombuffer(brackets, dtype=np.uint8)
    opens = (steps == ord("[")) | (steps == ord("{"))
    return int(np.cumsum(np.where(opens, 1, -1), dtype=np.int64).max())


def check_depth(text: bytes | str, limits: ServerLimits, what: str, param: str | None = None) -> None:
    depth = json_depth(text)
    if depth > limits.max_json_depth:
        raise APIError(400, f"{what} nests {depth} levels deep, over this server's limit of "
                            f"{limits.phrase('max_json_depth')}; send flatter JSON", param=param, code="too_deep")


# ---------------------------------------------------------------------------------------------------
# JSON schemas


@dataclass
class SchemaSize:
    """What the schemas of one request add up to (enum values, properties, repetitions)."""

    enum: int = 0
    properties: int = 0
    repeat: int = 0


_HUGE = 10**18  # what a count of more digits than any limit stands for


def _number(digits: str | None) -> int:
    """A quantifier's count; one of over 18 digits is taken as 10**18, past every limit (``int()`` of thousands
    of digits is slow, and refused past 4,300)."""
    digits = (digits or "").lstrip("0")
    return int(digits) if digits and len(digits) <= 18 else (_HUGE if digits else 0)


def pattern_repeats(pattern: str) -> int:
    """What a regex ``pattern``'s ``{n,m}`` quantifiers cost in grammar items: each counts its largest number
    times the pattern's length (a quantified literal is written out that many times)."""
    total = 0
    for low, high in _QUANTIFIER.findall(pattern):
        total += max(_number(low), _number(high)) * len(pattern)
    return total


def _nodes(schema: Any) -> Iterator[tuple[Any, int]]:
    """Every value inside ``schema`` with its depth (the schema itself is depth 1 when it is a container)."""
    stack: list[tuple[Any, int]] = [(schema, 1)]
    while stack:
        node, depth = stack.pop()
        yield node, depth
        if isinstance(node, dict):
            stack.extend((v, depth + 1) for v in node.values() if isinstance(v, (dict, list)))
        elif isinstance(node, list):
            stack.extend((v, depth + 1) for v in node if isinstance(v, (dict, list)))


def check_schema(schema: Any, limits: ServerLimits, size: SchemaSize, param: str) -> None:
    """Refuse a JSON schema over the size limits; ``size`` adds it to the request's other schemas."""

    def over(what: str, got: int, name: str) -> APIError:
        return APIError(400, f"{param} has {what} {got}, over this server's limit of {limits.phrase(name)}; "
                             "send a smaller schema", param=param, code="schema_too_large")

    for node, depth in _nodes(schema):
        if depth > limits.max_schema_depth:
            raise over("nesting", depth, "max_schema_depth")
        if not isinstance(node, dict):
            continue
        enum = node.get("enum")
        if isinstance(enum, list):
            size.enum += len(enum)
            if size.enum > limits.max_schema_enum:
                raise over("enum values", size.enum, "max_schema_enum")
        props = node.get("properties")
        if isinstance(props, dict):
            size.properties += len(props)
            if size.properties > limits.max_schema_properties:
                raise over("properties", size.properties, "max_schema_properties")
        for key in _REPEAT_KEYS:
            value = node.get(key)
            if isinstance(value, int) and not isinstance(value, bool) and value > 0:
                size.repeat += value
        pattern = node.get("pattern")
        if isinstance(pattern, str):
            size.repeat += pattern_repeats(pattern)
        if size.repeat > limits.max_schema_repeat:
            raise over("repetitions (minItems, maxItems, minLength, maxLength, pattern quantifiers)", size.repeat,
                       "max_schema_repeat")
    length = len(json.dumps(schema, ensure_ascii=False).encode("utf-8", "surrogatepass"))
    if length > limits.max_schema_bytes:
        raise over("a size of", length, "max_schema_bytes")


def check_grammar(grammar: str, limits: ServerLimits, param: str) -> None:
    """Refuse a grammar larger than ``max_grammar_bytes`` (llama.cpp parses it for every request), counting
    each ``{n}`` repetition as n copies of what it repeats, as llama.cpp expands them."""
    size = len(grammar.encode("utf-8", "surrogatepass"))
    for match in _GBNF_TOKEN.finditer(grammar):
        size += max(_number(match.group(1)), _number(match.group(2)))
    if size > limits.max_grammar_bytes:
        raise APIError(400, f"{param} becomes a grammar of {size} bytes, over this server's limit of "
                            f"{limits.phrase('max_grammar_bytes')}; send a smaller schema", param=param,
                       code="schema_too_large")


# ---------------------------------------------------------------------------------------------------
# A whole request, before pydantic and the template


def _text_chars(content: Any) -> int:
    if isinstance(content, str):
        return len(content)
    if isinstance(content, list):
        return sum(len(p["text"]) for p in content if isinstance(p, dict) and isinstance(p.get("text"), str))
    return 0


def _too_long(chars: int, n_ctx: int, limits: ServerLimits, param: str) -> APIError:
    return APIError(400, f"{param} has {chars} characters of text, which cannot fit this model's context of "
                         f"{n_ctx} tokens (a token holds at most {limits.phrase('max_chars_per_token')}); shorten "
                         "the prompt, or load the model with a larger --n-ctx", param=param,
                    code="context_length_exceeded")


def check_request(path: str, body: Any, limits: ServerLimits, n_ctx: int) -> None:
    """Refuse a ``/v1/chat/completions`` or ``/v1/completions`` body that is too much work: more messages than
    the context has tokens, more characters than it can hold, JSON schemas over their limits, tool-call
    arguments nested too deeply. Fields of the wrong type are left for the request's validation."""
    if not isinstance(body, dict):
        return
    most_chars = n_ctx * limits.max_chars_per_token
    if path.endswith("/completions") and not path.endswith("/chat/completions"):
        prompts = body.get("prompt")
        for i, prompt in enumerate(prompts if isinstance(prompts, list) else [prompts]):
            if n_ctx > 0 and isinstance(prompt, str) and len(prompt) > most_chars:
                raise _too_long(len(prompt), n_ctx, limits, "prompt" if isinstance(prompts, str) else f"prompt[{i}]")
        return
    messages = body.get("messages")
    if isinstance(messages, list):
        if n_ctx > 0 and len(messages) > n_ctx:
            raise APIError(400, f"{len(messages)} messages cannot fit this model's context of {n_ctx} tokens "
                                "(each message takes at least one); send fewer messages, or load the model with "
                                "a larger --n-ctx", param="messages", code="context_length_exceeded")
        chars = 0
        for i, m in enumerate(messages):
            if not isinstance(m, dict):
                continue
            chars += _text_chars(m.get("content"))
            calls = m.get("tool_calls")
            for j, call in enumerate(calls if isinstance(calls, list) else []):
                fn = call.get("function") if isinstance(call, dict) else None
                arguments = fn.get("arguments") if isinstance(fn, dict) else None
                if isinstance(arguments, str):
                    chars += len(arguments)
                    where = f"messages[{i}].tool_calls[{j}].function.arguments"
                    check_depth(arguments, limits, where, where)
        if n_ctx > 0 and chars > most_chars:
            raise _too_long(chars, n_ctx, limits, "messages")
    size = SchemaSize()
    fmt = body.get("response_format")
    spec = fmt.get("json_schema") if isinstance(fmt, dict) else None
    if isinstance(spec, dict) and "schema" in spec:
        check_schema(spec["schema"], limits, size, "response_format.json_schema.schema")
    tools = body.get("tools")
    for i, tool in enumerate(tools if isinstance(tools, list) else []):
        fn = tool.get("function") if isinstance(tool, dict) else None
        if isinstance(fn, dict) and "parameters" in fn:
            check_schema(fn["parameters"], limits, size, f"tools[{i}].function.parameters")
