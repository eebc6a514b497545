"""Bundled resources for the client: fonts, icons (our own SVGs, CC0: resources/icons/LICENSE.md), translations."""

from __future__ import annotations

import functools
import sys
from pathlib import Path

from PySide6.QtGui import QFont, QFontDatabase, QIcon
from PySide6.QtWidgets import QApplication

CJK_FONT = "fonts/DroidSansFallbackFull.ttf"


def resources_dir() -> Path:
    """A source checkout, a PyInstaller bundle or an installed wheel (where hatch packs it)."""
    package = Path(__file__).resolve().parents[1]
    candidates = [package.parent / "resources", package / "resources"]
    bundle = getattr(sys, "_MEIPASS", None)
    if bundle:
        candidates.insert(0, Path(bundle) / "resources")
    for candidate in candidates:
        if (candidate / CJK_FONT).is_file():
            return candidate
    return candidates[0]


def install_fonts(app: QApplication) -> str | None:
    """Register the bundled CJK font and put it behind the system font as the fallback for Chinese.

    Returns the family name, or None when the file is missing (then a system CJK font, if any, is used).
    """
    font_id = QFontDatabase.addApplicationFont(str(resources_dir() / CJK_FONT))
    if font_id < 0:
        return None
    family = QFontDatabase.applicationFontFamilies(font_id)[0]
    font = QFont(app.font())
    font.setFamilies([app.font().family(), family])
    app.setFont(font)
    return family


@functools.cache
def icon(name: str) -> QIcon:
    """`resources/icons/NAME.svg` (an empty icon when missing, so a broken install still starts)."""
    path = resources_dir() / "icons" / f"{name}.svg"
    return QIcon(str(path)) if path.is_file() else QIcon()
