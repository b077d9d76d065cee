"""A stand-in for the Hugging Face Hub on 127.0.0.1: the part of its HTTP API huggingface_hub uses.

Endpoints (as huggingface_hub 2.4 calls them):
- ``GET /api/models/{repo}`` and ``/api/models/{repo}/revision/{rev}``: model info with the commit ``sha``
  and ``siblings``;
- ``GET /api/models/{repo}/tree/{rev}``: the file listing (``oid``, ``size``, ``lfs``);
- ``HEAD|GET /{repo}/resolve/{rev}/{path}``: small files answered directly with ``ETag`` and
  ``X-Repo-Commit``; LFS files (safetensors, gguf) redirected (302) to a "CDN" on another origin
  (``localhost`` instead of ``127.0.0.1``) with ``X-Linked-Etag`` / ``X-Linked-Size``;
- ``HEAD|GET /cdn/{sha256}``: the blob, with ``Range`` support and optional throttling.
Errors carry ``X-Error-Code`` like the Hub: ``RepoNotFound``, ``RevisionNotFound``, ``EntryNotFound``,
``GatedRepo`` (401 without a token, 403 with a token that has no access).
"""

from __future__ import annotations

import hashlib
import json
import re
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from urllib.parse import unquote, urlsplit

from tests.support.quiet_http import QuietHTTPServer

LFS_SUFFIXES = (".safetensors", ".gguf", ".bin")


@dataclass
class Repo:
    commits: dict[str, dict[str, bytes]] = field(default_factory=dict)   # sha -> path -> bytes
    refs: dict[str, str] = field(default_factory=dict)                   # branch/tag -> sha
    gated: bool = False


@dataclass
class Request:
    method: str
    path: str
    range: str | None


def _sha1(data: bytes) -> str:
    return hashlib.sha1(data).hexdigest()


class HubStub:
    """Serve repos on 127.0.0.1; ``endpoint`` is what ``HF_ENDPOINT`` should be set to."""

    def __init__(self, tokens: tuple[str, ...] = ("hf_good_token",)) -> None:
        self.repos: dict[str, Repo] = {}
        self.blobs: dict[str, bytes] = {}   # sha256 -> content
        self.tokens = set(tokens)
        self.requests: list[Request] = []
        self.throttle_bps: int | None = None  # bytes per second for CDN bodies, None = full speed
        self.bytes_served: dict[str, int] = {}  # CDN sha256 -> bytes sent so far (all requests)
        self.hold_trees: threading.Barrier | None = None  # file listings wait until its parties all ask
        self.stall: threading.Event | None = None  # while set up and not set, no request is answered at all
        self._lock = threading.Lock()
        self._server = QuietHTTPServer(("127.0.0.1", 0), _make_handler(self))
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def port(self) -> int:
        return int(self._server.server_address[1])

    @property
    def endpoint(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def __enter__(self) -> HubStub:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()

    # -- repo set-up --------------------------------------------------------------------------

    def add_commit(self, repo_id: str, files: dict[str, bytes], *, ref: str = "main",
                   gated: bool = False) -> str:
        """Add a commit holding ``files`` and point ``ref`` at it; returns its sha."""
        repo = self.repos.setdefault(repo_id, Repo())
        repo.gated = repo.gated or gated
        sha = _sha1(json.dumps(sorted((p, _sha1(b)) for p, b in files.items())).encode() + repo_id.encode())
        repo.commits[sha] = dict(files)
        repo.refs[ref] = sha
        for data in files.values():
            self.blobs[hashlib.sha256(data).hexdigest()] = data
        return sha

    def add_folder(self, repo_id: str, folder: Path, **kw: object) -> str:
        files = {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}
        return self.add_commit(repo_id, files, **kw)  # type: ignore[arg-type]

    def count(self, method: str, path_part: str) -> int:
        with self._lock:
            return sum(1 for r in self.requests if r.method == method and path_part in r.path)

    # -- request handling ---------------------------------------------------------------------

    def _resolve(self, repo_id: str, rev: str) -> tuple[Repo | None, str | None]:
        repo = self.repos.get(repo_id)
        if repo is None:
            return None, None
        if rev in repo.commits:
            return repo, rev
        return repo, repo.refs.get(rev)


_API_INFO = re.compile(r"^/api/models/([^/]+/[^/]+?)(?:/revision/([^/]+))?$")
_API_TREE = re.compile(r"^/api/models/([^/]+/[^/]+)/tree/([^/]+)(?:/(.*))?$")
_RESOLVE = re.compile(r"^/([^/]+/[^/]+)/resolve/([^/]+)/(.+)$")
_CDN = re.compile(r"^/cdn/([0-9a-f]{64})$")


def _make_handler(hub: HubStub) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, fmt: str, *args: object) -> None:  # keep pytest output clean
            pass

        # -- plumbing --
        def _send(self, status: int, headers: dict[str, str], body: bytes = b"") -> None:
            self.send_response(status)
            headers = {"Content-Length": str(len(body)), **headers}
            for k, v in headers.items():
                self.send_header(k, v)
            self.end_headers()
            if self.command != "HEAD" and body:
                self.wfile.write(body)

        def _json(self, obj: object) -> None:
            self._send(200, {"Content-Type": "application/json"}, json.dumps(obj).encode())

        def _error(self, status: int, code: str, message: str, extra: dict[str, str] | None = None) -> None:
            body = json.dumps({"error": message}).encode()
            self._send(status, {"X-Error-Code": code, "X-Error-Message": message,
                                "Content-Type": "application/json", **(extra or {})}, body)

        def _authorized(self, repo: Repo) -> bool:
            auth = self.headers.get("Authorization", "")
            return not repo.gated or auth.removeprefix("Bearer ").strip() in hub.tokens

        def _lookup(self, repo_id: str, rev: str) -> tuple[Repo, str] | None:
            repo, sha = hub._resolve(repo_id, rev)
            if repo is None:
                self._error(404, "RepoNotFound", "Repository not found")
                return None
            if sha is None:
                self._error(404, "RevisionNotFound", f"Invalid rev id: {rev}")
                return None
            return repo, sha

        # -- routes --
        def do_HEAD(self) -> None:
            self._route()

        def do_GET(self) -> None:
            self._route()

        def _route(self) -> None:
            path = unquote(urlsplit(self.path).path)
            with hub._lock:
                hub.requests.append(Request(self.command, path, self.headers.get("Range")))
            if hub.stall is not None:
                hub.stall.wait()  # a Hub that never answers (until the test lets it go)
            for pattern, handler in ((_API_TREE, self._tree), (_API_INFO, self._info),
                                     (_RESOLVE, self._resolve_file), (_CDN, self._cdn)):
                m = pattern.match(path)
                if m:
                    handler(*m.groups())
                    return
            self._error(404, "NotFound", f"no route for {path}")

        def _info(self, repo_id: str, rev: str | None) -> None:
            found = self._lookup(repo_id, rev or "main")
            if found is None:
                return
            repo, sha = found
            files = repo.commits[sha]
            self._json({"id": repo_id, "modelId": repo_id, "sha": sha, "private": False,
                        "gated": "manual" if repo.gated else False, "disabled": False, "tags": [],
                        "siblings": [{"rfilename": p} for p in sorted(files)]})

        def _tree(self, repo_id: str, rev: str, sub: str | None) -> None:
            if hub.hold_trees is not None:
                hub.hold_trees.wait()
            found = self._lookup(repo_id, rev)
            if found is None:
                return
            repo, sha = found
            entries = []
            for p, data in sorted(repo.commits[sha].items()):
                if sub and not p.startswith(sub.rstrip("/") + "/"):
                    continue
                entry: dict[str, object] = {"type": "file", "path": p, "size": len(data), "oid": _sha1(data)}
                if p.endswith(LFS_SUFFIXES):
                    entry["lfs"] = {"oid": hashlib.sha256(data).hexdigest(), "size": len(data),
                                    "pointerSize": 134}
                entries.append(entry)
            self._json(entries)

        def _resolve_file(self, repo_id: str, rev: str, filename: str) -> None:
            found = self._lookup(repo_id, rev)
            if found is None:
                return
            repo, sha = found
            if not self._authorized(repo):
                has_token = "Authorization" in self.headers
                self._error(403 if has_token else 401, "GatedRepo",
                            "Access to model is restricted. You must have access to it and be authenticated.")
                return
            data = repo.commits[sha].get(filename)
            if data is None:
                self._error(404, "EntryNotFound", f"{filename} does not exist on {rev}",
                            {"X-Repo-Commit": sha})
                return
            common = {"X-Repo-Commit": sha, "Accept-Ranges": "bytes"}
            if filename.endswith(LFS_SUFFIXES):
                sha256 = hashlib.sha256(data).hexdigest()
                cdn = f"http://localhost:{hub.port}/cdn/{sha256}"
                self._send(302, {**common, "Location": cdn, "X-Linked-Etag": f'"{sha256}"',
                                 "X-Linked-Size": str(len(data)), "ETag": f'"{_sha1(data)}"'})
                return
            self._send(200, {**common, "ETag": f'"{_sha1(data)}"', "Content-Type": "application/octet-stream"},
                       data)

        def _cdn(self, sha256: str) -> None:
            data = hub.blobs.get(sha256)
            if data is None:
                self._error(404, "NotFound", "no such blob")
                return
            start, status = 0, 200
            headers = {"ETag": f'"{sha256}"', "Accept-Ranges": "bytes", "Content-Type": "application/octet-stream"}
            m = re.match(r"bytes=(\d+)-", self.headers.get("Range") or "")
            if m:
                start, status = int(m.group(1)), 206
                headers["Content-Range"] = f"bytes {start}-{len(data) - 1}/{len(data)}"
            body = data[start:]
            self.send_response(status)
            for k, v in {**headers, "Content-Length": str(len(body))}.items():
                self.send_header(k, v)
            self.end_headers()
            if self.command == "HEAD":
                return
            self._stream(sha256, body)

        def _stream(self, sha256: str, body: bytes) -> None:
            chunk = 16 << 10
            for i in range(0, len(body), chunk):
                piece = body[i:i + chunk]
                try:
                    self.wfile.write(piece)
                    self.wfile.flush()
                except OSError:  # the client went away (e.g. killed mid-download)
                    return
                with hub._lock:
                    hub.bytes_served[sha256] = hub.bytes_served.get(sha256, 0) + len(piece)
                if hub.throttle_bps:
                    time.sleep(len(piece) / hub.throttle_bps)

    return Handler
