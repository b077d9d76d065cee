"""Which engine answers: the cloud-fallback policy and a router that applies it.

The cloud is off by default and stays unused until the user has both switched it on and consented
to sending messages off the machine. Then ``mode`` decides:

- ``local``: never the cloud.
- ``ask``: local first; when it fails (or no model is loaded) the router returns an ``offer`` outcome and
  the UI asks the user, who may resend the same prompt with ``engine="cloud"``. A cloud failure after
  that offers the local model back.
- ``cloud``: always the cloud; a failure is reported, nothing else is tried.
- ``auto`` (``exaone-generate --engine auto``): local first, then the cloud without asking; a request
  sent to the cloud first (``engine="cloud"``) falls back to the local model the same way.

Every outcome keeps the user's prompt and says which engine produced the reply and what failed.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field, fields
from typing import Any, Generic, Literal, Protocol, TypeVar

from ..types import Backend, GenerationError, GenerationResult, Prompt, StreamCallback
from .endpoint import DEFAULT_MODEL

Mode = Literal["local", "ask", "cloud", "auto"]
Engine = Literal["local", "cloud"]
Status = Literal["ok", "offer", "error", "cancelled"]
Fallback = Literal["none", "offer", "auto"]

MODES: tuple[Mode, ...] = ("local", "ask", "cloud", "auto")
FIRST: dict[Mode, Engine] = {"local": "local", "ask": "local", "cloud": "cloud", "auto": "local"}
FALLBACK: dict[Mode, Fallback] = {"local": "none", "ask": "offer", "cloud": "none", "auto": "auto"}
OTHER: dict[Engine, Engine] = {"local": "cloud", "cloud": "local"}
ENGINE_NAMES: dict[Engine, str] = {"local": "the local model", "cloud": "the cloud model"}

S = TypeVar("S", contravariant=True)
T = TypeVar("T")


class Answerer(Protocol[S]):
    """What the router drives: a ``Generator`` (``S`` = ``GenerationSettings``) or an adapter taking
    another kind of settings (the CLI's explicit values, resolved by each engine)."""

    @property
    def backend(self) -> Backend: ...

    def generate(self, prompt: Prompt, settings: S, *, on_event: StreamCallback | None = None,
                 cancel: threading.Event | None = None) -> GenerationResult: ...


NO_LOCAL = "no local model is loaded: open or convert one in the model manager, or pass --model"
CLOUD_OFF = "the cloud fallback is off: turn it on (and consent) in Settings > Cloud, or use --engine cloud"


@dataclass(frozen=True)
class CloudPolicy:
    """The user's cloud settings (persisted by the UI; the API key is never part of it)."""

    enabled: bool = False
    consented: bool = False
    mode: Mode = "ask"
    model: str = DEFAULT_MODEL
    base_url: str = ""

    def __post_init__(self) -> None:
        if self.mode not in MODES:
            raise ValueError(f"cloud mode must be one of {', '.join(MODES)}, got {self.mode!r}")

    @property
    def effective_mode(self) -> Mode:
        """``mode`` once the fallback is on and consented to; ``local`` otherwise."""
        return self.mode if self.enabled and self.consented else "local"

    @classmethod
    def for_cli_engine(cls, engine: str, model: str | None = None, base_url: str | None = None) -> CloudPolicy:
        """``--engine local|cloud|auto``: naming cloud or auto on the command line is the consent."""
        mode: Mode = {"local": "local", "cloud": "cloud", "auto": "auto"}[engine]  # type: ignore[assignment]
        return cls(enabled=mode != "local", consented=mode != "local", mode=mode,
                   model=model or DEFAULT_MODEL, base_url=base_url or "")

    def to_dict(self) -> dict[str, Any]:
        return {f.name: getattr(self, f.name) for f in fields(self)}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> CloudPolicy:
        """Unknown keys are ignored; a bad mode falls back to the default (settings files get edited)."""
        known = {f.name for f in fields(cls)}
        values = {k: v for k, v in data.items() if k in known}
        if values.get("mode") not in MODES:
            values.pop("mode", None)
        return cls(**values)


@dataclass
class Failure:
    engine: Engine
    message: str
    kind: str = "error"


@dataclass
class RouteOutcome:
    """What happened to one request. ``prompt`` is the user's message, kept for a resend."""

    status: Status
    prompt: Prompt
    engine: Engine | None = None
    result: GenerationResult | None = None
    failures: list[Failure] = field(default_factory=list)
    offer: Engine | None = None

    @property
    def message(self) -> str:
        """One line for the status bar or stderr ("" for a clean success)."""
        failed = "; ".join(f"{ENGINE_NAMES[f.engine]} failed: {f.message}" for f in self.failures)
        if self.status == "offer" and self.offer:
            return f"{failed}. Send this message to {ENGINE_NAMES[self.offer]} instead?"
        if self.status == "ok" and failed and self.engine:
            return f"{failed}; answered by {ENGINE_NAMES[self.engine]}"
        if self.status == "cancelled":
            return "cancelled"
        return failed


class Router(Generic[T]):
    """Runs requests on the local generator or the cloud one, as ``policy`` says.

    ``T`` is the settings type both engines take: ``GenerationSettings`` for two ``Generator``s.
    """

    def __init__(
        self,
        policy: CloudPolicy,
        local: Answerer[T] | None,
        cloud_factory: Callable[[], Answerer[T]],
    ) -> None:
        self.local = local
        self._policy = policy
        self._cloud_factory = cloud_factory
        self._cloud: Answerer[T] | None = None

    @property
    def policy(self) -> CloudPolicy:
        return self._policy

    @policy.setter
    def policy(self, policy: CloudPolicy) -> None:
        self._policy = policy
        self._cloud = None  # model or base URL may have changed

    def available(self, engine: Engine) -> bool:
        if engine == "local":
            return self.local is not None
        return self._policy.effective_mode != "local"

    def _generator(self, engine: Engine) -> Answerer[T]:
        if engine == "local":
            if self.local is None:
                raise GenerationError(NO_LOCAL)
            return self.local
        if self._cloud is None:
            self._cloud = self._cloud_factory()  # only ever called once the policy allows the cloud
        return self._cloud

    def run(
        self,
        prompt: Prompt,
        settings: T,
        *,
        on_event: StreamCallback | None = None,
        cancel: threading.Event | None = None,
        engine: Engine | None = None,
        on_switch: Callable[[Engine, str], None] | None = None,
        conversation: str | None = None,
    ) -> RouteOutcome:
        """Answer ``prompt``; ``engine`` forces the first engine (e.g. after the user accepted an offer).

        ``on_switch(engine, reason)`` is called before an automatic fallback starts, so a UI can clear
        the partial reply it streamed from the engine that failed. ``conversation`` goes to the local
        generator only (it keeps that conversation's state); the cloud keeps nothing.
        """
        mode = self._policy.effective_mode
        first: Engine = engine or FIRST[mode]
        if not self.available(first) and first == "cloud":
            return RouteOutcome("error", prompt, failures=[Failure("cloud", CLOUD_OFF, "policy")])
        failures: list[Failure] = []
        for current in (first, OTHER[first]):
            if failures:
                plan = FALLBACK[mode]
                if (cancel is not None and cancel.is_set()) or plan == "none" or not self.available(current):
                    break
                if plan == "offer":
                    return RouteOutcome("offer", prompt, failures=failures, offer=current)
                if on_switch is not None:
                    on_switch(current, failures[-1].message)
            try:
                keep = {"conversation": conversation} if conversation is not None and current == "local" else {}
                result = self._generator(current).generate(prompt, settings, on_event=on_event, cancel=cancel,
                                                           **keep)
            except GenerationError as err:
                kind = getattr(err, "kind", "no_model" if str(err) == NO_LOCAL else "error")
                failures.append(Failure(current, str(err), kind))
                continue
            return RouteOutcome("ok", prompt, engine=current, result=result, failures=failures)
        status: Status = "cancelled" if cancel is not None and cancel.is_set() else "error"
        return RouteOutcome(status, prompt, failures=failures)
