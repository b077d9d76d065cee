"""How the app reaches the Hugging Face Hub, without Qt: a mirror (``HF_ENDPOINT``), a proxy (``HTTPS_PROXY``)
and short time limits, and what a failed request means for the person at the keyboard.

``apply`` sets them for this process before the Hub client is first used (its settings are read when it is
imported) and, when it is already loaded, on the loaded client as well. ``problem_kind`` sorts a failure's
one line (from ``exaone_convert``'s Hub code) into a few kinds the UI words in its own language.
"""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass

__all__ = ["CONNECT_TIMEOUT_S", "HubUnreachableError", "NetworkSettings", "apply", "probe", "problem_kind"]

CONNECT_TIMEOUT_S = 5  # the Hub client's time limits (seconds): offline is said within seconds, not minutes
DEFAULT_ENDPOINT = "https://huggingface.co"


@dataclass(frozen=True)
class NetworkSettings:
    endpoint: str = ""  # a Hub mirror ("": huggingface.co, or HF_ENDPOINT from the environment)
    proxy: str = ""  # an HTTPS proxy ("": none, or HTTPS_PROXY from the environment)

    def problem(self) -> str | None:
        """One line naming the fix when a value cannot work; None when both can."""
        for name, value in (("mirror", self.endpoint), ("proxy", self.proxy)):
            if value and not value.startswith(("http://", "https://")):
                return f"the {name} address must start with http:// or https:// (got {value!r})"
        return None


# The environment's own values of the variables ``apply`` sets, from before it first set them (None: unset).
_ENVIRONMENT_BEFORE: dict[str, str | None] = {}


def _set_environment(name: str, value: str) -> None:
    """Set ``name`` to ``value``; an empty value gives back what the environment had before the app set it."""
    env = os.environ
    before = _ENVIRONMENT_BEFORE.setdefault(name, env.get(name))
    if value:
        env[name] = value
    elif before is None:
        env.pop(name, None)
    else:
        env[name] = before


def apply(settings: NetworkSettings) -> None:
    """Use ``settings`` for every later Hub request of this process (a value left empty: the environment's own,
    also after another value was set and then cleared)."""
    env = os.environ
    env.setdefault("HF_HUB_ETAG_TIMEOUT", str(CONNECT_TIMEOUT_S))
    env.setdefault("HF_HUB_DOWNLOAD_TIMEOUT", str(CONNECT_TIMEOUT_S))
    _set_environment("HF_ENDPOINT", settings.endpoint.rstrip("/"))
    for name in ("HTTPS_PROXY", "https_proxy"):
        _set_environment(name, settings.proxy)
    constants = sys.modules.get("huggingface_hub.constants")
    if constants is not None:  # already imported: it read the environment then; tell it now
        endpoint = (settings.endpoint or env.get("HF_ENDPOINT") or DEFAULT_ENDPOINT).rstrip("/")
        values = {"ENDPOINT": endpoint,
                  "HUGGINGFACE_CO_URL_TEMPLATE": endpoint + "/{repo_id}/resolve/{revision}/{filename}",
                  "HF_HUB_ETAG_TIMEOUT": min(int(getattr(constants, "HF_HUB_ETAG_TIMEOUT", CONNECT_TIMEOUT_S)),
                                             CONNECT_TIMEOUT_S),
                  "HF_HUB_DOWNLOAD_TIMEOUT": min(int(getattr(constants, "HF_HUB_DOWNLOAD_TIMEOUT",
                                                             CONNECT_TIMEOUT_S)), CONNECT_TIMEOUT_S)}
        for name, value in values.items():
            setattr(constants, name, value)
        hub = sys.modules.get("huggingface_hub")
        close = getattr(hub, "close_session", None)
        if callable(close):
            close()  # the next request opens a client that reads the proxy again


class HubUnreachableError(OSError):
    """The Hub (or the mirror, or the proxy in front of it) did not answer within ``CONNECT_TIMEOUT_S``."""


def probe(endpoint: str | None = None, timeout: float = CONNECT_TIMEOUT_S) -> None:
    """Ask the Hub (``endpoint``, else ``HF_ENDPOINT``, else huggingface.co) for anything, through the proxy the
    environment names, and wait at most ``timeout`` seconds: HubUnreachableError when nothing answers. Any
    HTTP answer, an error status included, means the Hub is there. The Hub client itself retries a dead
    connection for half a minute before it gives up; this says it in seconds."""
    import urllib.error
    import urllib.request

    url = (endpoint or os.environ.get("HF_ENDPOINT") or DEFAULT_ENDPOINT).rstrip("/") + "/api/models?limit=1"
    try:
        with urllib.request.urlopen(urllib.request.Request(url, method="HEAD"), timeout=timeout):
            return
    except urllib.error.HTTPError:
        return  # it answered
    except (urllib.error.URLError, OSError, ValueError) as err:
        reason = getattr(err, "reason", err)
        raise HubUnreachableError(f"cannot reach the Hub at {url.split('/api/')[0]} ({reason}); check the "
                                  "connection, or set a proxy (HTTPS_PROXY) or a mirror (HF_ENDPOINT)") from None


def problem_kind(message: str) -> str:
    """``offline`` (the Hub cannot be reached), ``gated`` (a licence to accept or a token), ``missing`` (no such
    repository or file), ``disk`` (no room), else ``other``."""
    text = message.lower()
    if any(k in text for k in ("cannot reach", "connection", "connect", "timed out", "timeout", "offline",
                               "name resolution", "proxy")):
        return "offline"
    if any(k in text for k in ("gated", "401", "403", "token", "accept")):
        return "gated"
    if "not found" in text or "404" in text:
        return "missing"
    if any(k in text for k in ("disk", "space", "no room")):
        return "disk"
    return "other"
