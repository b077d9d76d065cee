"""Types shared by every generator (local llama.cpp, cloud OpenAI) and by their callers (CLI, UI)."""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal, Protocol, TypedDict

if TYPE_CHECKING:
    from .settings import GenerationSettings

Backend = Literal["cpu", "metal", "cuda", "openai"]
FinishReason = Literal["stop", "length", "cancelled"]


class Message(TypedDict):
    role: str
    content: str


Prompt = str | Sequence[Message]
"""A plain-completion string, or chat messages rendered with the model's chat template."""


class GenerationError(Exception):
    """A generation problem the user can fix; ``str(err)`` is one line that names the fix."""


class DamagedModel(GenerationError):
    """The model file's weights are damaged (its logits are NaN, infinite or overflowing): re-download or
    reconvert it. Raised at the first such token, instead of a reply drawn from a broken distribution."""


@dataclass
class Completion:
    """One returned sequence (``num_return_sequences`` of them per request)."""

    text: str
    token_ids: list[int]
    finish_reason: FinishReason
    reasoning: str | None = None


@dataclass
class StreamEvent:
    """A piece of decoded text for sequence ``index``; never splits a UTF-8 character."""

    index: int
    text: str
    kind: Literal["answer", "reasoning"] = "answer"


@dataclass
class GenerationResult:
    prompt_text: str
    prompt_token_ids: list[int]
    generated: list[Completion]
    backend: Backend
    timings: dict[str, float] = field(default_factory=dict)
    not_applied: list[str] = field(default_factory=list)
    model: str = ""
    seed: int | None = None  # the seed the draw used (drawn at random when none was set); None when greedy

    def to_json(self) -> dict[str, Any]:
        """The ``exaone-generate --json`` object (its keys are listed in the README)."""
        generated: list[dict[str, Any]] = []
        for c in self.generated:
            entry: dict[str, Any] = {"text": c.text, "token_ids": c.token_ids, "finish_reason": c.finish_reason}
            if c.reasoning is not None:
                entry["reasoning"] = c.reasoning
            generated.append(entry)
        out: dict[str, Any] = {
            "prompt_token_ids": self.prompt_token_ids,
            "generated": generated,
            "timings": {
                "prompt_tokens_per_s": self.timings.get("prompt_tokens_per_s", 0.0),
                "generated_tokens_per_s": self.timings.get("generated_tokens_per_s", 0.0),
            },
            "backend": self.backend,
        }
        if self.timings.get("draft_tokens"):  # speculative decoding: drafted tokens and the ones kept
            for key in ("draft_tokens", "draft_tokens_accepted"):
                out["timings"][key] = int(self.timings[key])
        if self.backend == "openai" or self.not_applied:  # (local: drafting settings the batched path skips)
            out["not_applied"] = list(self.not_applied)
        if self.seed is not None:
            out["seed"] = self.seed
        return out


StreamCallback = Callable[[StreamEvent], None]


class Generator(Protocol):
    """What the CLI and the UI drive; implemented by the local and the cloud generators."""

    @property
    def backend(self) -> Backend: ...

    def generate(
        self,
        prompt: Prompt,
        settings: GenerationSettings,
        *,
        on_event: StreamCallback | None = None,
        cancel: threading.Event | None = None,
    ) -> GenerationResult: ...
