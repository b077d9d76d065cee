"""UI language: English (the source) or Korean, through Qt's translation system (.qm files)."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QCoreApplication, QLibraryInfo, QLocale, QTranslator

I18N_DIR = Path(__file__).resolve().parent / "i18n"
LANGUAGES: dict[str, str] = {"en": "English", "ko": "한국어"}
SYSTEM = "system"
_installed: list[QTranslator] = []
_active = ["en"]  # the language install() made active (texts kept outside Qt's translations follow it)


def resolve_language(choice: str | None, system_locale: str | None = None) -> str:
    """``en``/``ko`` as chosen, else the OS locale's language when it is one of them, else English."""
    if choice in LANGUAGES:
        return choice
    name = system_locale if system_locale is not None else QLocale.system().name()
    lang = name.split("_")[0].split("-")[0].lower()
    return lang if lang in LANGUAGES else "en"


def install(language: str) -> str:
    """Replace the installed translators with ``language``'s; returns the language now active."""
    app = QCoreApplication.instance()
    for translator in _installed:
        QCoreApplication.removeTranslator(translator)
    _installed.clear()
    _active[0] = "en"
    if language == "en" or app is None:
        return "en"
    ours = QTranslator(app)
    if not ours.load(str(I18N_DIR / f"exaone_{language}.qm")):
        return "en"
    qt_own = QTranslator(app)  # standard buttons of Qt's dialogs
    if qt_own.load(f"qtbase_{language}", QLibraryInfo.path(QLibraryInfo.LibraryPath.TranslationsPath)):
        QCoreApplication.installTranslator(qt_own)
        _installed.append(qt_own)
    QCoreApplication.installTranslator(ours)
    _installed.append(ours)
    _active[0] = language
    return language


def current() -> str:
    """The language ``install`` made active ("en" before any call)."""
    return _active[0]


def tr(context: str, text: str) -> str:
    return QCoreApplication.translate(context, text)
