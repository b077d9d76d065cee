"""Images for the local generator: a vision projector (mmproj GGUF) run by llama.cpp's mtmd library.

The projector is found beside the model (``mmproj-*.gguf`` that fits it) or named. A prompt marks each
image's place with ``IMAGE_MARKER``; mtmd tokenizes the text around it, encodes each image into
embeddings and evaluates everything into the model's KV cache, after which the generator samples as
for text. Every failure is one line naming the fix.
"""

from __future__ import annotations

import ctypes
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import llama_cpp
import numpy as np
from llama_cpp import mtmd_cpp as mtmd

from ..chat.image_parts import FIX_IMAGE, MAX_IMAGE_BYTES, check_image_size, image_format, read_image
from ..types import GenerationError, Prompt
from . import logs as llama_logs
from .gguf_check import ModelInfo

if TYPE_CHECKING:
    import threading
    from collections.abc import Callable

    from .kv_cache import KVCache

IMAGE_MARKER = mtmd.mtmd_default_marker().decode()


@dataclass(frozen=True)
class Image:
    """One image's pixels (height x width x RGB, uint8) and where it came from (for messages)."""

    pixels: np.ndarray
    source: str


def load_image(source: str | Path | bytes) -> Image:
    """Read and decode a PNG, JPEG or WebP (a path or the file's bytes) into RGB pixels."""
    name = "the image" if isinstance(source, bytes) else str(source)
    data = source if isinstance(source, bytes) else read_image(source)
    if len(data) > MAX_IMAGE_BYTES:
        raise GenerationError(f"{name} is larger than {MAX_IMAGE_BYTES // (1024 * 1024)} MB; use a smaller image")
    if image_format(data) is None:
        raise GenerationError(f"{name} is not a PNG, JPEG or WebP image; {FIX_IMAGE}")
    check_image_size(data, name)  # the declared size, before decoding: then decoding needs at most 4 bytes a pixel
    try:
        import io

        from PIL import Image as PILImage

        with PILImage.open(io.BytesIO(data)) as img:
            pixels = np.asarray(img.convert("RGB"), dtype=np.uint8)
    except ImportError:
        raise GenerationError("decoding images needs Pillow; install it (pip install pillow)") from None
    except Exception:  # Pillow raises many types for broken files
        raise GenerationError(f"{name} could not be decoded (broken or truncated); {FIX_IMAGE}") from None
    if pixels.ndim != 3 or min(pixels.shape[:2]) < 1:
        raise GenerationError(f"{name} has no pixels; {FIX_IMAGE}")
    return Image(np.ascontiguousarray(pixels), name)


def find_mmproj(model: ModelInfo) -> Path | None:
    """The vision projector beside the model that fits it (``mmproj-*.gguf``), or None."""
    from exaone_convert import ConversionError, inspect_mmproj

    for candidate in sorted(model.path.parent.glob("mmproj*.gguf")):
        try:
            inspect_mmproj(candidate, model)
        except ConversionError:
            continue
        return candidate
    return None


def projector_path(model: ModelInfo, mmproj: str | Path | None = None) -> Path:
    """The vision projector to load: ``mmproj``, else the one beside the model; GenerationError when none."""
    path = Path(mmproj).expanduser() if mmproj is not None else find_mmproj(model)
    if path is None:
        raise GenerationError(f"{model.path.name} has no vision projector: it cannot read images (put its "
                              "mmproj-*.gguf beside it, or use a model that reads images, such as EXAONE 4.5)")
    return path


class VisionEncoder:
    """An mmproj loaded by mtmd for one llama.cpp model; ``evaluate`` fills the model's KV cache."""

    def __init__(self, model: ModelInfo, llama_model: llama_cpp.llama_model_p, mmproj: str | Path | None = None,
                 *, n_threads: int | None = None, verbose: bool = False) -> None:
        from exaone_convert import ConversionError, inspect_mmproj

        path = projector_path(model, mmproj)
        try:
            inspect_mmproj(path, model)
        except ConversionError as err:
            raise GenerationError(str(err)) from None
        params = mtmd.mtmd_context_params_default()
        params.use_gpu = bool(llama_cpp.llama_supports_gpu_offload())
        params.warmup = False
        if n_threads:
            params.n_threads = n_threads
        self.n_threads = int(params.n_threads)
        self.path = path
        self.image_token_id = -1 if model.image_token_id is None else model.image_token_id
        llama_logs.install_mtmd(verbose)  # mtmd's own default prints every line of the encoder's work
        self._ctx = mtmd.mtmd_init_from_file(str(path).encode(), llama_model, params)
        if not self._ctx:
            raise GenerationError(f"llama.cpp could not load the vision projector {path.name}; "
                                  "convert the model again with exaone-convert")

    def close(self) -> None:
        ctx, self._ctx = self._ctx, None
        if ctx:
            mtmd.mtmd_free(ctx)

    def evaluate(self, lctx: llama_cpp.llama_context_p, prompt: str, images: Sequence[Image], n_batch: int, *,
                 add_special: bool = False, seq_id: int = 0) -> tuple[list[int], int]:
        """Evaluate ``prompt`` (one ``IMAGE_MARKER`` per image) from position 0 of sequence ``seq_id``.

        Returns (the prompt's token ids, each image position as ``self.image_token_id`` the way transformers
        sees it; the number of positions now in the cache)."""
        if not self._ctx:
            raise GenerationError("the vision projector was closed; load the model again")
        if prompt.count(IMAGE_MARKER) != len(images):
            raise GenerationError(f"the prompt marks {prompt.count(IMAGE_MARKER)} image places for {len(images)} "
                                  "images; give one image per place")
        bitmaps = [mtmd.mtmd_bitmap_init(img.pixels.shape[1], img.pixels.shape[0],
                                         (ctypes.c_uint8 * img.pixels.size).from_buffer_copy(img.pixels.tobytes()))
                   for img in images]
        raw = prompt.encode("utf-8")
        text = mtmd.mtmd_input_text()
        text.text, text.text_len, text.add_special, text.parse_special = raw, len(raw), add_special, True
        chunks = mtmd.mtmd_input_chunks_init()
        try:
            array = (mtmd.mtmd_bitmap_p_ctypes * max(1, len(bitmaps)))(*bitmaps)
            if mtmd.mtmd_tokenize(self._ctx, chunks, ctypes.byref(text), array, len(bitmaps)) != 0:
                raise GenerationError("the images could not be prepared for the model (mtmd_tokenize failed); "
                                      f"{FIX_IMAGE}")
            ids = _chunk_ids(chunks, self.image_token_id)
            n_past = llama_cpp.llama_pos(0)
            if mtmd.mtmd_helper_eval_chunks(self._ctx, lctx, chunks, 0, seq_id, n_batch, True, ctypes.byref(n_past)):
                raise GenerationError("llama.cpp failed to evaluate the prompt with its images; try a smaller image "
                                      "or a larger context")
            return ids, int(n_past.value)
        finally:
            mtmd.mtmd_input_chunks_free(chunks)
            for bitmap in bitmaps:
                mtmd.mtmd_bitmap_free(bitmap)


    def evaluate_into(self, kv: KVCache, lctx: llama_cpp.llama_context_p, prompt: str, images: Sequence[Image],
                      n_batch: int, cancel: threading.Event | None, *, add_special: bool
                      ) -> tuple[list[int], np.ndarray | None]:
        """Evaluate an image prompt into a generator's KV cache (which keeps its live conversation aside: image
        positions are never reused); (the prompt's ids, a copy of the last logits). Stop (``cancel``) ends the
        text batches between and around the images: ([], None) then."""
        kv.switch_to(None)
        kv.clear()
        try:
            with kv.stoppable(cancel):
                ids, _ = self.evaluate(lctx, prompt, images, n_batch, add_special=add_special)
        except GenerationError:
            kv.clear()
            if cancel is None or not cancel.is_set():
                raise
            return [], None
        return ids, np.ctypeslib.as_array(llama_cpp.llama_get_logits_ith(lctx, -1), shape=(kv.n_vocab,)).copy()


def image_prompt(model: ModelInfo, prompt: Prompt, images: Sequence[str | Path | bytes],
                 render: Callable[[list[dict[str, object]]], str]) -> tuple[str, list[Image]]:
    """(the prompt text with one ``IMAGE_MARKER`` per image, the images read): chat messages are rendered
    (``render``: the model's chat template) with their images as the template's own image parts and the marker put
    where the template placed each image; images given beside chat messages go at the start of the last user turn,
    a plain prompt without markers gets them first."""
    sources: list[str | Path | bytes] = list(images)
    if isinstance(prompt, str):
        text = prompt if IMAGE_MARKER in prompt else IMAGE_MARKER * len(sources) + prompt
    else:
        messages, in_parts = template_image_parts([dict(m) for m in prompt])
        sources = [*in_parts, *sources]
        if images:  # images given beside chat messages go at the start of the last user turn
            last = max((i for i, m in enumerate(messages) if m.get("role") == "user"), default=None)
            if last is None:
                raise GenerationError("images need a user message to go with; add one")
            content = messages[last].get("content", "")
            parts = list(content) if isinstance(content, list) else [{"type": "text", "text": str(content)}]
            messages[last]["content"] = [{"type": "image"} for _ in images] + parts
        text = place_image_markers(render(messages), image_placeholders(model), len(sources))
    return text, [load_image(s) for s in sources]


def _chunk_ids(chunks: mtmd.mtmd_input_chunks_p, image_token_id: int) -> list[int]:
    ids: list[int] = []
    for i in range(mtmd.mtmd_input_chunks_size(chunks)):
        chunk = mtmd.mtmd_input_chunks_get(chunks, i)
        if mtmd.mtmd_input_chunk_get_type(chunk) == mtmd.MTMD_INPUT_CHUNK_TYPE_TEXT:
            n = ctypes.c_size_t()
            tokens = mtmd.mtmd_input_chunk_get_tokens_text(chunk, ctypes.byref(n))
            ids += [int(tokens[j]) for j in range(n.value)]
        else:
            ids += [image_token_id] * int(mtmd.mtmd_input_chunk_get_n_pos(chunk))
    return ids


def template_image_parts(messages: Sequence[dict[str, object]]
                         ) -> tuple[list[dict[str, object]], list[str | bytes]]:
    """OpenAI-style content parts -> the parts chat templates read (transformers' form): each ``image_url`` part
    becomes ``{"type": "image"}`` where it was, text parts stay (a message of text parts only becomes its text);
    and the images in order (``image_url.url``: a ``data:image/...;base64,`` URL or a file path)."""
    import base64

    out: list[dict[str, object]] = []
    images: list[str | bytes] = []
    for message in messages:
        content = message.get("content")
        if not isinstance(content, list):
            out.append(dict(message))
            continue
        parts: list[dict[str, object]] = []
        for part in content:
            kind = part.get("type") if isinstance(part, dict) else None
            if kind == "text":
                parts.append({"type": "text", "text": str(part.get("text", ""))})
            elif kind == "image_url":
                url = part.get("image_url")
                url = url.get("url") if isinstance(url, dict) else url
                if not isinstance(url, str) or not url:
                    raise GenerationError("an image_url part has no url; give a data: URL or a file path")
                if url.startswith("data:"):
                    try:
                        images.append(base64.b64decode(url.split(",", 1)[1], validate=True))
                    except (IndexError, ValueError):
                        raise GenerationError("an image data: URL is not valid base64; "
                                              "encode the image again") from None
                elif url.startswith(("http://", "https://")):
                    raise GenerationError("the local model takes images as files or data: URLs, not web links; "
                                          "download the image first")
                else:
                    images.append(url.removeprefix("file://"))
                parts.append({"type": "image"})
            else:
                raise GenerationError(f"unknown content part type {kind!r}; use 'text' or 'image_url'")
        if all(p["type"] == "text" for p in parts):
            out.append({**message, "content": "".join(str(p["text"]) for p in parts)})
        else:
            out.append({**message, "content": parts})
    return out, images


def image_placeholders(model: ModelInfo) -> tuple[str, ...]:
    """What a chat template renders for one image, to be replaced by mtmd's marker: the model family's, else
    every family's that has one (the family table's ``image_placeholder``)."""
    from exaone_convert import families

    own = families.family_by_key(model.family)
    if own is not None and own.image_placeholder:
        return (own.image_placeholder,)
    return tuple(dict.fromkeys(f.image_placeholder for f in families.FAMILIES if f.image_placeholder))


def place_image_markers(text: str, placeholders: Sequence[str], n_images: int) -> str:
    """A prompt rendered with ``{"type": "image"}`` parts, with ``IMAGE_MARKER`` where the template put each image:
    mtmd adds the projector's own begin and end tokens around the image (``<vision>``/``</vision>`` for EXAONE 4.5),
    so the marker replaces the template's whole placeholder and the text around it stays as the template wrote it."""
    for placeholder in placeholders:
        if text.count(placeholder) == n_images:
            return text.replace(placeholder, IMAGE_MARKER)
    found = max((text.count(p) for p in placeholders), default=0)
    raise GenerationError(f"the model's chat template placed {found} images for the {n_images} given; use the chat "
                          "template the model was released with (convert it again with its chat_template.jinja)")


def has_image_parts(prompt: Any) -> bool:
    """Whether chat messages carry OpenAI-style ``image_url`` content parts."""
    return not isinstance(prompt, str) and any(
        isinstance(m.get("content"), list) and any(isinstance(p, dict) and p.get("type") == "image_url"
                                                   for p in m["content"])
        for m in prompt
    )
