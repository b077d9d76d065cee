"""exaone-serve fuzzed over HTTP: schemathesis reads the OpenAPI schema the server serves (/openapi.json) and
sends generated requests, valid and invalid (the random and the stateful phases; the coverage phase's
boundary values take minutes of the client's own time), to every route of the real server (a child process on
127.0.0.1, a tiny EXAONE 4 GGUF). Bounded in examples and time. No answer may be a 5xx, none may hang (each
has a time limit), the server's log shows no traceback, and the server answers normally afterwards.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from tests.support.server_helpers import request, start_serve

ST = Path(sys.executable).with_name("st")
FUZZ_S = 240  # the whole run's limit (it takes well under a minute on two cores)


def test_schemathesis_finds_no_server_error(model_path: Path, tmp_path: Path) -> None:
    # a small context keeps each generation short (n may be up to 64 sequences); the OpenAPI schema names the
    # one model id, so valid requests reach the model
    server = start_serve("--model", str(model_path), "--port", "0", "--threads", "1", "--n-ctx", "64",
                         "--max-new-tokens", "4")
    try:
        proc = subprocess.run(
            [str(ST), "run", server.url + "/openapi.json", "--checks", "not_a_server_error",
             "--phases", "fuzzing,stateful", "--max-examples", "40", "--seed", "20", "--workers", "1",
             "--request-timeout", "60", "--no-color", "--generation-database", "none"],
            capture_output=True, text=True, timeout=FUZZ_S, cwd=tmp_path)
        report = proc.stdout[-4000:] + proc.stderr[-2000:]
        assert proc.returncode == 0, report
        assert "5 passed" in proc.stdout, report  # all five operations were tested
        assert server.proc.poll() is None  # alive
        log = "".join(server.log)
        assert "Traceback" not in log and "Exception in ASGI application" not in log, log[-4000:]
        health = request(server.url, "GET", "/health").json()
        assert health["status"] == "ok"
        assert health["queue"]["served"] >= 5, health  # valid requests were generated too, and reached the model
        reply = request(server.url, "POST", "/v1/chat/completions", {
            "model": model_path.stem, "messages": [{"role": "user", "content": "hi"}], "max_tokens": 2})
        assert reply.status == 200 and reply.json()["usage"]["completion_tokens"] >= 1
    finally:
        server.stop()
