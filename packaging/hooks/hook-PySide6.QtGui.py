"""PySide6.QtGui as PyInstaller's own hook collects it, less the Qt files the client does not use (see qt_lean.py)."""

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from PyInstaller.utils.hooks.qt import add_qt6_dependencies
from qt_lean import lean

hiddenimports, binaries, datas = lean(*add_qt6_dependencies(__file__))
