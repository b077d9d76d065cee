"""The conversation flow without Qt: which engine answers, what it is sent, what is stored, what is shown.

The window asks the controller and shows what it says; the controller never touches a widget.
One reply is a ``Turn``:

1. ``send`` / ``regenerate`` / ``edit_last`` / ``resend`` commit the user's side to the store and open a
   partial reply (GUI thread);
2. ``execute(turn, ...)`` runs the engine (a worker thread: it touches neither the store nor the session);
3. ``take(events)`` feeds the streamed pieces into the reply (GUI thread, as they arrive);
4. ``conclude(outcome)`` stores the final reply and says what to tell the user (GUI thread).

Chats never hit the context wall: a local reply is asked with ``truncate="oldest"`` (the store keeps every
message); the conversation's id lets the engine keep its state. The cloud side (``cloud_controls``), the
settings side (``settings_controls``) and the conversations side (``conversation_controls``) are parts of the
controller kept in their own modules; its records (and the draft) are ``turns``.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

from ..engine import (
    FIELD_NAMES,
    CloudPolicy,
    Engine,
    GenerationError,
    GenerationResult,
    GenerationSettings,
    Generator,
    Message,
    RouteOutcome,
    StreamEvent,
)
from .chat_session import ChatSession, StoredReply
from .cloud_controls import CLOUD_BACKEND, CloudControls
from .conversation_controls import ConversationControls
from .load_settings import LoadSettings
from .serving import LocalServing
from .settings_controls import SettingsControls
from .settings_state import SettingsState, model_defaults_from
from .store import ChatStore, StoredMessage, StoreError
from .turns import (
    NO_MODEL,
    AttachedDocument,
    Buttons,
    Drafting,
    Ending,
    Refused,
    StatusFigures,
    Turn,
    passages_note,
)


def generate_with(generator: Generator, prompt: Sequence[Message] | str, settings: GenerationSettings, *,
                  on_event: Callable[[StreamEvent], None] | None = None, cancel: threading.Event | None = None,
                  conversation: str | None = None) -> GenerationResult:
    """``generator.generate``, telling it the conversation when it can keep conversation states."""
    extra = {"conversation": conversation} if conversation is not None and generator.capabilities.conversation \
        else {}
    return generator.generate(prompt, settings, on_event=on_event, cancel=cancel, **extra)


class ChatController(CloudControls, SettingsControls, ConversationControls):
    """The open conversation, the loaded model, the cloud policy and the generation settings."""

    def __init__(self, store: ChatStore, *, settings: SettingsState | None = None,
                 cloud: Mapping[str, Any] | None = None, load: LoadSettings | None = None,
                 load_by_model: Mapping[str, Any] | None = None,
                 cloud_factory: Callable[[CloudPolicy], Generator] | None = None, state_dir: Path | None = None,
                 clock: Callable[[], float] = time.monotonic, save_interval: float = 0.2) -> None:
        self.session = ChatSession(store, clock=clock, save_interval=save_interval)
        self.state = settings or SettingsState()
        self.load = load or LoadSettings()
        self.load_by_model: dict[str, Any] = dict(load_by_model or {})  # model file -> its load choices
        self.model_path = ""  # the model file loaded or being loaded: its load choices are kept with it
        self.loaded_with: LoadSettings | None = None  # the load settings the local model runs with
        self.state_dir = state_dir  # where the engine may keep conversation states between sessions
        self.cloud: dict[str, Any] = dict(cloud or {})
        self.local: Generator | None = None
        self.turn: Turn | None = None
        self.last_result: GenerationResult | None = None
        self._reads_images: bool | None = None  # the local model has a vision projector (None: not asked yet)
        self.last_dropped = 0
        self.serving = LocalServing()
        self._cloud_factory = cloud_factory
        self.drafting = Drafting()  # the message being written, the one being edited (the composer shows it)
        self._owned: Generator | None = None  # the model the app loaded: closed when another replaces it, or at release
        self._retired: list[Generator] = []  # replaced while a reply was written with it: closed when it ends

    @property
    def store(self) -> ChatStore:
        return self.session.store

    # -- the local model -----------------------------------------------------------------------

    def set_local(self, generator: Generator | None, loaded_with: LoadSettings | None = None) -> None:
        """Answer with ``generator`` (None: no local model); its sampling defaults become the model's.

        ``loaded_with``: the load settings it was loaded with (None: the current ones)."""
        self.local = generator
        self.loaded_with = None if generator is None else (loaded_with or self.load)
        self._reads_images = None  # found out when first asked
        info = self.model_info
        self.state.set_model_defaults(model_defaults_from(info.sampling_defaults if info is not None else None))
        self.last_result = None
        try:
            self.serving.follow(generator)
        except GenerationError:
            self.serving.stop()

    def adopt(self, generator: Generator, loaded_with: LoadSettings | None = None) -> None:
        """A model the app loaded answers from now on, and is closed when it is released or replaced: the model
        it replaces (loaded by the app too) is closed now, its memory freed."""
        previous, self._owned = self._owned, generator
        replaced = previous is not None and self.local is previous
        self.set_local(generator, loaded_with)
        if replaced and previous is not None:
            self._retired.append(previous)
            self._close_retired()

    def _close_retired(self, *, now: bool = False) -> None:
        """Close the replaced models, unless a reply is still being written (it may be written with one)."""
        if self.turn is None or now:
            retired, self._retired = self._retired, []
            for generator in retired:
                generator.close()

    def release_model(self) -> None:
        """No local model any more (at shutdown): the one the app loaded is closed (its worker process ends)."""
        owned, self._owned = self._owned, None
        self.set_local(None)
        self._close_retired(now=True)  # the app is closing: its reply was cancelled and waited for
        if owned is not None:
            owned.close()

    # -- serving the model on localhost -------------------------------------------------------

    def serve(self, on: bool) -> str | None:
        """Serve the loaded model on localhost (or stop); returns the base URL while serving.

        Raises Refused with no model loaded, GenerationError (one line) when the server cannot start."""
        if not on:
            self.serving.stop()
            return None
        if self.local is None:
            raise Refused(NO_MODEL, "Load a model first: the server answers with the loaded model.")
        return self.serving.start(self.local)

    def reasoning_switch(self) -> bool:
        """Whether the model can turn reasoning on and off (its template reads ``enable_thinking``)."""
        info = self.model_info
        return info is not None and info.reasoning and "enable_thinking" in (info.chat_template or "")

    def takes_new_model(self, path: str) -> bool:
        """A model the manager just made or downloaded is loaded when none is (a GGUF, not a folder)."""
        return self.local is None and path.endswith(".gguf")

    def has_chat_to_show(self) -> bool:
        """The chat page rather than the welcome page: a model to answer, or messages to read."""
        return self.local is not None or bool(self.session.messages())

    def model_name(self) -> str:
        info = self.model_info
        if info is None:
            return ""
        return str(info.name or Path(str(info.path)).stem)

    # -- starting a turn -----------------------------------------------------------------------

    def engine_labels(self, forced: Engine | None = None) -> tuple[str, str]:
        """(engine, model) recorded with a new reply before the engine has answered."""
        if forced == "cloud" or (forced is None and self.cloud_answers()):
            return CLOUD_BACKEND, str(self.cloud.get("model", "") or "")
        return str(self.local.backend if self.local is not None else "cpu"), self.model_name()

    def check_can_answer(self) -> None:
        if self.local is None and not self.cloud_active():
            raise Refused(NO_MODEL, "No model is loaded: set up the demo model, or open the model manager.")

    def busy(self) -> bool:
        return self.turn is not None

    def send(self, text: str, *, editing: bool = False, edit_of: int | None = None,
             images: Sequence[str | Path | bytes] = (), documents: Sequence[AttachedDocument] = ()) -> Turn:
        """The user's message (or a new version of their message ``edit_of``, or with ``editing`` of their last
        one, on a branch beside the old one): stored, then a reply asked for.

        ``images``: PNG/JPEG/WebP files or bytes sent with the message (kept with the history);
        ``documents``: documents read with ``read_document`` (the original and its text are kept too)."""
        self._check_idle()
        pictures = self.read_images(images) if images else []
        engine, model = self.engine_labels()
        kept = [(d.data, d.document.to_json()) for d in documents]
        if edit_of is not None:
            prompt, reply = self.session.edit(edit_of, text, engine=engine, model=model, images=pictures,
                                              documents=kept)
        elif editing:
            prompt, reply = self.session.edit_last_user(text, engine=engine, model=model)
        else:
            prompt, reply = self.session.send(text, engine=engine, model=model, images=pictures, documents=kept)
        return self._turn(prompt, reply)

    @staticmethod
    def read_document(path: str | Path, cancel: threading.Event | None = None) -> AttachedDocument:
        """A document file read for attaching (in a bounded child process; ``cancel`` ends it); ``Refused``
        with one line when it cannot be read. Runs off the GUI thread."""
        from ..engine import DocumentError, extract_document, read_source

        try:
            data, name = read_source(path, None)
            return AttachedDocument(data, extract_document(data, name, cancel=cancel))
        except DocumentError as err:
            raise Refused("bad_document", str(err)) from None

    def image_problem(self) -> str | None:
        """One line when the engine that would answer cannot read images (a local model without a vision
        projector beside it); None when it can."""
        if self.cloud_answers() or self.local is None:
            return None
        info = self.model_info
        if info is None:
            return None
        if self._reads_images is None:
            self._reads_images = has_projector(info)
        if self._reads_images:
            return None
        return (f"{Path(info.path).name} has no vision projector and cannot read images: put its mmproj-*.gguf "
                "beside it, or use a model that reads images, such as EXAONE 4.5")

    def can_attach_images(self) -> bool:
        """Whether the engine that would answer reads images (the attach button is enabled)."""
        return self.image_problem() is None

    def read_images(self, images: Sequence[str | Path | bytes]) -> list[bytes]:
        """The images' checked bytes; ``Refused`` with one line when one is not an image or the model cannot
        read images."""
        from ..engine import FIX_IMAGE, MAX_IMAGE_BYTES, read_image, sniff

        problem = self.image_problem()
        if problem is not None:
            raise Refused("no_projector", problem)
        out: list[bytes] = []
        for source in images:
            try:
                data = source if isinstance(source, bytes) else read_image(source)
            except GenerationError as err:
                raise Refused("bad_image", str(err)) from None
            if sniff(data) is None:
                raise Refused("bad_image", f"the pasted data is not a PNG, JPEG or WebP image; {FIX_IMAGE}")
            if len(data) > MAX_IMAGE_BYTES:
                raise Refused("bad_image", f"the image is larger than {MAX_IMAGE_BYTES // (1024 * 1024)} MB; "
                                           "use a smaller one")
            out.append(data)
        return out

    def can_regenerate(self) -> bool:
        return self.turn is None and self.session.can_regenerate()

    def regenerate(self, engine: Engine | None = None) -> Turn:
        """Ask again for the last user message (``engine``: after the user accepted the other engine)."""
        self._check_idle()
        labels = self.engine_labels(engine)
        prompt, reply = self.session.regenerate(engine=labels[0], model=labels[1])
        return self._turn(prompt, reply, engine)

    def _check_idle(self) -> None:
        if self.turn is not None:
            raise Refused("busy", "A reply is still being written; stop it first.")
        self.check_can_answer()

    def files_for_cloud(self, turn: Turn) -> list[Any]:
        """The documents and images this turn may send to the cloud (``cloud_files.CloudFile``): the window
        asks about them, naming each, before the turn runs; empty when there is nothing to ask."""
        from .cloud_files import files_to_ask_about

        return files_to_ask_about(turn.prompt, self.policy, turn.engine, turn.routed)

    @staticmethod
    def keep_local(turn: Turn) -> None:
        """The user chose Keep local for this send: the local model only, no fallback (not remembered)."""
        turn.routed, turn.engine, turn.kept_local = False, "local", True

    def _turn(self, prompt: list[Message], reply: StoredReply, engine: Engine | None = None) -> Turn:
        settings = self.state.effective()
        if "truncate" in FIELD_NAMES:  # the app keeps going when a chat outgrows the context
            settings = settings.replace(truncate="oldest")
        cid = self.session.conversation_id
        self.turn = Turn(prompt, reply, settings, routed=self.cloud_active(), engine=engine,
                         conversation=None if cid is None else str(cid))
        return self.turn

    # -- running it (worker thread) ------------------------------------------------------------

    def execute(self, turn: Turn, *, on_event: Callable[[StreamEvent], None] | None = None,
                cancel: threading.Event | None = None,
                on_switch: Callable[[Engine, str], None] | None = None) -> GenerationResult | RouteOutcome:
        """Run the turn's engine; touches neither the store nor the session (it runs off the GUI thread)."""
        prompt = self._with_documents(turn, cancel)
        if not turn.routed:
            if self.local is None:
                from .cloud_files import KEPT_LOCAL_NO_MODEL

                raise GenerationError(KEPT_LOCAL_NO_MODEL if turn.kept_local else "no local model is loaded")
            return generate_with(self.local, prompt, turn.settings, on_event=on_event, cancel=cancel,
                                 conversation=turn.conversation)
        router = self._router()
        keeps = self.local is not None and self.local.capabilities.conversation
        result: RouteOutcome = router.run(prompt, turn.settings, engine=turn.engine, cancel=cancel,
                                          on_event=on_event, on_switch=on_switch,
                                          conversation=turn.conversation if keeps else None)
        return result

    def _with_documents(self, turn: Turn, cancel: threading.Event | None) -> list[Message]:
        """The turn's prompt with its documents as text: sized for the local model when one is loaded (a cloud
        fallback gets the same text), else for the cloud; the passages given to the last question are kept
        on the turn for the window to show."""
        from ..engine import has_file_parts, resolve_for

        if not has_file_parts(turn.prompt):
            return turn.prompt
        engine = self.local if self.local is not None and turn.engine != "cloud" else None
        resolved = resolve_for(turn.prompt, engine, turn.settings, cancel=cancel)
        turn.passages = list(resolved.passages)
        return resolved.messages  # type: ignore[return-value]

    # -- streaming and ending (GUI thread) -----------------------------------------------------

    def take(self, events: Sequence[StreamEvent]) -> StoredReply | None:
        """Add streamed pieces to the open reply; returns it (None when no reply is open)."""
        reply = self.session.reply
        if reply is None:
            return None
        for event in events:
            reply.on_event(event)
        return reply

    def switched(self) -> StoredReply | None:
        """The router moved to the other engine: the failed engine's partial text is dropped."""
        reply = self.session.reply
        if reply is not None:
            reply.answer = reply.reasoning = ""
        return reply

    def conclude(self, outcome: GenerationResult | RouteOutcome) -> Ending | None:
        """Store the finished reply; None when no reply was open."""
        reply = self.session.reply
        if reply is None:
            self.turn = None
            return None
        try:
            if isinstance(outcome, GenerationResult):
                return self._finish(reply, outcome)
            if outcome.status == "ok" and outcome.result is not None:
                return self._finish(reply, outcome.result, outcome.message)
            if outcome.status == "cancelled":
                return self._end(reply.stop())
            if outcome.status == "offer":
                return self._end(reply.fail(), outcome.message, offer=outcome.offer)
            return self._end(reply.fail(), outcome.message)
        except StoreError as err:
            return self._unsaved(reply, err)

    def fail(self, message: str) -> Ending | None:
        """The engine raised: keep what streamed, marked failed."""
        reply = self.session.reply
        if reply is None:
            return None
        try:
            return self._end(reply.fail(), message)
        except StoreError as err:
            return self._unsaved(reply, err)

    def stopped(self) -> Ending | None:
        """Stop pressed and the engine returned nothing: keep what streamed."""
        reply = self.session.reply
        if reply is None:
            return None
        try:
            return self._end(reply.stop())
        except StoreError as err:
            return self._unsaved(reply, err)

    def _unsaved(self, reply: StoredReply, err: StoreError) -> Ending:
        """The history could not store the reply (a full disk, a folder made read-only): the turn ends all the
        same, its text shown as it streamed and the store's one line said, so the chat can go on."""
        now = time.time()
        shown = StoredMessage(reply.message_id, self.session.conversation_id or 0, "assistant", reply.answer,
                              reply.reasoning or None, reply.engine, reply.model, "failed", now, now)
        return self._end(shown, str(err))

    def _finish(self, reply: StoredReply, result: GenerationResult, note: str = "") -> Ending:
        stored = reply.finish(result)
        self.last_result = result
        self.last_dropped = int(result.timings.get("messages_dropped", 0))
        used = passages_note(self.turn.passages if self.turn is not None else [])
        return self._end(stored, " ".join(n for n in (note, used) if n), dropped=self.last_dropped)

    def _end(self, stored: StoredMessage, note: str = "", *, offer: Engine | None = None,
             dropped: int = 0) -> Ending:
        self.session.end_reply()
        self.turn = None
        self._close_retired()
        return Ending(stored, note, offer, dropped)

    # -- the draft, the edit and the system prompt --------------------------------------------

    def set_system_prompt(self, text: str) -> bool:
        """Store the open chat's system prompt (committed before each send); a blank one does not create a chat.
        True when stored."""
        if self.session.conversation_id is None and not text.strip():
            return False
        self.session.set_system_prompt(text)
        return True

    def edit_message(self, message_id: int) -> bool:
        """Edit the user message ``message_id`` (the draft is put aside); False when it cannot be edited now."""
        text = self.edit_text(message_id)
        if text is None:
            return False
        self.drafting.begin_edit(message_id, text)
        return True

    def has_draft(self) -> bool:
        d = self.drafting.draft
        return bool(d.text.strip() or d.images or d.documents)

    def send_draft(self) -> Turn:
        """Send the draft (a new version of the message being edited, when one is); Refused keeps the draft."""
        d = self.drafting.draft
        turn = self.send(d.text.strip(), edit_of=self.drafting.editing, images=list(d.images),
                         documents=list(d.documents))
        self.drafting.sent()
        return turn

    def edit_text(self, message_id: int) -> str | None:
        """The text of the user message ``message_id`` to edit (None: it cannot be edited now)."""
        if self.busy():
            return None
        found = next((m for m in self.session.messages() if m.id == message_id and m.role == "user"), None)
        return None if found is None else found.content

    def variants(self) -> dict[int, tuple[int, int]]:
        """Message id -> (its place among its variants, how many) for the open chat."""
        return self.session.variants()

    def buttons(self) -> Buttons:
        busy = self.busy()
        has_user = self.session.last_user_message() is not None
        return Buttons(send=not busy, stop=busy, regenerate=not busy and has_user, edit=not busy and has_user,
                       sidebar=not busy)

    # -- the status line -----------------------------------------------------------------------

    def status(self) -> StatusFigures:
        """The model, the engine and, after a reply, its speed, the context it used and what it reused."""
        result = self.last_result
        backend: str = result.backend if result is not None else (self.local.backend if self.local else "")
        if result is None and self.cloud_answers():
            backend = CLOUD_BACKEND
        if result is None:
            return StatusFigures(self.model_name(), backend, family=self.family_label())
        t = result.timings
        if result.backend == CLOUD_BACKEND:
            used = int(t.get("prompt_tokens", 0) + t.get("generated_tokens", 0))
            return StatusFigures(self.model_name(), backend, t.get("generated_tokens_per_s", 0.0), used)
        used = len(result.prompt_token_ids) + max((len(c.token_ids) for c in result.generated), default=0)
        reused = t.get("prompt_tokens_reused")
        evaluated = t.get("prompt_tokens_evaluated")
        return StatusFigures(self.model_name(), backend, t.get("generated_tokens_per_s", 0.0), used,
                             self.context_size() or None,
                             None if reused is None else int(reused), None if evaluated is None else int(evaluated),
                             int(t.get("messages_dropped", 0)), self.family_label(),
                             int(t.get("draft_tokens", 0)), int(t.get("draft_tokens_accepted", 0)))


def has_projector(info: Any) -> bool:
    """A vision projector that fits the model lies beside it (``mmproj-*.gguf``; read from the headers only, as
    the engine's ``vision.find_mmproj`` chooses it, without loading llama.cpp into the app's process)."""
    from exaone_convert import ConversionError, inspect_mmproj

    for candidate in sorted(Path(info.path).parent.glob("mmproj*.gguf")):
        try:
            inspect_mmproj(candidate, info)
        except (ConversionError, OSError, ValueError):
            continue
        return True
    return False
