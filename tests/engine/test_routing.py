"""The cloud policy and router: off by default, consent, ask/auto fallbacks, zero network when off."""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator
from typing import Any

import pytest
from exaone_desktop.engine.cloud.generator import CloudGenerator, cloud_generator_from_env
from exaone_desktop.engine.cloud.routing import CLOUD_OFF, NO_LOCAL, CloudPolicy, RouteOutcome, Router
from exaone_desktop.engine.settings import GenerationSettings
from exaone_desktop.engine.types import (
    Backend,
    Completion,
    GenerationError,
    GenerationResult,
    Prompt,
    StreamCallback,
    StreamEvent,
)

from tests.support import memory_keyring
from tests.support.openai_stub import OpenAIStub, guarded_stub
from tests.support.socket_guard import BlockedConnection, socket_guard

KEY = "sk-routing-SECRET-fedcba9876543210"
SETTINGS = GenerationSettings(return_full_text=False)
MESSAGES: list[Any] = [{"role": "user", "content": "what is EXAONE"}]
ON = CloudPolicy(enabled=True, consented=True)


class FakeLocal:
    """A local generator stand-in: answers "local: <last message>" or raises when told to."""

    def __init__(self, error: str | None = None) -> None:
        self.error = error
        self.prompts: list[Prompt] = []

    @property
    def backend(self) -> Backend:
        return "cpu"

    def generate(self, prompt: Prompt, settings: Any, *, on_event: StreamCallback | None = None,
                 cancel: threading.Event | None = None) -> GenerationResult:
        self.prompts.append(prompt)
        if self.error:
            raise GenerationError(self.error)
        text = "local: " + (prompt if isinstance(prompt, str) else prompt[-1]["content"])
        if on_event is not None:
            on_event(StreamEvent(0, text))
        return GenerationResult(str(prompt), [1, 2], [Completion(text, [3], "stop")], "cpu")


class Factory:
    """Counts how often the router asked for a cloud generator."""

    def __init__(self, stub: OpenAIStub | None = None) -> None:
        self.stub = stub
        self.calls = 0

    def __call__(self) -> CloudGenerator:
        self.calls += 1
        if self.stub is None:
            return cloud_generator_from_env()
        return CloudGenerator(KEY, model="stub-model", base_url=self.stub.base_url, timeout=1.0, max_retries=0)


@pytest.fixture(autouse=True)
def clean_env(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    with memory_keyring.no_cloud_credentials(monkeypatch):
        yield


@pytest.fixture
def stub() -> Iterator[OpenAIStub]:
    with guarded_stub() as server:
        yield server


def test_the_fallback_is_off_by_default() -> None:
    policy = CloudPolicy()
    assert policy.enabled is False and policy.effective_mode == "local"
    assert CloudPolicy(enabled=True).effective_mode == "local"  # no consent, no cloud
    assert CloudPolicy(consented=True, mode="cloud").effective_mode == "local"
    assert ON.effective_mode == "ask"


def test_with_the_fallback_off_a_whole_session_makes_zero_network_connections(
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", KEY)  # a key is available, and must still not be used
    factory = Factory()
    with OpenAIStub() as server:
        monkeypatch.setenv("OPENAI_BASE_URL", server.base_url)
        local = FakeLocal()
        for policy in (CloudPolicy(), CloudPolicy(mode="cloud"), CloudPolicy(enabled=True, mode="auto")):
            router = Router(policy, local, factory)
            history: list[Any] = []
            with socket_guard(allow=[]) as guard:
                for turn in ("hi", "tell me more", "thanks"):
                    history.append({"role": "user", "content": turn})
                    events: list[StreamEvent] = []
                    outcome = router.run(list(history), SETTINGS, on_event=events.append)
                    assert outcome.status == "ok" and outcome.engine == "local"
                    assert outcome.result is not None and outcome.result.backend == "cpu"
                    history.append({"role": "assistant", "content": outcome.result.generated[0].text})
                local.error = "the model file is gone: reload it"
                failed = router.run(list(history), SETTINGS)
                local.error = None
                refused = router.run("x", SETTINGS, engine="cloud")
            assert failed.status == "error" and failed.offer is None
            assert refused.status == "error" and refused.failures[0].message == CLOUD_OFF
            assert guard.blocked == [] and guard.allowed == []
        assert factory.calls == 0 and server.requests == []


def test_the_socket_guard_catches_a_connection_even_when_it_is_swallowed() -> None:
    with pytest.raises(BlockedConnection, match="198.51.100.7"), socket_guard(allow=[]):
        try:
            socket.create_connection(("198.51.100.7", 9), timeout=0.1)
        except OSError:
            pass


def test_no_model_in_local_mode_says_how_to_load_one() -> None:
    outcome = Router(CloudPolicy(), None, Factory()).run(MESSAGES, SETTINGS)
    assert outcome.status == "error" and outcome.failures[0].message == NO_LOCAL
    assert outcome.prompt is MESSAGES


@pytest.mark.parametrize("local", [None, FakeLocal("out of memory loading the model: pick a smaller quant")])
def test_ask_mode_offers_the_cloud_then_uses_it_when_accepted(stub: OpenAIStub, local: FakeLocal | None) -> None:
    factory = Factory(stub)
    router = Router(ON, local, factory)
    offer = router.run(MESSAGES, SETTINGS)
    assert offer.status == "offer" and offer.offer == "cloud" and offer.prompt is MESSAGES
    assert "Send this message to the cloud model instead?" in offer.message
    assert factory.calls == 0 and stub.requests == []  # asking is not sending
    answer = router.run(offer.prompt, SETTINGS, engine="cloud")
    assert answer.status == "ok" and answer.engine == "cloud"
    assert answer.result is not None and answer.result.backend == "openai"
    assert answer.result.generated[0].text == "reply 0: what is EXAONE"
    assert stub.chat_requests[0].body["messages"] == MESSAGES


FAILURES = [("401", "auth"), ("429", "rate_limit"), ("hang", "timeout"), ("drop", "connection"), ("500", "server")]


@pytest.mark.parametrize(("failure", "kind"), FAILURES)
def test_auto_mode_uses_the_local_model_when_the_cloud_fails(stub: OpenAIStub, failure: str, kind: str) -> None:
    local = FakeLocal()
    router = Router(CloudPolicy.for_cli_engine("auto"), local, Factory(stub))
    switches: list[tuple[str, str]] = []
    events: list[StreamEvent] = []
    stub.fail_next(failure)
    outcome = router.run(MESSAGES, SETTINGS, engine="cloud", on_event=events.append,
                         on_switch=lambda engine, why: switches.append((engine, why)))
    assert outcome.status == "ok" and outcome.engine == "local"
    assert [f.kind for f in outcome.failures] == [kind] and outcome.failures[0].engine == "cloud"
    assert local.prompts == [MESSAGES] and outcome.prompt is MESSAGES  # the user's message was kept
    assert switches == [("local", outcome.failures[0].message)]
    assert "answered by the local model" in outcome.message and KEY not in outcome.message
    assert len(stub.chat_requests) == 1


@pytest.mark.parametrize(("failure", "kind"), FAILURES)
def test_ask_mode_offers_the_local_model_when_the_cloud_fails(stub: OpenAIStub, failure: str, kind: str) -> None:
    local = FakeLocal()
    router = Router(ON, local, Factory(stub))
    stub.fail_next(failure)
    outcome = router.run(MESSAGES, SETTINGS, engine="cloud")
    assert outcome.status == "offer" and outcome.offer == "local" and outcome.failures[0].kind == kind
    assert local.prompts == [] and outcome.prompt is MESSAGES
    again = router.run(outcome.prompt, SETTINGS, engine="local")
    assert again.engine == "local" and local.prompts == [MESSAGES]


@pytest.mark.parametrize(("failure", "kind"), FAILURES[:2])
def test_cloud_mode_reports_the_failure_and_tries_nothing_else(stub: OpenAIStub, failure: str, kind: str) -> None:
    local = FakeLocal()
    stub.fail_next(failure)
    outcome = Router(CloudPolicy(enabled=True, consented=True, mode="cloud"), local, Factory(stub)).run(
        MESSAGES, SETTINGS)
    assert outcome.status == "error" and outcome.failures[0].kind == kind and outcome.failures[0].engine == "cloud"
    assert local.prompts == []


def test_auto_mode_goes_to_the_cloud_when_local_fails(stub: OpenAIStub) -> None:
    local = FakeLocal("the GGUF file is corrupt: convert it again")
    outcome = Router(CloudPolicy.for_cli_engine("auto"), local, Factory(stub)).run("hello", SETTINGS)
    assert outcome.status == "ok" and outcome.engine == "cloud" and outcome.failures[0].engine == "local"
    assert outcome.result is not None and outcome.result.to_json()["backend"] == "openai"


def test_both_engines_failing_reports_both(stub: OpenAIStub) -> None:
    stub.fail_next("500")
    outcome = Router(CloudPolicy.for_cli_engine("auto"), FakeLocal("broken: reinstall"), Factory(stub)).run(
        "x", SETTINGS)
    assert outcome.status == "error" and [f.engine for f in outcome.failures] == ["local", "cloud"]
    assert "broken: reinstall" in outcome.message and "HTTP 500" in outcome.message


def test_missing_key_is_a_failure_with_the_fix() -> None:
    outcome = Router(CloudPolicy.for_cli_engine("cloud"), None, Factory()).run("x", SETTINGS)
    assert outcome.status == "error" and "OPENAI_API_KEY" in outcome.message


def test_a_cancelled_request_does_not_fall_back(stub: OpenAIStub) -> None:
    cancel = threading.Event()

    class Cancelling(FakeLocal):
        def generate(self, prompt: Prompt, settings: Any, **kwargs: Any) -> GenerationResult:
            cancel.set()
            raise GenerationError("interrupted")

    factory = Factory(stub)
    outcome = Router(CloudPolicy.for_cli_engine("auto"), Cancelling(), factory).run("x", SETTINGS, cancel=cancel)
    assert outcome.status == "cancelled" and factory.calls == 0


def test_policy_round_trips_and_tolerates_bad_values() -> None:
    policy = CloudPolicy(enabled=True, consented=True, mode="cloud", model="gpt-4.1-nano", base_url="http://x/v1")
    assert CloudPolicy.from_dict(policy.to_dict()) == policy
    assert CloudPolicy.from_dict({"mode": "sometimes", "junk": 1}) == CloudPolicy()
    assert all(k not in policy.to_dict() for k in ("key", "api_key"))
    with pytest.raises(ValueError, match="cloud mode"):
        CloudPolicy(mode="sometimes")  # type: ignore[arg-type]


def test_router_outcome_records_the_engine_for_history(stub: OpenAIStub) -> None:
    router = Router(CloudPolicy.for_cli_engine("cloud"), FakeLocal(), Factory(stub))
    outcome: RouteOutcome = router.run(MESSAGES, SETTINGS)
    assert outcome.engine == "cloud" and outcome.message == ""
    assert outcome.result is not None and KEY not in repr(outcome)


def test_auto_mode_falls_back_to_the_real_local_generator_when_the_cloud_fails(stub: OpenAIStub,
                                                                                tiny_checkpoint: Any) -> None:
    from exaone_desktop.engine.llama.local import LocalGenerator

    from tests.support.generation_models import tiny_gguf

    local = LocalGenerator(tiny_gguf("exaone3_untied", tiny_checkpoint), n_threads=1)
    settings = local.default_settings(max_new_tokens=4, return_full_text=False)
    stub.fail_next("500")
    messages: list[Any] = [{"role": "user", "content": "서울의 날씨는? and the weather in Busan?"}]
    outcome = Router(CloudPolicy.for_cli_engine("auto"), local, Factory(stub)).run(messages, settings, engine="cloud")
    assert outcome.status == "ok" and outcome.engine == "local" and outcome.prompt is messages
    assert [(f.engine, f.kind) for f in outcome.failures] == [("cloud", "server")]
    assert outcome.result is not None and outcome.result.backend in ("cpu", "metal", "cuda")
    assert len(outcome.result.generated[0].token_ids) == 4
    direct = local.generate(messages, settings)  # greedy: the fallback answered the user's own message
    assert outcome.result.generated[0].token_ids == direct.generated[0].token_ids
    assert [r.body["messages"] for r in stub.chat_requests] == [messages]
    assert "answered by the local model" in outcome.message and KEY not in outcome.message


@pytest.mark.parametrize("mode", ["local", "ask", "cloud", "auto"])
@pytest.mark.parametrize("forced", [None, "local", "cloud"])
@pytest.mark.parametrize("consented", [True, False])
def test_may_reach_cloud_says_when_the_router_may_send_without_asking(stub: OpenAIStub, mode: str,
                                                                      forced: Any, consented: bool) -> None:
    """``may_reach_cloud`` (what the app asks about attached files by) agrees with what the router does: with
    the local model failing, the stand-in is sent the request exactly when it says so."""
    from exaone_desktop.engine.cloud.routing import may_reach_cloud

    policy = CloudPolicy(enabled=True, consented=consented, mode=mode)  # type: ignore[arg-type]
    outcome = Router(policy, FakeLocal("local broke"), Factory(stub)).run(MESSAGES, SETTINGS, engine=forced)
    assert may_reach_cloud(policy, forced) == bool(stub.chat_requests), outcome.message


def test_the_files_a_send_would_carry_are_named() -> None:
    from exaone_desktop.session.cloud_files import CloudFile, attached_files, files_to_ask_about

    prompt: list[Any] = [
        {"role": "system", "content": "be brief"},
        {"role": "user", "content": [{"type": "file", "file": {"filename": "/tmp/a/보고서.pdf", "path": "x"}},
                                     {"type": "image_url", "image_url": {"url": "/data/images/1/7-ab.jpg"}},
                                     {"type": "text", "text": "q1"}]},
        {"role": "assistant", "content": "a1"},
        {"role": "user", "content": [{"type": "image_url", "image_url": {"url": "data:image/webp;base64,AAAA"}},
                                     {"type": "text", "text": "q2"}]},
    ]
    files = [CloudFile("document", "보고서.pdf"), CloudFile("image", "JPEG"), CloudFile("image", "WebP")]
    assert attached_files(prompt) == files
    cloud = CloudPolicy(enabled=True, consented=True, mode="cloud")
    assert files_to_ask_about(prompt, cloud, None, routed=True) == files
    assert files_to_ask_about(prompt, cloud, None, routed=False) == []  # Keep local: the router is not used
    assert files_to_ask_about(prompt, CloudPolicy(enabled=True, consented=True, mode="ask"), None, routed=True) == []
    assert files_to_ask_about(MESSAGES, cloud, None, routed=True) == []  # text only: consent covers it
