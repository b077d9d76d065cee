"""The optional OpenAI cloud side: its generator, its endpoint, the API key, and the fallback policy.

``generator`` is the ``CloudGenerator`` (the same ``Generator`` interface as the local one); ``endpoint`` names
where it connects without importing openai; ``keys`` keeps the API key in the OS keychain; ``routing`` decides
which engine answers (the cloud is off until switched on and consented to).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..lazy import by_module, lazy_face

if TYPE_CHECKING:
    from .endpoint import DEFAULT_MODEL, host_of
    from .generator import CloudError, CloudGenerator, cloud_generator_from_env, describe_not_applied, map_settings
    from .keys import KeyStoreError, delete_api_key, describe_key_source, get_api_key, set_api_key
    from .routing import CloudPolicy, RouteOutcome, Router

_LAZY: dict[str, str] = by_module({  # the modules of the TYPE_CHECKING imports, loaded on first use
    ".endpoint": ("DEFAULT_MODEL", "host_of"),
    ".generator": ("CloudError", "CloudGenerator", "cloud_generator_from_env", "describe_not_applied", "map_settings"),
    ".keys": ("KeyStoreError", "delete_api_key", "describe_key_source", "get_api_key", "set_api_key"),
    ".routing": ("CloudPolicy", "RouteOutcome", "Router"),
})

__all__ = [
    "CloudError", "CloudGenerator", "CloudPolicy", "DEFAULT_MODEL", "KeyStoreError", "RouteOutcome", "Router",
    "cloud_generator_from_env", "delete_api_key", "describe_key_source", "describe_not_applied", "get_api_key",
    "host_of", "map_settings", "set_api_key",
]

__getattr__, __dir__ = lazy_face(__name__, _LAZY, __all__)
