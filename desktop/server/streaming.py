"""Server-Sent Events: generation events become OpenAI chunk objects, and a request waits for its job.

A streaming request's response starts once its generation has started (``stream``), so a request the model
refuses (a prompt over the context ...) still gets its HTTP error status rather than an error inside a 200
stream. ``complete`` waits for a whole result instead. Either stops its job when the client goes away or the
request runs past ``--request-timeout``.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import secrets
import threading
import time
from collections.abc import AsyncIterator, Callable
from typing import Any

from fastapi import Request
from fastapi.responses import Response, StreamingResponse

from ..engine.types import GenerationResult, StreamEvent
from .errors import APIError, json_text
from .request_log import note_usage
from .scheduler import Job
from .schemas import (
    ChatCompletionChunk,
    ChunkChoice,
    Delta,
    SamplingRequest,
    TextChoice,
    TextCompletion,
    ToolCallDelta,
    Usage,
)
from .service import Plan, Service, failure, timed_out, usage

_POLL_S = 0.1  # how often a waiting handler checks whether its client went away
# A streaming client that stops reading is cut off once this much of its reply waits unread in the server
# (its generation is stopped; without a bound the unread pieces would pile up until the token limit).
MAX_UNREAD_CHARS = 4 << 20
MAX_UNREAD_PIECES = 50_000


def sse(data: Any) -> str:
    return "data: " + json_text(data) + "\n\n"


SSE_DONE = "data: [DONE]\n\n"
_END = object()


def dump_chunk(chunk: ChatCompletionChunk | TextCompletion, include_usage: bool) -> dict[str, Any]:
    """A chunk as OpenAI sends it: deltas without their unset fields; ``usage`` (null but in the last chunk)
    only when the client asked for it with ``stream_options.include_usage``."""
    data = chunk.model_dump()
    if isinstance(chunk, ChatCompletionChunk):
        for out, choice in zip(data["choices"], chunk.choices, strict=True):
            out["delta"] = choice.delta.model_dump(exclude_none=True)
    if not include_usage:
        data.pop("usage", None)
    return data


class _Chunks:
    """One streamed response: its id, creation time and model, which choices have opened, and its chunks."""

    chunk_type: type[ChatCompletionChunk] | type[TextCompletion]

    def __init__(self, id_prefix: str, model: str, include_usage: bool) -> None:
        self.id = id_prefix + secrets.token_hex(12)
        self.created = int(time.time())
        self.model = model
        self.include_usage = include_usage
        self.opened: set[int] = set()

    def _send(self, choices: list[Any], usage: Usage | None = None) -> str:
        chunk = self.chunk_type(id=self.id, created=self.created, model=self.model, choices=choices, usage=usage)
        return sse(dump_chunk(chunk, self.include_usage))

    def _usage(self, results: list[GenerationResult]) -> list[str]:
        """The last chunk, with the whole request's usage and no choices, when the client asked for it."""
        return [self._send([], usage(results))] if self.include_usage else []


class ChatStream(_Chunks):
    """Events of one chat request -> chat.completion.chunk objects, OpenAI's order and fields."""

    chunk_type = ChatCompletionChunk

    def __init__(self, service: Service, plan: Plan, model: str) -> None:
        super().__init__("chatcmpl-", model, plan.include_usage)
        self.service, self.plan = service, plan

    def _chunk(self, index: int, delta: Delta, finish: str | None = None) -> str:
        return self._send([ChunkChoice(index=index, delta=delta, finish_reason=finish)])  # type: ignore[arg-type]

    def _open(self, index: int) -> list[str]:
        if index in self.opened:
            return []
        self.opened.add(index)
        return [self._chunk(index, Delta(role="assistant", content=""))]

    def event(self, ev: StreamEvent) -> list[str]:
        out = self._open(ev.index)
        if ev.kind == "reasoning":
            out.append(self._chunk(ev.index, Delta(reasoning_content=ev.text)))
        elif not self.plan.tools_on:  # with tools, the answer may be a call: sent whole at the end
            out.append(self._chunk(ev.index, Delta(content=ev.text)))
        return out

    def finish(self, results: list[GenerationResult]) -> list[str]:
        out: list[str] = []
        for i, completion in enumerate(results[0].generated if results else []):
            out += self._open(i)
            choice = self.service.chat_choice(i, completion, self.plan.tools_on)
            message = choice.message
            if self.plan.tools_on and message.tool_calls:
                if message.content:
                    out.append(self._chunk(i, Delta(content=message.content)))
                deltas = [ToolCallDelta(index=j, id=c.id, type="function", function=c.function)
                          for j, c in enumerate(message.tool_calls)]
                out.append(self._chunk(i, Delta(tool_calls=deltas)))
            elif self.plan.tools_on and message.content:
                out.append(self._chunk(i, Delta(content=message.content)))
            out.append(self._chunk(i, Delta(), choice.finish_reason))
        return out + self._usage(results)


class TextStream(_Chunks):
    """Events of a completions request -> text_completion chunks (choice index = prompt * n + sequence)."""

    chunk_type = TextCompletion

    def __init__(self, plans: list[Plan], model: str) -> None:
        super().__init__("cmpl-", model, plans[0].include_usage)
        self.plans = plans
        self.n = plans[0].settings.num_return_sequences

    def _chunk(self, index: int, text: str, finish: str | None = None) -> str:
        return self._send([TextChoice(index=index, text=text, finish_reason=finish)])  # type: ignore[arg-type]

    def _open(self, k: int, index: int) -> list[str]:
        if index in self.opened:
            return []
        self.opened.add(index)
        return [self._chunk(index, self.plans[k].prompt)] if self.plans[k].echo else []

    def event(self, k: int, ev: StreamEvent) -> list[str]:
        index = k * self.n + ev.index
        out = self._open(k, index)
        if ev.kind == "answer":
            out.append(self._chunk(index, ev.text))
        return out

    def finish(self, results: list[GenerationResult]) -> list[str]:
        out: list[str] = []
        for k, result in enumerate(results):
            for i, completion in enumerate(result.generated):
                index = k * self.n + i
                out += self._open(k, index)
                out.append(self._chunk(index, "", "length" if completion.finish_reason == "length" else "stop"))
        return out + self._usage(results)


def _client(request: Request, req: SamplingRequest) -> str:
    """Whose turn a request is: the OpenAI ``user`` field when sent, else the client's address."""
    if req.user:
        return "user:" + req.user
    return "host:" + (request.client.host if request.client else "?")


async def _wait(request: Request, job: Job, service: Service, deadline: float,
                items: asyncio.Queue[Any] | None = None) -> Any:
    """The first streamed item (or _END) / the finished future, unless the client goes away first (None).

    Past ``deadline`` the job is cancelled (the model is free at its next token) and the request gets 504."""
    fut = asyncio.wrap_future(job.future) if items is None else None  # unawaited, its error would be logged
    while True:
        wait = max(0.0, min(_POLL_S, deadline - time.monotonic()))
        if items is not None:
            try:
                return await asyncio.wait_for(items.get(), wait)
            except TimeoutError:
                pass
        elif fut is not None:
            done, _ = await asyncio.wait({fut}, timeout=wait)
            if done:
                return fut
        if await request.is_disconnected():
            service.scheduler.cancel(job)
            return None
        if time.monotonic() >= deadline:
            service.scheduler.cancel(job)
            raise timed_out(service.config.limits)


async def complete(request: Request, service: Service, plans: list[Plan], req: SamplingRequest, deadline: float
                    ) -> list[GenerationResult] | None:
    job = service.submit(_client(request, req), plans, None)
    fut = await _wait(request, job, service, deadline)
    if fut is None:
        return None
    try:
        return note_usage(request, fut.result())  # type: ignore[no-any-return]
    except BaseException as err:
        raise failure(err) from None


class _Backlog:
    """How much of a streamed reply waits unread: added on the worker thread, taken on the event loop."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.chars = self.pieces = 0
        self.overflowed = False

    def add(self, chars: int) -> bool:
        """Count a new piece; True the first time the unread pieces pass the bound."""
        with self._lock:
            self.chars += chars
            self.pieces += 1
            if self.overflowed or (self.chars <= MAX_UNREAD_CHARS and self.pieces <= MAX_UNREAD_PIECES):
                return False
            self.overflowed = True
            return True

    def take(self, chars: int) -> None:
        with self._lock:
            self.chars -= chars
            self.pieces -= 1


def _fell_behind() -> APIError:
    return APIError(500, "the client stopped reading the stream and fell too far behind; the generation was "
                         "stopped; read the stream as it comes", code="client_too_slow")


async def stream(request: Request, service: Service, plans: list[Plan], req: SamplingRequest,
                  on_event: Callable[[int, StreamEvent], list[str]],
                  finish: Callable[[list[GenerationResult]], list[str]], deadline: float) -> Response:
    loop = asyncio.get_running_loop()
    items: asyncio.Queue[Any] = asyncio.Queue()
    backlog = _Backlog()
    job: Job | None = None

    def push(k: int, ev: StreamEvent) -> None:  # on the worker thread
        if backlog.add(len(ev.text)) and job is not None:
            service.scheduler.cancel(job)  # the client stopped reading: stop its generation
        loop.call_soon_threadsafe(items.put_nowait, (k, ev))

    job = service.submit(_client(request, req), plans, push)
    # The deadline holds whatever the response is doing: a client that stops reading leaves the response
    # blocked in its send, where no check of the time can run.
    timer = loop.call_later(max(0.0, deadline - time.monotonic()), service.scheduler.cancel, job)
    job.future.add_done_callback(lambda _: loop.call_soon_threadsafe(items.put_nowait, _END))
    try:
        first = await _wait(request, job, service, deadline, items)
    except BaseException:
        timer.cancel()
        raise
    if first is None:
        timer.cancel()
        return Response(status_code=499)
    if first is _END and (job.future.cancelled() or job.future.exception() is not None):
        timer.cancel()
        raise failure(concurrent.futures.CancelledError() if job.future.cancelled()
                       else job.future.exception()) from None  # type: ignore[arg-type]

    async def body() -> AsyncIterator[str]:
        assert job is not None
        item = first
        try:
            while item is not _END:
                backlog.take(len(item[1].text))
                for text in on_event(*item):
                    yield text
                try:
                    item = await asyncio.wait_for(items.get(), max(0.0, deadline - time.monotonic()))
                except asyncio.TimeoutError:
                    break
            if item is not _END or (job.cancel.is_set() and time.monotonic() >= deadline):
                service.scheduler.cancel(job)
                yield sse(timed_out(service.config.limits).body())
                return
            if backlog.overflowed:
                yield sse(_fell_behind().body())
                return
            try:
                results = note_usage(request, job.future.result())
            except BaseException as err:
                yield sse(failure(err).body())
                return
            for text in finish(results):
                yield text
            yield SSE_DONE
        finally:
            timer.cancel()
            service.scheduler.cancel(job)  # a client that left stops its generation (no-op when finished)

    return StreamingResponse(body(), media_type="text/event-stream",
                             headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"})
