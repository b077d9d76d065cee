"""The message being written and the edit of an earlier one, kept with the app's state (not in a widget), so
a window rebuilt for another language shows the same draft.

Editing a message puts the draft aside (its text and its attachments) and brings it back when the edit is
sent or cancelled: nothing typed is lost. The composer shows ``Drafting.draft`` and writes what the user
types into it; another kind of attachment joins the draft by adding itself to ``Draft``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass
class Draft:
    """A message not sent yet: its text, its images (PNG/JPEG/WebP bytes) and its documents
    (``controller.AttachedDocument``)."""

    text: str = ""
    images: list[bytes] = field(default_factory=list)
    documents: list[Any] = field(default_factory=list)


@dataclass
class Drafting:
    """The draft shown in the composer, the message being edited (None: none) and the draft put aside."""

    draft: Draft = field(default_factory=Draft)
    editing: int | None = None
    aside: Draft | None = None

    def begin_edit(self, message_id: int, text: str) -> None:
        """Edit ``text`` (the message ``message_id``): the draft is put aside once, however many edits follow."""
        if self.editing is None:
            self.aside = self.draft
        self.editing = message_id
        self.draft = Draft(text)

    def end_edit(self) -> None:
        """Leave editing (sent or cancelled): the draft put aside comes back."""
        if self.editing is None:
            return
        self.editing = None
        self.draft, self.aside = self.aside or Draft(), None

    def sent(self) -> None:
        """The draft went out: the composer empties, or shows the draft an edit had put aside."""
        self.draft = Draft()
        self.end_edit()
