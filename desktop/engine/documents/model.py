"""What a document becomes: its text in units (pages of a PDF, sections of an HWP/HWPX or text file), each
with the number a citation names ("p. 12", "section 3"), and the one error type for documents."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

from ..types import GenerationError

UnitKind = Literal["page", "section"]


class DocumentError(GenerationError):
    """A document that cannot be read; ``str(err)`` is one line that names the fix."""


@dataclass(frozen=True)
class Unit:
    """One page or section of a document: ``number`` counts from 1."""

    kind: UnitKind
    number: int
    text: str

    @property
    def label(self) -> str:
        """How an answer cites it: ``p. 12`` or ``section 3``."""
        return f"p. {self.number}" if self.kind == "page" else f"section {self.number}"


@dataclass(frozen=True)
class Document:
    """A document's text, unit by unit; ``empty_pages`` lists the pages that had no text layer (scans)."""

    filename: str
    format: str  # the reader's name: "PDF", "DOCX", "HWP", "HWPX", "text"
    units: tuple[Unit, ...]
    empty_pages: tuple[int, ...] = field(default=())

    @property
    def text(self) -> str:
        """The whole text with each unit headed by its label (``[p. 3]``), as the model reads it."""
        return "\n\n".join(f"[{u.label}]\n{u.text}" for u in self.units if u.text.strip())

    @property
    def has_text(self) -> bool:
        return any(u.text.strip() for u in self.units)

    def to_json(self) -> dict[str, Any]:
        return {"filename": self.filename, "format": self.format, "empty_pages": list(self.empty_pages),
                "units": [{"kind": u.kind, "number": u.number, "text": u.text} for u in self.units]}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Document:
        try:
            units = tuple(Unit(kind=u["kind"], number=int(u["number"]), text=str(u["text"])) for u in data["units"])
            return cls(filename=str(data["filename"]), format=str(data["format"]), units=units,
                       empty_pages=tuple(int(p) for p in data.get("empty_pages", ())))
        except (KeyError, TypeError, ValueError) as err:
            raise DocumentError(f"the extracted text of a document is damaged ({err}); attach the file again") \
                from None
