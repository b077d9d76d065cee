"""Fitting a long chat into the context: drop the oldest turns, never the system prompt or the last question.

A chat is cut only at the start of a user message, so the kept part still begins with the user
(after the system messages). ``fit_history`` picks how many leading messages to drop with as few
token counts as it can: it tries the caller's previous choice first (so the kept prompt, and with it
the KV cache, stays the same from turn to turn), then binary-searches the cut points.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable, Mapping, Sequence
from typing import Any

# When a chat has to be cut, cut it to this share of the room, so that the next turns fit without
# another cut (each cut changes the prompt's start and costs a full prompt evaluation).
REFILL_SHARE = 0.75
REMEMBERED_CUTS = 256  # conversations whose cut ``HistoryCuts`` remembers

Messages = Sequence[Mapping[str, Any]]


def cut_points(messages: Messages) -> list[int]:
    """Numbers of messages that can be dropped, ascending: 0, then each cut before a later user message."""
    start = 0
    while start < len(messages) and messages[start].get("role") == "system":
        start += 1
    users = [i for i in range(start, len(messages)) if messages[i].get("role") == "user"]
    if not users:
        return [0]
    last = users[-1]
    return [0] + [i - start for i in users if start < i <= last]


def drop_oldest(messages: Messages, dropped: int) -> list[Mapping[str, Any]]:
    """``messages`` without the ``dropped`` messages that follow the leading system messages."""
    start = 0
    while start < len(messages) and messages[start].get("role") == "system":
        start += 1
    return [*messages[:start], *messages[start + dropped:]]


def fit_history(messages: Messages, length: Callable[[list[Mapping[str, Any]]], int], room: int,
                previous: int | None = None, refill_share: float = REFILL_SHARE) -> int:
    """How many messages to drop so that ``length(kept) <= room``; the largest cut if none fits.

    ``previous`` (the count used for the last request of the same chat) is kept while it still fits
    and is still a cut point; otherwise, when a cut is needed at all, the chat is cut to
    ``refill_share`` of ``room`` when that is possible (1.0: drop the fewest messages that make it fit).
    """
    cuts = cut_points(messages)

    def fits(dropped: int, limit: float) -> bool:
        return length(drop_oldest(messages, dropped)) <= limit

    def smallest(limit: float) -> int | None:
        lo, hi = 0, len(cuts) - 1
        if not fits(cuts[hi], limit):
            return None
        while lo < hi:
            mid = (lo + hi) // 2
            if fits(cuts[mid], limit):
                hi = mid
            else:
                lo = mid + 1
        return cuts[lo]

    if fits(0, room):
        return 0
    if previous is not None and previous in cuts and previous > 0 and fits(previous, room):
        return previous
    for limit in (room * refill_share, room):
        found = smallest(limit)
        if found is not None:
            return found
    return cuts[-1]


class HistoryCuts:
    """Where each chat that goes on was last cut, for the ``size`` most recent chats: ``fit`` tries that cut
    first, so the kept prompt (and with it the KV cache) stays the same from turn to turn."""

    def __init__(self, size: int = REMEMBERED_CUTS) -> None:
        self._cuts: OrderedDict[str, int] = OrderedDict()
        self._size = size

    def fit(self, messages: Messages, length: Callable[[list[Mapping[str, Any]]], int], room: int,
            conversation: str | None) -> int:
        """How many leading messages to drop (``fit_history``): a one-off request (``conversation`` None: the CLI,
        the API) drops the fewest that make it fit; a chat that goes on keeps its cut while it fits and is cut
        with room to spare."""
        if conversation is None:
            return fit_history(messages, length, room, refill_share=1.0)
        dropped = fit_history(messages, length, room, self._cuts.get(conversation))
        self._cuts[conversation] = dropped
        self._cuts.move_to_end(conversation)
        while len(self._cuts) > self._size:
            self._cuts.popitem(last=False)
        return dropped
