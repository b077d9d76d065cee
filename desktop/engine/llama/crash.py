"""What a dead model worker's exit status and log say, as one line that names the file, the reason and the fix.

The worker (``worker``) writes llama.cpp's log to a file; when it dies, the tail of that log and its exit status
(a signal such as SIGABRT from a ``GGML_ASSERT``, or an exit code) become a ``WorkerCrashed`` message.
"""

from __future__ import annotations

import os
import re
import signal
from collections.abc import Mapping

from ..types import GenerationError

LOG_TAIL_BYTES = 16384
REASON_CHARS = 240
# Lines of the worker's log that say why it stopped, most telling first.
REASON_PATTERNS: tuple[re.Pattern[str], ...] = (
    re.compile(r"GGML_ASSERT|Assertion .* failed|GGML_ABORT", re.IGNORECASE),
    re.compile(r"error|exception|terminate called", re.IGNORECASE),
    re.compile(r"fail|cannot|unable|out of memory", re.IGNORECASE),
)
# Signal -> what it usually means for a llama.cpp process.
SIGNAL_MEANINGS: Mapping[str, str] = {
    "SIGABRT": "an internal check failed",
    "SIGSEGV": "invalid memory access",
    "SIGBUS": "the file changed on disk or could not be read",
    "SIGFPE": "arithmetic error",
    "SIGILL": "an instruction this CPU lacks",
    "SIGKILL": "killed, often because the system ran out of memory",
}
FIX_LOAD = "the file is damaged or not a model this app supports: convert or download it again"
FIX_INSTALL = "reinstall exaone-desktop; if it happens again, report it with this message"
FIX_RUN = "send the message again to reload the model, or try a smaller model or context"


class WorkerCrashed(GenerationError):
    """The worker process died; ``str(err)`` is one line naming the file, the signal and the reason."""


def exit_description(code: int | None) -> str:
    """A worker's exit status in words: "SIGABRT", "exit code 3"."""
    if code is None:
        return "no exit status"
    if code < 0:
        try:
            return signal.Signals(-code).name
        except ValueError:
            return f"signal {-code}"
    return f"exit code {code}"


def crash_reason(log: str) -> str:
    """The line of a worker's log that best says why it stopped ("" when it said nothing)."""
    lines = [" ".join(line.split()) for line in log.splitlines()]
    lines = [line for line in lines if line]
    for pattern in REASON_PATTERNS:
        found = [line for line in lines if pattern.search(line)]
        if found:
            reason = found[-1]
            break
    else:
        return ""
    reason = re.sub(r"(?:[A-Za-z]:)?[^\s:]*[/\\]([^/\\\s:]+:\d+)", r"\1", reason)  # keep file:line, not the path
    return reason[:REASON_CHARS] + ("…" if len(reason) > REASON_CHARS else "")


def crash_message(model: str, doing: str, code: int | None, log: str) -> str:
    """One line: what stopped, while doing what with which file, why (from the log) and what to do."""
    status = exit_description(code)
    if code is not None and code >= 0 and "Traceback (most recent call last)" in log:
        # Python itself failed in the worker (not llama.cpp): an installation problem or a bug.
        last = next((line.strip() for line in reversed(log.splitlines()) if line.strip()), "")
        return (f"the model worker failed ({status}) while {doing} {model}: {last[:REASON_CHARS]}; "
                f"{FIX_INSTALL}")
    meaning = SIGNAL_MEANINGS.get(status)
    reason = crash_reason(log)
    fix = FIX_LOAD if doing == "loading" else FIX_RUN
    return (f"llama.cpp stopped ({status}{': ' + meaning if meaning else ''}) while {doing} {model}"
            f"{': ' + reason if reason else ''}; {fix}")


def read_tail(path: str) -> str:
    """The last ``LOG_TAIL_BYTES`` of the worker's log ("" when it cannot be read)."""
    try:
        with open(path, "rb") as f:
            f.seek(0, os.SEEK_END)
            f.seek(max(0, f.tell() - LOG_TAIL_BYTES))
            return f.read().decode("utf-8", "replace")
    except OSError:
        return ""
