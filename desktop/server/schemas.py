"""Typed requests and responses of the OpenAI-compatible API (pydantic), as OpenAI's API reference spells them.

Requests refuse unknown fields (as OpenAI does: "unrecognized request argument"), except the ones listed in
``IGNORED`` that clients send routinely and that change nothing here. The settings' fields are made from the
rows of the engine's settings table (``request_fields``: a row's ``served`` column names its field, its range
is the row's, narrowed to the API's own where tighter), so a validation error can name the field and its
valid range, and a row added to the table is a request field without another edit here.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, create_model
from pydantic_core import PydanticCustomError

from ..engine.settings_table import SERVED_ROWS, Setting

MAX_STOP = 16  # most strings a list-valued setting (stop) takes in one request

# Fields clients send that this server accepts and ignores (they do not change the generated text).
IGNORED: tuple[str, ...] = ("user", "metadata", "store", "service_tier", "parallel_tool_calls",
                            "prompt_cache_key", "safety_identifier")


def _few_strings(value: str | list[str]) -> str | list[str]:
    if isinstance(value, list) and len(value) > MAX_STOP:
        raise PydanticCustomError("too_long", "List should have at most {max} items, not {got}",
                                  {"max": MAX_STOP, "got": len(value)})
    return value


def request_type(row: Setting) -> Any:
    """The request field's type for ``row``: its value type (its choices as a Literal), a string or a list of
    strings for a list-valued one, and null allowed unless the field keeps the row's default."""
    if row.value_type is tuple:  # the bound counts a list's strings, not a lone string's characters
        base: Any = Annotated[str | list[str], AfterValidator(_few_strings)]
    elif row.choices:
        base = Literal[row.choices]
    else:
        base = row.value_type
    return base if row.served is not None and row.served.keep_default else base | None


def request_fields(rows: tuple[Setting, ...], *, template: bool = False) -> dict[str, Any]:
    """``create_model`` field definitions, one per row that ``exaone-serve``'s requests set (with ``template``:
    the ``chat_template_kwargs`` variables instead): the row's type, its range narrowed to the OpenAI API's
    (``Setting.request_bounds``), and an older name (``max_tokens``) as a field of its own."""
    fields: dict[str, Any] = {}
    for row in rows:
        if row.served is None or row.served.template is not template or row.request_name is None:
            continue
        default = row.default if row.served.keep_default else None
        constraints: dict[str, Any] = dict(row.request_bounds())
        for name in (row.request_name, *row.served.older):
            fields[name] = (request_type(row), Field(default, **constraints))
    return fields


class _Request(BaseModel):
    model_config = ConfigDict(extra="forbid")


class StreamOptions(_Request):
    include_usage: bool = False


class _TemplateVariables(BaseModel):
    model_config = ConfigDict(extra="allow")


class _Common(_Request):
    """What chat and text completions share besides the settings (those follow, one field per table row)."""

    model: str
    stream: bool = False
    stream_options: StreamOptions | None = None
    logprobs: bool | None = None
    # Accepted and ignored (see IGNORED).
    user: str | None = None
    metadata: dict[str, Any] | None = None
    store: bool | None = None
    service_tier: str | None = None
    parallel_tool_calls: bool | None = None
    prompt_cache_key: str | None = None
    safety_identifier: str | None = None


def sampling_request(rows: tuple[Setting, ...] = SERVED_ROWS) -> type[_Common]:
    """The request fields chat and text completions share: ``_Common``'s, then one per served row (the
    OpenAI parameter where there is one, else an extra-body field of the setting's name, e.g. ``top_k``)."""
    return create_model("SamplingRequest", __base__=_Common, **request_fields(rows))


def template_variables(rows: tuple[Setting, ...] = SERVED_ROWS) -> type[_TemplateVariables]:
    """``chat_template_kwargs``: the chat template's variables among the rows (``enable_thinking`` switches
    EXAONE's reasoning on or off); other variables are accepted and passed over."""
    return create_model("ChatTemplateKwargs", __base__=_TemplateVariables, **request_fields(rows, template=True))


if TYPE_CHECKING:  # type checkers see the fields written here; the table adds its rows' fields at run time
    SamplingRequest = _Common
    ChatTemplateKwargs = _TemplateVariables
else:
    SamplingRequest = sampling_request()
    ChatTemplateKwargs = template_variables()


class FunctionDefinition(_Request):
    name: str = Field(min_length=1, max_length=64)
    description: str | None = None
    parameters: dict[str, Any] | None = None
    strict: bool | None = None


class Tool(_Request):
    type: Literal["function"]
    function: FunctionDefinition


class FunctionCall(BaseModel):
    name: str
    arguments: str


class ToolCall(BaseModel):
    id: str | None = None
    type: Literal["function"] = "function"
    function: FunctionCall


class NamedFunction(_Request):
    name: str


class NamedToolChoice(_Request):
    type: Literal["function"]
    function: NamedFunction


class ContentPart(BaseModel):
    model_config = ConfigDict(extra="allow")
    type: str
    text: str | None = None


class ChatMessage(BaseModel):
    model_config = ConfigDict(extra="ignore")
    role: Literal["system", "developer", "user", "assistant", "tool"]
    content: str | list[ContentPart] | None = None
    name: str | None = None
    tool_calls: list[ToolCall] | None = None
    tool_call_id: str | None = None
    reasoning_content: str | None = None


class JsonSchemaFormat(_Request):
    name: str = "response"
    description: str | None = None
    schema_: dict[str, Any] | None = Field(None, alias="schema")
    strict: bool | None = None


class ResponseFormat(_Request):
    type: Literal["text", "json_object", "json_schema"]
    json_schema: JsonSchemaFormat | None = None


class ChatCompletionRequest(SamplingRequest):
    messages: list[ChatMessage] = Field(min_length=1)
    tools: list[Tool] | None = None
    tool_choice: Literal["none", "auto", "required"] | NamedToolChoice | None = None
    response_format: ResponseFormat | None = None
    chat_template_kwargs: ChatTemplateKwargs | None = None


class CompletionRequest(SamplingRequest):
    prompt: str | list[str]
    echo: bool = False


# ---------------------------------------------------------------------------------------------------
# Responses


class Usage(BaseModel):
    prompt_tokens: int
    completion_tokens: int
    total_tokens: int


class ResponseMessage(BaseModel):
    role: Literal["assistant"] = "assistant"
    content: str | None
    reasoning_content: str | None = None
    tool_calls: list[ToolCall] | None = None
    refusal: None = None


class ChatChoice(BaseModel):
    index: int
    message: ResponseMessage
    finish_reason: Literal["stop", "length", "tool_calls"]
    logprobs: None = None


class _Completion(BaseModel):
    """What every completion object has, in OpenAI's order; each kind narrows ``object``, ``choices`` and
    ``usage`` (a subclass's field keeps its place)."""

    id: str
    object: str
    created: int
    model: str
    choices: list[Any]
    usage: Usage | None = None
    system_fingerprint: str | None = None


class ChatCompletion(_Completion):
    object: Literal["chat.completion"] = "chat.completion"
    choices: list[ChatChoice]
    usage: Usage


class ToolCallDelta(BaseModel):
    index: int
    id: str | None = None
    type: Literal["function"] | None = None
    function: FunctionCall | None = None


class Delta(BaseModel):
    role: Literal["assistant"] | None = None
    content: str | None = None
    reasoning_content: str | None = None
    tool_calls: list[ToolCallDelta] | None = None


class ChunkChoice(BaseModel):
    index: int
    delta: Delta
    finish_reason: Literal["stop", "length", "tool_calls"] | None = None
    logprobs: None = None


class ChatCompletionChunk(_Completion):
    object: Literal["chat.completion.chunk"] = "chat.completion.chunk"
    choices: list[ChunkChoice]


class TextChoice(BaseModel):
    index: int
    text: str
    finish_reason: Literal["stop", "length"] | None = None
    logprobs: None = None


class TextCompletion(_Completion):
    object: Literal["text_completion"] = "text_completion"
    choices: list[TextChoice]


class ModelCard(BaseModel):
    id: str
    object: Literal["model"] = "model"
    created: int
    owned_by: str = "exaone-desktop"


class ModelList(BaseModel):
    object: Literal["list"] = "list"
    data: list[ModelCard]


class ErrorDetail(BaseModel):
    message: str
    type: str
    param: str | None = None
    code: str | None = None


class ErrorBody(BaseModel):
    error: ErrorDetail
