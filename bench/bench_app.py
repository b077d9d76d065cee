"""Desktop app benchmarks: cold start to a usable window, and the event loop's longest stall while a
reply streams.

    QT_QPA_PLATFORM=offscreen python bench/bench_app.py [--runs 9] [--tokens 256]

Cold start: a fresh process (pinned to 2 cores with ``taskset`` when available) creates the app with
an empty data folder (so no model loads), shows the window and processes its first events; the time
is measured by the parent from spawning the process to the child's "ready" line. Goal: median <= 1.0 s.

Stall: in one process, a 2 ms QTimer runs while a real llama.cpp model streams a reply into the chat
view; the longest gap between ticks, minus the timer interval, is the longest the UI was frozen.
Models: the bundled demo model (converted on the fly) and a tiny random-weight EXAONE 4 checkpoint that
writes until ``--tokens`` (the long-reply case). Goal: <= 50 ms.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CHILD = (
    "from PySide6.QtWidgets import QApplication\n"
    "from exaone_desktop.app import create_app\n"
    "import sys\n"
    "app = create_app(['--data-dir', sys.argv[1]])\n"
    "app.show()\n"
    "QApplication.processEvents()\n"
    "assert app.window.isVisible()\n"
    "print('ready', flush=True)\n"
)


def cold_start(runs: int, compiled: bool = True) -> list[float]:
    """Seconds from spawn to "ready" for ``runs`` fresh processes.

    ``compiled``: the child reads bytecode from a private cache that a discarded first run writes, as an
    installed app does (pip and PyInstaller compile the package at install time). Without it, under
    ``PYTHONDONTWRITEBYTECODE`` (set on this project's machines) every start compiles every module's source.
    """
    pin = ["taskset", "-c", "0,1"] if shutil.which("taskset") and (os.cpu_count() or 1) >= 2 else []
    env = dict(os.environ)
    with tempfile.TemporaryDirectory() as cache:
        if compiled:
            env.pop("PYTHONDONTWRITEBYTECODE", None)
            env["PYTHONPYCACHEPREFIX"] = cache
            _start_once(pin, env)
        return [_start_once(pin, env) for _ in range(runs)]


def _start_once(pin: list[str], env: dict[str, str]) -> float:
    with tempfile.TemporaryDirectory() as data:
        start = time.perf_counter()
        proc = subprocess.Popen([*pin, sys.executable, "-c", CHILD, data], stdout=subprocess.PIPE, text=True,
                                env=env)
        assert proc.stdout is not None
        line = proc.stdout.readline()
        elapsed = time.perf_counter() - start
        proc.wait(60)
        if line.strip() != "ready":
            raise SystemExit("the app did not start")
        return elapsed


def stall_during_reply(model: Path, tokens: int, message: str) -> dict[str, float]:
    from exaone_desktop.app import create_app
    from PySide6.QtCore import QElapsedTimer, QEventLoop, QTimer

    with tempfile.TemporaryDirectory() as data:
        desktop = create_app(["--data-dir", data, "--lang", "en"])
        desktop.show()
        w = desktop.window
        loop = QEventLoop()
        w.model_loaded.connect(loop.quit)
        w.load_model(model)
        loop.exec()
        w.change_setting("max_new_tokens", tokens)
        gaps: list[float] = []
        clock = QElapsedTimer()
        clock.start()
        last = [clock.nsecsElapsed()]
        interval_ms = 2

        def tick() -> None:
            now = clock.nsecsElapsed()
            gaps.append((now - last[0]) / 1e6)
            last[0] = now

        timer = QTimer()
        timer.setInterval(interval_ms)
        timer.timeout.connect(tick)
        w.composer.input.setPlainText(message)
        done = QEventLoop()
        w.reply_finished.connect(done.quit)
        timer.start()
        started = time.perf_counter()
        w.send()
        done.exec()
        wall = time.perf_counter() - started
        timer.stop()
        reply = desktop.controller.session.messages()[-1]
        n_tokens = len(reply.content)
        desktop.shutdown()
    gaps.sort()
    return {"max_stall_ms": max(0.0, gaps[-1] - interval_ms), "p99_gap_ms": gaps[int(0.99 * (len(gaps) - 1))],
            "reply_chars": float(n_tokens), "wall_s": wall}


def models(workdir: Path) -> list[tuple[str, Path]]:
    from exaone_convert.convert import convert_checkpoint

    out = [("demo (q8_0)", Path(convert_checkpoint(ROOT / "desktop/demo", workdir / "demo.gguf", "q8_0")))]
    sys.path.insert(0, str(ROOT / "bench"))
    import benchlib as bl

    ckpt = bl.tiny_checkpoint(workdir / "tiny")
    out.append(("tiny exaone4 (f16)", Path(convert_checkpoint(ckpt, workdir / "tiny.gguf", "f16"))))
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=9)
    parser.add_argument("--tokens", type=int, default=256)
    args = parser.parse_args()
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

    for compiled in (True, False):
        times = cold_start(args.runs, compiled)
        median = statistics.median(times)
        what = "bytecode compiled (as installed)" if compiled else "every module compiled from source"
        print(f"| cold start to usable window (no model), {what}, {args.runs} runs, 2 cores | median {median:.3f} s"
              f" | min {min(times):.3f} s | max {max(times):.3f} s | goal <= 1.0 s |")
    from PySide6.QtWidgets import QApplication

    QApplication.instance() or QApplication([])
    with tempfile.TemporaryDirectory() as work:
        for name, path in models(Path(work)):
            r = stall_during_reply(path, args.tokens, "안녕하세요")
            print(f"| longest event-loop stall while streaming, {name}, max_new_tokens {args.tokens} "
                  f"| {r['max_stall_ms']:.1f} ms | p99 tick gap {r['p99_gap_ms']:.1f} ms "
                  f"| reply {int(r['reply_chars'])} chars in {r['wall_s']:.2f} s | goal <= 50 ms |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
