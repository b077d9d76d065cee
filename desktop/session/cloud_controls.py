"""The chat controller's cloud side: the fallback policy the user chose, consent, the API key, and the router
that applies them. A part of ``ChatController`` (which holds the state it reads), kept apart by concern."""

from __future__ import annotations

import sys
from collections.abc import Callable
from typing import Any

from ..engine import CloudPolicy, GenerationResult, Generator, host_of
from .settings_state import SettingsState

CLOUD_BACKEND = "openai"


class CloudControls:
    """The cloud policy (``cloud``, as persisted), the key, and the router; mixed into ``ChatController``."""

    cloud: dict[str, Any]
    local: Generator | None
    last_result: GenerationResult | None
    state: SettingsState
    _cloud_factory: Callable[[CloudPolicy], Generator] | None

    @property
    def policy(self) -> CloudPolicy:
        return CloudPolicy.from_dict(self.cloud)

    def cloud_active(self) -> bool:
        """On and consented to, in a mode that may use it."""
        return self.policy.effective_mode != "local"

    def cloud_answers(self) -> bool:
        """The next reply goes to the cloud first (cloud mode, or no local model to try)."""
        return self.cloud_active() and (self.local is None or self.policy.mode == "cloud")

    def cloud_host(self) -> str:
        return host_of(self.policy.base_url or None)

    def cloud_model(self) -> str:
        return str(self.cloud.get("model") or CloudPolicy().model)

    def update_cloud(self, **changes: Any) -> dict[str, Any]:
        """Apply the user's cloud changes; returns the policy to persist."""
        self.cloud = dict(self.cloud, **changes)
        return dict(self.cloud)

    def consent(self, accepted: bool) -> dict[str, Any]:
        """The consent dialog's answer: agreeing turns the cloud on with a model named."""
        if accepted:
            return self.update_cloud(enabled=True, consented=True, model=self.cloud_model())
        return self.update_cloud(enabled=False)

    # -- the API key (in the OS keychain, or OPENAI_API_KEY; never in the settings) --------------

    def key_source(self, *, force: bool = False) -> str | None:
        """Where the API key comes from: "env", "keyring" or "none"; None when not asked (the keychain is not
        opened until the cloud is on or ``force``). KeyStoreError (one line) when the keychain cannot say."""
        if not force and "keyring" not in sys.modules and not self.cloud.get("enabled"):
            return None
        from ..engine import KeyStoreError, key_source

        try:
            return key_source() or "none"
        except KeyStoreError:
            raise
        except Exception as err:  # noqa: BLE001 - a broken keychain backend: its first line
            raise KeyStoreError(next(iter(str(err).splitlines()), type(err).__name__)) from None

    def save_api_key(self, key: str) -> None:
        """Keep ``key`` in the OS keychain; KeyStoreError (one line naming the fix) when it cannot."""
        from ..engine import set_api_key

        set_api_key(key)

    def clear_api_key(self) -> None:
        """Forget the key kept in the OS keychain; KeyStoreError (one line) when the keychain cannot."""
        from ..engine import delete_api_key

        delete_api_key()

    def cloud_not_applied(self) -> list[str] | None:
        """Settings the cloud would not apply, while the cloud answers (None: the local model answers).

        Raises SettingsError (or the cloud's own error) for settings the cloud refuses outright.
        """
        cloud_replied = self.last_result is not None and self.last_result.backend == CLOUD_BACKEND
        if not self.cloud_answers() and not (self.cloud_active() and cloud_replied):
            return None
        from ..engine import map_settings

        _params, names = map_settings(self.state.effective())
        return names

    def _router(self) -> Any:
        from ..engine import Router

        policy = self.policy
        factory = self._cloud_factory or _cloud_from_env
        return Router(policy, self.local, lambda: factory(policy))


def _cloud_from_env(policy: CloudPolicy) -> Generator:
    from ..engine import cloud_generator_from_env

    return cloud_generator_from_env(policy.model, policy.base_url or None)
