"""``response_format`` -> a GBNF grammar for llama.cpp's grammar sampler (JSON mode and JSON schema).

The conversion is the engine's (``engine.sampling.grammar``, also behind ``exaone-generate``'s structured output);
this module only turns its one-line errors into OpenAI error objects.
"""

from __future__ import annotations

from ..engine.sampling.grammar import GrammarError, grammar_for_response_format
from .errors import APIError
from .schemas import ResponseFormat


def response_format_grammar(fmt: ResponseFormat | None) -> str | None:
    """The grammar a reply must follow, or None for free text."""
    if fmt is None:
        return None
    if fmt.type == "json_schema" and (fmt.json_schema is None or fmt.json_schema.schema_ is None):
        raise APIError(400, 'response_format of type "json_schema" needs json_schema.schema, a JSON schema object',
                       param="response_format.json_schema.schema", code="missing_required_parameter")
    try:
        return grammar_for_response_format(fmt.model_dump(by_alias=True, exclude_none=True))
    except GrammarError as err:
        raise APIError(400, str(err), param="response_format.json_schema.schema", code="invalid_value") from None
