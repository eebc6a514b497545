"""Which of Qt's files the bundle keeps: the client uses QtCore, QtGui, QtWidgets and QtPrintSupport only.

PyInstaller's Qt hooks collect every plugin of a type a module might load (embedded-device platforms,
network backends, GTK themes that drag in cairo and pango, OpenGL integrations) and every Qt translation.
The hooks in `hooks/` pass their results through `lean()` *before* PyInstaller follows the plugins'
library dependencies, so whatever only a dropped plugin needed never enters the bundle either.
"""

from __future__ import annotations

import os
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

# Python bindings the client never imports, although Qt's link-time graph names them.
DROPPED_MODULES = {"PySide6.QtNetwork", "PySide6.QtDBus", "PySide6.QtOpenGL", "PySide6.QtSvg", "PySide6.QtQml"}

# Window-system plugins for the ward laptops (X11, Wayland, Windows, macOS) and the headless ones the
# self-test and IT's remote checks use. The embedded ones (eglfs, linuxfb, vnc, vkkhrdisplay) are dropped.
PLATFORMS = {"xcb", "wayland", "offscreen", "minimal", "windows", "direct2d", "cocoa"}

# Plugin types kept only in part (by plugin name), or not at all (an empty set).
KEPT_BY_TYPE: dict[str, set[str]] = {
    "platforms": PLATFORMS,
    "imageformats": {"gif", "ico", "jpeg"},  # PNG is built into QtGui
    "wayland-shell-integration": {"xdg-shell"},
    "wayland-decoration-client": {"bradient"},
    "iconengines": set(),
    "egldeviceintegrations": set(),
    "generic": set(),  # evdev/tuio input for kiosks without a window system
    "networkinformation": set(),
    "tls": set(),
    "platformthemes": set(),  # GTK3 and the XDG portal: native dialogs, not needed; GTK pulls cairo/pango
    "xcbglintegrations": set(),  # OpenGL on X11: the client draws widgets, never GL
    "wayland-graphics-integration-client": set(),
    "wayland-graphics-integration-server": set(),
}

# Qt's own translations (standard buttons and dialogs) for the client's two languages; qt_*.qm
# is the catalogue that loads qtbase_*.qm.
TRANSLATIONS = {f"{base}_{language}.qm" for base in ("qt", "qtbase") for language in ("zh_CN", "en")}


def _svg_icons() -> bool:
    icons = ROOT / "resources" / "icons"
    return icons.is_dir() and any(icons.rglob("*.svg"))


def _plugin_name(filename: str) -> str:
    """libqxcb.so -> xcb, qwindows.dll -> windows, libxdg-shell.so -> xdg-shell."""
    stem = os.path.basename(filename).split(".")[0]
    stem = stem.removeprefix("lib")
    return stem[1:] if stem.startswith("q") and stem not in {"qt-shell"} else stem


def keep_binary(source: str, destination: str) -> bool:
    parts = Path(destination).parts
    if "plugins" not in parts or parts.index("plugins") + 1 >= len(parts):
        return True
    plugin_type = parts[parts.index("plugins") + 1]
    kept = KEPT_BY_TYPE.get(plugin_type)
    if kept is None:
        return True  # a type this list does not know (styles, accessiblebridge, input contexts): keep
    if _svg_icons() and plugin_type in ("iconengines", "imageformats") and "svg" in _plugin_name(source):
        return True
    return _plugin_name(source) in kept


def keep_data(source: str, destination: str) -> bool:
    if "translations" in Path(destination).parts and source.endswith(".qm"):
        return os.path.basename(source) in TRANSLATIONS
    return True


def lean(
    hiddenimports: list[str], binaries: list[tuple[str, str]], datas: list[tuple[str, str]]
) -> tuple[list[str], list[tuple[str, str]], list[tuple[str, str]]]:
    """Filter one Qt hook's (hiddenimports, binaries, datas)."""
    svg = _svg_icons()
    modules = [m for m in hiddenimports if m not in DROPPED_MODULES or (svg and m == "PySide6.QtSvg")]
    return modules, [b for b in binaries if keep_binary(*b)], [d for d in datas if keep_data(*d)]
