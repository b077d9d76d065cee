"""exaone-generate --engine cloud|auto: the stand-in OpenAI server over real HTTP and the real local generator."""

from __future__ import annotations

import json
import socket
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from exaone_desktop.cli import generate as cli

from tests.support import memory_keyring
from tests.support.cli_runs import write_messages
from tests.support.generation_models import tiny_gguf
from tests.support.openai_stub import OpenAIStub, stub_in_environment
from tests.support.socket_guard import socket_guard

KIND = "exaone3_untied"
KEY = "sk-cli-SECRET-00112233445566778899"
MESSAGES = [{"role": "system", "content": "Answer briefly."},
            {"role": "user", "content": "서울의 날씨는 어때요? How is the weather?"}]
NOTE, ERROR = "exaone-generate: note: ", "exaone-generate: error: "


@pytest.fixture(autouse=True)
def clean_env(monkeypatch: pytest.MonkeyPatch) -> Iterator[memory_keyring.MemoryKeyring]:
    with memory_keyring.no_cloud_credentials(monkeypatch) as backend:
        yield backend


@pytest.fixture
def stub(monkeypatch: pytest.MonkeyPatch) -> Iterator[OpenAIStub]:
    """The stand-in server, with the key and base URL in the environment; any other connection fails the test."""
    with stub_in_environment(monkeypatch, KEY) as server:
        yield server


@pytest.fixture
def model_path(tiny_checkpoint: Any) -> Path:
    return tiny_gguf(KIND, tiny_checkpoint)


@pytest.fixture
def broken_model(model_path: Path, tmp_path: Path) -> Path:
    """The tiny GGUF cut in half: its header is intact, its tensor data is not."""
    data = model_path.read_bytes()
    path = tmp_path / "truncated.gguf"
    path.write_bytes(data[: len(data) // 2])
    return path


@pytest.fixture
def messages_file(tmp_path: Path) -> Path:
    return write_messages(tmp_path, MESSAGES)


def run(capsys: Any, *argv: str) -> tuple[int, str, str]:
    code = cli.main([*argv, "--cloud-model", "stub-model", "--cloud-timeout", "0.5"])
    out, err = capsys.readouterr()
    return code, out, err


def notes(err: str) -> list[str]:
    return [line for line in err.splitlines() if line.startswith(NOTE)]


def one_line_error(err: str) -> str:
    assert err.count("\n") == 1 and err.startswith(ERROR) and "Traceback" not in err
    return err


# --- (a) the cloud engine: the mapped request, the JSON contract, streaming -------------------------

SAMPLING_FLAGS = ["--do-sample", "--temperature", "0.7", "--top-p", "0.9", "--max-new-tokens", "5", "--seed", "7",
                  "--stop", "EXAONE", "--num-return-sequences", "2", "--top-k", "10", "--repetition-penalty", "1.2"]


def test_cloud_json_sends_the_mapped_settings_and_reports_what_was_not_applied(stub: OpenAIStub,
                                                                              capsys: Any) -> None:
    code, out, err = run(capsys, "--engine", "cloud", "--prompt", "hello EXAONE world", "--json",
                         "--no-return-full-text", *SAMPLING_FLAGS)
    assert code == 0, err
    [request] = stub.chat_requests
    body = request.body
    sent = {k: v for k, v in body.items() if k not in ("model", "messages", "stream", "stream_options")}
    assert sent == {"temperature": 0.7, "top_p": 0.9, "max_completion_tokens": 5, "seed": 7, "stop": ["EXAONE"],
                    "n": 2}
    assert body["model"] == "stub-model"
    assert body["messages"] == [{"role": "user", "content": "hello EXAONE world"}]
    assert request.authorization == f"Bearer {KEY}"
    data = json.loads(out)
    assert data["backend"] == "openai"
    assert data["not_applied"] == ["top_k", "repetition_penalty"]
    assert [g["text"] for g in data["generated"]] == ["reply 0: hello ", "reply 1: hello "]  # cut at the stop
    assert {g["finish_reason"] for g in data["generated"]} == {"stop"}
    assert notes(err) == [NOTE + "not applied by the cloud engine: top_k, repetition_penalty"]
    assert KEY not in out + err


def test_greedy_cloud_request_sends_temperature_zero_and_no_top_p(stub: OpenAIStub, capsys: Any) -> None:
    code, out, err = run(capsys, "--engine", "cloud", "--prompt", "hi", "--json")
    assert code == 0, err
    body = stub.chat_requests[0].body
    assert body["temperature"] == 0.0 and "top_p" not in body and "n" not in body and "seed" not in body
    assert json.loads(out)["not_applied"] == [] and notes(err) == []


def test_cloud_stream_prints_the_same_text_as_json(stub: OpenAIStub, capsys: Any, messages_file: Path) -> None:
    base = ["--engine", "cloud", "--messages", str(messages_file), "--repetition-penalty", "1.3"]
    code, out, err = run(capsys, *base, "--json")
    assert code == 0, err
    text = json.loads(out)["generated"][0]["text"]
    assert text == "reply 0: " + MESSAGES[-1]["content"]
    code, streamed, err = run(capsys, *base, "--stream")
    assert code == 0, err
    assert streamed == text + "\n"
    assert notes(err) == [NOTE + "not applied by the cloud engine: repetition_penalty"]
    assert [r.body.get("stream") for r in stub.chat_requests] == [True, True]
    assert all(r.body["messages"] == MESSAGES for r in stub.chat_requests)


def test_a_plain_prompt_is_repeated_before_the_cloud_reply_by_default(stub: OpenAIStub, capsys: Any) -> None:
    code, out, _ = run(capsys, "--engine", "cloud", "--prompt", "Once upon")
    assert code == 0 and out == "Once upon" + "reply 0: Once upon" + "\n"


def test_the_key_from_the_keychain_is_used(stub: OpenAIStub, capsys: Any, monkeypatch: pytest.MonkeyPatch,
                                           clean_env: memory_keyring.MemoryKeyring) -> None:
    monkeypatch.delenv("OPENAI_API_KEY")
    from exaone_desktop.engine.cloud import keys

    keys.set_api_key("sk-from-keychain")
    code, out, err = run(capsys, "--engine", "cloud", "--prompt", "hi", "--json")
    assert code == 0, err
    assert stub.chat_requests[0].authorization == "Bearer sk-from-keychain"


# --- (b) auto with a working model: local, and not one byte to the cloud ------------------------------

def test_auto_with_a_model_answers_locally_and_sends_nothing(stub: OpenAIStub, capsys: Any, model_path: Path,
                                                            messages_file: Path) -> None:
    code, out, err = run(capsys, "--engine", "auto", "--model", str(model_path), "--messages", str(messages_file),
                         "--max-new-tokens", "4", "--json", "--threads", "1")
    assert code == 0, err
    data = json.loads(out)
    assert data["backend"] in ("cpu", "metal", "cuda") and len(data["generated"][0]["token_ids"]) == 4
    assert "not_applied" not in data and notes(err) == []
    assert stub.requests == []


# --- (c) auto with a broken model: the cloud answers, with the user's message unchanged --------------

@pytest.mark.parametrize("which", ["truncated", "missing"])
def test_auto_falls_back_to_the_cloud_when_the_model_cannot_load(which: str, stub: OpenAIStub, capsys: Any,
                                                                 broken_model: Path, messages_file: Path,
                                                                 tmp_path: Path) -> None:
    model = broken_model if which == "truncated" else tmp_path / "nowhere.gguf"
    code, out, err = run(capsys, "--engine", "auto", "--model", str(model), "--messages", str(messages_file),
                         "--json", "--threads", "1")
    assert code == 0, err
    assert json.loads(out)["backend"] == "openai"
    [note] = notes(err)
    assert err == note + "\n"  # exactly one line
    assert note.startswith(NOTE + "the local model failed: ") and model.name in note
    assert note.endswith("; answered by the cloud model")
    [request] = stub.chat_requests
    assert request.body["messages"] == MESSAGES


def test_auto_fallback_streams_the_cloud_reply(stub: OpenAIStub, capsys: Any, broken_model: Path) -> None:
    code, out, err = run(capsys, "--engine", "auto", "--model", str(broken_model), "--prompt", "tell me",
                         "--no-return-full-text", "--stream")
    assert code == 0, err
    assert out == "reply 0: tell me\n"
    assert len(notes(err)) == 1 and stub.chat_requests[0].body["messages"] == [{"role": "user", "content": "tell me"}]


# --- (d) cloud failures: one line naming the fix, exit 1, never the key --------------------------------

CLOUD_FAILURES = [
    ("401", False, "HTTP 401", "OPENAI_API_KEY"),
    ("429", False, "HTTP 429", "wait a minute"),
    ("500", False, "HTTP 500", "try again later"),
    ("hang", False, "did not answer within 0.5 s", "raise the timeout"),
    ("drop", False, "dropped before the answer was complete", "retry"),
    ("drop", True, "dropped before the answer was complete", "retry"),
]


@pytest.mark.parametrize(("failure", "stream", "what", "fix"), CLOUD_FAILURES)
def test_cloud_failures_are_one_line_errors(failure: str, stream: bool, what: str, fix: str, stub: OpenAIStub,
                                            capsys: Any) -> None:
    stub.fail_next(failure, failure)  # the client retries once
    code, out, err = run(capsys, "--engine", "cloud", "--prompt", "hi", *(["--stream"] if stream else []))
    assert code == 1
    line = one_line_error(err)
    assert line.startswith(ERROR + "the cloud model failed: ") and what in line and fix in line
    assert KEY not in out + err
    assert out == "" if not stream else "hireply 0: hi".startswith(out)  # a stream keeps what it printed


def test_an_unreachable_server_is_a_one_line_error(capsys: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    with socket.socket() as probe:  # a port nobody listens on
        probe.bind(("127.0.0.1", 0))
        address = probe.getsockname()
    monkeypatch.setenv("OPENAI_API_KEY", KEY)
    monkeypatch.setenv("OPENAI_BASE_URL", f"http://127.0.0.1:{address[1]}/v1")
    with socket_guard(allow=[address]):
        code, out, err = run(capsys, "--engine", "cloud", "--prompt", "hi")
    assert code == 1 and out == ""
    line = one_line_error(err)
    assert "could not reach the cloud API at 127.0.0.1" in line and "check the internet connection" in line


@pytest.mark.parametrize(("failure", "what"), [("401", "HTTP 401"), ("500", "HTTP 500"), ("hang", "did not answer")])
def test_auto_reports_both_failures_when_the_cloud_fails_too(failure: str, what: str, stub: OpenAIStub,
                                                             capsys: Any, broken_model: Path) -> None:
    stub.fail_next(failure, failure)
    code, out, err = run(capsys, "--engine", "auto", "--model", str(broken_model), "--prompt", "hi")
    assert code == 1 and out == ""
    line = one_line_error(err)
    assert "the local model failed: " in line and broken_model.name in line
    assert "; the cloud model failed: " in line and what in line and KEY not in line
    assert stub.chat_requests[0].body["messages"] == [{"role": "user", "content": "hi"}]


def test_auto_without_a_model_uses_the_cloud_and_has_nothing_to_fall_back_to(stub: OpenAIStub,
                                                                            capsys: Any) -> None:
    code, out, err = run(capsys, "--engine", "auto", "--prompt", "hi", "--json", "--no-return-full-text")
    assert code == 0 and json.loads(out)["generated"][0]["text"] == "reply 0: hi" and notes(err) == []
    stub.fail_next("500", "500")
    code, out, err = run(capsys, "--engine", "auto", "--prompt", "hi")
    assert code == 1 and "the local model failed" not in one_line_error(err) and "HTTP 500" in err


# --- (e) no key -------------------------------------------------------------------------------------------

def test_no_key_names_the_environment_variable_and_the_keychain(capsys: Any, broken_model: Path) -> None:
    with socket_guard(allow=[]):
        code, _, err = run(capsys, "--engine", "cloud", "--prompt", "hi")
        assert code == 1 and "OPENAI_API_KEY" in one_line_error(err) and "keychain" in err
        code, _, err = run(capsys, "--engine", "auto", "--model", str(broken_model), "--prompt", "hi")
        assert code == 1 and "the local model failed" in one_line_error(err)
        assert "OPENAI_API_KEY" in err and "keychain" in err


def test_a_bad_cloud_timeout_is_a_usage_error(capsys: Any) -> None:
    assert cli.main(["--engine", "cloud", "--prompt", "hi", "--cloud-timeout", "0"]) == 2
    assert "--cloud-timeout" in one_line_error(capsys.readouterr().err)
