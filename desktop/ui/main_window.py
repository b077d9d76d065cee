"""The main window: conversations on the left, the chat in the middle, settings on the right.

It wires widgets to the Qt-free ``ChatController`` (which decides) and runs every generation and model
load in a worker thread. Heavy modules are imported only when first needed.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

from PySide6.QtCore import QStandardPaths, QTimer, Signal
from PySide6.QtGui import QAction, QCloseEvent
from PySide6.QtWidgets import (
    QDialog,
    QFileDialog,
    QInputDialog,
    QMainWindow,
    QMessageBox,
    QSplitter,
    QStackedWidget,
    QVBoxLayout,
    QWidget,
)

from ..engine.settings import SettingsError
from ..engine.types import GenerationError
from ..session import load_settings
from ..session.controller import IMAGE_REFUSALS, NO_MODEL, ChatController, Ending, Refused, StatusFigures, Turn
from ..session.load_settings import LoadSettings
from ..session.settings_state import SettingsState
from ..session.store import StoreError
from .chat_view import ChatView
from .cloud_dialog import CloudConsentDialog, CloudFilesDialog
from .composer import Composer
from .context import (
    KEY_CLOUD,
    KEY_GENERATION,
    KEY_LANGUAGE,
    KEY_LAST_CHAT,
    KEY_LOAD,
    KEY_LOAD_BY_MODEL,
    KEY_MODEL,
    AppContext,
)
from .first_run import FirstRun
from .preferences import AppPreferences
from .settings_panel import SettingsPanel
from .sidebar import ConversationSidebar
from .status_line import StatusLine
from .welcome import WelcomePage
from .wording import Wording
from .workers import Job, ModelLoadWorker, ReplyWorker

DRAIN_MS = 25  # how often streamed pieces are taken from the worker's queue
STATE_DIR = "conversation-states"  # in the data folder: kept conversation states, for the next session


class MainWindow(QMainWindow):
    reply_finished = Signal(str)  # the reply's final status: complete, stopped, failed
    model_loaded = Signal(str)
    model_failed = Signal(str)
    language_change_requested = Signal(str)

    def __init__(self, ctx: AppContext, *, language: str = "en") -> None:
        super().__init__()
        self.ctx = ctx
        self.language = language
        self.controller = ChatController(ctx.store, settings=SettingsState.from_json(ctx.get(KEY_GENERATION)),
                                         cloud=ctx.get_json(KEY_CLOUD),
                                         load=load_settings.from_json(str(ctx.get(KEY_LOAD, "") or "")),
                                         load_by_model=ctx.get_json(KEY_LOAD_BY_MODEL),
                                         state_dir=ctx.data_dir / STATE_DIR)
        self.worker: ReplyWorker | None = None
        self.loader: Job | None = None
        self._loaded: Any = None  # the generator this window's loader made (closed when a reload replaces it)
        self.manager: Any = None
        self.manager_dialog: QDialog | None = None
        self.consent_dialog: CloudConsentDialog | None = None
        self.files_dialog: CloudFilesDialog | None = None  # open while a send asks about its files
        self.words = Wording(self)
        self._pending_status = ""
        self._drain_timer = QTimer(self)
        self._drain_timer.setInterval(DRAIN_MS)
        self._drain_timer.timeout.connect(self._drain)
        self.setWindowTitle("EXAONE Desktop")
        self.resize(1280, 800)
        self._build()
        self._connect()
        self._show_settings()
        self.settings_panel.show_cloud(self.cloud, "")
        self.settings_panel.show_language(str(ctx.get(KEY_LANGUAGE, "system")))
        self.preferences = AppPreferences(ctx, self.settings_panel, self.composer)  # Settings > App
        self._show_load()
        self._reopen_last_chat()
        self._refresh_sidebar()
        self._update_buttons()
        self._update_status()

    # -- what the controller holds, by the names the rest of the app uses --------------------------

    @property
    def session(self) -> Any:
        return self.controller.session

    @property
    def state(self) -> SettingsState:
        return self.controller.state

    @property
    def local(self) -> Any:
        return self.controller.local

    @property
    def model_info(self) -> Any:
        return self.controller.model_info

    @property
    def cloud(self) -> dict[str, Any]:
        return self.controller.cloud

    def cloud_active(self) -> bool:
        return self.controller.cloud_active()

    def cloud_host(self) -> str:
        return self.controller.cloud_host()

    # -- building --------------------------------------------------------------------------------

    def _build(self) -> None:
        self.sidebar = ConversationSidebar()
        self.chat_view = ChatView()
        self.composer = Composer()
        self.composer.attachments.refused.connect(self._not_attached)
        self.composer.documents.refused.connect(self._document_not_attached)
        self.welcome = WelcomePage()
        self.first_run = FirstRun(self.welcome, self.model_manager, self)
        chat_page = QWidget()
        chat_layout = QVBoxLayout(chat_page)
        chat_layout.setContentsMargins(0, 0, 0, 0)
        chat_layout.addWidget(self.chat_view, 1)
        chat_layout.addWidget(self.composer)
        self.stack = QStackedWidget()
        self.stack.addWidget(chat_page)
        self.stack.addWidget(self.welcome)
        self.settings_panel = SettingsPanel()
        splitter = QSplitter()
        splitter.addWidget(self.sidebar)
        splitter.addWidget(self.stack)
        splitter.addWidget(self.settings_panel)
        splitter.setSizes([240, 680, 360])
        splitter.setStretchFactor(1, 1)
        self.setCentralWidget(splitter)

        toolbar = self.addToolBar(self.tr("Main"))
        toolbar.setObjectName("main-toolbar")
        toolbar.setMovable(False)
        self.new_action = QAction(self.tr("New chat"), self)
        self.models_action = QAction(self.tr("Models…"), self)
        self.settings_action = QAction(self.tr("Settings"), self)
        self.settings_action.setCheckable(True)
        self.settings_action.setChecked(True)
        for action in (self.new_action, self.models_action, self.settings_action):
            toolbar.addAction(action)

        self.status_line = StatusLine(self.statusBar())
        line = self.status_line
        self.model_label, self.backend_label = line.model_label, line.backend_label
        self.speed_label, self.context_label, self.message_label = line.speed_label, line.context_label, \
            line.message_label

    def _connect(self) -> None:
        c = self.composer
        c.send_button.clicked.connect(self.send)
        c.stop_button.clicked.connect(self.stop)
        c.regenerate_button.clicked.connect(self.regenerate)
        c.edit_button.clicked.connect(self.edit_last)
        c.input.submitted.connect(self.send)
        c.edit_cancelled.connect(self.cancel_edit)
        self.chat_view.edit_requested.connect(self.edit_message)
        self.chat_view.variant_requested.connect(self.show_variant)
        s = self.sidebar
        s.selected.connect(self.open_conversation)
        s.new_requested.connect(self.new_conversation)
        s.rename_requested.connect(lambda cid: self.rename_conversation(cid))
        s.delete_requested.connect(lambda cid: self.delete_conversation(cid))
        s.export_requested.connect(lambda cid: self.export_conversation(cid))
        s.search_changed.connect(lambda _t: self._refresh_sidebar())
        p = self.settings_panel
        p.setting_changed.connect(self.change_setting)
        p.setting_reset.connect(self.reset_setting)
        p.reset_all_requested.connect(self.reset_all_settings)
        p.system_prompt_changed.connect(self.set_system_prompt)
        p.cloud_toggle_requested.connect(self.request_cloud)
        p.cloud_mode_changed.connect(lambda mode: self._set_cloud(mode=mode))
        p.cloud_model_changed.connect(lambda model: self._set_cloud(model=model))
        p.cloud_base_url_changed.connect(lambda url: self._set_cloud(base_url=url))
        p.api_key_entered.connect(self.save_api_key)
        p.api_key_cleared.connect(self.clear_api_key)
        p.language_changed.connect(self._language_chosen)
        p.preset_chosen.connect(self.apply_preset)
        p.currentChanged.connect(self._tab_changed)
        p.load_panel.load_setting_changed.connect(self.change_load_setting)
        p.load_panel.reload_requested.connect(self.reload_model)
        p.load_panel.serve_requested.connect(self.serve)
        p.load_panel.serve_key_requested.connect(self.serve_key)
        self.new_action.triggered.connect(self.new_conversation)
        self.models_action.triggered.connect(self.show_model_manager)
        self.settings_action.toggled.connect(self.settings_panel.setVisible)
        self.welcome.demo_button.clicked.connect(self.setup_demo)
        self.welcome.manager_button.clicked.connect(self.show_model_manager)
        self.welcome.download_requested.connect(self.download_recommended)
        self.welcome.cancel_requested.connect(self.first_run.cancel)

    # -- start-up ----------------------------------------------------------------------------------

    def start(self, *, demo_if_no_model: bool = False) -> None:
        """After the window is shown: load the last model, or offer one on the first run (or, with
        ``demo_if_no_model``, set up the demo model right away)."""
        if not self.isVisible():
            return  # closed before the event loop got here
        saved = str(self.ctx.get(KEY_MODEL, "") or "")
        if saved and Path(saved).is_file():
            self.load_model(Path(saved))
        elif demo_if_no_model:
            self.setup_demo()
        elif not self.controller.has_chat_to_show():
            self.show_welcome()
        if self.cloud_active():
            QTimer.singleShot(200, self._refresh_cloud_marks)

    # -- models ------------------------------------------------------------------------------------

    def load_model(self, path: Path) -> Job:
        """Load ``path`` in a worker with the chosen load settings (context size, KV cache type, budget)."""
        if self.loader is not None:
            self.loader.cancel()
        self._say(self.tr("Loading {0}…").format(Path(path).name))
        load = self.controller.choose_model(str(path))
        self._show_load()
        loader = ModelLoadWorker(Path(path), options=self.controller.load_options())
        loader.succeeded.connect(lambda gen, p=str(path), used=load: self._model_ready(gen, p, used))
        loader.failed.connect(self._model_failed)
        self.loader = loader
        loader.start()
        return loader

    def reload_model(self) -> Job | None:
        """Load the current model again with the load settings just chosen."""
        info = self.model_info
        if info is None or self.worker is not None:
            return None
        return self.load_model(Path(str(info.path)))

    def set_local_generator(self, generator: Any, path: str = "", loaded_with: LoadSettings | None = None) -> None:
        """Use ``generator`` (a LocalGenerator) for local replies."""
        self.controller.set_local(generator, loaded_with)
        self.settings_panel.set_reasoning_support(self.controller.reasoning_switch())
        self._show_settings()
        if path:
            self.ctx.put(KEY_MODEL, path)
        self.stack.setCurrentIndex(0)
        self._show_load()
        self._update_status()
        self._update_buttons()
        self._update_attach()

    def _update_attach(self) -> None:
        """Attach is off, with the reason as its tooltip, when the engine that would answer reads no images."""
        allowed = self.controller.can_attach_images()
        self.composer.attachments.set_allowed(allowed, "" if allowed else self.words.no_projector_tip())

    def take_model_from(self, old: MainWindow) -> None:
        """The window rebuilt (a language switch): keep the loaded model and the server running."""
        self.controller.serving, old.controller.serving = old.controller.serving, self.controller.serving
        self._loaded, old._loaded = old._loaded, None
        if old.local is not None:
            self.set_local_generator(old.local, loaded_with=old.controller.loaded_with)

    def release_model(self) -> None:
        """Drop the local model (at shutdown); the one this window loaded is closed (its worker ends)."""
        loaded, self._loaded = self._loaded, None
        self.controller.set_local(None)
        if loaded is not None and hasattr(loaded, "close"):
            loaded.close()

    def _model_ready(self, generator: Any, path: str, used: LoadSettings) -> None:
        self.loader = None
        previous, self._loaded = self._loaded, generator
        replaced = previous is not None and self.controller.local is previous
        self.set_local_generator(generator, path, used)
        if replaced and hasattr(previous, "close"):
            previous.close()  # a reload replaced the model this window loaded: free its memory now
        self._say(self.tr("Model ready."))
        self.model_loaded.emit(path)

    def _model_failed(self, message: str) -> None:
        self.loader = None
        self._say(self.words.model_failed(message), error=True)
        self.model_failed.emit(message)

    def model_manager(self) -> Any:
        if self.manager is None:
            from .model_manager import ModelManager

            self.manager = ModelManager(self.ctx.models_dir)
            self.manager.model_chosen.connect(lambda p: self.load_model(Path(p)))
            self.manager.job_finished.connect(self._manager_made)
            self.manager.progress_shown.connect(self.first_run.progress)
            dialog = QDialog(self)
            dialog.setWindowTitle(self.tr("Models"))
            dialog.resize(760, 640)
            QVBoxLayout(dialog).addWidget(self.manager)
            self.manager_dialog = dialog
        return self.manager

    def show_model_manager(self) -> None:
        self.model_manager()
        assert self.manager_dialog is not None
        self.manager_dialog.show()
        self.manager_dialog.raise_()

    def show_welcome(self) -> None:
        """The first-run page, with the official file recommended for this computer's memory (no network)."""
        self.first_run.recommend()
        self.stack.setCurrentWidget(self.welcome)

    def download_recommended(self) -> Job | None:
        """The welcome page's Download: the recommended file, its progress on the page."""
        return self.first_run.download()

    def setup_demo(self) -> Job | None:
        """The demo model (converted from the bundled checkpoint, no download), its progress on the welcome page."""
        return self.first_run.demo()

    def _manager_made(self, path: str) -> None:
        if self.controller.takes_new_model(path):
            self.load_model(Path(path))

    # -- load settings -----------------------------------------------------------------------------

    def change_load_setting(self, name: str, value: Any) -> None:
        try:
            load = self.controller.change_load(name, value)
        except SettingsError as err:
            trained = int(getattr(self.model_info, "context_length", 0) or 0)
            self.settings_panel.load_panel.show_error(self.words.refused_load(name, trained, err))
            self._show_load()
            return
        self.settings_panel.load_panel.show_error("")
        self.ctx.put(KEY_LOAD, load_settings.to_json(load))
        self.ctx.put_json(KEY_LOAD_BY_MODEL, self.controller.load_by_model)
        self._show_load()

    def _show_load(self) -> None:
        panel = self.settings_panel.load_panel
        panel.show_load(self.controller.load, self.controller.load_figures(), self.controller.kept_states())
        panel.show_serving(self.controller.serving.url, self.controller.serving.api_key)

    def serve(self, on: bool) -> None:
        """Settings > Model's switch: serve the loaded model on localhost, or stop."""
        try:
            url = self.controller.serve(on)
        except Refused:
            self._say(self.tr("Load a model first: the server answers with the loaded model."), error=True)
            url = None
        except GenerationError as err:
            self._say(str(err), error=True)
            url = None
        if url:
            self._say(self.tr("Serving the model at {0}").format(url))
        self.settings_panel.load_panel.show_serving(url, self.controller.serving.api_key)

    def serve_key(self, on: bool) -> None:
        """Settings > Model's key switch: require a new API key of the server's clients, or none."""
        serving = self.controller.serving
        try:
            serving.set_key(on)
        except GenerationError as err:
            self._say(str(err), error=True)
        self.settings_panel.load_panel.show_serving(serving.url, serving.api_key)

    # -- conversations ---------------------------------------------------------------------------

    def _refresh_sidebar(self) -> None:
        hits = self.ctx.store.search(self.sidebar.search.text())
        self.sidebar.set_items(hits, self.session.conversation_id)

    def _reopen_last_chat(self) -> None:
        """At launch: the chat that was open when the app closed (else the most recent one)."""
        remembered = self.ctx.get(KEY_LAST_CHAT)
        try:
            wanted = self.controller.last_conversation(int(remembered) if remembered not in (None, "") else None)
        except (TypeError, ValueError, StoreError):
            wanted = None
        if wanted is not None:
            self.open_conversation(wanted)

    def new_conversation(self) -> None:
        if not self.controller.new_conversation():
            return
        self.chat_view.clear()
        self.settings_panel.show_system_prompt("")
        self._leave_edit()
        self._refresh_sidebar()
        self._update_buttons()

    def open_conversation(self, conversation_id: int) -> None:
        conv = self.controller.open_conversation(conversation_id)
        if conv is None:
            self._refresh_sidebar()
            return
        self.ctx.put(KEY_LAST_CHAT, conv.id)
        self._show_chat()
        self.settings_panel.show_system_prompt(conv.system_prompt)
        if self.controller.has_chat_to_show():
            self.stack.setCurrentIndex(0)
        self._leave_edit()
        self._refresh_sidebar()
        self._update_buttons()

    def _show_chat(self) -> None:
        self.chat_view.sync(self.session.messages(), self.controller.variants())

    def show_variant(self, message_id: int, step: int) -> None:
        """‹ › on a message: show another kept reply (or version of a question) and the branch after it."""
        if self.controller.show_variant(message_id, step):
            self._show_chat()
            self._update_buttons()

    def rename_conversation(self, conversation_id: int, title: str | None = None) -> None:
        if title is None:
            current = self.ctx.store.conversation(conversation_id).title
            title, ok = QInputDialog.getText(self, self.tr("Rename chat"), self.tr("New name:"), text=current)
            if not ok:
                return
        self.ctx.store.rename(conversation_id, title)
        self._refresh_sidebar()

    def delete_conversation(self, conversation_id: int, *, confirm: bool = True) -> None:
        if confirm:
            answer = QMessageBox.question(self, self.tr("Delete chat"),
                                          self.tr("Delete this chat and all its messages?"))
            if answer != QMessageBox.StandardButton.Yes:
                return
        was_open = conversation_id == self.session.conversation_id
        if self.controller.delete_conversation(conversation_id) and was_open:
            self.new_conversation()
        self._refresh_sidebar()

    def export_conversation(self, conversation_id: int, path: Path | None = None) -> Path | None:
        if path is None:
            name, _ = QFileDialog.getSaveFileName(self, self.tr("Export chat"), str(self.export_suggestion(
                conversation_id)), "Markdown (*.md);;JSON (*.json)")
            if not name:
                return None
            path = Path(name)
        try:
            written = self.ctx.store.export(conversation_id, path)
        except (StoreError, OSError) as err:
            self._say(str(err), error=True)
            return None
        self._say(self.tr("Exported to {0}").format(str(written)))
        return written

    def export_suggestion(self, conversation_id: int) -> Path:
        """Where the export dialog opens: the user's documents folder, the chat's title as the name."""
        title = self.ctx.store.conversation(conversation_id).title or "chat"
        safe = "".join("_" if ch in '/\\:*?"<>|' else ch for ch in title).strip() or "chat"
        folder = QStandardPaths.writableLocation(QStandardPaths.StandardLocation.DocumentsLocation) or str(Path.home())
        return Path(folder) / f"{safe}.md"

    def set_system_prompt(self, text: str) -> None:
        if self.controller.set_system_prompt(text):
            self._refresh_sidebar()

    # -- chat ------------------------------------------------------------------------------------

    def send(self) -> None:
        text = self.composer.input.toPlainText().strip()
        images = list(self.composer.attachments.pending)
        documents = list(self.composer.documents.pending)
        if not (text or images or documents) or self.worker is not None:
            return
        if self.composer.documents.busy():
            self._say(self.tr("A document is still being read: wait for it, or cancel it."), error=True)
            return
        self.settings_panel.commit_system_prompt()
        editing = self.composer.editing
        turn = self._start(lambda: self.controller.send(text, edit_of=editing, images=images, documents=documents))
        if turn is None:
            return
        self.composer.take_draft()
        self._leave_edit()
        self.ctx.put(KEY_LAST_CHAT, self.session.conversation_id)
        self._run(turn)

    def regenerate(self) -> None:
        if not self.controller.can_regenerate():
            return
        turn = self._start(self.controller.regenerate)
        if turn is not None:
            self._run(turn)

    def _start(self, begin: Any) -> Turn | None:
        try:
            turn: Turn = begin()
        except Refused as err:
            if err.reason == NO_MODEL:
                self._say(self.tr("No model is loaded: set up the demo model, or open the model manager."),
                          error=True)
                self.show_welcome()
            elif err.reason in IMAGE_REFUSALS:  # the image stays attached: another model may read it
                self.composer.show_notice(self.words.image_refusal(err))
            return None
        self.composer.show_notice("")
        return turn

    def _not_attached(self, detail: str) -> None:
        """A file or paste the tray refused: one sentence in the UI's language (the engine's line as tooltip)."""
        self.composer.show_notice(self.words.not_attached())
        self.composer.notice.setToolTip(detail)

    def _document_not_attached(self, detail: str) -> None:
        """A document the tray could not read: the engine's line (it names the fix) in the composer."""
        self.composer.show_notice(self.words.document_not_attached(detail))
        self.composer.notice.setToolTip(detail)

    def edit_last(self) -> None:
        last = self.controller.last_user_id()
        if last is not None:
            self.edit_message(last)

    def edit_message(self, message_id: int) -> None:
        """Edit one of your messages: the draft is put aside; Send branches the chat, Cancel or Escape
        brings the draft back."""
        text = self.controller.edit_text(message_id)
        if text is None:
            return
        self.composer.begin_edit(message_id, text)

    def cancel_edit(self) -> None:
        self._leave_edit()

    def _leave_edit(self) -> None:
        self.composer.end_edit()

    def stop(self) -> None:
        if self.worker is not None:
            self.worker.cancel()
            self._say(self.tr("Stopping…"))

    def _run(self, turn: Turn, *, asked: bool = False) -> None:
        files = [] if asked else self.controller.files_for_cloud(turn)
        if files:  # consent to the cloud does not cover attached files: each send that carries them asks
            dialog = CloudFilesDialog(self.cloud_host(), self.controller.cloud_model(), files, self)
            dialog.finished.connect(lambda result: self._files_answered(turn, result == QDialog.DialogCode.Accepted))
            self.files_dialog = dialog
            dialog.open()
            return
        self.stack.setCurrentIndex(0)
        self._show_chat()
        live = self.chat_view.bubble(turn.reply.message_id)
        if live is not None:
            live.set_status("partial", live=True)
        worker = ReplyWorker(lambda **kw: self.controller.execute(turn, **kw))
        worker.switched.connect(self._on_switch)
        worker.succeeded.connect(lambda outcome: self._end(self.controller.conclude(outcome)))
        worker.failed.connect(lambda message: self._end(self.controller.fail(message)))
        worker.cancelled.connect(lambda: self._end(self.controller.stopped()))
        worker.finished.connect(self._on_thread_done)
        self.worker = worker
        self._update_buttons()
        self._say(self.tr("Writing…"))
        self._drain_timer.start()
        worker.start()

    def _files_answered(self, turn: Turn, send: bool) -> None:
        self.files_dialog = None
        if not send:
            self.controller.keep_local(turn)
        self._run(turn, asked=True)

    def _drain(self) -> None:
        """Take the pieces streamed so far (GUI thread) into the reply, the store and the view."""
        worker = self.worker
        if worker is None:
            return
        events = worker.drain()
        if not events:
            return
        reply = self.controller.take(events)
        if reply is not None:
            self.chat_view.stream(reply.message_id, reply.answer, reply.reasoning)
            self.status_line.show_speed(reply.tokens_per_second())

    def _on_switch(self, engine: str, reason: str) -> None:
        self._drain()
        reply = self.controller.switched()
        if reply is not None:
            self.chat_view.stream(reply.message_id, "", "")
        self._say(reason, error=True)

    def _end(self, ending: Ending | None) -> None:
        self._drain()
        if ending is None:
            return
        stored = ending.message
        self.chat_view.flush()
        bubble = self.chat_view.bubble(stored.id)
        if bubble is not None:
            bubble.show_text(stored.content, stored.reasoning or "")
            bubble.set_status(stored.status)
            bubble.set_header(stored)
        texts = {"complete": self.tr("Done."), "stopped": self.tr("Stopped; the partial reply was kept."),
                 "failed": self.tr("The reply failed.")}
        note = texts.get(stored.status, "")
        if ending.note:  # the engine's or the router's own line, behind a sentence in the UI's language
            note = (self.tr("The reply failed: {0}") if stored.status == "failed" else self.tr("Note: {0}")
                    ).format(ending.note)
        if ending.dropped:
            note += " " + self.tr("{0} earlier messages were left out to fit the context; the chat keeps them."
                                  ).format(ending.dropped)
        self._say(note, error=stored.status == "failed")
        self._pending_status = stored.status
        self._update_status()
        self._refresh_cloud_marks()
        self._show_load()
        if ending.offer is not None:
            self._offer(ending.offer, ending.note)

    def _on_thread_done(self) -> None:
        self._drain_timer.stop()
        self.worker = None
        self._refresh_sidebar()
        self._update_buttons()
        self.reply_finished.emit(self._pending_status)

    def _offer(self, engine: str, message: str) -> None:
        answer = QMessageBox.question(self, self.tr("Use the other engine?"), message)
        if answer == QMessageBox.StandardButton.Yes:
            QTimer.singleShot(0, lambda: self._resend(engine))

    def _resend(self, engine: Any) -> None:
        if self.worker is not None:
            return
        turn = self._start(lambda: self.controller.regenerate(engine))
        if turn is not None:
            self._run(turn)

    # -- generation settings -----------------------------------------------------------------------

    def change_setting(self, name: str, value: Any) -> None:
        try:
            self.controller.change_setting(name, value)
        except SettingsError as err:
            self.settings_panel.show_error(self.words.refused_setting(self.state, name, value, err))
            return
        self.settings_panel.show_error("")
        self._save_settings()

    def apply_preset(self, key: str) -> None:
        try:
            self.controller.apply_preset(key)
        except SettingsError as err:
            self.settings_panel.show_error(str(err))
            return
        self.settings_panel.show_error("")
        self._save_settings()

    def reset_setting(self, name: str) -> None:
        self.state.reset(name)
        self._save_settings()

    def reset_all_settings(self) -> None:
        self.state.reset_all()
        self._save_settings()

    def _save_settings(self) -> None:
        self.ctx.put(KEY_GENERATION, self.state.to_json())
        self._show_settings()
        self._refresh_cloud_marks()

    def _show_settings(self) -> None:
        self.settings_panel.show_state(self.state)
        self.settings_panel.show_preset(self.controller.preset(), self.controller.family_label())

    # -- cloud -------------------------------------------------------------------------------------

    def request_cloud(self, on: bool) -> None:
        """The switch: turning it on goes through the consent dialog; off needs nothing."""
        if not on:
            self._set_cloud(enabled=False)
            return
        dialog = CloudConsentDialog(self.cloud_host(), self.controller.cloud_model(), self)
        dialog.finished.connect(lambda result: self._consent_given(result == QDialog.DialogCode.Accepted))
        self.consent_dialog = dialog
        dialog.open()

    def _consent_given(self, accepted: bool) -> None:
        self.consent_dialog = None
        self._cloud_changed(self.controller.consent(accepted))

    def _set_cloud(self, **changes: Any) -> None:
        self._cloud_changed(self.controller.update_cloud(**changes))

    def _cloud_changed(self, policy: dict[str, Any]) -> None:
        self.ctx.put_json(KEY_CLOUD, policy)
        self.settings_panel.show_cloud(policy, self._key_text())
        self._refresh_cloud_marks()
        self._update_status()
        self._update_attach()

    def _refresh_cloud_marks(self) -> None:
        """Mark the settings the cloud API does not apply, while the cloud answers."""
        try:
            names = self.controller.cloud_not_applied()
        except Exception as err:  # noqa: BLE001 - e.g. a temperature the API refuses
            self.settings_panel.show_error(str(err))
            names = []
        self.settings_panel.mark_not_applied(names)

    def _key_text(self, *, force: bool = False) -> str:
        """Where the API key comes from (never the key); keyring is imported only when needed."""
        if not force and "keyring" not in sys.modules and not self.cloud.get("enabled"):
            return ""
        from ..engine.cloud import keys

        texts = {"env": self.tr("Using OPENAI_API_KEY from the environment."),
                 "keyring": self.tr("A key is stored in the OS keychain."), None: self.tr("No API key set.")}
        try:
            return texts[keys.key_source()]
        except Exception as err:  # noqa: BLE001 - a broken keychain must not break the panel
            return str(err).splitlines()[0]

    def save_api_key(self, key: str) -> None:
        from ..engine.cloud import keys

        try:
            keys.set_api_key(key)
        except keys.KeyStoreError as err:
            self._say(str(err), error=True)
        self.settings_panel.show_cloud(self.cloud, self._key_text())

    def clear_api_key(self) -> None:
        from ..engine.cloud import keys

        try:
            keys.delete_api_key()
        except keys.KeyStoreError as err:
            self._say(str(err), error=True)
        self.settings_panel.show_cloud(self.cloud, self._key_text())

    def _tab_changed(self, index: int) -> None:
        if self.settings_panel.widget(index) is self.settings_panel.cloud_scroll:
            self.settings_panel.show_cloud(self.cloud, self._key_text(force=True))

    # -- language ----------------------------------------------------------------------------------

    def _language_chosen(self, choice: str) -> None:
        self.ctx.put(KEY_LANGUAGE, choice)
        self.language_change_requested.emit(choice)

    # -- status ------------------------------------------------------------------------------------

    def _say(self, text: str, *, error: bool = False) -> None:
        self.status_line.say(text, error=error)

    def _update_status(self) -> None:
        self.show_status(self.controller.status())

    def show_status(self, f: StatusFigures) -> None:
        self.status_line.show(f)

    def _update_buttons(self) -> None:
        b = self.controller.buttons()
        c = self.composer
        c.send_button.setEnabled(b.send)
        c.stop_button.setEnabled(b.stop)
        c.regenerate_button.setEnabled(b.regenerate)
        c.edit_button.setEnabled(b.edit)
        self.sidebar.setEnabled(b.sidebar)

    def closeEvent(self, event: QCloseEvent) -> None:  # noqa: N802 - Qt override
        self.settings_panel.commit_system_prompt()
        for job in (self.worker, self.loader, getattr(self.manager, "job", None)):
            if job is not None:
                job.cancel()
                job.wait(10000)
        self.controller.serving.stop()
        super().closeEvent(event)
