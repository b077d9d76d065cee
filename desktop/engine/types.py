"""Types shared by every generator (local llama.cpp, cloud OpenAI) and by their callers (CLI, UI)."""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any, Literal, Protocol, TypedDict

if TYPE_CHECKING:
    from exaone_convert import ModelInfo

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


@dataclass(frozen=True)
class Capabilities:
    """What a generator supports beyond ``generate(prompt, settings, on_event=, cancel=)``.

    The first group are keyword arguments its ``generate`` takes (``keywords``); the rest are members it offers
    (each with its protocol below)."""

    images: bool = False  # generate(images=...): PNG/JPEG images for the chat's last user turn
    tools: bool = False  # generate(tools=...): OpenAI-style tool definitions for the chat template
    grammar: bool = False  # generate(grammar=...): GBNF the reply must follow
    conversation: bool = False  # generate(conversation=...): a key under which it keeps the chat's state
    drafting: bool = False  # generate(draft_source=...): speculative decoding
    tokenize: bool = False  # Tokenizes: tokenize_prompt(prompt, settings)
    tokenize_tools: bool = False  # ... with tools=
    state_cache: bool = False  # KeepsStates: kept conversation states, their figures and budget
    decode_stats: bool = False  # Counted: stats (DecodeStats: prompt evaluations, tokens decoded and drafted)
    batching: bool = False  # Batches: decodes several requests together (n_seq, steps, max_batch)

    _KEYWORDS = ("images", "tools", "grammar", "conversation", "draft_source")

    def keywords(self) -> frozenset[str]:
        """The optional keyword arguments ``generate`` takes."""
        flags = (self.images, self.tools, self.grammar, self.conversation, self.drafting)
        return frozenset(k for k, on in zip(self._KEYWORDS, flags, strict=True) if on)

    def without_keywords(self) -> Capabilities:
        """The same members, with a ``generate`` that takes none of the optional keywords (a wrapper's)."""
        return replace(self, images=False, tools=False, grammar=False, conversation=False, drafting=False)


class Generator(Protocol):
    """What the CLI, the app and the server drive; implemented by the local, batched, worker and cloud
    generators. What else one supports it declares in ``capabilities``."""

    @property
    def backend(self) -> Backend: ...

    @property
    def capabilities(self) -> Capabilities: ...

    @property
    def model_info(self) -> ModelInfo | None:
        """The loaded GGUF's header (None: no local model, e.g. the cloud)."""

    @property
    def n_ctx(self) -> int:
        """Tokens the context holds (0: the engine does not say)."""

    def generate(
        self,
        prompt: Prompt,
        settings: GenerationSettings,
        *,
        on_event: StreamCallback | None = None,
        cancel: threading.Event | None = None,
    ) -> GenerationResult: ...

    def close(self) -> None:
        """Free what it holds (a model, a worker process, connections); closing twice does nothing."""


class Tokenizes(Protocol):
    """``Capabilities.tokenize``: the prompt's rendered text and token ids, as ``generate`` would see them."""

    def tokenize_prompt(self, prompt: Prompt, settings: GenerationSettings, *,
                        tools: list[Any] | None = None) -> tuple[str, list[int]]: ...


@dataclass(frozen=True)
class StateCacheUsage:
    """What the UI shows: entries and bytes kept in memory and on disk, against their budgets."""

    entries: int
    bytes: int
    budget_bytes: int
    disk_entries: int
    disk_bytes: int
    disk_budget_bytes: int


class KeepsStates(Protocol):
    """``Capabilities.state_cache``: the kept conversation states' figures and budget."""

    def state_cache_usage(self) -> StateCacheUsage | None:
        """The figures, or None when nothing is kept."""

    def set_state_cache_mb(self, megabytes: float, disk_megabytes: float | None = None) -> None: ...


class Counted(Protocol):
    """``Capabilities.decode_stats``: counters of the work done so far."""

    @property
    def stats(self) -> Any:
        """A ``DecodeStats``-like object: prompt_evals, tokens_decoded, tokens_drafted, tokens_accepted."""


class Batches(Protocol):
    """``Capabilities.batching``: several requests decoded together."""

    @property
    def n_seq(self) -> int: ...

    @property
    def steps(self) -> int: ...

    @property
    def max_batch(self) -> int: ...
