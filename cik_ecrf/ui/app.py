"""The desktop client's window and start-up: first-run setup, login, subjects, schedule, forms.

Pages live in one stacked widget (subject list → subject view → form), so locking, switching user
or changing language never throws away a half-filled form: the lock only hides the stack.
"""

from __future__ import annotations

import sys
from pathlib import Path

from PySide6.QtCore import Signal
from PySide6.QtGui import QAction, QCloseEvent
from PySide6.QtWidgets import QApplication, QLabel, QMainWindow, QStackedWidget, QToolBar, QWidget

from ..definitions.spec import StudyDefinition
from ..store.api import Store
from .form_page import FormPage
from .idle import IdleLock, LockScreen
from .subject_view import SubjectView
from .subjects import SubjectList
from .texts import translator
from .worker import StoreWorker

TEXTS = {
    "title": {"en": "CIK-eCRF — NCT06389305", "zh": "CIK-eCRF — NCT06389305"},
    "subjects": {"en": "Subjects", "zh": "受试者"},
    "back": {"en": "Back", "zh": "返回"},
    "busy": {"en": "Working…", "zh": "正在处理…"},
    "user": {"en": "Signed in: {name} ({role})", "zh": "当前用户：{name}（{role}）"},
}


_t = translator(TEXTS)


class MainWindow(QMainWindow):
    sig_lock_requested = Signal()
    """Emitted by the idle timer or the user; the window hides its pages until someone signs in."""

    def __init__(self, store: Store, worker: StoreWorker, language: str = "en", idle_minutes: float = 5, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("mainWindow")
        self.store, self.worker, self.language = store, worker, language
        self.setWindowTitle(_t("title", language))
        self.stack = QStackedWidget()
        self.stack.setObjectName("pages")
        self.setCentralWidget(self.stack)
        toolbar = QToolBar()
        toolbar.setObjectName("mainToolbar")
        self.addToolBar(toolbar)
        subjects = QAction(_t("subjects", language), self)
        subjects.setObjectName("showSubjects")
        subjects.triggered.connect(self.show_subjects)
        toolbar.addAction(subjects)
        back = QAction(_t("back", language), self)
        back.setObjectName("back")
        back.triggered.connect(self.back)
        toolbar.addAction(back)
        self.user_label = QLabel()
        self.user_label.setObjectName("currentUser")
        self.statusBar().addPermanentWidget(self.user_label)
        self.busy = QLabel(_t("busy", language))
        self.busy.setObjectName("busyIndicator")
        self.busy.setVisible(False)
        self.statusBar().addWidget(self.busy)
        worker.sig_busy.connect(self.busy.setVisible)
        worker.sig_bug.connect(lambda text: self.statusBar().showMessage(text.splitlines()[-1], 10000))
        self.subject_list = SubjectList(store, worker, language)
        self.subject_list.sig_subject_opened.connect(self.open_subject)
        self.stack.addWidget(self.subject_list)
        self.subject_view: SubjectView | None = None
        self.set_store(store)
        # Idle lock: hides every page (unsaved input included) until the same or another user signs in.
        self.idle = IdleLock(idle_minutes, self)
        self.lock_screen = LockScreen(self, store.directory, worker, store.study, language)
        self.lock_screen.watch(self.idle, lambda: self.store.actor.username)
        self.lock_screen.sig_unlocked.connect(self._unlocked)
        self.sig_lock_requested.connect(lambda: self.lock_screen.lock(self.store.actor.username))
        self.idle.start()

    def set_store(self, store: Store) -> None:
        """After a login or a switch of user: the same pages, now acting as that user."""
        self.store = store
        self.user_label.setText(_t("user", self.language).format(name=store.actor.username, role=store.actor.role))
        for index in range(self.stack.count()):
            page = self.stack.widget(index)
            if hasattr(page, "store"):
                page.store = store

    def _unlocked(self, store: Store) -> None:
        """Someone signed in at the lock screen; if it is another user, the previous login ends."""
        if store is not self.store:
            previous = self.store
            self.worker.submit(previous.close)
            self.set_store(store)

    def show_subjects(self) -> None:
        self.stack.setCurrentWidget(self.subject_list)
        self.subject_list.refresh()

    def open_subject(self, number: str) -> None:
        if self.subject_view is not None:
            self.stack.removeWidget(self.subject_view)
            self.subject_view.deleteLater()
        self.subject_view = SubjectView(self.store, self.worker, number, self.language)
        self.subject_view.sig_form_requested.connect(lambda visit, form, instance: self.open_form(number, visit, form, instance))
        self.stack.addWidget(self.subject_view)
        self.stack.setCurrentWidget(self.subject_view)

    def open_form(self, number: str, visit: str, form: str, instance: str | None) -> FormPage:
        page = FormPage(self.store, self.worker, number, visit, form, instance, self.language)
        page.sig_saved.connect(lambda _result: self.subject_view.refresh() if self.subject_view else None)
        self.stack.addWidget(page)
        self.stack.setCurrentWidget(page)
        return page

    def back(self) -> None:
        current = self.stack.currentWidget()
        if isinstance(current, FormPage) and self.subject_view is not None:
            self.stack.setCurrentWidget(self.subject_view)
            self.stack.removeWidget(current)
            current.deleteLater()
        elif current is self.subject_view:
            self.show_subjects()

    def closeEvent(self, event: QCloseEvent) -> None:  # noqa: N802 - Qt's name
        """Queued saves finish before the store closes: nothing acknowledged is dropped."""
        self.worker.submit(self.store.close)
        self.worker.shutdown()
        super().closeEvent(event)


def run_client(data_dir: Path, language: str = "en", demo: bool = False, study: StudyDefinition | None = None) -> int:
    """`cik-ecrf` without a command: first-run setup if needed, login, then the main window."""
    from ..definitions.loader import load_study
    from .login import LoginDialog
    from .resources import install_fonts
    from .setup import FirstRunDialog

    app = QApplication.instance() or QApplication(sys.argv)
    install_fonts(app)  # type: ignore[arg-type]
    study = study or load_study()
    worker = StoreWorker()
    if demo:
        from ..demo import build_demo_store

        data_dir = build_demo_store(study)
    elif not (data_dir / "keyring.json").exists():
        setup = FirstRunDialog(data_dir, worker, language)
        if not setup.exec():
            worker.shutdown()
            return 0
    username = ""
    if demo:
        from ..demo import NURSE

        username = NURSE
    login = LoginDialog(data_dir, worker, study, language, username)
    opened: list[Store] = []
    login.sig_logged_in.connect(opened.append)
    if not login.exec() or not opened:
        worker.shutdown()
        return 0
    window = MainWindow(opened[0], worker, language)
    window.resize(1100, 800)
    window.show()
    window.show_subjects()
    return app.exec()
