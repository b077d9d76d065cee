"""``exaone-desktop --self-test``: the whole app once, offscreen, in a throwaway data folder.

It runs what a first-time user does, through the window's own code paths: the welcome page's
"Set up the demo model" (convert the bundled checkpoint, load it with llama.cpp), one message
sent with the Send button, the reply streamed into the chat, the loaded model served on localhost
(what "Serve on localhost" runs) and answering one request, an image decoded as an attachment is, and
the conversation in the history database. A frozen bundle that lacks a Qt plugin, llama.cpp's libraries
or a data file fails here with one line naming the missing piece, instead of a user's double-click doing nothing.
"""

from __future__ import annotations

import json
import os
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

STEP_TIMEOUT_MS = 180_000
LOG_NAME = "exaone-desktop-selftest.txt"  # where a windowed app (no stdout, e.g. on Windows) writes the report


class SelfTestError(Exception):
    """One failed check; its text is the one line printed."""


def run_self_test() -> int:
    """Print a short report and return 0, or print ``self-test FAILED: ...`` and return 1."""
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    if sys.stdout is None or sys.stderr is None:
        log = open(Path(tempfile.gettempdir()) / LOG_NAME, "w", encoding="utf-8")  # noqa: SIM115 - until exit
        sys.stdout = sys.stdout or log
        sys.stderr = sys.stderr or log
    for stream in (sys.stdout, sys.stderr):  # a C locale (env -i) must not turn Korean text into a crash
        if stream is not None and hasattr(stream, "reconfigure"):
            stream.reconfigure(errors="backslashreplace")
    report: list[str] = []
    try:
        with tempfile.TemporaryDirectory(prefix="exaone-selftest-") as tmp:
            _run(Path(tmp), report.append)
    except SelfTestError as err:
        for line in report:
            print(line, flush=True)
        print(f"self-test FAILED: {err}", file=sys.stderr)
        return 1
    for line in report:
        print(line)
    print("self-test passed")
    return 0


def _run(data_dir: Path, say: Callable[[str], None]) -> None:
    say(f"frozen: {bool(getattr(sys, 'frozen', False))}; python {sys.version.split()[0]}")
    _check_qt_platform(say)
    _check_llama(say)
    from .ui.workers import DEMO_DIR

    demo = _load_demo(DEMO_DIR)
    from .ui.application import create_app

    desktop = create_app(["--data-dir", str(data_dir), "--lang", "en"])
    desktop.show()
    try:
        window: Any = desktop.window
        _wait_until(lambda: window.stack.currentWidget() is window.welcome, "the welcome page never appeared")
        say("window: shown, welcome page offered the demo model")
        _set_up_demo(window, say)
        reply = _chat(window, demo["message"], say)
        if reply != demo["expected_reply"]:
            raise SelfTestError(f"the demo reply differs from demo.json's expected_reply: {reply[:80]!r}")
        say("reply: equals demo.json's expected_reply")
        _check_serving(window.local, say)
        _check_image_decoding(say)
    finally:
        desktop.shutdown()
    _check_history(data_dir, demo["message"], demo["expected_reply"], say)


def _check_qt_platform(say: Callable[[str], None]) -> None:
    """Qt aborts the process when the platform plugin is missing: look for it first."""
    from PySide6.QtCore import QLibraryInfo

    platform = os.environ.get("QT_QPA_PLATFORM", "offscreen").split(":")[0]
    folder = Path(QLibraryInfo.path(QLibraryInfo.LibraryPath.PluginsPath)) / "platforms"
    found = sorted(folder.glob(f"*q{platform}*")) if folder.is_dir() else []
    if not found:
        raise SelfTestError(f"missing Qt plugin: no '{platform}' platform plugin in {folder}")
    say(f"qt: platform plugin {found[0].name}")


def _check_llama(say: Callable[[str], None]) -> None:
    try:
        import llama_cpp
    except Exception as err:  # noqa: BLE001 - the shared library failing to load raises several types
        first = str(err).splitlines()[0] if str(err) else type(err).__name__
        raise SelfTestError(f"llama.cpp library would not load: {first}") from None
    say(f"llama.cpp: llama-cpp-python {getattr(llama_cpp, '__version__', '?')} loaded")


def _load_demo(demo_dir: Path) -> dict[str, str]:
    try:
        data = json.loads((demo_dir / "demo.json").read_text(encoding="utf-8"))
        message = str(data["messages"][-1]["content"])
        expected = str(data["expected_reply"])
    except (OSError, ValueError, KeyError, IndexError) as err:
        raise SelfTestError(f"demo model data missing or unreadable in {demo_dir}: {err}") from None
    if not (demo_dir / "config.json").is_file():
        raise SelfTestError(f"demo model checkpoint missing: no config.json in {demo_dir}")
    return {"message": message, "expected_reply": expected}


def _set_up_demo(window: Any, say: Callable[[str], None]) -> None:
    """The welcome page's button: convert the bundled checkpoint, then load it with llama.cpp."""
    window.welcome.demo_button.click()
    failures: list[str] = []
    window.manager.job_failed.connect(failures.append)
    window.model_failed.connect(failures.append)
    _wait_until(lambda: window.local is not None or bool(failures),
                "the demo model was neither converted and loaded nor reported a failure")
    if failures:
        raise SelfTestError(f"demo model set-up failed: {failures[0]}")
    info = window.model_info
    say(f"model: demo converted and loaded ({getattr(window.local, 'backend', '?')}, "
        f"{Path(str(getattr(info, 'path', '') or '')).name or 'demo'})")


def _chat(window: Any, message: str, say: Callable[[str], None]) -> str:
    """Send ``message`` with the Send button (greedy) and return the finished reply's text."""
    window.change_setting("do_sample", False)
    window.change_setting("max_new_tokens", 120)
    statuses: list[str] = []
    window.reply_finished.connect(statuses.append)
    window.composer.input.setPlainText(message)
    window.composer.send_button.click()
    _wait_until(lambda: bool(statuses), "no reply finished")
    messages = window.session.messages()
    if statuses[0] != "complete" or not messages or messages[-1].role != "assistant":
        note = window.message_label.text()
        raise SelfTestError(f"the reply ended as {statuses[0]!r}: {note or 'no message'}")
    say(f"chat: reply complete, {len(messages[-1].content)} characters")
    return str(messages[-1].content)


def _check_serving(generator: Any, say: Callable[[str], None]) -> None:
    """Serve the loaded model on the loopback address and ask it for its model list over HTTP."""
    import urllib.request

    from .session.serving import LocalServing

    serving = LocalServing(port=0)
    try:
        url = serving.start(generator)
        with urllib.request.urlopen(f"{url}/models", timeout=30) as response:  # noqa: S310 - our loopback server
            listed = json.loads(response.read().decode("utf-8"))
    except Exception as err:  # noqa: BLE001 - a missing module in the bundle raises several types
        first = str(err).splitlines()[0] if str(err) else type(err).__name__
        raise SelfTestError(f"the local server would not serve the model: {first}") from None
    finally:
        serving.stop()
    names = [str(m.get("id")) for m in listed.get("data", []) if isinstance(m, dict)]
    if not names:
        raise SelfTestError(f"the local server listed no model: {listed!r:.120}")
    say(f"serve: {url} listed {names[0]}")


def _check_image_decoding(say: Callable[[str], None]) -> None:
    """Decode a small PNG the way an attached image is decoded (Pillow must be in the bundle)."""
    from PySide6.QtCore import QBuffer, QByteArray, QIODevice
    from PySide6.QtGui import QColor, QImage

    from .engine.llama.vision import load_image
    from .engine.types import GenerationError

    picture = QImage(8, 6, QImage.Format.Format_RGB32)
    picture.fill(QColor(200, 40, 40))
    data = QByteArray()
    buffer = QBuffer(data)
    buffer.open(QIODevice.OpenModeFlag.WriteOnly)
    picture.save(buffer, "PNG")  # type: ignore[call-overload]  # the stubs say bytes; PySide6 wants str
    buffer.close()
    try:
        image = load_image(bytes(data.data()))
    except (GenerationError, ImportError) as err:
        raise SelfTestError(f"images could not be decoded: {err}") from None
    height, width = image.pixels.shape[:2]
    say(f"image: a PNG decoded to {width}x{height} pixels")


def _check_history(data_dir: Path, message: str, reply: str, say: Callable[[str], None]) -> None:
    """Reopen the history database from disk and find the conversation."""
    from .session.store import ChatStore, StoreError

    try:
        store = ChatStore.open_default(data_dir)
    except StoreError as err:
        raise SelfTestError(f"history database would not open: {err}") from None
    try:
        conversations = store.conversations()
        if len(conversations) != 1:
            raise SelfTestError(f"history database holds {len(conversations)} conversations, expected 1")
        stored = [(m.role, m.content) for m in store.messages(conversations[0].id)]
    finally:
        store.close()
    if stored != [("user", message), ("assistant", reply)]:
        raise SelfTestError(f"history database does not hold the conversation: {stored!r:.120}")
    say(f"history: conversation saved ({len(stored)} messages) in {store.path.name}")


def _wait_until(done: Callable[[], bool], failure: str, timeout_ms: int = STEP_TIMEOUT_MS) -> None:
    """Run the Qt event loop until ``done()``; a timeout is a failed check."""
    from PySide6.QtCore import QDeadlineTimer, QEventLoop, QThread
    from PySide6.QtWidgets import QApplication

    app = QApplication.instance()
    deadline = QDeadlineTimer(timeout_ms)
    while not done():
        if deadline.hasExpired():
            raise SelfTestError(f"{failure} within {timeout_ms // 1000} s")
        assert app is not None
        app.processEvents(QEventLoop.ProcessEventsFlag.AllEvents, 50)
        QThread.msleep(10)
