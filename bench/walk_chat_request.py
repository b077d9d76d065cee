"""Which of the project's files one chat request, and one setting, pass through: counted as the app runs.

    python bench/walk_chat_request.py [--setting temperature] [--stacks DIR]

The app starts offscreen on the bundled demo model (loaded in its model worker process, as ``bash .ci/dev run``
does) and one message is sent with the Send button. While the reply is made, the Python profiler is on in the
app (every thread, Qt's included) and in the model worker, and the call stack is read at each step:

- the request's walk: each message pickled for the worker or read from it (both processes), each Qt signal
  emitted in the app, each call into the chat view (``ui/chat_view.py``), each ``llama_decode`` in the worker;
- every project function that runs meanwhile, on any thread of either process, is counted as ``ran`` (an upper
  bound: it includes what only reacts to the request, such as a panel greying out or the status line);
- the setting's walk (``--setting``, default ``temperature``): the setting is changed through the settings
  panel's own signal first (with ``do_sample`` on, so that the sampler uses it), then each read of it on a
  ``GenerationSettings`` and each ``QSettings`` write is a step, in both processes.

A walk is the project's files (under ``desktop/`` and ``convert/``) that stand on those stacks: the files that
carry the request from the Send button to llama.cpp and back to the chat view, not those that only react to it
(a panel greying out while the app is busy). The script uses nothing but the app's entry points, its
``model_loaded``/``reply_finished`` signals and the panel's ``setting_changed``, so two commits can be compared:
run it with each checkout's own Python (``--stacks DIR`` keeps the stacks themselves, to see why a file is on).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import textwrap
from pathlib import Path
from typing import Any

ROLES = ("app", "worker")
REQUEST_STEPS = ("pipe", "signal", "chat view", "llama_decode")

_HOOK = textwrap.dedent('''
    """Installed in the app and its model worker by bench/walk_chat_request.py: the stacks at each step."""
    import atexit, json, os, sys, threading

    _ROOTS = json.loads(os.environ["EXAONE_WALK_ROOTS"])
    _OUT = os.environ["EXAONE_WALK_OUT"]
    _SETTING = os.environ["EXAONE_WALK_SETTING"]
    _STACKS = os.environ.get("EXAONE_WALK_STACKS", "")
    _ROLE = os.environ.get("EXAONE_WALK_ROLE", "app")
    _FLAG = _OUT + ".on"  # the app makes it while its request runs; the worker looks at each message it reads
    _PICKLE = {"dump", "dumps", "load", "loads"}
    _VIEW = os.path.join("ui", "chat_view.py")
    seen, stacks, on, watched = {}, set(), [False], [False]

    def _frames(frame):
        while frame is not None:
            if any(frame.f_code.co_filename.startswith(root) for root in _ROOTS):
                yield frame
            frame = frame.f_back

    def _note(step, frame):
        frames = list(_frames(frame))
        for f in frames:
            name = f.f_code.co_filename
            root = next(r for r in _ROOTS if name.startswith(r))
            seen.setdefault(os.path.relpath(name, os.path.dirname(root.rstrip(os.sep))), set()).add(step)
        if _STACKS:
            stacks.add((step, tuple(f"{f.f_code.co_filename.rsplit(os.sep, 1)[-1]}:{f.f_code.co_name}"
                                    for f in frames)))

    def _watch_setting():
        """Each read of the setting on a GenerationSettings is a step (the class is patched once loaded)."""
        module = sys.modules.get("exaone_desktop.engine.settings")
        if watched[0] or module is None:
            return
        cls = module.GenerationSettings
        real = cls.__getattribute__

        def read(self, attr):
            if attr == _SETTING and on[0]:
                _note(_SETTING, sys._getframe(1))
            return real(self, attr)

        cls.__getattribute__ = read
        watched[0] = True

    def hook(frame, event, arg):
        if event == "c_call" and _ROLE == "worker" and getattr(arg, "__name__", "") in ("load", "loads"):
            on[0] = os.path.exists(_FLAG)
            if on[0]:
                _watch_setting()
        if not on[0]:
            return
        if event == "c_call":
            name = getattr(arg, "__name__", "")
            owner = str(getattr(arg, "__module__", "") or type(getattr(arg, "__self__", None)))
            if name in _PICKLE and "pickle" in owner:
                _note("pipe", frame)
            elif name == "emit":
                _note("signal", frame)
            elif name == "setValue" and "QSettings" in owner:
                _note("stored", frame)
        elif event == "call":
            name = frame.f_code.co_filename
            if name.endswith(_VIEW):
                _note("chat view", frame)
            root = next((r for r in _ROOTS if name.startswith(r)), None)
            if root is not None:
                seen.setdefault(os.path.relpath(name, os.path.dirname(root.rstrip(os.sep))), set()).add("ran")

    def start():
        open(_FLAG, "w").close()
        _watch_setting()
        on[0] = True

    def stop():
        on[0] = False
        os.remove(_FLAG)

    def _decode_hook():
        import llama_cpp
        real = llama_cpp.llama_decode

        def llama_decode(*args):
            if on[0]:
                _note("llama_decode", sys._getframe(1))
            return real(*args)

        llama_cpp.llama_decode = llama_decode

    def _save():
        with open(f"{_OUT}.{_ROLE}.{os.getpid()}", "w") as fh:
            json.dump({k: sorted(v) for k, v in seen.items()}, fh)
        if _STACKS and stacks:
            with open(os.path.join(_STACKS, f"{_ROLE}.{os.getpid()}.txt"), "w") as fh:
                fh.write("\\n".join(f"{step}: " + " < ".join(s) for step, s in sorted(stacks)))

    if _ROLE == "worker":
        _decode_hook()
    sys.setprofile(hook)
    threading.setprofile(hook)
    atexit.register(_save)
''')


def _profile_qthreads(hook: Any) -> None:
    """Qt starts its threads outside ``threading``: profile every QThread subclass's ``run`` from inside."""
    from PySide6.QtCore import QThread

    def profiled(run: Any) -> Any:
        def run_profiled(self: Any) -> None:
            sys.setprofile(hook)
            try:
                run(self)
            finally:
                sys.setprofile(None)
        return run_profiled

    todo = list(QThread.__subclasses__())
    while todo:
        cls = todo.pop()
        todo.extend(cls.__subclasses__())
        if "run" in vars(cls):
            setattr(cls, "run", profiled(vars(cls)["run"]))  # noqa: B010 (a method replaced on the class)


def _run_app(text: str, setting: str, value: float) -> None:
    """Inside the app process: start offscreen on the demo model, change ``setting``, send ``text``."""
    import walk_hook  # type: ignore[import-not-found]  # the hook above, on PYTHONPATH
    from exaone_desktop.app import create_app
    from PySide6.QtCore import QEventLoop, QTimer

    app = create_app(["--data-dir", os.environ["EXAONE_WALK_DATA"], "--lang", "en", "--demo"])
    app.show()
    window = app.window

    def wait(signal: Any, seconds: float) -> None:
        loop = QEventLoop()
        signal.connect(loop.quit)
        QTimer.singleShot(int(seconds * 1000), loop.quit)
        loop.exec()

    wait(window.model_loaded, 300)
    _profile_qthreads(walk_hook.hook)
    panel = window.settings_panel
    panel.setting_changed.emit("max_new_tokens", 8)
    panel.setting_changed.emit("do_sample", True)
    window.composer.input.setPlainText(text)
    walk_hook.start()
    panel.setting_changed.emit(setting, value)  # what the panel's field does when the user edits it
    QTimer.singleShot(0, window.composer.send_button.click)
    wait(window.reply_finished, 300)
    walk_hook.stop()
    window.release_model()
    window.close()
    app.ctx.store.close()


def walk(text: str = "Hello! Tell me about Seoul.", setting: str = "temperature", value: float = 0.7,
         stacks: Path | None = None) -> dict[str, dict[str, list[str]]]:
    """By process (``app``, ``worker``): each project file on a step's stack → the steps it stood under."""
    import exaone_desktop

    package = Path(exaone_desktop.__file__).resolve().parent  # desktop/
    roots = [str(package) + os.sep, str(package.parent / "convert") + os.sep]
    with tempfile.TemporaryDirectory() as tmp:
        Path(tmp, "walk_hook.py").write_text(_HOOK)
        Path(tmp, "sitecustomize.py").write_text("import os\n"
                                                 "if os.environ.get('EXAONE_WALK_ROLE') == 'worker':\n"
                                                 "    import walk_hook\n")
        out = str(Path(tmp, "walk"))
        env = {**os.environ, "QT_QPA_PLATFORM": "offscreen", "EXAONE_WALK_ROOTS": json.dumps(roots),
               "EXAONE_WALK_OUT": out, "EXAONE_WALK_DATA": str(Path(tmp, "data")), "EXAONE_WALK_ROLE": "app",
               "EXAONE_WALK_SETTING": setting, "EXAONE_WALK_STACKS": str(stacks or ""),
               "PYTHONPATH": os.pathsep.join(p for p in (tmp, os.environ.get("PYTHONPATH", "")) if p)}
        # the hook is loaded as "app" here; the worker starts with the app's environment, where the role is
        # "worker" by then, and its sitecustomize loads the hook
        script = ("import os, walk_hook; os.environ['EXAONE_WALK_ROLE'] = 'worker'; "
                  f"from {Path(__file__).stem} import _run_app; _run_app({text!r}, {setting!r}, {value!r})")
        proc = subprocess.run([sys.executable, "-c", script], env=env, cwd=str(Path(__file__).parent),
                              capture_output=True, text=True, timeout=900)
        if proc.returncode != 0:
            raise SystemExit(f"the app run failed (exit {proc.returncode}):\n{proc.stderr[-3000:]}")
        found: dict[str, dict[str, list[str]]] = {role: {} for role in ROLES}
        for path in Path(tmp).glob("walk.*.*"):
            role = path.name.split(".")[1]
            for name, steps in json.loads(path.read_text()).items():
                found[role][name] = sorted(set(found[role].get(name, [])) | set(steps))
        return found


def files_of(found: dict[str, dict[str, list[str]]], steps: tuple[str, ...]) -> list[str]:
    """The files that stood under any of ``steps``, in either process."""
    return sorted({name for role in ROLES for name, on in found[role].items() if set(on) & set(steps)})


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--setting", default="temperature", help="the setting to follow (default temperature)")
    parser.add_argument("--value", type=float, default=0.7, help="the value it is set to (default 0.7)")
    parser.add_argument("--stacks", type=Path, help="write the stacks of each step into this folder")
    args = parser.parse_args(argv)
    found = walk(setting=args.setting, value=args.value, stacks=args.stacks)
    for name in sorted(set(found["app"]) | set(found["worker"])):
        where = [f"{role}: {', '.join(found[role][name])}" for role in ROLES if name in found[role]]
        print(f"  {name:44} {'; '.join(where)}")
    request = files_of(found, REQUEST_STEPS)
    setting = files_of(found, (args.setting, "stored"))
    ran = files_of(found, ("ran",))
    print(f"the request's walk: {len(request)} files; {args.setting}'s walk: {len(setting)} files; "
          f"files with any code run meanwhile: {len(ran)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
