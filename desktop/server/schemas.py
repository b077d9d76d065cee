"""Typed requests and responses of the OpenAI-compatible API (pydantic), as OpenAI's API reference spells them.

Requests refuse unknown fields (as OpenAI does: "unrecognized request argument"), except the ones listed in
``IGNORED`` that clients send routinely and that change nothing here. Ranges are part of the field
definitions, so a validation error can name the field and its valid range.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from ..engine.settings_table import ROWS, OpenAIParam

MAX_STOP = 16


def limits(setting: str) -> dict[str, Any]:
    """Field constraints for a request field that sets ``setting``: the settings table's range, narrowed to
    the OpenAI API's own limits where that is tighter (temperature 0-2)."""
    row = ROWS[setting]
    low, high = row.minimum, row.maximum
    if isinstance(row.openai, OpenAIParam):
        if row.openai.minimum is not None:
            low = row.openai.minimum if low is None else max(low, row.openai.minimum)
        if row.openai.maximum is not None:
            high = row.openai.maximum if high is None else min(high, row.openai.maximum)
    out: dict[str, Any] = {}
    if low is not None:
        out["gt" if row.min_exclusive else "ge"] = low
    if high is not None:
        out["le"] = high
    return out


def ranged(setting: str, default: Any = None) -> Any:
    """``Field(default, ...)`` with the range of ``setting`` (see ``limits``)."""
    return Field(default, **limits(setting))

# Fields clients send that this server accepts and ignores (they do not change the generated text).
IGNORED: tuple[str, ...] = ("user", "metadata", "store", "service_tier", "parallel_tool_calls",
                            "prompt_cache_key", "safety_identifier")


class _Request(BaseModel):
    model_config = ConfigDict(extra="forbid")


class StreamOptions(_Request):
    include_usage: bool = False


class ChatTemplateKwargs(BaseModel):
    """Variables for the chat template; ``enable_thinking`` switches EXAONE's reasoning on or off."""

    model_config = ConfigDict(extra="allow")
    enable_thinking: bool | None = None


class SamplingRequest(_Request):
    """The parameters chat and text completions share; extras (top_k ...) come as extra body fields."""

    model: str
    max_completion_tokens: int | None = ranged("max_new_tokens")
    max_tokens: int | None = ranged("max_new_tokens")
    temperature: float | None = ranged("temperature")
    top_p: float | None = ranged("top_p")
    n: int = ranged("num_return_sequences", 1)
    seed: int | None = ranged("seed")
    stop: str | list[str] | None = Field(None, max_length=MAX_STOP)
    presence_penalty: float | None = ranged("presence_penalty")
    frequency_penalty: float | None = ranged("frequency_penalty")
    stream: bool = False
    stream_options: StreamOptions | None = None
    logprobs: bool | None = None
    # Extras (transformers' names): not in OpenAI's API, sent with the client's extra_body.
    top_k: int | None = ranged("top_k")
    repetition_penalty: float | None = ranged("repetition_penalty")
    min_p: float | None = ranged("min_p")
    do_sample: bool | None = None
    speculative: Literal["off", "on", "auto"] | None = None
    prompt_lookup_num_tokens: int | None = ranged("prompt_lookup_num_tokens")
    num_assistant_tokens: int | None = ranged("num_assistant_tokens")
    # Accepted and ignored (see IGNORED).
    user: str | None = None
    metadata: dict[str, Any] | None = None
    store: bool | None = None
    service_tier: str | None = None
    parallel_tool_calls: bool | None = None
    prompt_cache_key: str | None = None
    safety_identifier: str | None = None


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


class ChatCompletion(BaseModel):
    id: str
    object: Literal["chat.completion"] = "chat.completion"
    created: int
    model: str
    choices: list[ChatChoice]
    usage: Usage
    system_fingerprint: str | None = None


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


class ChatCompletionChunk(BaseModel):
    id: str
    object: Literal["chat.completion.chunk"] = "chat.completion.chunk"
    created: int
    model: str
    choices: list[ChunkChoice]
    usage: Usage | None = None
    system_fingerprint: str | None = None


class TextChoice(BaseModel):
    index: int
    text: str
    finish_reason: Literal["stop", "length"] | None = None
    logprobs: None = None


class TextCompletion(BaseModel):
    id: str
    object: Literal["text_completion"] = "text_completion"
    created: int
    model: str
    choices: list[TextChoice]
    usage: Usage | None = None
    system_fingerprint: str | None = None


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
