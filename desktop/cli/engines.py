"""``exaone-generate --engine cloud|auto``: the engines behind a ``Router``.

- ``cloud``: the OpenAI-compatible API only; a failure is reported, nothing else is tried.
- ``auto`` with ``--model``: the local model first; when it cannot load or generate, the cloud
  (a missing key is then reported beside the local failure).
- ``auto`` without ``--model``: the cloud; there is nothing local to fall back to.

Engines are built on first use, so a GGUF that fails to load is a fallback, not a crash, and the
cloud client (and its key) is only touched when the cloud is actually asked. Each engine resolves the
user's settings itself: the local one over the GGUF's ``general.sampling.*`` defaults, the cloud one
over transformers' pipeline defaults. The prompt handed to the fallback is the user's, unchanged.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from ..engine.cloud.routing import CloudPolicy, Engine, Router
from ..engine.settings import GenerationSettings, resolve_settings
from ..engine.types import Backend, GenerationError, GenerationResult, Generator, Prompt, StreamCallback

UserSettings = Mapping[str, Any]
Resolver = Callable[[Any, UserSettings], GenerationSettings]

# engine -> how the user's explicit settings become the engine's GenerationSettings.
RESOLVERS: dict[Engine, Resolver] = {
    "local": lambda gen, user: gen.default_settings(**user),
    "cloud": lambda gen, user: resolve_settings(None, **user),
}
BACKENDS: dict[Engine, Backend] = {"local": "cpu", "cloud": "openai"}


class LazyEngine:
    """An ``Answerer[UserSettings]`` for the router: loads its ``Generator`` on first use and resolves the
    user's explicit values the engine's way (not a ``Generator``: its settings are the user's dict)."""

    def __init__(self, engine: Engine, load: Callable[[], Generator]) -> None:
        self.engine = engine
        self._load = load
        self._gen: Generator | None = None
        self.settings: GenerationSettings | None = None  # what the last request ran with

    @property
    def backend(self) -> Backend:
        return self._gen.backend if self._gen is not None else BACKENDS[self.engine]

    def generate(self, prompt: Prompt, settings: UserSettings, *, on_event: StreamCallback | None = None,
                 cancel: threading.Event | None = None) -> GenerationResult:
        if self._gen is None:
            self._gen = self._load()
        self.settings = RESOLVERS[self.engine](self._gen, settings)
        from ..engine.documents import prepare  # documents as text sized for this engine (the cloud gets text)

        model_prompt = prepare(prompt, self._gen, self.settings, cancel=cancel)
        return self._gen.generate(model_prompt, self.settings, on_event=on_event, cancel=cancel)


@dataclass
class Routed:
    result: GenerationResult
    settings: GenerationSettings
    engine: Engine
    notice: str  # one line when an engine failed before another answered, else ""


def route(
    mode: str,
    prompt: Prompt,
    user: UserSettings,
    *,
    load_local: Callable[[], Generator] | None,
    load_cloud: Callable[[], Generator],
    on_event: StreamCallback | None = None,
    cancel: threading.Event | None = None,
    on_switch: Callable[[Engine, str], None] | None = None,
) -> Routed:
    """Answer ``prompt`` in ``mode`` ("cloud" or "auto"); raises ``GenerationError`` with one line if all fail."""
    engines: dict[Engine, LazyEngine] = {"cloud": LazyEngine("cloud", load_cloud)}
    if load_local is not None and mode == "auto":
        engines["local"] = LazyEngine("local", load_local)
    router: Router[UserSettings] = Router(CloudPolicy.for_cli_engine(mode), engines.get("local"),
                                          lambda: engines["cloud"])
    first: Engine = "local" if "local" in engines else "cloud"
    outcome = router.run(prompt, user, engine=first, on_event=on_event, cancel=cancel, on_switch=on_switch)
    if outcome.status == "cancelled":
        raise KeyboardInterrupt
    if outcome.status != "ok" or outcome.result is None or outcome.engine is None:
        raise GenerationError(outcome.message)
    settings = engines[outcome.engine].settings
    assert settings is not None  # set by the engine that answered
    return Routed(outcome.result, settings, outcome.engine, outcome.message)
