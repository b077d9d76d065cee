"""Documents in a conversation: PDF, Word (.docx), HWP 5.0, HWPX, text and Markdown read to text with their
page or section numbers (in a child process with time and memory limits), put in whole when they fit the
context, or searched with BM25 for each question when they do not.

Importing this package loads no parser: pypdf, python-docx, olefile and bm25s are imported when a file of
their format is read or a document is indexed.
"""

from __future__ import annotations

from .extract import MEMORY_LIMIT_MB, TIME_LIMIT_S, extract_document
from .model import Document, DocumentError, Unit
from .parts import (
    Passage,
    Resolved,
    document_part,
    file_part,
    has_file_parts,
    part_document,
    prepare,
    resolve_documents,
    resolve_for,
    with_documents,
)
from .registry import EXTENSIONS, FORMATS, MAX_DOCUMENT_BYTES, Format, format_for, read_document
from .retrieval import DEFAULT_TOKENIZER, TOKENIZERS, Chunk, DocumentIndex, chunk_document

__all__ = [
    "DEFAULT_TOKENIZER", "EXTENSIONS", "FORMATS", "MAX_DOCUMENT_BYTES", "MEMORY_LIMIT_MB", "TIME_LIMIT_S",
    "TOKENIZERS", "Chunk", "Document", "DocumentError", "DocumentIndex", "Format", "Passage", "Resolved", "Unit",
    "chunk_document", "document_part", "extract_document", "file_part", "format_for", "has_file_parts",
    "part_document", "prepare", "read_document", "resolve_documents", "resolve_for", "with_documents",
]  # fmt: skip
