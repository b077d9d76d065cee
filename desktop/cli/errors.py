"""What every command line of the app shares: its usage errors and how a failure ends the process.

A user error is one line on stderr, ``PROG: error: ...``, exit code 2 for bad arguments, inputs or settings
(``UsageError``, ``SettingsError``) and 1 for failures while loading or generating (``GenerationError``);
never a traceback.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence
from typing import NoReturn

from ..engine.settings import SettingsError
from ..engine.types import GenerationError

EXIT_RUNTIME, EXIT_USAGE = 1, 2

__all__ = ["EXIT_RUNTIME", "EXIT_USAGE", "Parser", "UsageError", "fail", "run_main"]


class UsageError(Exception):
    """Bad arguments or inputs (exit code 2)."""


class Parser(argparse.ArgumentParser):
    """argparse that raises UsageError (one line from ``run_main``) instead of printing its usage and exiting."""

    def error(self, message: str) -> NoReturn:
        raise UsageError(message)


def fail(prog: str, message: str, code: int) -> int:
    print(f"{prog}: error: {' '.join(str(message).split())}", file=sys.stderr)
    return code


def run_main(prog: str, run: Callable[[Sequence[str] | None], int], argv: Sequence[str] | None, *,
             interrupted: int = 130) -> int:
    """``run(argv)``'s exit code, every failure turned into one line; Ctrl+C exits with ``interrupted``
    (130, "interrupted", for a command that did not finish; 0 for a server that Ctrl+C stops)."""
    try:
        return run(argv)
    except (UsageError, SettingsError) as err:
        return fail(prog, str(err), EXIT_USAGE)
    except GenerationError as err:
        return fail(prog, str(err), EXIT_RUNTIME)
    except KeyboardInterrupt:
        return fail(prog, "interrupted", interrupted) if interrupted else 0
    except BrokenPipeError:
        return EXIT_RUNTIME
    except Exception as err:  # a bug, not a user error: still one line, naming the type
        return fail(prog, f"unexpected {type(err).__name__}: {err}", EXIT_RUNTIME)
