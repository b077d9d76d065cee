"""The chat controller without Qt: a real SQLite store, a real tiny GGUF run by llama.cpp, and a scripted
stand-in only where the engine is not the point (the cloud's routing and the conversation key)."""

from __future__ import annotations

import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from exaone_desktop.engine.cloud.routing import RouteOutcome
from exaone_desktop.engine.settings import GenerationSettings, SettingsError
from exaone_desktop.engine.types import Capabilities, Completion, GenerationError, GenerationResult, StreamEvent
from exaone_desktop.session import load_settings
from exaone_desktop.session.controller import ChatController
from exaone_desktop.session.load_settings import LoadSettings
from exaone_desktop.session.settings_state import SettingsState
from exaone_desktop.session.store import ChatStore, StoreError
from exaone_desktop.session.turns import NO_MODEL, Refused, Turn

from tests.support.generation_models import tiny_gguf

ON = {"enabled": True, "consented": True}


@pytest.fixture(scope="module")
def generator(tiny_checkpoint: Any) -> Iterator[Any]:
    from exaone_desktop.engine.llama.local import LocalGenerator

    gen = LocalGenerator(tiny_gguf("exaone4", tiny_checkpoint), n_threads=1)
    yield gen
    gen.close()


def controller(store: ChatStore, **kwargs: Any) -> ChatController:
    c = ChatController(store, settings=SettingsState({"max_new_tokens": 6}), **kwargs)
    return c


def run(c: ChatController, turn: Turn, **kwargs: Any) -> tuple[Any, list[StreamEvent]]:
    """The worker thread's part, in a real thread (as the window runs it), then the GUI thread's."""
    events: list[StreamEvent] = []
    box: dict[str, Any] = {}

    def work() -> None:
        try:
            box["outcome"] = c.execute(turn, on_event=events.append, **kwargs)
        except Exception as err:  # noqa: BLE001 - handed to the GUI thread's side below
            box["error"] = err

    t = threading.Thread(target=work)
    t.start()
    t.join()
    if "error" in box:
        return c.fail(str(box["error"])), events
    c.take(events)
    return c.conclude(box["outcome"]), events


class Scripted:
    """A generator stand-in that answers "<name>: <last message>", or fails, and records its calls."""

    capabilities = Capabilities(conversation=True)
    model_info = None
    n_ctx = 0

    def __init__(self, name: str, backend: str = "cpu", *, error: str | None = None) -> None:
        self.name, self.error, self._backend = name, error, backend
        self.calls: list[dict[str, Any]] = []

    @property
    def backend(self) -> Any:
        return self._backend

    def generate(self, prompt: Any, settings: Any, *, on_event: Any = None, cancel: Any = None,
                 conversation: str | None = None) -> GenerationResult:
        self.calls.append({"prompt": prompt, "settings": settings, "conversation": conversation})
        if self.error:
            raise GenerationError(self.error)
        text = f"{self.name}: {prompt[-1]['content']}"
        if on_event is not None:
            on_event(StreamEvent(0, text))
        return GenerationResult("", [1, 2, 3], [Completion(text, [4, 5], "stop")], self._backend,
                                timings={"generated_tokens_per_s": 5.0, "prompt_tokens": 3.0,
                                         "generated_tokens": 2.0}, model=self.name)


class WithoutConversation:
    """A generator whose ``generate`` predates conversation keys (as a cloud generator's)."""

    backend = "cpu"
    capabilities = Capabilities()
    model_info = None
    n_ctx = 0

    def __init__(self) -> None:
        self.calls = 0

    def generate(self, prompt: Any, settings: Any, *, on_event: Any = None, cancel: Any = None) -> GenerationResult:
        self.calls += 1
        return GenerationResult("", [1], [Completion("ok", [2], "stop")], "cpu")


def test_a_local_turn_streams_into_the_store_and_equals_the_engine(store: ChatStore, generator: Any) -> None:
    c = controller(store)
    c.set_local(generator)
    assert c.engine_labels() == ("cpu", generator.model_info.name)
    turn = c.send("Hello there")
    assert c.busy() and not c.buttons().send and c.buttons().stop
    assert turn.prompt == [{"role": "user", "content": "Hello there"}]
    assert not turn.routed and turn.settings.max_new_tokens == 6
    partial = store.messages(c.session.conversation_id)[-1]  # type: ignore[arg-type]
    assert (partial.role, partial.status) == ("assistant", "partial")

    ending, events = run(c, turn)
    assert ending is not None and ending.message.status == "complete" and not c.busy()
    direct = generator.generate(turn.prompt, turn.settings).generated[0]
    assert ending.message.content == direct.text == "".join(e.text for e in events if e.kind == "answer")
    stored = store.messages(c.session.conversation_id)  # type: ignore[arg-type]
    assert [(m.role, m.status) for m in stored] == [("user", "complete"), ("assistant", "complete")]
    assert stored[-1].engine == "cpu" and stored[-1].model == generator.model_info.name
    assert store.conversation(c.session.conversation_id).title == "Hello there"  # type: ignore[arg-type]

    figures = c.status()
    result = c.last_result
    assert result is not None
    assert figures.backend == "cpu" and figures.model == generator.model_info.name
    assert figures.context_used == len(result.prompt_token_ids) + len(result.generated[0].token_ids)
    assert figures.context_size == generator.n_ctx


def test_regenerate_and_edit_replace_the_reply_and_keep_the_history_straight(store: ChatStore,
                                                                             generator: Any) -> None:
    c = controller(store)
    c.set_local(generator)
    first, _ = run(c, c.send("First question"))
    assert c.can_regenerate()
    turn = c.regenerate()
    assert turn.prompt == [{"role": "user", "content": "First question"}]
    again, _ = run(c, turn)
    assert again is not None and first is not None
    assert again.message.id != first.message.id and again.message.content == first.message.content  # greedy
    cid = c.session.conversation_id
    assert [m.id for m in store.messages(cid)][-1] == again.message.id  # type: ignore[arg-type]
    assert len(store.messages(cid)) == 2  # type: ignore[arg-type]

    assert c.last_user_text() == "First question"
    turn = c.send("Edited question", editing=True)
    assert turn.prompt == [{"role": "user", "content": "Edited question"}]
    run(c, turn)
    assert [m.content for m in store.messages(cid) if m.role == "user"] == ["Edited question"]  # type: ignore[arg-type]

    run(c, c.send("A follow-up"))
    prompt = c.send("Third").prompt
    assert [m["role"] for m in prompt] == ["user", "assistant", "user", "assistant", "user"]


def test_stop_keeps_the_partial_reply(store: ChatStore, generator: Any) -> None:
    c = controller(store)
    c.set_local(generator)
    turn = c.send("Tell me a story")
    cancel = threading.Event()
    cancel.set()
    ending, _ = run(c, turn, cancel=cancel)
    assert ending is not None and ending.message.status == "stopped"
    assert c.buttons().send and c.buttons().regenerate


def test_an_engine_error_is_stored_as_failed_with_its_line(store: ChatStore, generator: Any) -> None:
    c = controller(store)
    c.set_local(generator)
    c.change_setting("max_new_tokens", generator.n_ctx)  # cannot fit with any prompt
    ending, _ = run(c, c.send("hi"))
    assert ending is not None and ending.message.status == "failed"
    assert "does not fit" in ending.note and "\n" not in ending.note


def test_no_model_and_no_cloud_refuses_before_storing_anything(store: ChatStore) -> None:
    c = controller(store)
    with pytest.raises(Refused) as err:
        c.send("hello?")
    assert err.value.reason == NO_MODEL
    assert store.conversations() == []
    assert not c.has_chat_to_show()  # the welcome page
    assert c.takes_new_model("/models/new-Q4_K_M.gguf") and not c.takes_new_model("/models/a-checkpoint")
    c.set_local(Scripted("local"))
    assert c.has_chat_to_show() and not c.takes_new_model("/models/other.gguf")


def test_cloud_policy_needs_switch_and_consent(store: ChatStore, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("OPENAI_BASE_URL", raising=False)
    c = controller(store)
    assert not c.cloud_active() and c.cloud_host() == "api.openai.com"
    c.update_cloud(enabled=True)
    assert not c.cloud_active(), "on without consent stays off"
    assert c.consent(False) == {"enabled": False}
    saved = c.consent(True)
    assert saved["enabled"] and saved["consented"] and saved["model"] == c.cloud_model()
    assert c.cloud_active() and c.cloud_answers()  # no local model: the cloud answers
    c.set_local(Scripted("local"))
    assert not c.cloud_answers() and c.engine_labels() == ("cpu", "")  # "ask": local first
    c.update_cloud(mode="cloud")
    assert c.cloud_answers() and c.engine_labels()[0] == "openai"
    c.update_cloud(mode="local")
    assert not c.cloud_active()
    monkeypatch.setenv("OPENAI_BASE_URL", "http://127.0.0.1:9/v1")
    assert c.cloud_host() == "127.0.0.1"
    c.update_cloud(base_url="https://llm.example.org/v1")
    assert c.cloud_host() == "llm.example.org"


def test_routed_turns_use_the_cloud_and_offer_the_other_engine(store: ChatStore) -> None:
    cloud = Scripted("cloud", "openai")
    c = controller(store, cloud=dict(ON, mode="cloud", model="m1"), cloud_factory=lambda policy: cloud)
    c.set_local(Scripted("local"))
    turn = c.send("hello cloud")
    assert turn.routed
    ending, _ = run(c, turn)
    assert ending is not None and ending.message.engine == "openai" and ending.message.content == "cloud: hello cloud"
    assert c.status().backend == "openai" and c.status().context_size is None
    assert cloud.calls[0]["conversation"] is None, "the cloud keeps no conversation state"
    assert c.cloud_not_applied() == []  # greedy: nothing the cloud would leave out

    c.update_cloud(mode="ask")
    c.set_local(Scripted("local", error="the local model failed to load"))
    ending, _ = run(c, c.send("try local"))
    assert ending is not None and ending.message.status == "failed" and ending.offer == "cloud"
    assert "cloud" in ending.note
    turn = c.regenerate("cloud")  # the user accepted the offer
    assert turn.engine == "cloud" and c.session.reply is not None and c.session.reply.engine == "openai"
    ending, _ = run(c, turn)
    assert ending is not None and ending.message.content == "cloud: try local"


def test_the_conversation_key_reaches_engines_that_keep_states(store: ChatStore) -> None:
    keeping = Scripted("local")
    c = controller(store)
    c.set_local(keeping)
    run(c, c.send("one"))
    cid = c.session.conversation_id
    assert keeping.calls[-1]["conversation"] == str(cid)
    c.update_cloud(**ON, mode="auto")
    run(c, c.send("two"))  # through the router: the local engine still gets it
    assert keeping.calls[-1]["conversation"] == str(cid)

    plain = WithoutConversation()
    c.set_local(plain)
    assert not plain.capabilities.conversation
    ending, _ = run(c, c.send("three"))
    assert ending is not None and ending.message.content == "ok" and plain.calls == 1


def test_busy_controller_keeps_the_open_chat(store: ChatStore) -> None:
    c = controller(store)
    c.set_local(Scripted("local"))
    other = store.create_conversation("other")
    c.send("hello")
    cid = c.session.conversation_id
    assert c.open_conversation(other.id) is None and not c.new_conversation()
    assert not c.delete_conversation(cid)  # type: ignore[arg-type]
    assert c.delete_conversation(other.id)  # another chat may go
    with pytest.raises(Refused):
        c.send("again")
    ending = c.stopped()
    assert ending is not None and ending.message.status == "stopped" and not c.busy()
    assert c.delete_conversation(cid) and c.session.conversation_id is None  # type: ignore[arg-type]
    assert not c.set_system_prompt("   ")  # a blank prompt creates no chat
    assert store.conversations() == []


def test_settings_changes_are_validated_and_reach_the_turn(store: ChatStore) -> None:
    c = controller(store)
    c.set_local(Scripted("local"))
    c.change_setting("top_k", 7)
    with pytest.raises(SettingsError, match="temperature"):
        c.change_setting("temperature", -1.0)
    turn = c.send("hi")
    assert isinstance(turn.settings, GenerationSettings) and turn.settings.top_k == 7


def test_load_settings_validate_persist_and_mark_a_reload(store: ChatStore, generator: Any) -> None:
    c = controller(store)
    c.set_local(generator)
    assert c.load_figures().n_ctx == generator.n_ctx and c.load_figures().automatic
    assert not c.load_figures().pending
    trained = generator.model_info.context_length
    with pytest.raises(SettingsError, match=f"from 1 to {trained}"):
        c.change_load("n_ctx", trained + 1)
    with pytest.raises(SettingsError, match="kv_cache_type must be one of .*f16.*q8_0.*q4_0"):
        c.change_load("kv_cache_type", "q5_1")
    with pytest.raises(SettingsError, match="state_cache_mb"):
        c.change_load("state_cache_mb", -1)
    with pytest.raises(SettingsError, match="unknown load setting"):
        c.change_load("flash_attn", True)  # the engine's choice (by the KV cache type)
    with pytest.raises(SettingsError, match="n_threads"):
        c.change_load("n_threads", -3)
    assert c.change_load("n_threads", 0).n_threads is None  # 0 in the panel: automatic
    c.change_load("n_ctx", 256)
    c.change_load("kv_cache_type", "q8_0")
    c.change_load("state_cache_mb", 64)
    f = c.load_figures()
    assert f.pending and (f.n_ctx, f.automatic, f.max_ctx, f.kv_cache_type) == (256, False, trained, "q8_0")
    assert c.load.changed() == {"n_ctx": 256, "kv_cache_type": "q8_0", "state_cache_mb": 64}
    assert load_settings.from_json(load_settings.to_json(c.load)) == c.load
    assert load_settings.from_json('{"n_ctx": -5, "kv_cache_type": "q8_0", "bogus": 1}') == LoadSettings(
        kv_cache_type="q8_0")
    assert load_settings.from_json("not json") == LoadSettings()
    c.change_load("n_ctx", 0)  # back to automatic
    assert c.load.n_ctx is None and c.load_figures().automatic
    c.set_local(generator, loaded_with=c.load)
    assert not c.load_figures().pending
    assert "state_cache_dir" not in c.load_options()
    c.state_dir = Path("/data/states")
    assert c.load_options() == {"kv_cache_type": "q8_0", "state_cache_mb": 64, "state_cache_dir": "/data/states"}


def test_the_controller_imports_no_qt() -> None:
    import subprocess

    code = ("import sys; import exaone_desktop.session.controller, exaone_desktop.session.load_settings; "
            "print([m for m in sys.modules if m.startswith('PySide6')])")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True)
    assert out.stdout.strip() == "[]"


def test_a_route_outcome_without_result_fails_the_reply(store: ChatStore) -> None:
    c = controller(store)
    c.set_local(Scripted("local"))
    turn = c.send("x")
    ending = c.conclude(RouteOutcome("error", turn.prompt))
    assert ending is not None and ending.message.status == "failed" and not c.busy()
    assert c.conclude(RouteOutcome("error", turn.prompt)) is None  # nothing open any more


# --- the app's state in the session layer: the draft and the edit, the model's lifetime -----------------------

def test_the_draft_and_the_edit_live_in_the_controller(store: ChatStore, generator: Any) -> None:
    c = controller(store)
    c.drafting.draft.text = "  "
    assert not c.has_draft()
    c.drafting.draft.text = "first question"
    with pytest.raises(Refused):
        c.send_draft()  # no model: refused, and the draft is kept
    assert c.drafting.draft.text == "first question"
    c.set_local(generator)
    run(c, c.send_draft())
    assert c.drafting.draft.text == "" and c.drafting.editing is None
    c.drafting.draft.text = "unsent"
    c.drafting.draft.images = [b"\x89PNG kept as it is"]
    asked = c.last_user_id()
    assert asked is not None and c.edit_message(asked)
    assert c.drafting.draft.text == "first question" and c.drafting.draft.images == []
    assert c.drafting.editing == asked and c.drafting.aside is not None and c.drafting.aside.text == "unsent"
    c.drafting.draft.text = "first question, edited"
    turn = c.send_draft()
    assert c.busy() and not c.edit_message(asked)  # nothing is edited under a reply being written
    run(c, turn)
    assert [m.content for m in c.session.messages() if m.role == "user"] == ["first question, edited"]
    assert c.drafting.draft.text == "unsent" and c.drafting.draft.images == [b"\x89PNG kept as it is"]
    assert c.drafting.editing is None and c.drafting.aside is None


def test_the_controller_owns_the_model_it_adopts(store: ChatStore, tiny_checkpoint: Any) -> None:
    from exaone_desktop.engine import GenerationError, LocalGenerator

    path = tiny_gguf("exaone4", tiny_checkpoint)
    first, second = LocalGenerator(path, n_threads=1), LocalGenerator(path, n_threads=1)
    c = controller(store)
    c.adopt(first)
    assert c.local is first and c.loaded_with == c.load
    c.adopt(second)  # a reload: the replaced model is closed, its memory freed
    assert c.local is second
    with pytest.raises(GenerationError, match="closed"):
        first.generate("hi", first.default_settings(max_new_tokens=1))
    second.generate("hi", second.default_settings(max_new_tokens=1))
    c.release_model()  # at shutdown
    assert c.local is None
    with pytest.raises(GenerationError, match="closed"):
        second.generate("hi", second.default_settings(max_new_tokens=1))


def test_settings_state_follows_every_change_of_its_layers() -> None:
    """effective() is kept between changes; each way the defaults or overrides change is seen at once."""
    from exaone_desktop.session.presets import apply_preset
    from exaone_desktop.session.settings_state import SettingsState

    state = SettingsState({"temperature": 0.6}, {"temperature": 0.9, "top_k": 20})
    first = state.effective()
    assert (first.temperature, first.top_k) == (0.6, 20) and state.effective() is first
    state.set_model_defaults({"top_k": 7})
    assert state.effective().top_k == 7
    state.set("top_k", 3)
    assert state.effective().top_k == 3
    state.reset("top_k")
    assert state.effective().top_k == 7
    apply_preset(state, "creative")  # assigns the overrides whole
    assert (state.effective().temperature, state.effective().top_k) == (1.1, 0)
    state.reset_all()
    assert state.effective().temperature == 1.0 and state.effective().top_k == 7
    with pytest.raises(SettingsError):
        state.set("top_p", 7.0)
    assert state.effective().top_p == 1.0  # a refused value changes nothing


def test_a_history_that_cannot_store_the_reply_ends_the_turn_with_its_line(store: ChatStore,
                                                                            monkeypatch: pytest.MonkeyPatch) -> None:
    """A full disk at the end of a reply: the turn still ends (the chat is not left busy), the reply's text is
    shown as it streamed, and the store's one line is the note. Partial saves that fail do not stop the stream."""
    from exaone_desktop.session.chat_session import StoredReply

    c = controller(store)
    c.set_local(Scripted("local"))
    turn = c.send("Hello")
    line = "the chat history could not be written (database or disk is full); free some disk space"

    def full(*_args: Any, **_kwargs: Any) -> Any:
        raise StoreError(line)

    monkeypatch.setattr(store, "update_message", full)
    ending, _ = run(c, turn)
    assert ending is not None and ending.note == line
    assert (ending.message.status, ending.message.content) == ("failed", "local: Hello")
    assert not c.busy() and c.buttons().send and c.session.reply is None
    clock = iter([0.0, 1.0, 2.0, 3.0])
    reply = StoredReply(store, ending.message.id, "cpu", "m", lambda: next(clock), 0.5)
    assert reply.on_event(StreamEvent(0, "a")) is False and reply.on_event(StreamEvent(0, "b")) is False
    assert reply.answer == "ab"


def test_a_model_replaced_while_a_reply_is_written_is_closed_when_the_reply_ends(store: ChatStore) -> None:
    """Loading another model from the model manager during a reply: the reply goes on with the model it started
    with, which is closed only when the reply ends (closing it at once failed the reply)."""
    closed: list[str] = []
    started, go_on = threading.Event(), threading.Event()

    class Closing(Scripted):
        def close(self) -> None:
            closed.append(self.name)

    class Slow(Closing):
        def generate(self, *args: Any, **kwargs: Any) -> GenerationResult:
            started.set()
            go_on.wait(30)
            return super().generate(*args, **kwargs)

    c = controller(store)
    first, second = Slow("first"), Closing("second")
    c.adopt(first)
    turn = c.send("Hello")
    box: dict[str, Any] = {}
    writing = threading.Thread(target=lambda: box.update(outcome=c.execute(turn)))
    writing.start()
    assert started.wait(30)
    c.adopt(second)  # the load finished mid-reply
    assert closed == [] and c.local is second
    go_on.set()
    writing.join(30)
    ending = c.conclude(box["outcome"])
    assert ending is not None and (ending.message.status, ending.message.content) == ("complete", "first: Hello")
    assert closed == ["first"]
    c.adopt(Closing("third"))  # no reply: the replaced model is closed at once
    assert closed == ["first", "second"]
