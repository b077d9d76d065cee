"""The OpenAI cloud generator against a stand-in server over real HTTP on 127.0.0.1."""

from __future__ import annotations

import logging
import threading
import traceback
from collections.abc import Iterator
from pathlib import Path

import httpx2
import openai
import pytest
from exaone_desktop.engine.cloud import generator as cloud
from exaone_desktop.engine.cloud import keys
from exaone_desktop.engine.cloud.generator import CloudError, CloudGenerator, cloud_generator_from_env, map_settings
from exaone_desktop.engine.settings import GenerationSettings
from exaone_desktop.engine.types import GenerationError, StreamEvent

from tests.support import memory_keyring
from tests.support.openai_stub import OpenAIStub, guarded_stub, prompt_tokens, reply_words

KEY = "sk-test-SECRET-0123456789abcdef"
SAMPLING = GenerationSettings(do_sample=True, temperature=0.7, top_k=0, top_p=0.9)


@pytest.fixture(autouse=True)
def clean_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[memory_keyring.MemoryKeyring]:
    for name in ("HOME", "XDG_CONFIG_HOME", "XDG_DATA_HOME"):
        monkeypatch.setenv(name, str(tmp_path / name.lower()))
    with memory_keyring.no_cloud_credentials(monkeypatch) as backend:
        yield backend


@pytest.fixture
def stub() -> Iterator[OpenAIStub]:
    with guarded_stub() as server:
        yield server


def make(stub: OpenAIStub, **kwargs: object) -> CloudGenerator:
    options: dict[str, object] = {"model": "stub-model", "base_url": stub.base_url, "timeout": 1.0,
                                  "max_retries": 0, **kwargs}
    return CloudGenerator(KEY, **options)  # type: ignore[arg-type]


# --- the settings mapping ---------------------------------------------------------------------------

MAPPING_CASES = [
    (GenerationSettings(), {"temperature": 0.0, "max_completion_tokens": 256}, []),
    (GenerationSettings(repetition_penalty=1.3, top_k=10, enable_thinking=False),
     {"temperature": 0.0, "max_completion_tokens": 256}, ["repetition_penalty", "enable_thinking"]),
    (GenerationSettings(do_sample=True, temperature=1.5, top_p=0.8, max_new_tokens=7, num_return_sequences=3,
                        seed=42, stop=("END", "\n\n"), presence_penalty=1.5, frequency_penalty=-0.5, min_p=0.1),
     {"temperature": 1.5, "top_p": 0.8, "max_completion_tokens": 7, "n": 3, "seed": 42, "stop": ["END", "\n\n"],
      "presence_penalty": 1.5, "frequency_penalty": -0.5}, ["top_k", "min_p"]),
    (SAMPLING, {"temperature": 0.7, "top_p": 0.9, "max_completion_tokens": 256}, []),
]


@pytest.mark.parametrize(("settings", "params", "not_applied"), MAPPING_CASES)
def test_map_settings(settings: GenerationSettings, params: dict, not_applied: list[str]) -> None:
    assert map_settings(settings) == (params, not_applied)


def test_temperature_above_api_limit_is_an_error_not_a_silent_clamp() -> None:
    with pytest.raises(CloudError, match="temperature 0 to 2"):
        map_settings(GenerationSettings(do_sample=True, temperature=2.5))


# --- requests over HTTP -----------------------------------------------------------------------------

@pytest.mark.parametrize("settings", [case[0] for case in MAPPING_CASES])
@pytest.mark.parametrize("streaming", [False, True])
def test_request_carries_exactly_the_mapped_parameters(stub: OpenAIStub, settings: GenerationSettings,
                                                       streaming: bool) -> None:
    messages = [{"role": "system", "content": "be brief"}, {"role": "user", "content": "hello there"}]
    events: list[StreamEvent] = []
    result = make(stub).generate(messages, settings, on_event=events.append if streaming else None)
    params, not_applied = map_settings(settings)
    expected = {"model": "stub-model", "messages": messages, **params}
    if streaming:
        expected |= {"stream": True, "stream_options": {"include_usage": True}}
    [request] = stub.chat_requests
    assert request.body == expected
    assert request.authorization == f"Bearer {KEY}"
    assert result.backend == "openai" and result.not_applied == not_applied
    assert result.to_json()["not_applied"] == not_applied
    assert len(result.generated) == settings.num_return_sequences
    assert result.prompt_token_ids == [] and all(c.token_ids == [] for c in result.generated)


def test_plain_string_prompt_is_one_user_message_and_the_text_is_the_reply_alone(stub: OpenAIStub) -> None:
    gen = make(stub)
    full = gen.generate("tell me", GenerationSettings())
    short = gen.generate("tell me", GenerationSettings(return_full_text=False))
    assert [r.body["messages"] for r in stub.chat_requests] == [[{"role": "user", "content": "tell me"}]] * 2
    # As from the local generator: the caller (pipeline, CLI) puts the prompt in front for return_full_text.
    assert full.generated[0].text == short.generated[0].text == "reply 0: tell me"
    assert full.prompt_text == "tell me"


@pytest.mark.parametrize("settings", [
    GenerationSettings(return_full_text=False),
    SAMPLING.replace(num_return_sequences=3, return_full_text=False),
    SAMPLING.replace(max_new_tokens=3, return_full_text=False),
    SAMPLING.replace(stop=("brown",), num_return_sequences=2, return_full_text=False),
])
def test_streaming_assembles_the_same_text_as_non_streaming(stub: OpenAIStub, settings: GenerationSettings) -> None:
    messages = [{"role": "user", "content": "the quick brown fox jumps"}]
    gen = make(stub)
    plain = gen.generate(messages, settings)
    events: list[StreamEvent] = []
    streamed = gen.generate(messages, settings, on_event=events.append)
    n = settings.num_return_sequences
    body = stub.chat_requests[0].body
    expected = [reply_words(body, i) for i in range(n)]
    assert [(c.text, c.finish_reason) for c in plain.generated] == [("".join(w), f) for w, f in expected]
    assert [(c.text, c.finish_reason) for c in streamed.generated] == \
        [(c.text, c.finish_reason) for c in plain.generated]
    assert len(events) > n  # one event per delta, not one per answer
    for i in range(n):
        assert "".join(e.text for e in events if e.index == i) == streamed.generated[i].text
    total = sum(len(w) for w, _ in expected)
    assert streamed.timings["generated_tokens"] == plain.timings["generated_tokens"] == total
    assert streamed.timings["prompt_tokens"] == prompt_tokens(body)
    assert streamed.timings["generated_tokens_per_s"] > 0


def test_cancel_stops_the_stream(stub: OpenAIStub) -> None:
    cancel = threading.Event()
    events: list[StreamEvent] = []

    def on_event(event: StreamEvent) -> None:
        events.append(event)
        cancel.set()

    result = make(stub).generate("one two three four", GenerationSettings(return_full_text=False),
                                 on_event=on_event, cancel=cancel)
    assert result.generated[0].finish_reason == "cancelled"
    assert result.generated[0].text == events[0].text
    assert len(events) == 1


def test_list_models(stub: OpenAIStub) -> None:
    assert make(stub).list_models() == ["stub-model"]


def test_close_ends_its_connections_and_closing_twice_is_harmless(stub: OpenAIStub) -> None:
    gen = make(stub)
    assert gen.list_models() == ["stub-model"]  # a connection was opened
    gen.close()
    gen.close()
    with pytest.raises(CloudError):  # nothing is sent after close: one line, no traceback
        gen.list_models()
    assert stub.requests[-1].path == "/v1/models"


# --- errors -----------------------------------------------------------------------------------------

FAILURES = [("401", "auth", "API key"), ("429", "rate_limit", "rate-limiting"), ("500", "server", "server error"),
            ("hang", "timeout", "did not answer"), ("drop", "connection", "")]


@pytest.mark.parametrize(("failure", "kind", "words"), FAILURES)
@pytest.mark.parametrize("streaming", [False, True])
def test_each_failure_gives_one_clear_line_without_the_key(stub: OpenAIStub, caplog: pytest.LogCaptureFixture,
                                                           failure: str, kind: str, words: str,
                                                           streaming: bool) -> None:
    caplog.set_level(logging.DEBUG)
    for name in ("openai", "httpx2", "httpcore2", "exaone_desktop"):
        caplog.set_level(logging.DEBUG, logger=name)
    gen = make(stub)
    stub.fail_next(failure)
    with pytest.raises(CloudError) as info:
        gen.generate("hi", GenerationSettings(), on_event=(lambda e: None) if streaming else None)
    err = info.value
    message = str(err)
    assert err.kind == kind and isinstance(err, GenerationError)
    assert words in message and "\n" not in message and ": " in message  # says what, then the fix
    if failure == "drop":
        assert ("dropped" if streaming else "could not reach") in message
    text = "".join(traceback.format_exception(err)) + repr(err) + repr(gen) + caplog.text
    assert caplog.records  # the SDK did log at DEBUG, so the check below is meaningful
    assert KEY not in text and KEY[-8:] not in text
    assert stub.chat_requests[-1].authorization == f"Bearer {KEY}"  # the key did go, only there


def test_bad_request_names_the_parameter(stub: OpenAIStub) -> None:
    gen = make(stub)
    request = httpx2.Request("POST", stub.base_url + "/chat/completions")
    response = httpx2.Response(400, request=request)
    body = {"message": f"Unsupported value: 'temperature' with key {KEY}", "param": "temperature"}
    err = gen.translate(openai.BadRequestError("bad", response=response, body=body))
    assert err.kind == "bad_request" and "parameter temperature" in str(err)
    assert KEY not in str(err)


# --- key and endpoint from the environment or the keychain -------------------------------------------

def test_no_key_names_the_fix() -> None:
    with pytest.raises(GenerationError, match="OPENAI_API_KEY"):
        cloud_generator_from_env()


def test_env_key_wins_over_keychain_and_base_url_comes_from_env(stub: OpenAIStub,
                                                               monkeypatch: pytest.MonkeyPatch) -> None:
    keys.set_api_key("sk-from-keychain")
    monkeypatch.setenv("OPENAI_BASE_URL", stub.base_url)
    gen = cloud_generator_from_env(max_retries=0)
    assert gen.model == cloud.DEFAULT_MODEL and gen.base_url == stub.base_url
    gen.generate("a", GenerationSettings())
    monkeypatch.setenv("OPENAI_API_KEY", KEY)
    cloud_generator_from_env("my-model", stub.base_url, max_retries=0).generate("b", GenerationSettings())
    first, second = stub.chat_requests
    assert first.authorization == "Bearer sk-from-keychain"
    assert second.authorization == f"Bearer {KEY}" and second.body["model"] == "my-model"


def test_bad_base_url_is_one_line() -> None:
    with pytest.raises(GenerationError, match="not an http"):
        cloud.resolve_base_url("ftp://user:pw@example.com")


def test_default_model_is_known_to_the_sdk() -> None:
    import typing

    from openai.types.shared.chat_model import ChatModel
    assert cloud.DEFAULT_MODEL in typing.get_args(ChatModel)


# --- the key store ----------------------------------------------------------------------------------

def test_keychain_round_trip_writes_no_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                            clean_env: memory_keyring.MemoryKeyring) -> None:
    assert keys.get_api_key() is None and keys.key_source() is None
    keys.set_api_key(f"  {KEY}\n")
    assert keys.get_api_key() == KEY and keys.key_source() == "keyring"
    assert clean_env.store == {(keys.SERVICE, keys.ACCOUNT): KEY}
    assert KEY not in keys.describe_key_source()
    monkeypatch.setenv("OPENAI_API_KEY", "sk-env")
    assert keys.get_api_key() == "sk-env" and keys.key_source() == "env"
    assert keys.delete_api_key() is True and keys.delete_api_key() is False
    assert keys.stored_key() is None
    files = [p for p in tmp_path.rglob("*") if p.is_file()]
    assert all(KEY not in p.read_text(errors="replace") for p in files)


def test_rejects_a_key_with_spaces() -> None:
    with pytest.raises(keys.KeyStoreError, match="without spaces"):
        keys.set_api_key("sk one")


def test_no_keychain_backend_gives_a_clear_error() -> None:
    with memory_keyring.installed(memory_keyring.no_backend()):
        assert not keys.keyring_available()
        assert keys.get_api_key() is None
        with pytest.raises(keys.KeyStoreError, match="OPENAI_API_KEY") as info:
            keys.set_api_key(KEY)
        assert KEY not in str(info.value)
