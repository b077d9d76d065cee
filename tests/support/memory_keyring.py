"""An in-memory ``keyring`` backend for tests, a context manager that installs it, and one that also hides
the developer's OpenAI variables (``no_cloud_credentials``)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import keyring
import keyring.backend
import keyring.errors
import pytest
from keyring.backends import fail


class MemoryKeyring(keyring.backend.KeyringBackend):
    priority = 1  # type: ignore[assignment]

    def __init__(self) -> None:
        super().__init__()
        self.store: dict[tuple[str, str], str] = {}

    def get_password(self, service: str, username: str) -> str | None:
        return self.store.get((service, username))

    def set_password(self, service: str, username: str, password: str) -> None:
        self.store[(service, username)] = password

    def delete_password(self, service: str, username: str) -> None:
        if self.store.pop((service, username), None) is None:
            raise keyring.errors.PasswordDeleteError("not set")


@contextmanager
def installed(backend: keyring.backend.KeyringBackend | None = None) -> Iterator[keyring.backend.KeyringBackend]:
    """Use ``backend`` (a fresh MemoryKeyring by default) as the keyring, then restore the previous one."""
    previous = keyring.get_keyring()
    backend = backend if backend is not None else MemoryKeyring()
    keyring.set_keyring(backend)
    try:
        yield backend
    finally:
        keyring.set_keyring(previous)


# Every variable the openai client reads for credentials, endpoint or logging.
OPENAI_VARIABLES = ("OPENAI_API_KEY", "OPENAI_BASE_URL", "OPENAI_ORG_ID", "OPENAI_PROJECT_ID", "OPENAI_LOG")


@contextmanager
def no_cloud_credentials(monkeypatch: pytest.MonkeyPatch) -> Iterator[MemoryKeyring]:
    """None of the shell's OpenAI variables and a fresh in-memory keyring: a test sees only the credentials it
    sets itself."""
    for name in OPENAI_VARIABLES:
        monkeypatch.delenv(name, raising=False)
    backend = MemoryKeyring()
    with installed(backend):
        yield backend


def no_backend() -> keyring.backend.KeyringBackend:
    """keyring's placeholder used when a system has no keychain."""
    return fail.Keyring()
