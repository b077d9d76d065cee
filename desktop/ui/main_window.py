"""The main window: conversations on the left, the chat in the middle, settings on the right.

It only shows and translates. The app's state lives beside it, owned by ``DesktopApp``: the ``ChatController``
(the open chat, the model, the draft, the cloud, busy or not), the ``ReplyRunner`` (the reply being written)
and the ``ModelLoader``; a window rebuilt for another language is built over the same objects. The sidebar, the
status line, the settings link (``settings_link``) and the model manager's link (``manager_link``) each do
their own part.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from PySide6.QtCore import QTimer, Signal
from PySide6.QtGui import QAction, QCloseEvent
from PySide6.QtWidgets import QDialog, QMainWindow, QSplitter, QStackedWidget, QVBoxLayout, QWidget

from ..session.controller import ChatController
from ..session.store import StoreError
from .chat_actions import ChatActions, ReplyRunner
from .chat_view import ChatView
from .composer import Composer
from .context import KEY_LANGUAGE, KEY_LAST_CHAT, KEY_MODEL, AppContext
from .first_run import FirstRun
from .manager_link import ManagerLink
from .model_loading import ModelLoader
from .preferences import AppPreferences
from .server_panel import ServerPanel
from .settings_link import SettingsLink
from .settings_panel import SettingsPanel
from .sidebar import ConversationSidebar
from .status_line import StatusLine
from .welcome import WelcomePage
from .wording import Wording
from .workers import Job


class MainWindow(QMainWindow):
    reply_finished = Signal(str)  # the reply's final status: complete, stopped, failed
    model_loaded = Signal(str)
    model_failed = Signal(str)
    language_change_requested = Signal(str)
    closing = Signal()  # closed by the user (or the app): the app decides what ends with it

    def __init__(self, ctx: AppContext, controller: ChatController, runner: ReplyRunner, loader: ModelLoader, *,
                 language: str = "en") -> None:
        super().__init__()
        self.ctx, self.controller, self.runner, self.loader = ctx, controller, runner, loader
        self.language = language
        self.words = Wording(self)
        self.setWindowTitle("EXAONE Desktop")
        self.resize(1280, 800)
        self._build()
        self.change_setting = self.settings_link.change_setting  # what the panel's editors call
        self.change_load_setting = self.settings_link.change_load_setting
        self._connect()
        self.settings_panel.show_language(str(ctx.get(KEY_LANGUAGE, "system")))
        self.preferences = AppPreferences(ctx, self.settings_panel, self.composer)  # Settings > App
        self._show_model()
        self._show_conversation()
        if controller.turn is not None:  # a reply is being written: this window shows it
            self.chat_actions.show_started(controller.turn)

    # -- building --------------------------------------------------------------------------------

    def _build(self) -> None:
        c = self.controller
        self.sidebar = ConversationSidebar(c)
        self.chat_view = ChatView()
        self.composer = Composer(c.drafting)
        self.welcome = WelcomePage()
        self.first_run = FirstRun(self.welcome, lambda: self.manager_link.get(), self)
        chat_page = QWidget()
        chat_layout = QVBoxLayout(chat_page)
        chat_layout.setContentsMargins(0, 0, 0, 0)
        chat_layout.addWidget(self.chat_view, 1)
        chat_layout.addWidget(self.composer)
        self.stack = QStackedWidget()
        self.stack.addWidget(chat_page)
        self.stack.addWidget(self.welcome)
        self.settings_panel = SettingsPanel()
        self.server_panel = ServerPanel(self.ctx, self.controller)
        self.settings_panel.addTab(self.server_panel, self.server_panel.title())
        splitter = QSplitter()
        for part in (self.sidebar, self.stack, self.settings_panel):
            splitter.addWidget(part)
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

        self.status_line = line = StatusLine(self.statusBar(), c)
        self.model_label, self.backend_label = line.model_label, line.backend_label
        self.speed_label, self.context_label, self.message_label = line.speed_label, line.context_label, \
            line.message_label
        self.settings_link = SettingsLink(self.ctx, c, self.settings_panel, line, self)
        self.chat_actions = ChatActions(self.ctx, c, self.runner, self.composer, self.chat_view, line, self)
        self.manager_link = ManagerLink(self.ctx, c, self.settings_link, self)

    def _connect(self) -> None:
        self.chat_view.variant_requested.connect(self.show_variant)
        a = self.chat_actions
        a.sending.connect(self.settings_panel.commit_system_prompt)
        a.needs_model.connect(self.show_welcome)
        a.started.connect(self._on_reply_started)
        a.ended.connect(self._on_reply_ended)
        a.finished.connect(self._on_reply_finished)
        self.sidebar.selected.connect(self.open_conversation)
        self.sidebar.new_requested.connect(self.new_conversation)
        self.sidebar.said.connect(self.say)
        self.server_panel.said.connect(self.say)
        self.model_loaded.connect(self.server_panel.model_loaded)
        self.settings_link.load_shown.connect(self.server_panel.refresh)
        p = self.settings_panel
        p.system_prompt_changed.connect(self.set_system_prompt)
        p.language_changed.connect(self._language_chosen)
        p.load_panel.reload_requested.connect(self.reload_model)
        self.settings_link.cloud_changed.connect(self._cloud_changed)
        self.new_action.triggered.connect(self.new_conversation)
        self.models_action.triggered.connect(self.show_model_manager)
        self.settings_action.toggled.connect(self.settings_panel.setVisible)
        self.welcome.demo_button.clicked.connect(self.setup_demo)
        self.welcome.manager_button.clicked.connect(self.show_model_manager)
        self.welcome.download_requested.connect(self.download_recommended)
        self.welcome.cancel_requested.connect(self.first_run.cancel)
        self.manager_link.load_requested.connect(lambda path: self.load_model(Path(path)))
        self.manager_link.progress_shown.connect(self.first_run.progress)
        # the app's long work, shown here while this window is the app's (``detach`` ends it)
        self._links = [(self.runner.started, a.show_started), (self.runner.streamed, a.show_stream),
                       (self.runner.switched, a.show_switch), (self.runner.ended, a.show_ending),
                       (self.runner.finished, a.show_finished), (self.loader.loading, self._on_loading),
                       (self.loader.loaded, self._on_loaded), (self.loader.failed, self._on_load_failed)]
        for signal, slot in self._links:
            signal.connect(slot)

    def detach(self) -> None:
        """Another window takes over (a language switch): this one stops following the app's work."""
        self.settings_panel.commit_system_prompt()
        for signal, slot in self._links:
            signal.disconnect(slot)
        self._links = []

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
        if self.controller.cloud_active():
            QTimer.singleShot(200, self.settings_link.refresh_cloud_marks)

    def reopen_last_chat(self) -> None:
        """At launch: the chat that was open when the app closed (else the most recent one)."""
        remembered = self.ctx.get(KEY_LAST_CHAT)
        try:
            wanted = self.controller.last_conversation(int(remembered) if remembered not in (None, "") else None)
        except (TypeError, ValueError, StoreError):
            wanted = None
        if wanted is not None:
            self.open_conversation(wanted)

    # -- models ------------------------------------------------------------------------------------

    def load_model(self, path: Path) -> Job:
        """Load ``path`` in a worker with the chosen load settings (context size, KV cache type, budget)."""
        return self.loader.load(Path(path))

    def reload_model(self) -> Job | None:
        """Load the current model again with the load settings just chosen."""
        return self.loader.reload()

    def set_local_generator(self, generator: Any, loaded_with: Any = None) -> None:
        """Use ``generator`` (a LocalGenerator the caller owns) for local replies."""
        self.controller.set_local(generator, loaded_with)
        self._show_model()

    def release_model(self) -> None:
        """Drop the local model (at shutdown); the one the app loaded is closed (its worker ends)."""
        self.controller.release_model()

    def _show_model(self) -> None:
        c = self.controller
        self.settings_panel.set_reasoning_support(c.reasoning_switch())
        self.settings_link.show_settings()
        if c.local is not None:
            self.stack.setCurrentIndex(0)
        self.settings_link.show_load()
        self.status_line.refresh()
        self.update_buttons()
        self._update_attach()

    def _update_attach(self) -> None:
        """Attach is off, with the reason as its tooltip, when the engine that would answer reads no images."""
        allowed = self.controller.can_attach_images()
        self.composer.attachments.set_allowed(allowed, "" if allowed else self.words.no_projector_tip())

    def _on_loading(self, name: str) -> None:
        self.say(self.tr("Loading {0}…").format(name))
        self.settings_link.show_load()

    def _on_loaded(self, path: str) -> None:
        self.manager_link.show_loaded(path)
        self._show_model()
        self.say(self.tr("Model ready."))
        self.model_loaded.emit(path)

    def _on_load_failed(self, message: str) -> None:
        self.say(self.words.model_failed(message), error=True)
        self.model_failed.emit(message)

    def model_manager(self) -> Any:
        return self.manager_link.get()

    def show_model_manager(self) -> None:
        self.manager_link.show()

    @property
    def manager(self) -> Any:
        return self.manager_link.manager

    @property
    def manager_dialog(self) -> QDialog | None:
        return self.manager_link.dialog

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

    # -- conversations ---------------------------------------------------------------------------

    def new_conversation(self) -> None:
        if not self.controller.new_conversation():
            return
        self.controller.drafting.end_edit()
        self._show_conversation()

    def open_conversation(self, conversation_id: int) -> None:
        conv = self.controller.open_conversation(conversation_id)
        if conv is None:
            self.sidebar.refresh()
            return
        self.ctx.put(KEY_LAST_CHAT, conv.id)
        if self.controller.has_chat_to_show():
            self.stack.setCurrentIndex(0)
        self.controller.drafting.end_edit()
        self._show_conversation()

    def _show_conversation(self) -> None:
        """The open chat as the controller has it: its messages, its system prompt, the draft."""
        cid = self.controller.session.conversation_id
        self.show_chat()
        self.settings_panel.show_system_prompt(self.ctx.store.conversation(cid).system_prompt if cid else "")
        self.composer.show_draft()
        self.sidebar.refresh()
        self.update_buttons()

    def show_chat(self) -> None:
        self.chat_view.sync(self.controller.session.messages(), self.controller.variants())

    def show_variant(self, message_id: int, step: int) -> None:
        """‹ › on a message: show another kept reply (or version of a question) and the branch after it."""
        if self.controller.show_variant(message_id, step):
            self.show_chat()
            self.update_buttons()

    def set_system_prompt(self, text: str) -> None:
        if self.controller.set_system_prompt(text):
            self.sidebar.refresh()

    def send(self) -> None:
        self.chat_actions.send()

    def _on_reply_started(self) -> None:
        self.stack.setCurrentIndex(0)
        self.update_buttons()

    def _on_reply_ended(self) -> None:
        self.settings_link.refresh_cloud_marks()
        self.settings_link.show_kept()

    def _on_reply_finished(self, status: str) -> None:
        self.sidebar.refresh()
        self.update_buttons()
        self.reply_finished.emit(status)

    # -- the rest of the window --------------------------------------------------------------------

    def _cloud_changed(self) -> None:
        self.status_line.refresh()
        self._update_attach()

    def _language_chosen(self, choice: str) -> None:
        self.ctx.put(KEY_LANGUAGE, choice)
        self.language_change_requested.emit(choice)

    def say(self, text: str, error: bool = False) -> None:
        self.status_line.say(text, error=error)

    def update_buttons(self) -> None:
        b = self.controller.buttons()
        c = self.composer
        c.send_button.setEnabled(b.send)
        c.stop_button.setEnabled(b.stop)
        c.regenerate_button.setEnabled(b.regenerate)
        c.edit_button.setEnabled(b.edit)
        self.sidebar.setEnabled(b.sidebar)

    def closeEvent(self, event: QCloseEvent) -> None:  # noqa: N802 - Qt override
        self.settings_panel.commit_system_prompt()
        self.manager_link.cancel_and_wait()
        self.composer.documents.cancel_and_wait()
        self.closing.emit()
        super().closeEvent(event)
