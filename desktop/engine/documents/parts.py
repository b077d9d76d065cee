"""Documents as OpenAI-style chat content parts, and how they reach a model.

A document is a ``file`` part: ``{"type": "file", "file": {"filename": "a.pdf", "file_data":
"data:application/pdf;base64,..."}}`` (OpenAI's shape). Local callers may also give ``"path"`` (a file on
this machine, not accepted by the server) or ``"document"`` (text already extracted: ``Document.to_json()``,
as the app keeps it). ``resolve_documents`` turns the parts into text the chat template can take:

- every document fits, with the conversation and room for the answer: each goes in whole, once, where it
  was attached, with ``[p. N]`` / ``[section N]`` marks, so follow-up questions find it in the prompt cache;
- otherwise a document that does not fit is indexed (``retrieval``) and each user message from the one it
  was attached to on gets the passages that best match that message, with their page or section. Earlier
  messages get the same passages every time, so the conversation's prefix stays the same.
"""

from __future__ import annotations

import base64
import binascii
import mimetypes
import threading
from collections import OrderedDict
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..chat.content import with_parts
from .extract import extract_document, read_source, scanned_page_images
from .model import Document, DocumentError
from .registry import FORMATS, format_for
from .retrieval import DEFAULT_TOKENIZER, TOP_K, Chunk, DocumentIndex

ANSWER_ROOM_TOKENS = 512  # kept free for the answer at least (an eighth of smaller contexts; more when
# max_new_tokens asks for more)
MESSAGE_OVERHEAD_TOKENS = 16  # a chat template's role marks per message, roughly
INDEXES_KEPT = 8
FIX_PART = ('send a document as {"type": "file", "file": {"filename": "report.pdf", "file_data": '
            '"data:application/pdf;base64,..."}}')

_indexes: OrderedDict[tuple[str, str], DocumentIndex] = OrderedDict()
_counts: OrderedDict[tuple[int, str], int] = OrderedDict()  # (generator, text hash) -> tokens
_indexes_lock = threading.Lock()


def _mime(filename: str) -> str:
    return format_for(filename).mime


def file_part(source: str | Path | bytes, filename: str | None = None) -> dict[str, Any]:
    """An OpenAI ``file`` content part for a document file (or its bytes with ``filename``)."""
    data, name = read_source(source, filename)
    encoded = base64.b64encode(data).decode("ascii")
    return {"type": "file", "file": {"filename": name, "file_data": f"data:{_mime(name)};base64,{encoded}"}}


def document_part(document: Document) -> dict[str, Any]:
    """A ``file`` part carrying text already extracted (the app's stored documents)."""
    return {"type": "file", "file": {"filename": document.filename, "document": document.to_json()}}


def is_file_part(part: object) -> bool:
    return isinstance(part, Mapping) and part.get("type") == "file"


def has_file_parts(prompt: object) -> bool:
    return not isinstance(prompt, str) and isinstance(prompt, Sequence) and any(
        isinstance(m, Mapping) and isinstance(m.get("content"), list) and any(is_file_part(p) for p in m["content"])
        for m in prompt)


def with_documents(prompt: str | Sequence[Mapping[str, Any]], documents: Sequence[str | Path]) -> list[dict[str, Any]]:
    """``prompt`` as chat messages with ``documents`` (file paths) as ``file`` parts at the start of the last user
    message (a plain string becomes one user message)."""
    return with_parts(prompt, documents, file_part, DocumentError("documents need a user message to go with; add one"))


def _decode_data_url(url: str, filename: str) -> bytes:
    head, comma, payload = url.partition(",")
    if not comma or not head.startswith("data:") or not head.endswith(";base64"):
        raise DocumentError(f"the file_data of {filename} is not a base64 data: URL; {FIX_PART}")
    try:
        return base64.b64decode(payload, validate=True)
    except (binascii.Error, ValueError):
        raise DocumentError(f"the file_data of {filename} is not valid base64; encode the file again") from None


def _filename(spec: Mapping[str, Any]) -> str:
    name = spec.get("filename")
    if isinstance(name, str) and name.strip():
        return Path(name.strip().replace("\\", "/")).name
    data = spec.get("file_data")
    if isinstance(data, str) and data.startswith("data:"):
        mime = data[5:].split(";", 1)[0]
        found = next((f for f in FORMATS if f.mime == mime), None)
        if found is not None:
            return "document" + found.extensions[0]
        guessed = mimetypes.guess_extension(mime)
        return "document" + (guessed or "")
    raise DocumentError(f"a file part has no filename (its extension names the format); {FIX_PART}")


def part_source(part: Mapping[str, Any], *, allow_paths: bool = True) -> tuple[bytes | str, str] | None:
    """(the original's bytes or path, its name) of a ``file`` part; None when it carries only extracted text."""
    spec = part.get("file")
    if not isinstance(spec, Mapping):
        return None
    name = _filename(spec)
    if isinstance(spec.get("file_data"), str):
        return _decode_data_url(spec["file_data"], name), name
    if allow_paths and isinstance(spec.get("path"), str) and spec["path"]:
        return str(spec["path"]), name
    return None


def part_document(part: Mapping[str, Any], *, allow_paths: bool = True,
                  cancel: threading.Event | None = None) -> Document:
    """The document a ``file`` part carries, extracted (in a bounded child process, cached by content)."""
    spec = part.get("file")
    if not isinstance(spec, Mapping):
        raise DocumentError(f"a file part has no 'file' object; {FIX_PART}")
    if "file_id" in spec and "file_data" not in spec:
        raise DocumentError(f"uploaded file ids are not supported here; {FIX_PART}")
    name = _filename(spec)
    if isinstance(spec.get("document"), Mapping):
        return Document.from_json(dict(spec["document"]))
    data = spec.get("file_data")
    if isinstance(data, str):
        return extract_document(_decode_data_url(data, name), name, cancel=cancel)
    path = spec.get("path")
    if isinstance(path, str) and path:
        if not allow_paths:
            raise DocumentError(f"this server does not read files from its own disk; {FIX_PART}")
        return extract_document(path, name, cancel=cancel)
    raise DocumentError(f"the file part for {name} has no file_data; {FIX_PART}")


def estimate_tokens(text: str) -> int:
    """A cautious token count without a tokenizer: a token per Hangul syllable, about three Latin letters per
    token (UTF-8 bytes / 3 gives both)."""
    return len(text.encode("utf-8")) // 3 + 1


@dataclass(frozen=True)
class Passage:
    """A chunk of a document given with a question: the app shows which parts were used."""

    filename: str
    label: str
    text: str


@dataclass
class Resolved:
    messages: list[dict[str, Any]]
    whole: list[str] = field(default_factory=list)  # documents that went in whole
    retrieved: list[str] = field(default_factory=list)  # documents that were searched
    passages: list[Passage] = field(default_factory=list)  # what the last user message was given


def whole_text(document: Document, images_shown: bool = False) -> str:
    scans = (f"\n(Pages {', '.join(str(p) for p in document.empty_pages)} are scans without text"
             f"{'; the images above show them' if images_shown else ''}.)") if document.empty_pages else ""
    return (f"<document name=\"{document.filename}\">\n{document.text}{scans}\n</document>\n"
            "(Cite pages or sections as they are marked, e.g. [p. 3].)")


def retrieval_note(document: Document, pages: int) -> str:
    unit = "pages" if document.units and document.units[0].kind == "page" else "sections"
    return (f"<document name=\"{document.filename}\">({pages} {unit}: too long to include whole; the passages "
            "that match each question are quoted with it)</document>")


def passages_text(filename: str, chunks: Sequence[Chunk]) -> str:
    if not chunks:
        return f"<passages document=\"{filename}\">(no passage matches this question)</passages>"
    body = "\n\n".join(f"[{c.label}]\n{c.text}" for c in chunks)
    return (f"<passages document=\"{filename}\">\n{body}\n</passages>\n"
            "(Cite the pages or sections these passages come from, e.g. [p. 3].)")


def index_for(document: Document, tokenizer: str = DEFAULT_TOKENIZER) -> DocumentIndex:
    """The BM25 index of a document, kept for the next question about it."""
    import hashlib

    key = (hashlib.sha256(document.text.encode("utf-8")).hexdigest(), tokenizer)
    with _indexes_lock:
        if key in _indexes:
            _indexes.move_to_end(key)
            return _indexes[key]
    index = DocumentIndex.of(document, tokenizer)
    with _indexes_lock:
        _indexes[key] = index
        while len(_indexes) > INDEXES_KEPT:
            _indexes.popitem(last=False)
    return index


def _text_of(content: Any) -> str:
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return "\n".join(str(p.get("text", "")) for p in content if isinstance(p, Mapping) and p.get("type") == "text")
    return ""


def resolve_documents(
    prompt: Sequence[Mapping[str, Any]],
    *,
    context_tokens: int,
    answer_tokens: int = ANSWER_ROOM_TOKENS,
    count_tokens: Callable[[str], int] = estimate_tokens,
    allow_paths: bool = True,
    cancel: threading.Event | None = None,
    top_k: int = TOP_K,
    tokenizer: str = DEFAULT_TOKENIZER,
    vision: bool | Callable[[], bool] = False,
) -> Resolved:
    """Chat messages whose ``file`` parts are replaced by text (whole, or passages for each question).
    ``vision``: the model reads images, so a PDF's scanned pages (no text layer) are added as images."""
    messages = [dict(m) for m in prompt]
    found: list[tuple[int, int, Document]] = []  # (message, part, document)
    shown: set[int] = set()  # documents whose scanned pages go as images
    scans: dict[int, list[dict[str, Any]]] = {}  # message -> image parts of scanned pages
    for i, m in enumerate(messages):
        content = m.get("content")
        if isinstance(content, list):
            for j, part in enumerate(content):
                if is_file_part(part):
                    if m.get("role") != "user":
                        raise DocumentError("documents can only be attached to user messages; move the file part")
                    document = part_document(part, allow_paths=allow_paths, cancel=cancel)
                    wanted = document.empty_pages and (vision() if callable(vision) else vision)
                    images = _scan_images(part, document, allow_paths, cancel) if wanted else []
                    scans.setdefault(i, []).extend(images)
                    if not document.has_text and not images:
                        raise DocumentError(f"{document.filename} has no text to read (its pages are scans without "
                                            "a text layer); load a model that reads images, such as EXAONE 4.5 "
                                            "with its mmproj, or run OCR on the file first")
                    if images:
                        shown.add(len(found))
                    found.append((i, j, document))
    resolved = Resolved(messages=messages)
    if not found:
        return resolved
    rest = sum(count_tokens(_text_of(m.get("content"))) + MESSAGE_OVERHEAD_TOKENS for m in messages)
    budget = context_tokens - rest - max(answer_tokens, min(ANSWER_ROOM_TOKENS, context_tokens // 8))
    whole: set[int] = set()
    for k, (_, _, document) in enumerate(found):
        need = count_tokens(whole_text(document, k in shown))
        if need <= budget:
            whole.add(k)
            budget -= need
    inserts: dict[int, list[str]] = {}  # message -> texts to put before its own text
    for k, (i, _, document) in enumerate(found):
        if k in whole:
            inserts.setdefault(i, []).append(whole_text(document, k in shown))
            resolved.whole.append(document.filename)
            continue
        resolved.retrieved.append(document.filename)
        index = index_for(document, tokenizer)
        inserts.setdefault(i, []).append(retrieval_note(document, len(document.units)))
        for q, m in enumerate(messages[i:], start=i):
            if m.get("role") != "user":
                continue
            chunks = index.search(_text_of(m.get("content")), top_k)
            inserts.setdefault(q, []).append(passages_text(document.filename, chunks))
            if q == max(n for n, mm in enumerate(messages) if mm.get("role") == "user"):
                resolved.passages += [Passage(document.filename, c.label, c.text) for c in chunks]
    for i, texts in inserts.items():
        content = messages[i].get("content")
        parts = [p for p in content if not is_file_part(p)] if isinstance(content, list) \
            else [{"type": "text", "text": str(content or "")}]
        others = [*scans.get(i, []), *(p for p in parts if not (isinstance(p, Mapping) and p.get("type") == "text"))]
        text = "\n\n".join([*texts, _text_of(parts)]).strip()
        messages[i] = {**messages[i], "content": [*others, {"type": "text", "text": text}] if others else text}
    return resolved


def _scan_images(part: Mapping[str, Any], document: Document, allow_paths: bool,
                 cancel: threading.Event | None) -> list[dict[str, Any]]:
    """``image_url`` parts of a PDF's scanned pages, for a model that reads images."""
    from ..chat.image_parts import sniff

    source = part_source(part, allow_paths=allow_paths)
    if not document.empty_pages or document.format != "PDF" or source is None:
        return []
    found = scanned_page_images(source[0], source[1], list(document.empty_pages), cancel=cancel)
    parts = []
    for _, data in found:
        kind = sniff(data)
        if kind is not None:
            parts.append({"type": "image_url",
                          "image_url": {"url": f"data:{kind.mime};base64,{base64.b64encode(data).decode('ascii')}"}})
    return parts


def reads_images(generator: Any) -> bool:
    """Whether a local generator's model has a vision projector beside it (EXAONE 4.5)."""
    info = generator.model_info if generator is not None else None  # None: the cloud
    if info is None:
        return False
    from ..llama.vision import find_mmproj

    try:
        return find_mmproj(info) is not None
    except Exception:  # noqa: BLE001 - a projector that cannot be checked is one the model cannot use
        return False


def resolve_for(prompt: Sequence[Mapping[str, Any]], generator: Any, settings: Any, *,
                allow_paths: bool = True, cancel: threading.Event | None = None,
                context_tokens: int | None = None) -> Resolved:
    """``resolve_documents`` sized for ``generator``: its context (``n_ctx``), its tokenizer where it has one
    (``tokenize_prompt``), and the answer's ``max_new_tokens``; ``generator`` None: the cloud (its context is
    ``CLOUD_CONTEXT_TOKENS``, its tokens estimated)."""
    n_ctx = context_tokens or (int(generator.n_ctx or 0) if generator is not None else 0) or CLOUD_CONTEXT_TOKENS
    tokenize = generator.tokenize_prompt if generator is not None and generator.capabilities.tokenize else None
    count: Callable[[str], int] = estimate_tokens
    if tokenize is not None:
        def count(text: str) -> int:
            if len(text) < 2000:
                return len(tokenize(text, settings)[1])
            import hashlib

            key = (id(generator), hashlib.sha256(text.encode("utf-8")).hexdigest())
            with _indexes_lock:
                known = _counts.get(key)
            if known is None:  # a document's text is counted once, not again with every follow-up
                known = len(tokenize(text, settings)[1])
                with _indexes_lock:
                    _counts[key] = known
                    while len(_counts) > 64:
                        _counts.popitem(last=False)
            return known
    answer = int(getattr(settings, "max_new_tokens", ANSWER_ROOM_TOKENS))
    return resolve_documents(prompt, context_tokens=n_ctx, answer_tokens=min(answer, n_ctx // 2),
                             count_tokens=count, allow_paths=allow_paths, cancel=cancel,
                             vision=lambda: reads_images(generator))


CLOUD_CONTEXT_TOKENS = 32768  # what a document may take of a cloud model's context when its size is unknown


def prepare(prompt: Any, generator: Any, settings: Any, *, allow_paths: bool = True,
            cancel: threading.Event | None = None) -> Any:
    """``prompt`` ready for ``generator``: unchanged without ``file`` parts, else ``resolve_for``'s messages."""
    if not has_file_parts(prompt):
        return prompt
    return resolve_for(prompt, generator, settings, allow_paths=allow_paths, cancel=cancel).messages
