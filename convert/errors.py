"""The converter's error type (its message is one line that names the fix), and a download's Cancel."""


class ConversionError(Exception):
    """A conversion problem the user can fix; ``str(err)`` is a one-line message naming the fix."""


class DownloadCancelled(ConversionError):
    """The user cancelled a download; finished files stay in the Hub cache, the partial one resumes later."""


class VerifyStopped(ConversionError):
    """``--verify`` failed or was interrupted after the output files were written whole; they are kept, and the
    message names them (``written``). ``interrupted`` is True for Ctrl+C (the CLI exits 130)."""

    def __init__(self, message: str, written: tuple[object, ...], *, interrupted: bool = False) -> None:
        super().__init__(message)
        self.written = written
        self.interrupted = interrupted
