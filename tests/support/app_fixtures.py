"""Helpers for the desktop-app tests: a tiny GGUF, an isolated app, and wrappers around the REAL generator.

The wrappers never invent text: they pass every call through to the real LocalGenerator and only
record its input (``Recording``) or slow its stream down so Stop can land mid-reply (``Slowed``).
"""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from exaone_desktop.engine.types import Capabilities, GenerationResult, StreamEvent


@contextlib.contextmanager
def isolated_app(tmp_path: Path, *args: str) -> Iterator[Any]:
    """The real app with its own data folder, QSettings and an in-memory keychain; closed afterwards."""
    from exaone_desktop.app import create_app

    from tests.support import memory_keyring

    with memory_keyring.installed():
        app = create_app(["--data-dir", str(tmp_path / "data"), "--lang", "en", *args])
        try:
            yield app
        finally:
            app.window.release_model()  # its model worker process ends with the test
            app.window.close()
            app.ctx.store.close()


@contextlib.contextmanager
def chatting_app(tmp_path: Path, generator: Any, max_new_tokens: int) -> Iterator[Any]:
    """:func:`isolated_app`, shown, chatting with ``generator`` (in this process), replies cut at
    ``max_new_tokens``."""
    with isolated_app(tmp_path) as app:
        app.show()
        app.window.set_local_generator(generator)
        app.window.change_setting("max_new_tokens", max_new_tokens)
        yield app


def convert_tiny(checkpoint: Path, out_dir: Path, outtype: str = "f16") -> Path:
    from exaone_convert.convert import convert_checkpoint

    return Path(convert_checkpoint(checkpoint, out_dir / f"tiny-{checkpoint.name}-{outtype}.gguf", outtype))


class Recording:
    """Passes through to the real generator and records what the engine received."""

    def __init__(self, real: Any) -> None:
        self.real = real
        self.calls: list[tuple[Any, Any]] = []

    def __getattr__(self, name: str) -> Any:
        return getattr(self.real, name)

    @property
    def capabilities(self) -> Capabilities:
        return self.real.capabilities.without_keywords()  # generate below takes none of them

    def generate(self, prompt: Any, settings: Any, *, on_event: Any = None,
                 cancel: threading.Event | None = None) -> GenerationResult:
        self.calls.append((prompt, settings))
        return self.real.generate(prompt, settings, on_event=on_event, cancel=cancel)


class Slowed(Recording):
    """The real generator with a pause after each streamed piece (for Stop and kill -9 tests)."""

    def __init__(self, real: Any, delay: float = 0.05) -> None:
        super().__init__(real)
        self.delay = delay

    def generate(self, prompt: Any, settings: Any, *, on_event: Any = None,
                 cancel: threading.Event | None = None) -> GenerationResult:
        def slow(event: StreamEvent) -> None:
            if on_event is not None:
                on_event(event)
            time.sleep(self.delay)

        return super().generate(prompt, settings, on_event=slow, cancel=cancel)
