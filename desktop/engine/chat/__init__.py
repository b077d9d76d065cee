"""The chat layer: messages rendered as the model's template, long chats fitted, text streamed as it decodes.

``templates`` renders chat templates like transformers' ``apply_chat_template``, in the bounded Jinja sandbox of
``sandbox``; ``reasoning`` splits ``<think>`` blocks from answers; ``history`` drops the oldest turns to fit a
context; ``textstream`` turns token bytes into whole characters with stop strings cut; ``image_parts`` reads
images as OpenAI-style content parts, and ``content`` puts attached files' parts in the last user message.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..lazy import by_module, lazy_face

if TYPE_CHECKING:
    from .history import drop_oldest, fit_history
    from .image_parts import check_image_size, read_image, sniff, with_images
    from .reasoning import reasoning_tags, split_reasoning
    from .templates import render_chat
    from .textstream import TextAssembler

_LAZY: dict[str, str] = by_module({  # the modules of the TYPE_CHECKING imports, loaded on first use
    ".history": ("drop_oldest", "fit_history"),
    ".image_parts": ("check_image_size", "read_image", "sniff", "with_images"),
    ".reasoning": ("reasoning_tags", "split_reasoning"),
    ".templates": ("render_chat",),
    ".textstream": ("TextAssembler",),
})

__all__ = [
    "TextAssembler", "check_image_size", "drop_oldest", "fit_history", "read_image", "reasoning_tags", "render_chat",
    "sniff", "split_reasoning", "with_images",
]

__getattr__, __dir__ = lazy_face(__name__, _LAZY, __all__)
