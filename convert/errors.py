"""The one error type the converter raises: its message is one line that names the fix."""


class ConversionError(Exception):
    """A conversion problem the user can fix; ``str(err)`` is a one-line message naming the fix."""
