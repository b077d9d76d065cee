"""Where the cloud engine connects: its default model and endpoint, and the base URL in effect.

Kept apart from ``cloud.py`` so the app can name the endpoint (consent dialog, routing policy) without
importing the ``openai`` client at start-up.
"""

from __future__ import annotations

import os
from urllib.parse import urlsplit

from ..types import GenerationError

# A current non-reasoning "mini" model: accepts temperature/top_p/seed/penalties, cheap and fast.
# (The gpt-5 family are reasoning models that refuse the sampling parameters this app maps.)
DEFAULT_MODEL = "gpt-4.1-mini"
DEFAULT_BASE_URL = "https://api.openai.com/v1"
BASE_URL_ENV = "OPENAI_BASE_URL"


def safe_url(url: str) -> str:
    """``url`` without any user:password part, for messages and reprs."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    netloc = host + (f":{parts.port}" if parts.port else "")
    return parts._replace(netloc=netloc).geturl()


def resolve_base_url(base_url: str | None = None) -> str:
    """The argument (the user's setting), else ``OPENAI_BASE_URL``, else OpenAI's own endpoint."""
    url = (base_url or os.environ.get(BASE_URL_ENV, "")).strip() or DEFAULT_BASE_URL
    if urlsplit(url).scheme not in ("http", "https") or not urlsplit(url).hostname:
        raise GenerationError(f"the cloud base URL {safe_url(url)!r} is not an http(s) URL: "
                              f"fix it in Settings > Cloud or {BASE_URL_ENV}")
    return url


def host_of(base_url: str | None = None) -> str:
    """The host name requests go to (shown before the user consents); a bad URL is shown as it is."""
    try:
        url = resolve_base_url(base_url)
    except GenerationError:
        return (base_url or "").strip()
    return urlsplit(url).hostname or url
