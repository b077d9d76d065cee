"""Reasoning in replies: the ``<think>``/``<thought>`` tag pairs of the family table, split from the answer as
text streams, and removed from the history a model is shown again.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Literal

from exaone_convert import families

Kind = Literal["reasoning", "answer"]
Tags = tuple[str, str]

THINK: Tags = families.THINK  # EXAONE 4.x, K-EXAONE
THOUGHT: Tags = families.THOUGHT  # EXAONE Deep
# Known reasoning tag pairs (from the family table), in the order a template is searched for them.
REASONING_TAGS: tuple[Tags, ...] = families.known_reasoning_tags()
# Used only when a model has no chat template at all: the architecture's family row.
ARCHITECTURE_TAGS: Mapping[str, Tags] = {
    arch: fam.reasoning_tags for arch in families.supported_gguf_architectures()
    if (fam := families.family_for_gguf_arch(arch)) is not None and fam.reasoning_tags is not None
}
# Names a message's reasoning may be passed under (transformers reads the same three).
REASONING_FIELDS: tuple[str, ...] = ("reasoning_content", "thinking", "reasoning")

def reasoning_tags(architecture: str, template: str | None) -> Tags | None:
    """The reasoning tag pair a model uses: the first known pair its template mentions (see REASONING_TAGS)."""
    if template is None:
        return ARCHITECTURE_TAGS.get(architecture)
    return next((tags for tags in REASONING_TAGS if tags[1] in template or tags[0] in template), None)


def prompt_opens_reasoning(prompt_text: str, tags: Tags | None) -> bool:
    """True when the rendered prompt ends inside an open reasoning block (e.g. ``...[|assistant|]<think>\\n``)."""
    return tags is not None and prompt_text.rstrip().endswith(tags[0])


def split_reasoning(text: str, tags: Tags | None, *, starts_inside: bool = False) -> tuple[str | None, str]:
    """Split a complete reply into (reasoning, answer); reasoning is None when the reply has none.

    With ``starts_inside`` the prompt already opened the block, so the reply starts with reasoning.
    Otherwise a reply that begins (after whitespace) with the open tag starts a block. Whitespace
    around the reasoning and before the answer is stripped, as the official templates strip it.
    """
    if tags is None:
        return None, text
    open_tag, close_tag = tags
    if not starts_inside:
        stripped = text.lstrip()
        if not stripped.startswith(open_tag):
            return None, text
        text = stripped[len(open_tag):]
    reasoning, found, answer = text.partition(close_tag)
    if not found:
        return reasoning.strip(), ""  # cut off while still reasoning
    return reasoning.strip(), answer.lstrip()


def _partial_suffix(text: str, tag: str) -> int:
    """Length of the longest end of ``text`` that is a proper start of ``tag``."""
    for n in range(min(len(tag) - 1, len(text)), 0, -1):
        if text.endswith(tag[:n]):
            return n
    return 0


class ReasoningSplitter:
    """Streaming ``split_reasoning``: feed text pieces, get (kind, text) pieces; never emits part of a tag.

    It holds back whitespace that may turn out to be the trailing whitespace of the reasoning, and
    any ending that may be the start of a tag, until later text decides.
    """

    def __init__(self, open_tag: str, close_tag: str, starts_inside: bool = False) -> None:
        self.open_tag, self.close_tag = open_tag, close_tag
        self._state = "reasoning_lead" if starts_inside else "start"
        self._pending = ""
        self.saw_reasoning = starts_inside

    def feed(self, text: str) -> list[tuple[Kind, str]]:
        self._pending += text
        out: list[tuple[Kind, str]] = []
        while self._step(out):
            pass
        return out

    def flush(self) -> list[tuple[Kind, str]]:
        """Emit what is held back at the end of the reply."""
        pending, self._pending = self._pending, ""
        if self._state == "start":
            return [("answer", pending)] if pending else []
        if self._state == "reasoning":
            tail = pending.rstrip()
            return [("reasoning", tail)] if tail else []
        return []

    def _step(self, out: list[tuple[Kind, str]]) -> bool:
        """Advance the state machine once; False when it must wait for more text."""
        handler = getattr(self, f"_on_{self._state}")
        return bool(handler(out))

    def _on_start(self, out: list[tuple[Kind, str]]) -> bool:
        head = self._pending.lstrip()
        if head.startswith(self.open_tag):
            self._pending, self._state, self.saw_reasoning = head[len(self.open_tag):], "reasoning_lead", True
            return True
        if not head or self.open_tag.startswith(head):
            return False  # could still become the open tag
        self._state = "answer"
        return True

    def _on_reasoning_lead(self, out: list[tuple[Kind, str]]) -> bool:
        return self._after_whitespace("reasoning")

    def _on_reasoning(self, out: list[tuple[Kind, str]]) -> bool:
        idx = self._pending.find(self.close_tag)
        if idx >= 0:
            body = self._pending[:idx].rstrip()
            if body:
                out.append(("reasoning", body))
            self._pending, self._state = self._pending[idx + len(self.close_tag):], "answer_lead"
            return True
        keep = _partial_suffix(self._pending, self.close_tag)
        ready = self._pending[: len(self._pending) - keep]
        body = ready.rstrip()
        if body:
            out.append(("reasoning", body))
        self._pending = self._pending[len(body):]
        return False

    def _on_answer_lead(self, out: list[tuple[Kind, str]]) -> bool:
        return self._after_whitespace("answer")

    def _after_whitespace(self, state: str) -> bool:
        """Drop the whitespace that leads a part; ``state`` follows once other text has come."""
        self._pending = self._pending.lstrip()
        if not self._pending:
            return False
        self._state = state
        return True

    def _on_answer(self, out: list[tuple[Kind, str]]) -> bool:
        if self._pending:
            out.append(("answer", self._pending))
            self._pending = ""
        return False


def strip_reasoning(content: str) -> str:
    """An assistant reply without its reasoning block(s): the text after the last known closing tag."""
    for _open_tag, close_tag in REASONING_TAGS:
        if close_tag in content:
            content = content.split(close_tag)[-1].strip()
    return content


def history_for_model(messages: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """Copies of ``messages`` with the reasoning removed from assistant turns (as the official templates do)."""
    out: list[dict[str, Any]] = []
    for m in messages:
        msg = dict(m)
        if msg.get("role") == "assistant":
            for name in REASONING_FIELDS:
                msg.pop(name, None)
            if isinstance(msg.get("content"), str):
                msg["content"] = strip_reasoning(msg["content"])
        out.append(msg)
    return out
