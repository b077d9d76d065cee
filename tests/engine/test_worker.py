"""WorkerGenerator: llama.cpp in a child process. Same results as in-process; a crash is one line, never a signal."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from exaone_desktop.engine.llama import worker_child
from exaone_desktop.engine.llama.crash import WorkerCrashed, crash_message, crash_reason
from exaone_desktop.engine.llama.local import LocalGenerator
from exaone_desktop.engine.llama.worker import WorkerGenerator
from exaone_desktop.engine.settings import SettingsError
from exaone_desktop.engine.types import GenerationError, StreamEvent

from tests.support.generation_models import MESSAGES, PLAIN_PROMPT
from tests.support.gguf_mutants import architecture, duplicate_vocabulary, set_uint32

PNG = bytes.fromhex("89504e470d0a1a0a0000000d4948445200000001000000010802000000907753de0000000c4944415408d763f8cfc0"
                    "00000301010018dd8db00000000049454e44ae426082")  # one red pixel
POSIX = os.name == "posix"


@pytest.fixture(scope="module")
def local(model: Path) -> Iterator[LocalGenerator]:
    gen = LocalGenerator(model, n_threads=1)
    yield gen
    gen.close()


@pytest.fixture(scope="module")
def duplicate_vocab(model: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("dup") / "duplicate-vocab.gguf"
    duplicate_vocabulary(model, path)
    return path


def cli(*argv: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "exaone_desktop.cli.generate", *argv, "--threads", "1"],
                          capture_output=True, text=True, timeout=300)


def assert_one_line_exit_1(done: subprocess.CompletedProcess[str]) -> str:
    assert done.returncode == 1, (done.returncode, done.stderr)  # never -6 (SIGABRT) or 134
    assert done.stderr.count("\n") == 1 and done.stderr.startswith("exaone-generate: error: ")
    assert "Traceback" not in done.stderr and done.stdout == ""
    return done.stderr


# -- same behaviour as in-process ---------------------------------------------------------------------


@pytest.mark.parametrize("prompt", [PLAIN_PROMPT, MESSAGES], ids=["plain", "chat"])
def test_worker_gives_what_in_process_gives(prompt: Any, worker: WorkerGenerator, local: LocalGenerator) -> None:
    settings = local.default_settings(max_new_tokens=24, do_sample=True, seed=5, num_return_sequences=2)
    assert worker.default_settings(max_new_tokens=24, do_sample=True, seed=5, num_return_sequences=2) == settings
    events: list[StreamEvent] = []
    evals = worker.stats.prompt_evals
    ours = worker.generate(prompt, settings, on_event=events.append)
    theirs = local.generate(prompt, settings)
    assert ours.prompt_token_ids == theirs.prompt_token_ids and ours.prompt_text == theirs.prompt_text
    assert [(c.text, c.token_ids, c.finish_reason, c.reasoning) for c in ours.generated] == \
           [(c.text, c.token_ids, c.finish_reason, c.reasoning) for c in theirs.generated]
    for index, c in enumerate(ours.generated):
        streamed = [e for e in events if e.index == index]
        assert "".join(e.text for e in streamed if e.kind == "answer") == c.text
        assert "".join(e.text for e in streamed if e.kind == "reasoning") == (c.reasoning or "")
    assert (worker.backend, worker.n_ctx, worker.model_info) == (local.backend, local.n_ctx, local.model_info)
    assert worker.stats.prompt_evals == evals + 1  # the prompt was evaluated once for both sequences
    assert worker.tokenize_prompt(prompt, settings) == local.tokenize_prompt(prompt, settings)


def test_the_log_keeps_llama_cpp_warnings_but_not_the_metadata_dump(worker: WorkerGenerator, model: Path) -> None:
    """llama-cpp-python prints the whole metadata (chat template included) when verbose; the worker must pass
    verbose to keep its stderr, so the dump is dropped there unless the user asked for verbose."""
    assert worker._worker is not None
    quiet = Path(worker._worker.log_path).read_text(encoding="utf-8", errors="replace")
    assert "Model metadata" not in quiet and "chat_template" not in quiet
    loud = WorkerGenerator(model, n_threads=1, verbose=True)
    try:
        assert loud._worker is not None
        assert "Model metadata" in Path(loud._worker.log_path).read_text(encoding="utf-8", errors="replace")
    finally:
        loud.close()


def test_errors_keep_their_type_and_line(worker: WorkerGenerator) -> None:
    with pytest.raises(SettingsError):
        worker.default_settings(top_k=-1)
    with pytest.raises(GenerationError, match="does not fit") as info:
        worker.generate(PLAIN_PROMPT, worker.default_settings(max_new_tokens=10**6))
    assert "\n" not in str(info.value)
    assert worker.generate("hi", worker.default_settings(max_new_tokens=2)).generated  # still serving


def test_cancel_reaches_the_worker_mid_reply(worker: WorkerGenerator, local: LocalGenerator) -> None:
    settings = worker.default_settings(max_new_tokens=400, do_sample=True, seed=3)
    cancel = threading.Event()
    pieces: list[str] = []

    def on_event(event: StreamEvent) -> None:
        pieces.append(event.text)
        cancel.set()

    c = worker.generate(PLAIN_PROMPT, settings, on_event=on_event, cancel=cancel).generated[0]
    assert c.finish_reason == "cancelled" and len(c.token_ids) < 400
    full = local.generate(PLAIN_PROMPT, settings).generated[0]
    assert full.token_ids[: len(c.token_ids)] == c.token_ids
    assert worker.generate("hi", worker.default_settings(max_new_tokens=3)).generated[0].finish_reason != "cancelled"


def test_prompt_evaluation_stops_between_batches(model: Path) -> None:
    """The worker's generator checks the cancel flag before each prompt batch."""
    cancel = threading.Event()
    gen = worker_child._make_generator(str(model), {"n_threads": 1})
    try:
        settings = gen.default_settings(max_new_tokens=4)
        long_prompt = "word"
        while len(gen.tokenize_prompt(long_prompt, settings)[1]) <= gen.n_batch:  # two batches or more
            long_prompt += " word"
        assert len(gen.tokenize_prompt(long_prompt, settings)[1]) < gen.n_ctx - 4
        short = gen.default_settings(max_new_tokens=4)
        cancel.set()
        result, _stats, _kept = worker_child._handle(gen, "generate", (long_prompt, short, {}), cancel,
                                                     lambda message: None, 1)
        assert [c.finish_reason for c in result.generated] == ["cancelled"]
        assert gen.stats.tokens_decoded == 0
        cancel.clear()
        result, _stats, _kept = worker_child._handle(gen, "generate", (long_prompt, short, {}), cancel,
                                                     lambda message: None, 1)
        assert result.generated[0].finish_reason == "length"
    finally:
        gen.close()


# -- crashes --------------------------------------------------------------------------------------


def test_duplicate_vocabulary_abort_is_one_line(duplicate_vocab: Path) -> None:
    with pytest.raises(WorkerCrashed) as info:
        WorkerGenerator(duplicate_vocab, n_threads=1)
    message = str(info.value)
    assert "\n" not in message and duplicate_vocab.name in message and "loading" in message
    if POSIX:
        assert "SIGABRT" in message
    assert "GGML_ASSERT(id_to_token.size() == token_to_id.size())" in message  # llama.cpp's own reason
    assert "convert or download it again" in message


def test_cli_duplicate_vocabulary_exits_1_with_one_line(duplicate_vocab: Path) -> None:
    err = assert_one_line_exit_1(cli("--model", str(duplicate_vocab), "--prompt", "hi"))
    assert duplicate_vocab.name in err and "GGML_ASSERT" in err


def test_cli_block_count_100000_exits_1_with_one_line(model: Path, tmp_path: Path) -> None:
    path = set_uint32(model, tmp_path / "layers.gguf", f"{architecture(model)}.block_count", 100_000)
    err = assert_one_line_exit_1(cli("--model", str(path), "--prompt", "hi"))
    assert "block_count is 100000" in err


@pytest.mark.skipif(not POSIX, reason="SIGKILL")
def test_sigkill_mid_reply_gives_a_message_and_the_next_request_reloads(model: Path) -> None:
    with WorkerGenerator(model, n_threads=1) as gen:
        first_pid = gen.pid
        assert first_pid is not None
        pieces: list[str] = []

        def kill_on_first_piece(event: StreamEvent) -> None:
            pieces.append(event.text)
            if len(pieces) == 1:
                os.kill(first_pid, signal.SIGKILL)

        with pytest.raises(WorkerCrashed) as info:
            gen.generate(PLAIN_PROMPT, gen.default_settings(max_new_tokens=500), on_event=kill_on_first_piece)
        message = str(info.value)
        assert "\n" not in message and "SIGKILL" in message and model.name in message
        assert "send the message again" in message
        again = gen.generate(PLAIN_PROMPT, gen.default_settings(max_new_tokens=5))
        assert len(again.generated[0].token_ids) == 5 and gen.pid not in (None, first_pid)


def test_cancel_while_loading_ends_the_worker(model: Path) -> None:
    cancel = threading.Event()
    cancel.set()
    with pytest.raises(GenerationError, match="cancelled"):
        WorkerGenerator(model, n_threads=1, cancel=cancel)


def test_closed_worker_is_gone_and_says_so(model: Path) -> None:
    gen = WorkerGenerator(model, n_threads=1)
    pid = gen.pid
    assert pid is not None
    gen.close()
    if POSIX:
        with pytest.raises(ProcessLookupError):
            os.kill(pid, 0)
    with pytest.raises(GenerationError, match="closed"):
        gen.generate("hi")


def test_bad_header_never_starts_a_worker(tmp_path: Path) -> None:
    bad = tmp_path / "broken.gguf"
    bad.write_bytes(b"GGUF\x03\x00\x00\x00" + b"\xff" * 40)
    with pytest.raises(GenerationError) as info:
        WorkerGenerator(bad)
    assert "\n" not in str(info.value) and not isinstance(info.value, WorkerCrashed)


# -- messages -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("log", "expected"),
    [
        ("llama_model_loader: loaded meta data\n/home/runner/work/llama.cpp/src/llama-vocab.cpp:2544: "
         "GGML_ASSERT(id_to_token.size() == token_to_id.size()) failed\n",
         "llama-vocab.cpp:2544: GGML_ASSERT(id_to_token.size() == token_to_id.size()) failed"),
        ("llama_model_load: error loading model: tensor 'blk.0.attn_q.weight' data is not within the file bounds\n"
         "llama_model_load_from_file_impl: failed to load model\n",
         "llama_model_load: error loading model: tensor 'blk.0.attn_q.weight' data is not within the file bounds"),
        ("terminate called after throwing an instance of 'std::bad_alloc'\n  what():  std::bad_alloc\n",
         "terminate called after throwing an instance of 'std::bad_alloc'"),
        ("", ""),
        ("just chatter\n", ""),
    ],
)
def test_crash_reason_picks_the_telling_line(log: str, expected: str) -> None:
    assert crash_reason(log) == expected


def test_a_python_failure_in_the_worker_is_not_blamed_on_the_model() -> None:
    log = 'Traceback (most recent call last):\n  File "x.py", line 1\nSyntaxError: invalid syntax\n'
    message = crash_message("m.gguf", "loading", 1, log)
    assert message.startswith("the model worker failed (exit code 1) while loading m.gguf: SyntaxError")
    assert "reinstall" in message and "damaged" not in message


def test_crash_message_is_one_line_for_any_log() -> None:
    message = crash_message("m.gguf", "loading", -6, "a\n" * 5000 + "x.cpp:1: GGML_ASSERT(" + "y" * 5000 + ")\n")
    assert "\n" not in message and len(message) < 600 and "m.gguf" in message


def test_frozen_entry_point_dispatches_the_worker_flag() -> None:
    entry = (Path(__file__).resolve().parents[2] / "packaging" / "entry.py").read_text(encoding="utf-8")
    assert f'["{worker_child.WORKER_FLAG}"]' in entry


def test_keyword_arguments_reach_the_worker_only_where_its_generator_takes_them(worker: WorkerGenerator) -> None:
    settings = worker.default_settings(max_new_tokens=3)
    plain = worker.generate("hi", settings)
    assert worker.generate("hi", settings, conversation="chat-1").generated[0].token_ids == \
        plain.generated[0].token_ids
    assert {"conversation", "tools", "grammar", "images"} <= worker.capabilities.keywords()
    with pytest.raises(GenerationError, match="no_such_option is not available with this model's engine"):
        worker.generate("hi", settings, no_such_option=1)


def test_kept_conversations_are_seen_and_resized_while_a_reply_runs(model: Path) -> None:
    with WorkerGenerator(model, n_threads=1, state_cache_mb=64) as gen:
        settings = gen.default_settings(max_new_tokens=4, do_sample=False)
        gen.generate(MESSAGES, settings, conversation="a")
        gen.generate("다른 대화", settings, conversation="b")  # "a" is kept while "b" runs
        trips: list[str] = []
        real_call = gen._call
        gen._call = lambda op, *args: trips.append(op) or real_call(op, *args)  # type: ignore[method-assign]
        kept = gen.state_cache.usage()
        assert trips == []  # the figures came with the reply: asking after it costs no trip to the worker
        assert kept == real_call("state_cache_usage", (), None, None)  # and they are the worker's own
        assert kept.entries == 1 and 0 < kept.bytes <= kept.budget_bytes == 64 * 2**20
        started, release = threading.Event(), threading.Event()

        def on_event(_event: StreamEvent) -> None:
            started.set()
            release.wait(30)  # the reply is held mid-stream while the parent asks

        reply = threading.Thread(target=gen.generate, args=("길게 써 주세요", settings.replace(max_new_tokens=50)),
                                 kwargs={"on_event": on_event, "conversation": "c"})
        reply.start()
        try:
            assert started.wait(60)
            assert gen.state_cache.usage().entries == 2  # answered at once: "a" and "b" kept, "c" runs
            assert trips == ["generate", "state_cache_usage"]  # mid-reply the figures are asked of the worker
            gen.set_state_cache_mb(0)
            assert gen.state_cache.usage().entries == 0 and gen.state_cache.usage().budget_bytes == 0
        finally:
            release.set()
            reply.join(60)
        gen.kill()
        assert gen.state_cache.usage() is None  # asking never loads a model
        gen.generate("hi", settings)  # the new worker starts with the budget last set
        assert gen.state_cache.usage().budget_bytes == 0


def test_a_batched_worker_decodes_requests_from_several_threads_together(model: Path, local: LocalGenerator
                                                                         ) -> None:
    prompts = [PLAIN_PROMPT, "서울은", "The river", "하늘이"]
    settings = local.default_settings(max_new_tokens=12, do_sample=False)
    alone = [local.generate(p, settings).generated[0].token_ids for p in prompts]
    with WorkerGenerator(model, n_threads=1, n_seq=4, n_ctx=256) as gen:
        assert gen.n_seq == 4 and gen.n_ctx == 256 and "images" in gen.capabilities.keywords()
        assert "conversation" not in gen.capabilities.keywords()
        results: dict[int, list[int]] = {}
        threads = [threading.Thread(target=lambda i=i: results.__setitem__(
            i, gen.generate(prompts[i], settings).generated[0].token_ids)) for i in range(4)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(120)
        assert [results[i] for i in range(4)] == alone
        assert gen.max_batch >= 2 and gen.steps < sum(len(a) for a in alone)  # they shared decode steps
        assert gen.generate(PLAIN_PROMPT, settings, conversation="c").generated[0].token_ids == alone[0]  # a hint
        with pytest.raises(GenerationError, match="has no vision projector"):
            gen.generate(PLAIN_PROMPT, settings, images=[PNG])


def test_tools_and_grammar_reach_the_worker(worker: WorkerGenerator, local: LocalGenerator) -> None:
    settings = worker.default_settings(max_new_tokens=6)
    grammar = 'root ::= "a" "b"*'
    ours = worker.generate(PLAIN_PROMPT, settings, grammar=grammar).generated[0]
    theirs = local.generate(PLAIN_PROMPT, settings, grammar=grammar).generated[0]
    assert ours.token_ids == theirs.token_ids and ours.text.startswith("a")


def test_a_request_that_cannot_cross_the_pipe_is_one_line(worker: WorkerGenerator) -> None:
    with pytest.raises(GenerationError, match="cannot send this request to the model worker"):
        worker.generate("hi", worker.default_settings(max_new_tokens=2), unpicklable=threading.Lock())
    assert worker.generate("hi", worker.default_settings(max_new_tokens=2)).generated  # still serving


def test_pipeline_isolated_gives_the_in_process_answer(model: Path, duplicate_vocab: Path) -> None:
    from exaone_desktop.pipeline import pipeline

    isolated = pipeline(model, isolated=True, n_threads=1)
    try:
        assert isinstance(isolated.generator, WorkerGenerator)
        ours = isolated(PLAIN_PROMPT, max_new_tokens=8)
    finally:
        isolated.generator.close()
    plain = pipeline(model, n_threads=1)
    try:
        assert isinstance(plain.generator, LocalGenerator)  # scripts and notebooks: in-process by default
        assert ours == plain(PLAIN_PROMPT, max_new_tokens=8)
    finally:
        plain.generator.close()
    with pytest.raises(WorkerCrashed, match="GGML_ASSERT"):
        pipeline(duplicate_vocab, isolated=True)  # the script lives on

