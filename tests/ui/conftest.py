"""Qt tests run offscreen: no display is needed, on a laptop or in CI."""

from __future__ import annotations

import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
