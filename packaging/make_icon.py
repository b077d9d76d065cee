"""Draw the app icon with Qt (no image files in the repo): PNGs for Linux, ``.ico`` and ``.icns``.

    python packaging/make_icon.py OUT_DIR

writes ``OUT_DIR/hicolor/<n>x<n>/apps/exaone-desktop.png`` for each size, ``exaone-desktop.png``
(256 px), ``exaone-desktop.ico`` and ``exaone-desktop.icns`` (Qt's ico/icns image plugins).
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

NAME = "exaone-desktop"
SIZES = (16, 32, 48, 64, 128, 256, 512)
# The mark: a rounded square in EXAONE-ish magenta with a white speech bubble.
BACKGROUND = ("#c3125d", "#6b0f8c")  # top-left, bottom-right of the gradient
FOREGROUND = "#ffffff"


def draw(size: int) -> object:
    from PySide6.QtCore import QPointF, QRectF, Qt
    from PySide6.QtGui import QBrush, QColor, QImage, QLinearGradient, QPainter, QPainterPath, QPolygonF

    image = QImage(size, size, QImage.Format.Format_ARGB32)
    image.fill(Qt.GlobalColor.transparent)
    p = QPainter(image)
    p.setRenderHint(QPainter.RenderHint.Antialiasing)
    s = float(size)
    gradient = QLinearGradient(0, 0, s, s)
    gradient.setColorAt(0, QColor(BACKGROUND[0]))
    gradient.setColorAt(1, QColor(BACKGROUND[1]))
    p.setPen(Qt.PenStyle.NoPen)
    p.setBrush(QBrush(gradient))
    p.drawRoundedRect(QRectF(0.04 * s, 0.04 * s, 0.92 * s, 0.92 * s), 0.2 * s, 0.2 * s)
    bubble = QPainterPath()
    bubble.addRoundedRect(QRectF(0.2 * s, 0.22 * s, 0.6 * s, 0.42 * s), 0.12 * s, 0.12 * s)
    tail = QPainterPath()
    tail.addPolygon(QPolygonF([QPointF(0.32 * s, 0.6 * s), QPointF(0.3 * s, 0.8 * s), QPointF(0.48 * s, 0.62 * s)]))
    p.setBrush(QColor(FOREGROUND))
    p.drawPath(bubble.united(tail))
    p.setBrush(QColor(BACKGROUND[0]))
    for i in range(3):  # the "typing" dots
        r = 0.05 * s
        p.drawEllipse(QPointF((0.35 + 0.15 * i) * s, 0.43 * s), r, r)
    p.end()
    return image


def save(image: object, path: Path, fmt: str) -> None:
    from exaone_convert import atomic_path

    path.parent.mkdir(parents=True, exist_ok=True)
    with atomic_path(path) as tmp:
        if not image.save(str(tmp), fmt):  # type: ignore[attr-defined]
            raise SystemExit(f"make_icon: Qt could not write {fmt} ({path}); is its image-format plugin installed?")


def make_icons(out_dir: Path) -> dict[str, Path]:
    """Write every icon file; returns the paths by kind (png, ico, icns)."""
    from PySide6.QtGui import QGuiApplication

    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    _app = QGuiApplication.instance() or QGuiApplication([NAME])
    for n in SIZES:
        save(draw(n), out_dir / "hicolor" / f"{n}x{n}" / "apps" / f"{NAME}.png", "PNG")
    paths = {"png": out_dir / f"{NAME}.png", "ico": out_dir / f"{NAME}.ico", "icns": out_dir / f"{NAME}.icns"}
    save(draw(256), paths["png"], "PNG")
    save(draw(256), paths["ico"], "ICO")
    save(draw(512), paths["icns"], "ICNS")
    return paths


if __name__ == "__main__":
    if len(sys.argv) != 2:
        raise SystemExit("usage: python packaging/make_icon.py OUT_DIR")
    for kind, path in make_icons(Path(sys.argv[1])).items():
        print(f"{kind}: {path}")
