"""``exaone-desktop``: start the app. The window appears before anything heavy is imported.

llama_cpp, exaone_convert, openai and keyring are imported by the workers and panels that need
them, after the window is on screen; the last model is loaded in a worker thread. The app itself
(``DesktopApp``, ``create_app``) lives in ``ui.application``, which the self-test uses too.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence

from .ui.application import DesktopApp, create_app, parse_args

__all__ = ["DesktopApp", "create_app", "main", "parse_args"]


def main(argv: Sequence[str] | None = None) -> int:
    from .session.store import StoreError

    if parse_args(argv).self_test:
        from .selftest import run_self_test

        return run_self_test()
    try:
        desktop = create_app(argv)
    except StoreError as err:
        print(f"exaone-desktop: {err}", file=sys.stderr)
        return 1
    from PySide6.QtWidgets import QApplication

    desktop.show()
    code = QApplication.instance().exec()  # type: ignore[union-attr]
    desktop.shutdown()
    return int(code)


if __name__ == "__main__":
    sys.exit(main())
