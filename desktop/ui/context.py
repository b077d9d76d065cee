"""What every window needs: the data folder, the history store and the persisted QSettings."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from PySide6.QtCore import QSettings

from ..session.store import ChatStore

ORGANIZATION = "exaone-desktop"
APPLICATION = "exaone-desktop"

# QSettings keys, in one place.
KEY_LANGUAGE = "ui/language"
KEY_MODEL = "model/path"
KEY_GENERATION = "generation/overrides"
KEY_CLOUD = "cloud/policy"
KEY_LOAD = "model/load"  # the last load choices: a model loaded for the first time starts from them
KEY_LOAD_BY_MODEL = "model/load_by_model"  # model file -> its own load choices (JSON)
KEY_GEOMETRY = "window/geometry"
KEY_LAST_CHAT = "chat/last"  # the conversation open when the app closed: reopened at launch
KEY_NETWORK = "network/hub"  # {"endpoint": a Hub mirror, "proxy": an HTTPS proxy} ("": the environment's)
KEY_SERVER = "server/options"  # the local server's port and "start with the app" (JSON, session.serving)
KEY_ENTER_SENDS = "chat/enter_sends"  # "true": Enter sends, Shift+Enter breaks the line; "false": Ctrl+Enter


def open_settings(data_dir: Path | None) -> QSettings:
    """The user's QSettings; with ``--data-dir`` an INI file inside it (so tests and portable use are isolated)."""
    if data_dir is not None:
        return QSettings(str(data_dir / "settings.ini"), QSettings.Format.IniFormat)
    return QSettings(ORGANIZATION, APPLICATION)


@dataclass
class AppContext:
    data_dir: Path
    store: ChatStore
    settings: QSettings

    @property
    def models_dir(self) -> Path:
        return self.data_dir / "models"

    def get(self, key: str, default: Any = None) -> Any:
        return self.settings.value(key, default)

    def put(self, key: str, value: Any) -> None:
        self.settings.setValue(key, value)
        self.settings.sync()

    def get_json(self, key: str) -> dict[str, Any]:
        raw = self.settings.value(key, "")
        try:
            data = json.loads(str(raw)) if raw else {}
        except ValueError:
            return {}
        return data if isinstance(data, dict) else {}

    def put_json(self, key: str, value: dict[str, Any]) -> None:
        self.put(key, json.dumps(value))
