"""The desktop app object: its command line, the window it owns, and how it is built and torn down.

Used by ``exaone-desktop`` (``app.main``) and by the self-test, which drives the same app offscreen.
Heavy modules are imported inside the functions, after the window is on screen.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .. import __version__

if TYPE_CHECKING:
    from ..session.controller import ChatController
    from .context import AppContext
    from .main_window import MainWindow


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="exaone-desktop", description="Chat with EXAONE models offline.")
    parser.add_argument("--data-dir", type=Path, default=None,
                        help="keep chats, models and settings in this folder (default: the user data folder)")
    parser.add_argument("--lang", choices=("en", "ko"), default=None,
                        help="UI language (default: the setting, else the system's language)")
    parser.add_argument("--reset-settings", action="store_true", help="forget saved settings before starting")
    parser.add_argument("--demo", action="store_true",
                        help="with no model chosen yet, set up and load the bundled demo model at once")
    parser.add_argument("--self-test", action="store_true",
                        help="check this installation offscreen with the demo model, then exit (0: it works)")
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    return parser.parse_args(list(argv) if argv is not None else None)


STATE_DIR = "conversation-states"  # in the data folder: kept conversation states, for the next session


def controller_from_settings(ctx: AppContext) -> ChatController:
    """The app's controller with the choices saved in QSettings (generation, cloud, load settings)."""
    from ..session import load_settings
    from ..session.controller import ChatController
    from ..session.settings_state import SettingsState
    from .context import KEY_CLOUD, KEY_GENERATION, KEY_LOAD, KEY_LOAD_BY_MODEL

    return ChatController(ctx.store, settings=SettingsState.from_json(ctx.get(KEY_GENERATION)),
                          cloud=ctx.get_json(KEY_CLOUD),
                          load=load_settings.from_json(str(ctx.get(KEY_LOAD, "") or "")),
                          load_by_model=ctx.get_json(KEY_LOAD_BY_MODEL), state_dir=ctx.data_dir / STATE_DIR)


class DesktopApp:
    """Owns the app's state for its whole life: one ``ChatController`` (the open chat, the model, the draft, the
    settings), the reply being written (``ReplyRunner``) and the model load (``ModelLoader``); and the window that
    shows them, rebuilt over the same objects when the UI language changes (nothing is copied across)."""

    def __init__(self, ctx: AppContext, language_choice: str | None, *, demo: bool = False) -> None:
        from .chat_actions import ReplyRunner
        from .context import KEY_LANGUAGE
        from .language import install, resolve_language
        from .model_loading import ModelLoader

        self.ctx = ctx
        self.demo = demo
        self.language = install(resolve_language(language_choice or str(ctx.get(KEY_LANGUAGE, "") or "")))
        self.controller = controller_from_settings(ctx)
        self.runner = ReplyRunner(self.controller)
        self.loader = ModelLoader(self.controller, ctx)
        self.window = self._make_window()
        self.window.reopen_last_chat()

    def _make_window(self) -> MainWindow:
        from .main_window import MainWindow

        window = MainWindow(self.ctx, self.controller, self.runner, self.loader, language=self.language)
        window.language_change_requested.connect(self.switch_language)
        window.closing.connect(lambda: self._closing(window))
        return window

    def show(self) -> None:
        from PySide6.QtCore import QTimer

        self.window.show()
        QTimer.singleShot(0, lambda: self.window.start(demo_if_no_model=self.demo))

    def switch_language(self, choice: str) -> None:
        """A new window in the new language over the same controller: the open chat, the draft, the model and
        a reply being written carry on; only what the window itself shows (tab, size, page) is set again."""
        from .language import install, resolve_language

        old = self.window
        old.detach()
        self.language = install(resolve_language(choice))
        new = self._make_window()
        new.settings_panel.setCurrentIndex(old.settings_panel.currentIndex())
        new.restoreGeometry(old.saveGeometry())
        if old.stack.currentWidget() is old.welcome:
            new.show_welcome()
        old.composer.documents.hand_over(new.composer.documents)
        new.manager_link.adopt(old.manager_link)
        old.first_run.hand_over(new.first_run)
        self.window = new
        new.show()
        old.close()
        old.deleteLater()

    def _closing(self, window: MainWindow) -> None:
        """The app's window closed: the reply being written and a model load end, the local server stops."""
        if window is not self.window:
            return  # a window replaced by a language switch
        self.runner.cancel_and_wait()
        self.loader.cancel_and_wait()
        self.controller.serving.stop()

    def shutdown(self) -> None:
        """Close and delete the window while Python is fully alive, then close the history.

        Left to interpreter shutdown, PySide6 may destroy widgets in an order that crashes
        (seen as "bool_dealloc" after several conversations), so tear down explicitly.
        """
        import gc

        from PySide6.QtCore import QCoreApplication, QEvent

        window = self.window
        window.close()
        self.controller.release_model()
        window.deleteLater()
        QCoreApplication.sendPostedEvents(None, QEvent.Type.DeferredDelete.value)
        QCoreApplication.processEvents()
        del window
        self.window = None  # type: ignore[assignment]  # the app is over
        self.ctx.store.close()
        gc.collect()


LOCK_NAME = "exaone-desktop.lock"


def lock_data_dir(data_dir: Path) -> Any:
    """A QLockFile held while this app uses ``data_dir``; StoreError when another running app holds it.

    A lock left by an app that crashed is stale (its process is gone) and taken over.
    """
    from PySide6.QtCore import QLockFile

    from ..session.store import StoreError

    data_dir.mkdir(parents=True, exist_ok=True)
    lock = QLockFile(str(data_dir / LOCK_NAME))
    if not lock.tryLock(200):
        info = lock.getLockInfo()  # (pid, hostname, application name)
        pid = info[0] if isinstance(info, tuple) and info else "?"
        raise StoreError(f"exaone-desktop is already running with {data_dir} (process {pid}); switch to that "
                         "window, or start this one with another --data-dir")
    return lock


def create_app(argv: Sequence[str] | None = None) -> DesktopApp:
    """Parse ``argv``, make the QApplication (or reuse one) and the window; does not run the loop."""
    args = parse_args(argv)
    from PySide6.QtWidgets import QApplication

    from ..session.store import ChatStore, default_data_dir
    from .context import APPLICATION, ORGANIZATION, AppContext, open_settings

    app = QApplication.instance() or QApplication([sys.argv[0] if sys.argv else "exaone-desktop"])
    app.setOrganizationName(ORGANIZATION)
    app.setApplicationName(APPLICATION)
    if isinstance(app, QApplication):
        app.setApplicationDisplayName("EXAONE Desktop")
    data_dir = args.data_dir.expanduser().resolve() if args.data_dir else default_data_dir()
    settings = open_settings(data_dir if args.data_dir else None)
    lock = lock_data_dir(data_dir)  # a second app on the same folder refuses to start
    if args.reset_settings:
        settings.clear()
        settings.sync()
    try:
        store = ChatStore.open_default(data_dir)
    except BaseException:
        lock.unlock()
        raise
    store.on_close.append(lock.unlock)  # the folder is in use while its history is open
    return DesktopApp(AppContext(data_dir, store, settings), args.lang, demo=args.demo)
