"""What each EXAONE family is good at, in a sentence the UI translates (keyed by the family table's ``key``)."""

from __future__ import annotations

from PySide6.QtCore import QT_TRANSLATE_NOOP, QCoreApplication

_CONTEXT = "FamilyTexts"
GOOD_AT: dict[str, str] = {
    "k_exaone": str(QT_TRANSLATE_NOOP("FamilyTexts", "LG's largest model, a mixture of experts: the strongest "
                                                     "answers, for a server with very much memory.")),
    "exaone4_5": str(QT_TRANSLATE_NOOP("FamilyTexts", "Reads images and documents as well as text, and reasons "
                                                      "step by step: LG's newest, for a well-equipped computer.")),
    "exaone4": str(QT_TRANSLATE_NOOP("FamilyTexts", "Everyday chat in Korean and English with a reasoning switch: "
                                                    "1.2B runs on any laptop, 32B needs a workstation.")),
    "exaone_deep": str(QT_TRANSLATE_NOOP("FamilyTexts", "Thinks step by step before answering: mathematics, "
                                                        "science and programming questions.")),
    "exaone3": str(QT_TRANSLATE_NOOP("FamilyTexts", "Reliable chat and writing in Korean and English, in three "
                                                    "sizes.")),
}


def good_at(family: str) -> str:
    """The family's sentence in the UI's language ("" for a family without one)."""
    text = GOOD_AT.get(family, "")
    return QCoreApplication.translate(_CONTEXT, text) if text else ""
