"""What the real ``openai`` client (its default two retries of a 5xx) does with exaone-serve's failures that
repeating cannot mend: a request past ``--request-timeout`` and one whose model process crashed are sent once,
not three times (the server says ``x-should-retry: false``). The server's request log counts the requests.

The real server runs in-process (``start_background``) on a tiny EXAONE 4 GGUF: slowed per token for the
time limit, and in its worker process (killed with SIGKILL mid-reply) for the crash.
"""

from __future__ import annotations

import os
import signal
import sys
from pathlib import Path
from typing import Any

import openai
import pytest
from exaone_desktop.engine.llama.local import LocalGenerator
from exaone_desktop.engine.llama.worker import WorkerGenerator
from exaone_desktop.server import ServerLimits, start_background
from exaone_desktop.server.request_log import RequestRecord

from tests.support.generation_models import MESSAGES
from tests.support.server_helpers import Paced, wait_until


def chat_requests(log: list[RequestRecord]) -> list[RequestRecord]:
    return [r for r in log if r.path == "/v1/chat/completions"]


def test_a_request_past_the_time_limit_is_not_retried_by_the_openai_client(model_path: Path) -> None:
    gen = Paced(LocalGenerator(model_path, n_threads=1), delay=0.05)  # 20 tokens a second
    log: list[RequestRecord] = []
    handle = start_background(gen, limits=ServerLimits(request_timeout=1.0), on_request=log.append)
    try:
        client = openai.OpenAI(base_url=handle.url + "/v1", api_key="unused")  # max_retries: the default, 2
        with pytest.raises(openai.APIStatusError) as info:
            client.chat.completions.create(model=model_path.stem, messages=MESSAGES,  # type: ignore[arg-type]
                                           max_tokens=400, temperature=0)
        assert [r.status for r in chat_requests(log)] == [504]  # sent once
        assert info.value.status_code == 504 and info.value.response.headers["x-should-retry"] == "false"
        wait_until(lambda: len(gen.results) == 1, what="the stopped generation")  # the model worked on it once
    finally:
        handle.stop()
        gen.generator.close()


class KillsItsWorker(Paced):
    """The real worker-process generator whose process is killed (SIGKILL) at the first streamed piece."""

    def generate(self, prompt: Any, settings: Any = None, *, on_event: Any = None, cancel: Any = None,
                 tools: Any = None) -> Any:
        def kill(event: Any) -> None:
            pid = self.generator.pid
            assert pid is not None
            os.kill(pid, signal.SIGKILL)

        self.calls = getattr(self, "calls", 0) + 1
        return super().generate(prompt, settings, on_event=kill, cancel=cancel, tools=tools)


@pytest.mark.skipif(sys.platform == "win32", reason="SIGKILL")
def test_a_request_that_crashed_the_model_is_not_retried_by_the_openai_client(model_path: Path) -> None:
    worker = WorkerGenerator(model_path, n_threads=1)
    gen = KillsItsWorker(worker)
    log: list[RequestRecord] = []
    handle = start_background(gen, on_request=log.append)
    try:
        client = openai.OpenAI(base_url=handle.url + "/v1", api_key="unused")
        with pytest.raises(openai.APIStatusError) as info:
            client.chat.completions.create(model=model_path.stem, messages=MESSAGES,  # type: ignore[arg-type]
                                           max_tokens=50, temperature=0)
        assert [r.status for r in chat_requests(log)] == [500] and gen.calls == 1  # sent once
        assert info.value.status_code == 500 and info.value.code == "model_crashed"
        assert info.value.response.headers["x-should-retry"] == "false"
    finally:
        handle.stop()
        worker.close()
