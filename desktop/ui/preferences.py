"""Settings > App, applied and kept in QSettings: the Enter key's job in the composer, and the Hub mirror and
HTTPS proxy every later download uses."""

from __future__ import annotations

from PySide6.QtCore import QObject

from .composer import Composer
from .context import KEY_ENTER_SENDS, KEY_NETWORK, AppContext
from .settings_panel import SettingsPanel


class AppPreferences(QObject):
    """Reads the saved choices into the panel and the composer, and keeps what the user changes."""

    def __init__(self, ctx: AppContext, panel: SettingsPanel, composer: Composer) -> None:
        super().__init__(panel)
        self.ctx, self.panel, self.composer = ctx, panel, composer
        self.show_enter_sends(ctx.get(KEY_ENTER_SENDS, "true") not in ("false", False))
        saved = ctx.get_json(KEY_NETWORK)
        self.set_network(str(saved.get("endpoint", "")), str(saved.get("proxy", "")), save=False)
        panel.enter_sends_changed.connect(self.set_enter_sends)
        panel.network_changed.connect(self.set_network)

    def set_enter_sends(self, on: bool) -> None:
        self.ctx.put(KEY_ENTER_SENDS, "true" if on else "false")
        self.show_enter_sends(on)

    def show_enter_sends(self, on: bool) -> None:
        self.composer.set_enter_sends(on)
        self.panel.show_enter_sends(on)

    def set_network(self, mirror: str, proxy: str, *, save: bool = True) -> None:
        """The Hub mirror and the HTTPS proxy, for every later download (refused when they cannot work)."""
        from ..session import network

        chosen = network.NetworkSettings(mirror, proxy)
        problem = chosen.problem()
        self.panel.show_network(mirror, proxy, self.tr("This address cannot work: it must start with http:// or "
                                                       "https://.") if problem else "")
        if problem is None:
            network.apply(chosen)
            if save:
                self.ctx.put_json(KEY_NETWORK, {"endpoint": mirror, "proxy": proxy})
