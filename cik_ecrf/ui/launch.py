"""Start-up: first-run setup, sign-in, then the main window.

On X11 the system libraries Qt needs are checked first (`system_libraries`): a fresh laptop missing
one is told which package to install instead of Qt's plugin error. `--demo` signs in as the demo
nurse by itself, through the same sign-in window. The main window takes the screen's available area
when it is smaller than the preferred size (a 1366×768 ward laptop).

The sign-in window is what the nurse waits for, so it shows before the heavy part of the client is
imported: the store (SQLAlchemy, SQLCipher), the definitions (pydantic) and the rules are imported
and the study's forms loaded on the background worker while the window is already on screen.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtCore import QEvent, QObject, QTimer
from PySide6.QtWidgets import QApplication, QWidget

from ..client_settings import LoadedSettings, load_settings
from ..store.files import KEYRING_FILE
from .login import LoginDialog
from .resources import install_fonts
from .texts import install_language
from .worker import StoreWorker

if TYPE_CHECKING:
    from ..definitions.spec import StudyDefinition


def _warm_up() -> StudyDefinition:
    """Runs on the worker: import the core and load the forms, so the first sign-in does not wait for it."""
    from ..definitions.loader import load_study
    from ..store import api  # noqa: F401 - imported for its side effect: the modules are loaded
    from . import app  # noqa: F401 - the main window's modules, likewise

    return load_study()


class _AfterFirstPaint(QObject):
    """Calls `then` once `watched` has painted: a warm-up started earlier would take the GIL from the painting."""

    def __init__(self, watched: QWidget, then: Callable[[], None]) -> None:
        super().__init__(watched)
        self._then: Callable[[], None] | None = then
        watched.installEventFilter(self)

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if event.type() == QEvent.Type.Paint and self._then is not None:
            then, self._then = self._then, None
            watched.removeEventFilter(self)
            then()
        return False


def prepare_login(
    data_dir: Path, worker: StoreWorker, language: str, username: str = "", study: StudyDefinition | None = None
) -> LoginDialog:
    """The sign-in dialog, ready to show; the study comes from the warm-up (after first paint) unless given."""
    login = LoginDialog(data_dir, worker, study, language, username)
    if study is None:
        _AfterFirstPaint(login, lambda: worker.submit(_warm_up, login.panel.set_study))
    return login


def sign_in_automatically(login: LoginDialog, password: str) -> None:
    """The demo signs in by itself as the README says, through the real sign-in (shown while it works)."""
    login.panel.password.setText(password)
    QTimer.singleShot(0, login.panel.sign_in)


def run_client(
    data_dir: Path, language: str | None = None, demo: bool = False, study: StudyDefinition | None = None
) -> int:
    """`cik-ecrf` without a command. The language is the one given, else the laptop's saved setting."""
    if QApplication.instance() is None:
        from .system_libraries import check_before_qt

        problem = check_before_qt()
        if problem:
            print(problem, file=sys.stderr)
            return 1
    app = QApplication.instance() or QApplication(sys.argv)
    install_fonts(app)  # type: ignore[arg-type]
    worker = StoreWorker()
    username = ""
    if demo:
        from ..definitions.loader import load_study
        from ..demo import NURSE, throwaway_store

        study = study or load_study()
        data_dir, username = throwaway_store(study), NURSE  # removed when the client exits
    loaded: LoadedSettings = load_settings(data_dir)
    language = language or loaded.settings.language
    install_language(app, language)
    if not demo and not (data_dir / KEYRING_FILE).exists():
        from .setup import FirstRunDialog

        setup = FirstRunDialog(data_dir, worker, language)
        if not setup.exec():
            worker.shutdown()
            return 0
    if sys.platform == "win32":  # PDFs handed to the spooler by earlier sessions
        from .printing import tidy_at_start

        tidy_at_start()
    login = prepare_login(data_dir, worker, language, username, study)
    if demo:
        from ..demo import NURSE_PASSWORD

        sign_in_automatically(login, NURSE_PASSWORD)
    opened = []
    login.sig_logged_in.connect(opened.append)
    if not login.exec() or not opened:
        worker.shutdown()
        return 0
    from .app import MainWindow

    window = MainWindow(opened[0], worker, language, loaded.settings.idle_minutes, settings_dir=data_dir)
    window.fit_to_screen()
    window.show()
    window.show_subjects()
    if loaded.problem:
        window.statusBar().showMessage(loaded.problem, 20000)
    return app.exec()
