"""Structured output: JSON schemas and OpenAI ``response_format`` turned into llama.cpp grammars (GBNF).

The GBNF text goes to ``TokenSampler(..., grammar=..., vocab=...)``, which masks the tokens the grammar
forbids before transformers' chain. The schema converter is llama-cpp-python's
(``llama_cpp.llama_grammar.json_schema_to_gbnf``, a port of llama.cpp's json-schema-to-grammar); the
JSON grammar for ``{"type": "json_object"}`` is llama.cpp's ``grammars/json.gbnf`` as llama-cpp-python
ships it.

    grammar_for_response_format({"type": "json_schema", "json_schema": {"name": "x", "schema": {...}}})
    grammar_for_schema({"type": "object", "properties": {...}})
    grammar_for_schema_file(Path("schema.json"))          # exaone-generate --json-schema FILE
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from llama_cpp import llama_grammar


class GrammarError(ValueError):
    """A schema, grammar or ``response_format`` we cannot use; ``str(err)`` is one line naming the fix."""


JSON_OBJECT_GRAMMAR: str = llama_grammar.JSON_GBNF
"""Any JSON object (OpenAI's ``{"type": "json_object"}``)."""

RESPONSE_FORMAT_TYPES = ("text", "json_object", "json_schema")

# Constraints the converter does not turn into grammar rules: output would not validate, so refuse them.
UNENFORCED_KEYWORDS = ("minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum", "multipleOf", "uniqueItems",
                       "not", "if", "then", "else", "patternProperties", "propertyNames", "minProperties",
                       "maxProperties", "contains", "dependentRequired", "dependentSchemas",
                       "unevaluatedProperties", "unevaluatedItems")
# Subschemas by keyword: a dict of them, a list of them, or one.
_SUBSCHEMA_MAPS = ("properties", "$defs", "definitions")
_SUBSCHEMA_LISTS = ("anyOf", "oneOf", "allOf", "prefixItems")
_SUBSCHEMA_ONE = ("items", "additionalProperties")

# The converter's string character rule lets control characters through, which JSON forbids in strings.
_LOOSE_CHAR = r'char ::= [^"\\] |'
_STRICT_CHAR = r'char ::= [^"\\\x7F\x00-\x1F] |'


def grammar_for_schema(schema: Mapping[str, Any] | bool | str, prop_order: Sequence[str] = ()) -> str:
    """GBNF for the values that validate against the JSON ``schema`` (a dict, ``true``, or its JSON text).

    ``prop_order`` names properties to write first, in that order (e.g. a tool call's name before its
    arguments); the others follow in the schema's order.
    """
    if isinstance(schema, str):
        try:
            schema = json.loads(schema)
        except json.JSONDecodeError as err:
            raise GrammarError(f"the JSON schema is not valid JSON ({err.msg} at line {err.lineno}, "
                               f"column {err.colno}); fix the schema text") from None
    if not isinstance(schema, (Mapping, bool)):
        raise GrammarError(f"a JSON schema must be an object or a boolean, got {type(schema).__name__}; "
                           'pass e.g. {"type": "object", "properties": {...}}')
    if schema is False:
        raise GrammarError("the JSON schema is false: no value can match it; pass a schema that allows output")
    if schema is True:
        schema = {}  # the converter reads an empty schema as any JSON object
    _refuse_unenforced(schema, "")
    try:
        grammar = llama_grammar.json_schema_to_gbnf(json.dumps(schema), prop_order=list(prop_order))
    except RecursionError:
        raise GrammarError("the JSON schema refers to itself without end; remove the recursive $ref") from None
    except Exception as err:  # the converter raises bare AssertionError/KeyError/ValueError on schemas it cannot use
        detail = " ".join(str(err).split()) or type(err).__name__
        raise GrammarError(f"unsupported JSON schema: {detail[:200]}; use the JSON Schema subset llama.cpp "
                           "supports (types, properties, required, enum, const, items, anyOf, local $ref)") from None
    return grammar.replace(_LOOSE_CHAR, _STRICT_CHAR)


def _refuse_unenforced(schema: Any, where: str) -> None:
    if not isinstance(schema, Mapping):
        return
    for keyword in UNENFORCED_KEYWORDS:
        if keyword in schema:
            raise GrammarError(f"the JSON schema uses {keyword!r} (at {where or 'the top level'}), which the grammar "
                               "cannot enforce; remove it and check that constraint after generation")
    for key in _SUBSCHEMA_MAPS:
        if isinstance(schema.get(key), Mapping):
            for name, sub in schema[key].items():
                _refuse_unenforced(sub, _join(where, f"{key}.{name}"))
    for key in _SUBSCHEMA_LISTS:
        if isinstance(schema.get(key), list):
            for i, sub in enumerate(schema[key]):
                _refuse_unenforced(sub, _join(where, f"{key}[{i}]"))
    for key in _SUBSCHEMA_ONE:
        _refuse_unenforced(schema.get(key), _join(where, key))


def _join(where: str, part: str) -> str:
    return f"{where}.{part}" if where else part


def grammar_for_schema_file(path: Path | str) -> str:
    """GBNF for the JSON schema stored in the file ``path``."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as err:
        reason = err.strerror if isinstance(err, OSError) and err.strerror else str(err)
        raise GrammarError(f"cannot read the JSON schema file {path}: {reason}; pass a readable UTF-8 file") from None
    return grammar_for_schema(text)


def grammar_for_response_format(response_format: Mapping[str, Any] | None) -> str | None:
    """GBNF for an OpenAI ``response_format``; ``None`` when it asks for plain text (or is absent).

    ``{"type": "json_object"}`` -> any JSON object; ``{"type": "json_schema", "json_schema": {"schema": S}}``
    -> values matching S (OpenAI's ``name`` and ``strict`` are accepted and change nothing here).
    """
    if response_format is None:
        return None
    if not isinstance(response_format, Mapping):
        raise GrammarError(f"response_format must be an object, got {type(response_format).__name__}; "
                           'pass {"type": "json_object"} or {"type": "json_schema", "json_schema": {...}}')
    kind = response_format.get("type")
    if kind == "text":
        return None
    if kind == "json_object":
        return JSON_OBJECT_GRAMMAR
    if kind == "json_schema":
        spec = response_format.get("json_schema")
        if not isinstance(spec, Mapping) or "schema" not in spec:
            raise GrammarError('response_format json_schema needs {"json_schema": {"name": ..., "schema": {...}}}; '
                               "the schema is missing")
        return grammar_for_schema(spec["schema"])
    raise GrammarError(f"response_format type must be one of {', '.join(RESPONSE_FORMAT_TYPES)}, got {kind!r}")
