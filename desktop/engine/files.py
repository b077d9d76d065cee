"""Files the user names (an image to attach, a document to read): read once, with one line for each way of failing."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from .types import GenerationError


def read_user_file(path: Path, *, what: str, check_size: Callable[[int], None], folder_fix: str,
                   error: type[GenerationError] = GenerationError) -> bytes:
    """The bytes of ``path`` once ``check_size(its size)`` has passed; a missing file, a folder or an unreadable
    file raises ``error`` with one line that names ``what`` it was and the fix."""
    try:
        check_size(path.stat().st_size)
        return path.read_bytes()
    except FileNotFoundError:
        raise error(f"{what} not found: {path}; check the path") from None
    except IsADirectoryError:
        raise error(f"{path} is a folder; {folder_fix}") from None
    except OSError as err:
        raise error(f"cannot read {what} {path} ({err.strerror or err}); check the file") from None
