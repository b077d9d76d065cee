"""Images as OpenAI-style chat content parts, shared by the engines (imports nothing heavy).

A message's ``content`` may be a list of parts: ``{"type": "text", "text": ...}`` and
``{"type": "image_url", "image_url": {"url": ...}}`` where the url is a ``data:image/...;base64,`` URL, a
web link (cloud only) or a local file path (``file://`` allowed). ``with_images`` adds image files to a
prompt as such parts; ``for_api`` makes messages ready for an OpenAI-compatible API: text and web/data
URLs pass as they are, file paths become data: URLs. Every failure is one line naming the fix.
"""

from __future__ import annotations

import base64
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..files import read_user_file
from ..types import GenerationError, Prompt
from .content import with_parts

MAX_IMAGE_BYTES = 20 * 1024 * 1024
# Largest image decoded, in pixels (a 50 MP photo; 200 MB as RGBA). A file declares its size in its header,
# so a small file can declare billions of pixels: the size is read before any decoding.
MAX_IMAGE_PIXELS = 50_000_000
FIX_IMAGE = "attach a PNG, JPEG or WebP image"


@dataclass(frozen=True)
class ImageFormat:
    name: str
    mime: str
    magic: bytes  # the file's leading bytes
    at: int = 0  # where ``magic`` starts
    also: bytes = b""  # leading bytes that must also be there (WebP's RIFF container)


FORMATS: tuple[ImageFormat, ...] = (
    ImageFormat("PNG", "image/png", b"\x89PNG\r\n\x1a\n"),
    ImageFormat("JPEG", "image/jpeg", b"\xff\xd8\xff"),
    ImageFormat("WebP", "image/webp", b"WEBP", at=8, also=b"RIFF"),
)


def sniff(data: bytes) -> ImageFormat | None:
    """The format of an image's bytes, from its leading bytes; None when it is none of ``FORMATS``."""
    for f in FORMATS:
        if data[f.at: f.at + len(f.magic)] == f.magic and data.startswith(f.also):
            return f
    return None


def image_format(data: bytes) -> str | None:
    """"PNG", "JPEG", "WebP" or None."""
    found = sniff(data)
    return None if found is None else found.name


def check_image_size(data: bytes, name: str = "the image") -> tuple[int, int] | None:
    """The (width, height) an image's header declares, or None when Pillow cannot read the header (decoding
    will say so). GenerationError (one line) when it declares more than ``MAX_IMAGE_PIXELS``: nothing is decoded,
    Pillow only reads the header, and its own decompression-bomb warning and error become the same line."""
    import io
    import warnings

    from PIL import Image as PILImage

    def too_large(pixels: int) -> GenerationError:
        return GenerationError(f"{name} declares {pixels} pixels, more than the {MAX_IMAGE_PIXELS // 1_000_000} "
                               "megapixels images are limited to; use a smaller image")

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", PILImage.DecompressionBombWarning)
            with PILImage.open(io.BytesIO(data)) as img:  # lazy: reads the header only
                width, height = img.size
    except (PILImage.DecompressionBombWarning, PILImage.DecompressionBombError) as err:
        found = re.search(r"\((\d+) pixels\)", str(err))  # Pillow's own check, over a larger limit than ours
        raise too_large(int(found.group(1)) if found else MAX_IMAGE_PIXELS + 1) from None
    except Exception:  # Pillow raises many types for files it cannot read; decoding reports those
        return None
    if width * height > MAX_IMAGE_PIXELS:
        raise too_large(width * height)
    return width, height


def read_image(path: str | Path) -> bytes:
    """An image file's bytes, checked: it exists, is at most ``MAX_IMAGE_BYTES`` and is a PNG, JPEG or WebP."""
    p = Path(str(path).removeprefix("file://")).expanduser()

    def check_size(size: int) -> None:
        if size > MAX_IMAGE_BYTES:
            raise GenerationError(f"{p} is {size / 1e6:.0f} MB; images are limited to "
                                  f"{MAX_IMAGE_BYTES // (1024 * 1024)} MB, use a smaller one")

    data = read_user_file(p, what="image", check_size=check_size, folder_fix=FIX_IMAGE)
    if sniff(data) is None:
        raise GenerationError(f"{p} is not a PNG, JPEG or WebP image; {FIX_IMAGE}")
    check_image_size(data, str(p))
    return data


def data_url(source: str | Path | bytes) -> str:
    """A ``data:image/...;base64,`` URL for an image file or its bytes."""
    data = read_image(source) if not isinstance(source, bytes) else source
    found = sniff(data)
    if found is None:
        raise GenerationError(f"the image is not a PNG, JPEG or WebP image; {FIX_IMAGE}")
    if len(data) > MAX_IMAGE_BYTES:
        raise GenerationError(f"the image is larger than {MAX_IMAGE_BYTES // (1024 * 1024)} MB; use a smaller one")
    return f"data:{found.mime};base64,{base64.b64encode(data).decode('ascii')}"


def image_part(url: str) -> dict[str, Any]:
    return {"type": "image_url", "image_url": {"url": url}}


def has_image_parts(prompt: Prompt) -> bool:
    return not isinstance(prompt, str) and any(
        isinstance(m.get("content"), list)
        and any(isinstance(p, dict) and p.get("type") == "image_url" for p in m["content"]) for m in prompt)


def with_images(prompt: Prompt, images: Sequence[str | Path]) -> list[dict[str, Any]]:
    """``prompt`` as chat messages with ``images`` (file paths) as ``image_url`` parts at the start of the last
    user message (a plain string becomes one user message)."""
    return with_parts(prompt, images, lambda p: image_part(str(p)),
                      GenerationError("images need a user message to go with; add one"))


def _api_part(part: Any) -> dict[str, Any]:
    kind = part.get("type") if isinstance(part, dict) else None
    if kind == "text":
        return {"type": "text", "text": str(part.get("text", ""))}
    if kind != "image_url":
        raise GenerationError(f"unknown content part type {kind!r}; use 'text' or 'image_url'")
    spec = part.get("image_url")
    url = spec.get("url") if isinstance(spec, dict) else spec
    if not isinstance(url, str) or not url:
        raise GenerationError("an image_url part has no url; give a data: URL, a web link or a file path")
    if url.startswith(("data:", "http://", "https://")):
        return dict(part) if isinstance(spec, dict) else image_part(url)
    extra = {k: v for k, v in spec.items() if k != "url"} if isinstance(spec, dict) else {}
    return {"type": "image_url", "image_url": {"url": data_url(url), **extra}}


def for_api(prompt: Prompt) -> list[dict[str, Any]]:
    """Chat messages for an OpenAI-compatible API: a plain string becomes one user message; content parts are
    kept, except that image file paths become data: URLs."""
    if isinstance(prompt, str):
        return [{"role": "user", "content": prompt}]
    out: list[dict[str, Any]] = []
    for m in prompt:
        content = m.get("content")
        out.append({"role": str(m["role"]),
                    "content": [_api_part(p) for p in content] if isinstance(content, list) else str(content)})
    return out
