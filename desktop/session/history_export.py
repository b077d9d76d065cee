"""A conversation written out: JSON (every field, documents with their extracted text) or readable Markdown."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import asdict
from pathlib import Path
from typing import Any

from exaone_convert import atomic_write_text

from .history_records import Conversation, StoredMessage
from .history_schema import SCHEMA_VERSION, StoreError


def conversation_json(conv: Conversation, messages: Sequence[StoredMessage]) -> dict[str, Any]:
    return {
        "format": "exaone-desktop.conversation",
        "schema_version": SCHEMA_VERSION,
        "conversation": asdict(conv),
        "messages": [{**asdict(m), "documents": [{**asdict(d), "text": d.document_json()} for d in m.documents]}
                     for m in messages],
    }


def _document_text(document: Mapping[str, Any]) -> str:
    units = document.get("units") if isinstance(document.get("units"), list) else []
    return "\n\n".join(f"[{'p.' if u.get('kind') == 'page' else 'section'} {u.get('number')}]\n{u.get('text', '')}"
                       for u in units or [] if isinstance(u, dict) and str(u.get("text", "")).strip())


def conversation_markdown(conv: Conversation, messages: Sequence[StoredMessage]) -> str:
    lines = [f"# {conv.title or 'Conversation'}", ""]
    if conv.system_prompt:
        lines += ["## System", "", conv.system_prompt, ""]
    for m in messages:
        details = [m.engine, m.model, f"seed {m.seed}" if m.seed is not None else ""]
        origin = f" ({', '.join(d for d in details if d)})" if m.role == "assistant" and m.engine else ""
        lines += [f"## {m.role.capitalize()}{origin}", ""]
        if m.reasoning:
            lines += ["<details><summary>Reasoning</summary>", "", m.reasoning, "", "</details>", ""]
        lines += [f"![image]({Path(f).as_uri()})" for f in m.images] + ([""] if m.images else [])
        for d in m.documents:
            text = _document_text(d.document_json())
            lines += [f"📄 [{d.filename}]({Path(d.file).as_uri()})", "",
                      f"<details><summary>{d.filename}: extracted text</summary>", "", text, "", "</details>", ""]
        lines += [m.content, ""]
        if m.status != "complete":
            lines += [f"*({m.status})*", ""]
    return "\n".join(lines).rstrip() + "\n"


def write_export(path: Path | str, conv: Conversation, messages: Sequence[StoredMessage]) -> Path:
    """Write the conversation as Markdown (``.md``) or JSON (``.json``), atomically."""
    path = Path(path)
    writers = {".md": lambda: conversation_markdown(conv, messages),
               ".markdown": lambda: conversation_markdown(conv, messages),
               ".json": lambda: json.dumps(conversation_json(conv, messages), ensure_ascii=False, indent=2) + "\n"}
    writer = writers.get(path.suffix.lower())
    if writer is None:
        raise StoreError(f"cannot export to {path.name}: use a .md or .json file name")
    try:
        atomic_write_text(path, writer())
    except OSError as err:
        raise StoreError(f"cannot export to {path}: {err.strerror or err}; choose another folder") from None
    return path
