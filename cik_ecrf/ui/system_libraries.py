"""Before Qt starts on X11: are the system libraries its xcb platform plugin needs on this computer?

Without them Qt prints "Could not load the Qt platform plugin "xcb"" and aborts, which tells a ward
laptop's IT nothing. Each library is loaded the way the plugin would load it (dlopen by soname), so
the answer is exact; the client then names what is missing and the Debian/Ubuntu packages to install.
Nothing here imports Qt.
"""

from __future__ import annotations

import ctypes
import os
import sys
from collections.abc import Callable, Mapping

# soname -> Debian/Ubuntu package, read from `ldd` of PySide6's libqxcb.so and libQt6XcbQpa.so.6.
XCB_LIBRARIES: dict[str, str] = {
    "libxcb.so.1": "libxcb1",
    "libX11-xcb.so.1": "libx11-xcb1",
    "libxcb-cursor.so.0": "libxcb-cursor0",
    "libxcb-icccm.so.4": "libxcb-icccm4",
    "libxcb-image.so.0": "libxcb-image0",
    "libxcb-keysyms.so.1": "libxcb-keysyms1",
    "libxcb-randr.so.0": "libxcb-randr0",
    "libxcb-render.so.0": "libxcb-render0",
    "libxcb-render-util.so.0": "libxcb-render-util0",
    "libxcb-shape.so.0": "libxcb-shape0",
    "libxcb-shm.so.0": "libxcb-shm0",
    "libxcb-sync.so.1": "libxcb-sync1",
    "libxcb-util.so.1": "libxcb-util1",
    "libxcb-xfixes.so.0": "libxcb-xfixes0",
    "libxcb-xkb.so.1": "libxcb-xkb1",
    "libxkbcommon.so.0": "libxkbcommon0",
    "libxkbcommon-x11.so.0": "libxkbcommon-x11-0",
    "libEGL.so.1": "libegl1",
    "libGL.so.1": "libgl1",
    "libfontconfig.so.1": "libfontconfig1",
    "libdbus-1.so.3": "libdbus-1-3",
    "libglib-2.0.so.0": "libglib2.0-0",
}


def _loads(soname: str) -> bool:
    try:
        ctypes.CDLL(soname)
    except OSError:
        return False
    return True


def uses_xcb(environ: Mapping[str, str] | None = None, platform: str | None = None) -> bool:
    """Whether Qt will start on X11 here: Linux, and no other platform chosen (offscreen, wayland...)."""
    environ = os.environ if environ is None else environ
    if not (platform or sys.platform).startswith("linux"):
        return False
    chosen = environ.get("QT_QPA_PLATFORM", "").split(":")[0].strip()
    if chosen:
        return chosen == "xcb"
    return not environ.get("WAYLAND_DISPLAY")


def missing_libraries(loads: Callable[[str], bool] = _loads) -> dict[str, str]:
    """soname -> package, for each library of the xcb plugin that cannot be loaded."""
    return {soname: package for soname, package in XCB_LIBRARIES.items() if not loads(soname)}


def explain_missing(missing: Mapping[str, str]) -> str:
    """The one-paragraph message the client prints instead of Qt's plugin error."""
    packages = " ".join(dict.fromkeys(missing.values()))
    return (
        "cik-ecrf cannot open its window: the system libraries Qt needs to draw on this X11 desktop are "
        f"missing: {', '.join(missing)}.\n"
        f"On Debian or Ubuntu, install them with: sudo apt-get install {packages}"
    )


def check_before_qt(environ: Mapping[str, str] | None = None) -> str | None:
    """None when Qt can start (or will not use xcb); else the message naming what is missing."""
    if not uses_xcb(environ):
        return None
    missing = missing_libraries()
    return explain_missing(missing) if missing else None
