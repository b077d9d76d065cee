"""WorkerGenerator's failure paths: a stop, a bad request, a caller that gives up, a dead worker, errors' types."""

from __future__ import annotations

import base64
import os
import signal
import sys
import threading
from pathlib import Path
from typing import Any

import pytest
from exaone_desktop.engine.documents import DocumentError
from exaone_desktop.engine.llama import worker_child
from exaone_desktop.engine.llama.crash import WorkerCrashed
from exaone_desktop.engine.llama.local import LocalGenerator
from exaone_desktop.engine.llama.worker import WorkerGenerator
from exaone_desktop.engine.sampling.grammar import GrammarError
from exaone_desktop.engine.types import GenerationError, GenerationResult, StreamEvent

from tests.support.generation_models import PLAIN_PROMPT

ENDLESS = "root ::= [a-z ] root"  # a grammar that never lets the reply end: it runs to max_new_tokens


def test_a_stopped_request_waiting_for_a_batch_slot_ends_alone(model: Path) -> None:
    """Two long replies hold both slots; a third, queued, is stopped: it ends cancelled at once, and the worker
    the three share is not killed for it (the other two finish, in the same process)."""
    with WorkerGenerator(model, n_threads=1, n_seq=2, n_ctx=1024) as gen:
        gen.cancel_grace_s = 0.0  # a one-request worker would be killed at once
        pid = gen.pid
        long = gen.default_settings(max_new_tokens=900, do_sample=True, seed=1)
        started = [threading.Event(), threading.Event()]
        results: dict[int, GenerationResult | BaseException] = {}

        def run(i: int) -> None:
            try:
                results[i] = gen.generate(PLAIN_PROMPT, long, grammar=ENDLESS, on_event=lambda _e: started[i].set())
            except BaseException as err:  # noqa: BLE001 - the assertion below shows it
                results[i] = err

        threads = [threading.Thread(target=run, args=(i,)) for i in range(2)]
        for t in threads:
            t.start()
        assert all(s.wait(120) for s in started)
        stop = threading.Event()
        stop.set()
        third = gen.generate(PLAIN_PROMPT, gen.default_settings(max_new_tokens=4), cancel=stop)
        others_done_before = sorted(results)
        for t in threads:
            t.join(300)
        assert [c.finish_reason for c in third.generated] == ["cancelled"] and third.generated[0].token_ids == []
        assert others_done_before == []  # it did not wait for a slot
        for i in range(2):
            result = results[i]
            assert isinstance(result, GenerationResult), result
            assert result.generated[0].finish_reason == "length" and len(result.generated[0].token_ids) == 900
        assert gen.pid == pid and gen.running


class Words(str):
    """A str subclass of the caller's own (the worker cannot import it)."""


class Note:
    def __str__(self) -> str:
        return "hi"


@pytest.fixture
def callers_own_classes(monkeypatch: pytest.MonkeyPatch) -> tuple[type, type]:
    """Classes only this process's ``__main__`` has, as a script's own would be."""
    main = sys.modules["__main__"]
    for cls in (Words, Note):
        monkeypatch.setattr(cls, "__module__", "__main__")
        monkeypatch.setattr(main, cls.__name__, cls, raising=False)
    return Words, Note


def test_a_request_the_worker_cannot_load_is_one_line_and_the_next_works(
        worker: WorkerGenerator, callers_own_classes: tuple[type, type]) -> None:
    words, note = callers_own_classes
    settings = worker.default_settings(max_new_tokens=3, do_sample=False)
    plain = worker.generate("hi", settings).generated[0].token_ids
    assert worker.generate(words("hi"), settings).generated[0].token_ids == plain  # sent as a plain str
    assert worker.generate([{"role": "user", "content": words("hi")}], settings).generated
    pid = worker.pid
    with pytest.raises(GenerationError, match="cannot read this request") as info:
        worker.generate([{"role": "user", "content": note()}], settings)
    assert "\n" not in str(info.value) and "AttributeError" in str(info.value)
    with pytest.raises(GenerationError, match="cannot read this request"):  # the worker's own reader, unaided
        worker._call("generate", (words("hi"), settings, {}), None, None)
    assert worker.generate("hi", settings).generated[0].token_ids == plain and worker.pid == pid


def test_a_reply_its_caller_gave_up_on_stops_in_the_worker(worker: WorkerGenerator) -> None:
    settings = worker.default_settings(max_new_tokens=900, do_sample=False)
    short = worker.default_settings(max_new_tokens=2, do_sample=False)
    worker.generate(PLAIN_PROMPT, short)
    before = worker.stats.tokens_decoded

    def on_event(_event: StreamEvent) -> None:
        raise RuntimeError("the caller's callback failed")

    with pytest.raises(RuntimeError, match="callback failed"):
        worker.generate(PLAIN_PROMPT, settings, grammar=ENDLESS, on_event=on_event)
    worker.generate(PLAIN_PROMPT, short)
    # the worker's own count: the abandoned reply stopped long before its 900 tokens (it ran them all, for
    # nobody, before the next request was read)
    assert worker.stats.tokens_decoded - before < 450


def test_a_budget_set_while_no_worker_runs_waits_for_the_next_one(model: Path) -> None:
    with WorkerGenerator(model, n_threads=1, state_cache_mb=64) as gen:
        settings = gen.default_settings(max_new_tokens=2, do_sample=False)
        gen.kill()
        pid = gen.pid
        gen.set_state_cache_mb(10)
        assert not gen.running and gen.pid == pid  # no model was loaded on this thread
        assert gen.state_cache_usage() is None
        gen.generate("hi", settings, conversation="a")
        assert gen.running and gen.pid != pid
        assert gen.state_cache_usage().budget_bytes == 10 * 2**20  # the new worker started with it


def test_document_and_grammar_errors_keep_their_type_and_line(worker: WorkerGenerator, model: Path) -> None:
    unreadable = base64.b64encode(b"%PDF-1.4 this is not a PDF").decode("ascii")
    prompt = [{"role": "user", "content": [
        {"type": "text", "text": "요약해 주세요"},
        {"type": "file", "file": {"filename": "report.pdf", "file_data": f"data:application/pdf;base64,{unreadable}"}},
    ]}]
    settings = worker.default_settings(max_new_tokens=2)
    local = LocalGenerator(model, n_threads=1)
    try:
        with pytest.raises(DocumentError) as here:
            local.generate(prompt, settings)
        with pytest.raises(GrammarError) as grammar_here:
            local.generate("hi", settings, grammar='root ::= ("a"')
    finally:
        local.close()
    with pytest.raises(DocumentError) as there:
        worker.generate(prompt, settings)
    assert type(there.value) is DocumentError and str(there.value) == str(here.value)
    assert "\n" not in str(there.value)
    with pytest.raises(GenerationError) as grammar_there:
        worker.generate("hi", settings, grammar='root ::= ("a"')
    assert str(grammar_there.value) == str(grammar_here.value)


class FailsMidReply:
    """A real LocalGenerator whose reply breaks after its third piece of text."""

    def __init__(self, real: LocalGenerator) -> None:
        self.real, self.capabilities, self.seen = real, real.capabilities, []

    def generate(self, prompt: Any, settings: Any, *, on_event: Any, cancel: Any, **kwargs: Any) -> Any:
        def forward(event: StreamEvent) -> None:
            on_event(event)
            self.seen.append(event.text)
            if len(self.seen) == 3:
                raise RuntimeError("the stream broke")

        return self.real.generate(prompt, settings, on_event=forward, cancel=cancel, **kwargs)


def test_text_streamed_before_a_failure_is_sent_before_the_error(model: Path,
                                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(worker_child, "EVENT_INTERVAL_S", 3600.0)  # after the first piece, only flushes send
    local = LocalGenerator(model, n_threads=1)
    try:
        gen = FailsMidReply(local)
        sent: list[Any] = []
        settings = local.default_settings(max_new_tokens=20, do_sample=False)
        worker_child._answer(sent.append, 7, lambda: worker_child._handle(
            gen, "generate", (PLAIN_PROMPT, settings, {"grammar": ENDLESS}), threading.Event(), sent.append, 7))
    finally:
        local.close()
    assert [m[0] for m in sent] == ["events", "events", "raise"] and all(m[2] == 7 for m in sent)
    assert "".join(text for m in sent[:-1] for _i, _k, text in m[1]) == "".join(gen.seen)
    assert "the stream broke" in str(sent[-1][1])


@pytest.mark.skipif(not hasattr(signal, "SIGKILL"), reason="SIGKILL is POSIX's")
def test_every_request_a_crash_ends_says_why(model: Path) -> None:
    """Two replies in a batched worker that dies: the second to notice gives the same reason as the first
    (the first closed the worker and removed its log before the second read it)."""
    with WorkerGenerator(model, n_threads=1, n_seq=2, n_ctx=1024) as gen:
        assert gen._worker is not None and gen.pid is not None
        log, pid = gen._worker.log_path, gen.pid
        long = gen.default_settings(max_new_tokens=900, do_sample=False)
        started = [threading.Event(), threading.Event()]
        first_done = threading.Event()
        errors: dict[int, BaseException] = {}

        def run(i: int) -> None:
            def on_event(_event: StreamEvent) -> None:
                started[i].set()
                if i == 1:
                    first_done.wait(60)  # the second notices the crash only after the first has ended

            try:
                gen.generate(PLAIN_PROMPT, long, grammar=ENDLESS, on_event=on_event)
            except BaseException as err:  # noqa: BLE001 - the assertions below show it
                errors[i] = err
            finally:
                if i == 0:
                    first_done.set()

        threads = [threading.Thread(target=run, args=(i,)) for i in range(2)]
        for t in threads:
            t.start()
        assert all(s.wait(120) for s in started)
        with open(log, "a", encoding="utf-8") as f:
            f.write("GGML_ASSERT(n_tokens > 0) failed in the test\n")
        os.kill(pid, signal.SIGKILL)
        for t in threads:
            t.join(120)
        messages = [str(errors[i]) for i in range(2)]
        assert all(isinstance(errors[i], WorkerCrashed) for i in range(2)), messages
        assert "GGML_ASSERT(n_tokens > 0) failed in the test" in messages[0]
        assert messages[1] == messages[0]
