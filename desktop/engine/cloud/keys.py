"""The OpenAI API key: from ``OPENAI_API_KEY`` first, else from the OS keychain (``keyring``).

The key is never written to a settings file, a log, the chat history or an error message; this
module only hands it to the OpenAI client. Errors name the fix and never contain the key.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Literal, TypeVar

import keyring
import keyring.errors
from keyring.backends import fail

from ..types import GenerationError

ENV_VAR = "OPENAI_API_KEY"
SERVICE = "exaone-desktop"
ACCOUNT = "openai-api-key"

KeySource = Literal["env", "keyring"]

NO_BACKEND = (
    "no OS keychain is available to store the API key: set OPENAI_API_KEY in the environment instead, "
    "or install a keychain (macOS Keychain, Windows Credential Manager, GNOME Keyring or KWallet)"
)

_T = TypeVar("_T")


class KeyStoreError(GenerationError):
    """The keychain could not be used; the message names the fix."""


def _env_key() -> str | None:
    value = os.environ.get(ENV_VAR, "").strip()
    return value or None


def keyring_available() -> bool:
    """Whether ``keyring`` found a real backend (not its "fail" placeholder)."""
    backend = keyring.get_keyring()
    try:
        return not isinstance(backend, fail.Keyring) and float(backend.priority) > 0
    except Exception:  # some backends compute priority by probing the system, and may raise
        return False


def _call(action: Callable[[], _T], what: str) -> _T:
    if not keyring_available():
        raise KeyStoreError(NO_BACKEND)
    try:
        return action()
    except keyring.errors.NoKeyringError:
        raise KeyStoreError(NO_BACKEND) from None
    except keyring.errors.KeyringLocked:
        raise KeyStoreError(f"the OS keychain is locked: unlock it, then {what} the API key again") from None
    except keyring.errors.KeyringError as err:
        # The backend's own message never contains the key (it is not given the key in errors).
        raise KeyStoreError(f"could not {what} the API key in the OS keychain ({type(err).__name__}): "
                            "check the keychain, or set OPENAI_API_KEY instead") from None


def stored_key() -> str | None:
    """The key kept in the OS keychain, or None (also when no keychain is available)."""
    if not keyring_available():
        return None
    try:
        value = keyring.get_password(SERVICE, ACCOUNT)
    except keyring.errors.KeyringError:
        return None
    return value or None


def get_api_key() -> str | None:
    """``OPENAI_API_KEY`` if set, else the key stored in the keychain, else None."""
    return _env_key() or stored_key()


def key_source() -> KeySource | None:
    """Where :func:`get_api_key` finds the key, for the UI ("env", "keyring" or None)."""
    if _env_key():
        return "env"
    return "keyring" if stored_key() else None


def describe_key_source() -> str:
    """A short text for the settings panel; it never contains the key."""
    return {
        "env": "using OPENAI_API_KEY from the environment",
        "keyring": "stored in the OS keychain",
        None: "no API key set",
    }[key_source()]


def set_api_key(key: str) -> None:
    """Store ``key`` in the OS keychain (replacing any previous one)."""
    key = key.strip()
    if not key or any(c.isspace() for c in key):
        raise KeyStoreError("the API key must be one word without spaces: paste it again")
    _call(lambda: keyring.set_password(SERVICE, ACCOUNT, key), "store")


def delete_api_key() -> bool:
    """Remove the stored key; False when there was none. ``OPENAI_API_KEY`` is not affected."""
    if stored_key() is None:
        return False

    def delete() -> bool:
        try:
            keyring.delete_password(SERVICE, ACCOUNT)
        except keyring.errors.PasswordDeleteError:
            return False
        return True

    return _call(delete, "delete")
