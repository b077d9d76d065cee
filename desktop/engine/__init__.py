"""The Qt-free engine: generation settings, sampling, local (llama.cpp) and cloud (OpenAI) generators.

The names below are the engine's public face for the app, the CLI, the Python API and the server. The
settings, their table and the shared types import nothing heavy; the generators, the router and the chat
renderer (llama.cpp, openai, jinja2) are loaded on first use.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from .settings import (
    FIELD_NAMES,
    LOAD_NAMES,
    GenerationSettings,
    LoadSettings,
    SettingsError,
    check_value,
    model_defaults,
    resolve_settings,
)
from .settings_table import GENERATION_ROWS, LOAD_ROWS, SETTINGS, Setting
from .types import (
    Backend,
    Capabilities,
    Completion,
    DamagedModel,
    FinishReason,
    GenerationError,
    GenerationResult,
    Generator,
    Message,
    Prompt,
    StreamCallback,
    StreamEvent,
)

if TYPE_CHECKING:
    from .chat.templates import render_chat
    from .cloud.generator import (
        CloudError,
        CloudGenerator,
        cloud_generator_from_env,
        describe_not_applied,
        map_settings,
    )
    from .cloud.routing import CloudPolicy, RouteOutcome, Router
    from .llama.batch import BatchGenerator
    from .llama.gguf_check import ModelInfo, inspect_gguf
    from .llama.local import LocalGenerator

# Public name -> module that defines it, imported on first access.
_LAZY: dict[str, str] = {
    "LocalGenerator": ".llama.local",
    "BatchGenerator": ".llama.batch",
    "CloudGenerator": ".cloud.generator",
    "CloudError": ".cloud.generator",
    "cloud_generator_from_env": ".cloud.generator",
    "describe_not_applied": ".cloud.generator",
    "map_settings": ".cloud.generator",
    "CloudPolicy": ".cloud.routing",
    "RouteOutcome": ".cloud.routing",
    "Router": ".cloud.routing",
    "ModelInfo": ".llama.gguf_check",
    "inspect_gguf": ".llama.gguf_check",
    "render_chat": ".chat.templates",
}

__all__ = [
    # settings
    "FIELD_NAMES", "GENERATION_ROWS", "LOAD_NAMES", "LOAD_ROWS", "SETTINGS", "GenerationSettings", "LoadSettings",
    "Setting", "SettingsError", "check_value", "model_defaults", "resolve_settings",
    # what every generator takes and returns
    "Backend", "Capabilities", "Completion", "DamagedModel", "FinishReason", "GenerationError", "GenerationResult",
    "Generator", "Message", "Prompt", "StreamCallback", "StreamEvent",
    # generators, routing, models, chat templates (loaded on first use)
    "BatchGenerator", "CloudError", "CloudGenerator", "CloudPolicy", "LocalGenerator", "ModelInfo", "RouteOutcome",
    "Router",
    "cloud_generator_from_env", "describe_not_applied", "inspect_gguf", "map_settings", "render_chat",
]  # fmt: skip


def __getattr__(name: str) -> Any:
    try:
        module = _LAZY[name]
    except KeyError:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}") from None
    value = getattr(importlib.import_module(module, __name__), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
