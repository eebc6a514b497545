"""The Qt binding must keep Python's reference counts: a binding that drops one per call would abort
the client mid-round after a few thousand keystrokes (PySide6 6.12.0 on CPython 3.11 did)."""

from __future__ import annotations

import sys
from typing import Any

from PySide6.QtCore import QObject, Signal
from PySide6.QtWidgets import QLabel


class _Emitter(QObject):
    sig_value = Signal(object)
    """Carries one value to its receivers."""


def test_void_calls_and_signal_emits_keep_reference_counts(qtbot: Any) -> None:
    label = QLabel()
    qtbot.addWidget(label)
    emitter = _Emitter()
    received: list[object] = []
    emitter.sig_value.connect(received.append)
    none_before, true_before = sys.getrefcount(None), sys.getrefcount(True)
    for _ in range(200):
        label.setText("x")
        emitter.sig_value.emit(1)
    assert len(received) == 200
    assert abs(sys.getrefcount(None) - none_before) < 50
    assert abs(sys.getrefcount(True) - true_before) < 50
