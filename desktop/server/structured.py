"""``response_format`` -> a GBNF grammar for llama.cpp's grammar sampler (JSON mode and JSON schema)."""

from __future__ import annotations

import json

from llama_cpp.llama_grammar import JSON_GBNF, json_schema_to_gbnf

from .errors import APIError
from .schemas import ResponseFormat


def response_format_grammar(fmt: ResponseFormat | None) -> str | None:
    """The grammar a reply must follow, or None for free text."""
    if fmt is None or fmt.type == "text":
        return None
    if fmt.type == "json_object":
        return JSON_GBNF
    spec = fmt.json_schema
    if spec is None or spec.schema_ is None:
        raise APIError(400, 'response_format of type "json_schema" needs json_schema.schema, a JSON schema object',
                       param="response_format.json_schema.schema", code="missing_required_parameter")
    try:
        return json_schema_to_gbnf(json.dumps(spec.schema_))
    except Exception as err:  # the converter raises plain exceptions for what it cannot express
        raise APIError(400, f"cannot turn response_format.json_schema.schema into a grammar ({err}); "
                            "simplify the schema", param="response_format.json_schema.schema",
                       code="invalid_value") from None
