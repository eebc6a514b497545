"""Idle lock: after N minutes without keyboard or mouse input, patient data is hidden.

`IdleLock` watches every input event of the application (an application-wide event filter) and
asks for the lock when the timer runs out. `LockScreen` is the lock itself: an opaque page laid
over the window that hides (never destroys) the window's own widgets, so text typed into a form
survives; it signs in with the same `LoginPanel` as the login dialog, as the same or another user,
and hands the newly opened Store to the window, which owns it (and closes the previous one).
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtCore import QT_TRANSLATE_NOOP, QCoreApplication, QEvent, QObject, Qt, QTimer, Signal
from PySide6.QtWidgets import QFrame, QLabel, QVBoxLayout, QWidget

from .login import LoginPanel
from .resources import resources_dir
from .texts import translator
from .worker import StoreWorker

if TYPE_CHECKING:
    from ..definitions.spec import StudyDefinition
    from ..store.api import Store

DEFAULT_MINUTES = 5.0
INPUT_EVENTS = frozenset(
    {
        QEvent.Type.KeyPress,
        QEvent.Type.MouseButtonPress,
        QEvent.Type.MouseButtonDblClick,
        QEvent.Type.MouseMove,
        QEvent.Type.Wheel,
        QEvent.Type.TouchBegin,
        QEvent.Type.TouchUpdate,
        QEvent.Type.TabletPress,
        QEvent.Type.InputMethod,
    }
)
CONTEXT = "LockScreen"
TEXTS = {
    "locked": QT_TRANSLATE_NOOP("LockScreen", "Locked"),
    "explain": QT_TRANSLATE_NOOP(
        "LockScreen",
        "Patient data is hidden after a period without use. Sign in to continue, as yourself or as another user.",
    ),
}


_t = translator(CONTEXT, TEXTS)


class IdleLock(QObject):
    sig_lock_requested = Signal()
    """No keyboard or mouse input for the configured time; the lock is not re-armed until `start()`."""

    def __init__(
        self, minutes: float = DEFAULT_MINUTES, parent: QObject | None = None, *, msec: int | None = None
    ) -> None:
        super().__init__(parent)
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.setTimerType(Qt.TimerType.PreciseTimer)
        self._timer.timeout.connect(self._expired)
        self._armed = False
        self._installed = False
        self.set_timeout(minutes, msec=msec)

    @property
    def interval_ms(self) -> int:
        return self._timer.interval()

    @property
    def armed(self) -> bool:
        return self._armed

    def remaining_ms(self) -> int:
        """Milliseconds until the lock is requested (-1 when not armed)."""
        return self._timer.remainingTime() if self._armed else -1

    def set_timeout(self, minutes: float = DEFAULT_MINUTES, *, msec: int | None = None) -> None:
        """The idle time, in (fractional) minutes or, for tests, milliseconds; applies at once."""
        interval = msec if msec is not None else round(minutes * 60_000)
        if interval <= 0:
            raise ValueError("the idle time must be positive")
        self._timer.setInterval(interval)
        if self._armed:
            self._timer.start()

    def start(self) -> None:
        """Watch the application's input (again, e.g. after an unlock) and start counting."""
        app = QCoreApplication.instance()
        if app is not None and not self._installed:
            app.installEventFilter(self)
            self._installed = True
        self._armed = True
        self._timer.start()

    def stop(self) -> None:
        self._armed = False
        self._timer.stop()
        app = QCoreApplication.instance()
        if app is not None and self._installed:
            app.removeEventFilter(self)
            self._installed = False

    def _expired(self) -> None:
        if self._armed:
            self._armed = False
            self.sig_lock_requested.emit()

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        """Any user input restarts the count; the event itself goes on untouched."""
        if self._armed and event.type() in INPUT_EVENTS:
            self._timer.start()
        return False


class LockScreen(QWidget):
    sig_unlocked = Signal(object)
    """The open `Store` of whoever signed in to unlock: the same user or another one."""

    def __init__(
        self,
        window: QWidget,
        directory: Path,
        worker: StoreWorker,
        study: StudyDefinition | None = None,
        language: str = "en",
    ) -> None:
        super().__init__(window)
        self.target = window
        self.language = language
        self.setObjectName("lockScreen")
        self.setAutoFillBackground(True)  # opaque: nothing of the window shows through
        self.setAttribute(Qt.WidgetAttribute.WA_StyledBackground, True)
        self._hidden: list[QWidget] = []
        self._focus: QWidget | None = None
        self._locked = False
        self._panel_args = (directory, worker, study)
        self.panel = LoginPanel(directory, worker, study, language, parent=self)
        self.panel.sig_logged_in.connect(self._unlocked)
        self._build()
        self.hide()
        window.installEventFilter(self)

    def _build(self) -> None:
        outer = QVBoxLayout(self)
        outer.addStretch(1)
        box = QFrame()
        box.setFrameShape(QFrame.Shape.StyledPanel)
        box.setMaximumWidth(420)
        self.column = QVBoxLayout(box)
        self.title = QLabel()
        self.title.setObjectName("lockTitle")
        self.explain = QLabel()
        self.explain.setObjectName("lockExplain")
        self.explain.setWordWrap(True)
        self._set_texts()
        self.column.addWidget(self.title)
        self.column.addWidget(self.explain)
        self.column.addWidget(self.panel)
        outer.addWidget(box, 0, Qt.AlignmentFlag.AlignHCenter)
        outer.addStretch(1)

    def _set_texts(self) -> None:
        lock = (resources_dir() / "icons" / "lock.svg").as_posix()  # drawn, not an emoji that may be a box
        self.title.setText(f"<h2><img src='{lock}' width='22' height='22'> {_t('locked', self.language)}</h2>")
        self.explain.setText(_t("explain", self.language))

    def set_language(self, language: str) -> None:
        """Only while unlocked (settings cannot be reached behind the lock): a fresh sign-in panel."""
        self.language = language
        self._set_texts()
        old, self.panel = self.panel, LoginPanel(*self._panel_args, language, parent=self)
        self.panel.sig_logged_in.connect(self._unlocked)
        self.column.replaceWidget(old, self.panel)
        old.deleteLater()

    @property
    def locked(self) -> bool:
        return self._locked

    def watch(self, idle: IdleLock, current_user: Callable[[], str] | None = None) -> None:
        """Lock when `idle` asks (offering `current_user()` as the user name); re-arm it on unlock."""
        idle.sig_lock_requested.connect(lambda: self.lock(current_user() if current_user else ""))
        self.sig_unlocked.connect(lambda _store: idle.start())

    def lock(self, username: str = "") -> None:
        """Hide the window's widgets (their input kept as it is) and ask for a sign-in."""
        if self._locked:
            return
        window = self.target
        self._focus = window.focusWidget()
        # Separate windows (dialogs) are left alone: hiding a modal dialog would end its exec().
        children = window.findChildren(QWidget, options=Qt.FindChildOption.FindDirectChildrenOnly)
        self._hidden = [w for w in children if w is not self and not w.isWindow() and not w.isHidden()]
        for widget in self._hidden:
            widget.hide()
        self._locked = True
        self.panel.reset(username)
        self.setGeometry(window.rect())
        self.show()
        self.raise_()
        self.panel.focus()

    def _unlocked(self, store: Store) -> None:
        for widget in self._hidden:
            widget.show()
        self._hidden = []
        self._locked = False
        self.hide()
        focus, self._focus = self._focus, None
        if focus is not None:
            with contextlib.suppress(RuntimeError):  # deleted while locked
                focus.setFocus()
        self.sig_unlocked.emit(store)

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        """Keep covering the whole window when it is resized."""
        if watched is self.target and event.type() == QEvent.Type.Resize and self._locked:
            self.setGeometry(self.target.rect())
        return super().eventFilter(watched, event)
