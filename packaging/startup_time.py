"""Start the app under Xvfb and time how long its main window takes to appear (Linux).

    python packaging/startup_time.py [--runs 5] -- dist/exaone-desktop/exaone-desktop
    python packaging/startup_time.py -- python -m exaone_desktop

With ``--cold`` (root) the page cache is dropped before each start. Each run gets a fresh data
folder (the first-run welcome page) and a fresh Xvfb; the time is from starting the process to
``xdotool`` seeing the visible window titled "EXAONE Desktop". Needs ``Xvfb`` and ``xdotool``
(Debian: ``apt-get install xvfb xdotool``). Also used by the tests.
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
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path

TITLE = "EXAONE Desktop"
TOOLS = ("Xvfb", "xdotool")


def missing_tools() -> list[str]:
    return [t for t in TOOLS if shutil.which(t) is None]


@contextmanager
def xvfb(size: str = "1280x800x24") -> Iterator[str]:
    """A private X server; yields its DISPLAY (``:N``, picked free by Xvfb itself)."""
    proc = subprocess.Popen(["Xvfb", "-displayfd", "1", "-screen", "0", size, "-nolisten", "tcp"],
                            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    try:
        assert proc.stdout is not None
        number = proc.stdout.readline().strip()
        if not number.isdigit():
            raise RuntimeError("Xvfb did not start (no display number)")
        display = f":{number}"
        deadline = time.monotonic() + 15
        while not _accepts_clients(display):  # the number can come before a client may connect
            if proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"Xvfb on {display} does not accept clients")
            time.sleep(0.1)
        yield display
    finally:
        proc.terminate()
        proc.wait(10)


def _accepts_clients(display: str) -> bool:
    return subprocess.run(["xdotool", "getdisplaygeometry"], capture_output=True, check=False,
                          env={**os.environ, "DISPLAY": display}).returncode == 0


def find_window(display: str, title: str = TITLE) -> str | None:
    """The X id of the visible window named exactly ``title``, or None."""
    out = subprocess.run(["xdotool", "search", "--onlyvisible", "--name", f"^{title}$"], capture_output=True,
                         text=True, env={**os.environ, "DISPLAY": display}, check=False).stdout.split()
    return out[0] if out else None


def wait_for_window(proc: subprocess.Popen, display: str, timeout: float = 60.0) -> str:
    """Poll until the app's window is visible; fails if the app exits or the time runs out."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        window = find_window(display)
        if window:
            return window
        if proc.poll() is not None:
            raise RuntimeError(f"the app exited with code {proc.returncode} before its window appeared")
        time.sleep(0.02)
    raise RuntimeError(f"no window titled {TITLE!r} within {timeout:.0f} s")


def start_app(cmd: Sequence[str], display: str, data_dir: Path, env: Mapping[str, str] | None = None,
              log: Path | None = None) -> subprocess.Popen:
    """Start ``cmd --data-dir DATA_DIR`` on ``display`` (output to ``log`` or discarded)."""
    full_env = {**(env if env is not None else os.environ), "DISPLAY": display, "QT_QPA_PLATFORM": "xcb"}
    out = open(log, "wb") if log is not None else subprocess.DEVNULL  # noqa: SIM115 - the child owns it
    return subprocess.Popen([*cmd, "--data-dir", str(data_dir)], env=full_env, stdout=out,
                            stderr=subprocess.STDOUT)


def stop(proc: subprocess.Popen) -> None:
    proc.terminate()
    try:
        proc.wait(15)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


def drop_caches() -> None:
    """Empty the page cache so the next start reads every file from disk (root, Linux)."""
    os.sync()
    Path("/proc/sys/vm/drop_caches").write_text("3\n")


def time_to_window(cmd: Sequence[str], env: Mapping[str, str] | None = None, *, cold: bool = False) -> float:
    with xvfb() as display, tempfile.TemporaryDirectory(prefix="exaone-start-") as tmp:
        if cold:
            drop_caches()
        started = time.monotonic()
        proc = start_app(cmd, display, Path(tmp) / "data", env)
        try:
            wait_for_window(proc, display)
            return time.monotonic() - started
        finally:
            stop(proc)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--cold", action="store_true", help="drop the page cache before each start (root)")
    parser.add_argument("cmd", nargs="+", help="the app's command line (after --)")
    args = parser.parse_args(argv)
    if missing_tools():
        print(f"startup_time: install {', '.join(missing_tools())} first", file=sys.stderr)
        return 2
    times = [time_to_window(args.cmd, cold=args.cold) for _ in range(args.runs)]
    print(f"first: {times[0]:.2f} s; median of {len(times)}: {statistics.median(times):.2f} s; "
          f"min {min(times):.2f} s; max {max(times):.2f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
