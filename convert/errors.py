"""The converter's error type (its message is one line that names the fix), and a download's Cancel."""


class ConversionError(Exception):
    """A conversion problem the user can fix; ``str(err)`` is a one-line message naming the fix."""


class DownloadCancelled(ConversionError):
    """The user cancelled a download; finished files stay in the Hub cache, the partial one resumes later."""
