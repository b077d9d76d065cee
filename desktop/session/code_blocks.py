"""Fenced code blocks in a reply's Markdown (CommonMark fences: three or more backticks or tildes), without Qt.

The chat view puts a copy link above each block: ``with_copy_links`` inserts them, and a link's target
``copy-code:N`` names block N of ``code_blocks`` (a reply still streaming may end inside an open fence; that
block runs to the end of the text, as CommonMark reads it).
"""

from __future__ import annotations

import re

COPY_SCHEME = "copy-code"
_FENCE = re.compile(r"^( {0,3})(`{3,}|~{3,})(.*)$")


def _blocks(text: str) -> list[tuple[int, list[str]]]:
    """(line index of the opening fence, the block's lines) for each fenced block."""
    lines = text.split("\n")
    found: list[tuple[int, list[str]]] = []
    i = 0
    while i < len(lines):
        opening = _FENCE.match(lines[i])
        if opening is None or (opening.group(2)[0] == "`" and "`" in opening.group(3)):
            i += 1
            continue
        fence, indent = opening.group(2), len(opening.group(1))
        body: list[str] = []
        j = i + 1
        while j < len(lines):
            closing = _FENCE.match(lines[j])
            if closing and closing.group(2)[0] == fence[0] and len(closing.group(2)) >= len(fence) \
                    and not closing.group(3).strip():
                break
            line = lines[j]
            body.append(line[min(indent, len(line) - len(line.lstrip(" "))):])
            j += 1
        found.append((i, body))
        i = j + 1
    return found


def code_blocks(text: str) -> list[str]:
    """The text of every fenced code block, in order (without the fences)."""
    return ["\n".join(body) for _start, body in _blocks(text)]


def with_copy_links(text: str, label: str) -> str:
    """``text`` with a Markdown link ``[label](copy-code:N)`` on its own line above each fenced block."""
    starts = {start: n for n, (start, _body) in enumerate(_blocks(text))}
    if not starts:
        return text
    out: list[str] = []
    for i, line in enumerate(text.split("\n")):
        if i in starts:
            out += ["", f"[{label}]({COPY_SCHEME}:{starts[i]})", ""]
        out.append(line)
    return "\n".join(out)


def copy_target(url: str) -> int | None:
    """The block number a copy link names (None: another link)."""
    scheme, _, rest = url.partition(":")
    return int(rest) if scheme == COPY_SCHEME and rest.isdigit() else None
