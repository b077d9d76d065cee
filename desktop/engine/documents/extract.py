"""Reading an untrusted document in a child process with time and memory bounds.

A parser bug, a hostile file that makes pypdf or lxml loop, or one that inflates to gigabytes can end or
stall only the child: it runs with an address-space limit (``MEMORY_LIMIT_MB``) and a CPU-time limit where
the OS has them (``resource``, POSIX), and the parent kills it after ``TIME_LIMIT_S`` of wall-clock time or
at once when ``cancel`` is set. The file's bytes go to the child on stdin, the extracted text comes back
as JSON on stdout. Results are kept in memory by content hash, so a document sent again with every
follow-up question (as OpenAI clients do) is read once.
"""

from __future__ import annotations

import base64
import hashlib
import json
import subprocess
import sys
import threading
import time
from collections import OrderedDict
from pathlib import Path
from typing import Any

from ..files import read_user_file
from .model import Document, DocumentError
from .registry import check_size, format_for, read_document

TIME_LIMIT_S = 120.0
MEMORY_LIMIT_MB = 2048
POLL_S = 0.05
CHILD_FLAG = "--exaone-document-worker"  # the frozen app runs itself with this flag to be the child
CACHED_DOCUMENTS = 16
_CHILD_CODE = ("import sys, json; sys.path[:0] = json.loads(sys.argv[1]); "
               "from exaone_desktop.engine.documents.extract import child_main; child_main()")

_cache: OrderedDict[str, Document] = OrderedDict()
_cache_lock = threading.Lock()


def child_command() -> list[str]:
    if getattr(sys, "frozen", False):
        return [sys.executable, CHILD_FLAG]
    return [sys.executable, "-c", _CHILD_CODE, json.dumps([p for p in sys.path if isinstance(p, str) and p])]


def _limit_self(memory_mb: int, cpu_s: float) -> None:
    try:
        import resource
    except ImportError:  # Windows: the parent's wall-clock limit still applies
        return
    limit = memory_mb * 2**20
    resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
    seconds = int(cpu_s) + 1
    resource.setrlimit(resource.RLIMIT_CPU, (seconds, seconds + 1))


def child_main() -> None:
    """The child: a JSON header line ({filename, memory_mb, cpu_s}) then the file's bytes on stdin; one JSON
    object on stdout: {"document": ...} or {"error": one line}."""
    header = json.loads(sys.stdin.buffer.readline())
    _limit_self(int(header["memory_mb"]), float(header["cpu_s"]))
    data = sys.stdin.buffer.read()
    out: dict[str, Any]
    try:
        if header.get("pages"):  # the images of a PDF's scanned pages
            from .pdf import page_images

            found = page_images(data, str(header["filename"]), [int(p) for p in header["pages"]])
            out = {"images": [[n, base64.b64encode(b).decode("ascii")] for n, b in found]}
        else:
            out = {"document": read_document(data, str(header["filename"])).to_json()}
    except DocumentError as err:
        out = {"error": str(err)}
    except MemoryError:
        out = {"error": f"{header['filename']} needs more than {header['memory_mb']} MB of memory to read; "
                        "split it or save it as a smaller file"}
    except RecursionError:
        out = {"error": f"{header['filename']} is nested too deeply to read; save it again from its editor"}
    sys.stdout.write(json.dumps(out, ensure_ascii=False))
    sys.stdout.flush()


def read_source(source: str | Path | bytes, filename: str | None) -> tuple[bytes, str]:
    """(the bytes, the file name) of a path or of bytes with their name; size and extension checked first."""
    if isinstance(source, bytes):
        if not filename:
            raise DocumentError("a document given as bytes needs its file name (for its format); pass filename=")
        format_for(filename)
        check_size(len(source), filename)
        return source, filename
    path = Path(str(source)).expanduser()
    name = filename or path.name
    format_for(name)
    data = read_user_file(path, what="document", check_size=lambda size: check_size(size, name),
                          folder_fix="attach a file", error=DocumentError)
    return data, name


def content_key(data: bytes, filename: str) -> str:
    return hashlib.sha256(data).hexdigest() + ":" + format_for(filename).name


def extract_document(source: str | Path | bytes, filename: str | None = None, *,
                     cancel: threading.Event | None = None, time_limit_s: float = TIME_LIMIT_S,
                     memory_limit_mb: int = MEMORY_LIMIT_MB) -> Document:
    """The text of a document file (or its bytes with ``filename``), read in a bounded child process."""
    data, name = read_source(source, filename)
    key = content_key(data, name)
    with _cache_lock:
        if key in _cache:
            _cache.move_to_end(key)
            cached = _cache[key]
            return Document(name, cached.format, cached.units, cached.empty_pages)
    document = Document.from_json(_run_child(data, name, cancel, time_limit_s, memory_limit_mb)["document"])
    with _cache_lock:
        _cache[key] = document
        while len(_cache) > CACHED_DOCUMENTS:
            _cache.popitem(last=False)
    return document


def scanned_page_images(source: str | Path | bytes, filename: str | None, pages: list[int], *,
                        cancel: threading.Event | None = None) -> list[tuple[int, bytes]]:
    """(page, PNG or JPEG bytes) of a PDF's scanned ``pages`` (the largest image on each), read in the bounded
    child process, for a vision model."""
    data, name = read_source(source, filename)
    answer = _run_child(data, name, cancel, TIME_LIMIT_S, MEMORY_LIMIT_MB, pages=pages)
    return [(int(n), base64.b64decode(b)) for n, b in answer.get("images", [])]


def _run_child(data: bytes, name: str, cancel: threading.Event | None, time_limit_s: float,
               memory_mb: int, *, pages: list[int] | None = None) -> dict[str, Any]:
    header = json.dumps({"filename": name, "memory_mb": memory_mb, "cpu_s": time_limit_s,
                         "pages": pages or []}).encode() + b"\n"
    proc = subprocess.Popen(child_command(), stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, close_fds=True,
                            creationflags=getattr(subprocess, "CREATE_NO_WINDOW", 0))
    result: dict[str, bytes] = {}

    def talk() -> None:
        out, err = proc.communicate(header + data)
        result["out"], result["err"] = out, err

    talker = threading.Thread(target=talk, name="document-reader", daemon=True)
    talker.start()
    deadline = time.monotonic() + time_limit_s
    stopped = ""
    while talker.is_alive():
        talker.join(POLL_S)
        if cancel is not None and cancel.is_set():
            stopped = "cancelled"
        elif time.monotonic() > deadline:
            stopped = "time"
        if stopped and talker.is_alive():
            proc.kill()
            talker.join()
            break
    if stopped == "cancelled":
        raise DocumentError(f"reading {name} was cancelled")
    if stopped == "time" and proc.returncode != 0:
        raise DocumentError(f"{name} took longer than {time_limit_s:g} s to read; split it or save it as a "
                            "simpler file (e.g. print it to a new PDF)")
    try:
        answer = json.loads(result.get("out", b"") or b"{}")
    except json.JSONDecodeError:
        answer = {}
    if "error" in answer:
        raise DocumentError(str(answer["error"]))
    if "document" not in answer and "images" not in answer:
        code = proc.returncode
        why = f"signal {-code}" if code is not None and code < 0 else f"exit code {code}"
        tail = (result.get("err", b"") or b"").decode("utf-8", "replace").strip().splitlines()[-1:]
        detail = f": {tail[0][:200]}" if tail else ""
        raise DocumentError(f"the document reader stopped while reading {name} ({why}{detail}); the file may be "
                            f"damaged or need more than {memory_mb} MB: save it again or split it")
    return dict(answer)
