"""Files a send would carry to the cloud: the user is asked at each such send, naming each file.

Consenting to the cloud fallback (once, when it is switched on) covers the conversation's text; the
documents and images attached to it are asked about again at every send that may reach the cloud, with
Send to cloud or Keep local, and the answer holds for that send only. No Qt here: the window shows the
question (``ui.cloud_dialog.CloudFilesDialog``) and tells the controller the answer.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import PurePath
from typing import Any, Literal

from ..engine import CloudPolicy, Engine, may_reach_cloud

FileKind = Literal["document", "image"]

KEPT_LOCAL_NO_MODEL = ("the attached files stayed on this computer, as asked, and no local model is loaded to "
                       "answer: load one, or send again and choose Send to cloud")


@dataclass(frozen=True)
class CloudFile:
    """One attached file: a document by its file name, an image by its format ("PNG"), as the dialog words it."""

    kind: FileKind
    name: str


def attached_files(prompt: Sequence[Mapping[str, Any]]) -> list[CloudFile]:
    """The documents (``file`` parts) and images (``image_url`` parts) in the conversation's messages, in order."""
    found: list[CloudFile] = []
    for message in prompt:
        content = message.get("content")
        if not isinstance(content, list):
            continue
        for part in content:
            if not isinstance(part, Mapping):
                continue
            if part.get("type") == "file":
                spec = part.get("file")
                name = spec.get("filename") if isinstance(spec, Mapping) else None
                found.append(CloudFile("document", PurePath(str(name or "document")).name))
            elif part.get("type") == "image_url":
                found.append(CloudFile("image", _image_format(part.get("image_url"))))
    return found


def _image_format(spec: object) -> str:
    url = str(spec.get("url", "")) if isinstance(spec, Mapping) else str(spec or "")
    if url.startswith("data:image/"):
        kind = url[len("data:image/"):].split(";", 1)[0]
    else:
        kind = PurePath(url).suffix.lstrip(".")
    kind = kind.lower()
    return {"jpg": "JPEG", "jpeg": "JPEG", "png": "PNG", "webp": "WebP"}.get(kind, kind.upper() or "image")


def files_to_ask_about(prompt: Sequence[Mapping[str, Any]], policy: CloudPolicy, forced: Engine | None,
                       routed: bool) -> list[CloudFile]:
    """The files to name before this send (empty: nothing to ask): the request goes through the router
    (``routed``) and may reach the cloud without another question (``routing.may_reach_cloud``)."""
    if not routed or not may_reach_cloud(policy, forced):
        return []
    return attached_files(prompt)
