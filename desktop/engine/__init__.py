"""The Qt-free engine: generation settings, sampling, local (llama.cpp) and cloud (OpenAI) generators.

The names below are the engine's public face for the app, the CLI, the Python API and the server. The
settings, their table and the shared types import nothing heavy; the generators, the router and the chat
renderer (llama.cpp, openai, jinja2) are loaded on first use.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from .lazy import by_module, lazy_face
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
from .settings_table import GENERATION_ROWS, LOAD_ROWS, ROWS, SETTINGS, Setting
from .types import (
    Backend,
    Capabilities,
    Completion,
    DamagedModel,
    FinishReason,
    GenerationError,
    GenerationResult,
    Generator,
    KeepsStates,
    Message,
    Prompt,
    StateCacheUsage,
    StreamCallback,
    StreamEvent,
)

if TYPE_CHECKING:
    from .chat.image_parts import FIX_IMAGE, MAX_IMAGE_BYTES, read_image, sniff
    from .chat.reasoning import history_for_model
    from .chat.templates import render_chat
    from .cloud.endpoint import host_of
    from .cloud.generator import (
        CloudError,
        CloudGenerator,
        cloud_generator_from_env,
        describe_not_applied,
        map_settings,
    )
    from .cloud.keys import KeyStoreError, delete_api_key, key_source, set_api_key
    from .cloud.routing import CloudPolicy, Engine, RouteOutcome, Router, may_reach_cloud
    from .documents import EXTENSIONS, DocumentError, extract_document, has_file_parts, resolve_for
    from .documents.extract import read_source
    from .llama.batch import BatchGenerator
    from .llama.context import kv_cache_bytes
    from .llama.gguf_check import ModelInfo, inspect_gguf
    from .llama.local import LocalGenerator
    from .llama.worker import WorkerGenerator

_LAZY: dict[str, str] = by_module({  # the modules of the TYPE_CHECKING imports, loaded on first use
    ".chat.image_parts": ("FIX_IMAGE", "MAX_IMAGE_BYTES", "read_image", "sniff"),
    ".chat.reasoning": ("history_for_model",),
    ".chat.templates": ("render_chat",),
    ".cloud.endpoint": ("host_of",),
    ".cloud.generator": ("CloudError", "CloudGenerator", "cloud_generator_from_env", "describe_not_applied",
                         "map_settings"),
    ".cloud.keys": ("KeyStoreError", "delete_api_key", "key_source", "set_api_key"),
    ".cloud.routing": ("CloudPolicy", "Engine", "RouteOutcome", "Router", "may_reach_cloud"),
    ".documents": ("EXTENSIONS", "DocumentError", "extract_document", "has_file_parts", "resolve_for"),
    ".documents.extract": ("read_source",),
    ".llama.batch": ("BatchGenerator",),
    ".llama.context": ("kv_cache_bytes",),
    ".llama.gguf_check": ("ModelInfo", "inspect_gguf"),
    ".llama.local": ("LocalGenerator",),
    ".llama.worker": ("WorkerGenerator",),
})

__all__ = [
    # settings
    "FIELD_NAMES", "GENERATION_ROWS", "LOAD_NAMES", "LOAD_ROWS", "ROWS", "SETTINGS", "GenerationSettings",
    "LoadSettings", "Setting", "SettingsError", "check_value", "model_defaults", "resolve_settings",
    # what every generator takes and returns
    "Backend", "Capabilities", "Completion", "DamagedModel", "FinishReason", "GenerationError", "GenerationResult",
    "Generator", "KeepsStates", "Message", "Prompt", "StateCacheUsage", "StreamCallback", "StreamEvent",
    # generators, routing, models, chat templates (loaded on first use)
    "BatchGenerator", "CloudError", "CloudGenerator", "CloudPolicy", "LocalGenerator", "ModelInfo", "RouteOutcome",
    "Router",
    "cloud_generator_from_env", "describe_not_applied", "inspect_gguf", "map_settings", "render_chat",
    # for the app: the llama.cpp worker process, documents, images, the API key, the chat history, the KV size
    "DocumentError", "EXTENSIONS", "Engine", "FIX_IMAGE", "KeyStoreError", "MAX_IMAGE_BYTES", "WorkerGenerator",
    "delete_api_key", "extract_document", "has_file_parts", "history_for_model", "host_of", "key_source",
    "kv_cache_bytes", "may_reach_cloud", "read_image", "read_source", "resolve_for", "set_api_key", "sniff",
]  # fmt: skip


__getattr__, __dir__ = lazy_face(__name__, _LAZY, __all__)
