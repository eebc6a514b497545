"""The desktop client's window and start-up: first-run setup, login, subjects, schedule, forms.

Pages live in one stacked widget (subject list → subject view → form, and the study dashboard), so
locking, switching user or changing language never throws away a half-filled form: the lock only
hides the stack. "Lock now" (Ctrl+L) hides it at once for the same user; "Sign out" hides it and asks
for any user (the previous login ends when someone signs in).
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QT_TRANSLATE_NOOP, QSize, Qt, Signal
from PySide6.QtGui import QAction, QCloseEvent, QKeySequence
from PySide6.QtWidgets import QApplication, QLabel, QMainWindow, QStackedWidget, QToolBar, QWidget

from ..client_settings import ClientSettings, save_settings
from ..store.api import Store
from ..sync.client import SyncOutcome
from .conflicts import ConflictDialog
from .dashboard import DashboardPage
from .form_page import FormPage
from .idle import IdleLock, LockScreen
from .record_actions import SigningSession
from .resources import icon
from .settings_dialog import SettingsDialog
from .subject_view import SubjectView
from .subjects import SubjectList
from .sync_panel import SyncController, SyncIndicator, explain
from .texts import install_language, translator
from .worker import StoreWorker
from .worklist import WorklistHook

CONTEXT = "MainWindow"
TEXTS = {
    "title": QT_TRANSLATE_NOOP("MainWindow", "CIK-eCRF — NCT06389305"),
    "subjects": QT_TRANSLATE_NOOP("MainWindow", "Subjects"),
    "back": QT_TRANSLATE_NOOP("MainWindow", "Back"),
    "busy": QT_TRANSLATE_NOOP("MainWindow", "Working…"),
    "user": QT_TRANSLATE_NOOP("MainWindow", "Signed in: {name} ({role})"),
    "settings": QT_TRANSLATE_NOOP("MainWindow", "Settings"),
    "sync_now": QT_TRANSLATE_NOOP("MainWindow", "Sync now"),
    "conflicts": QT_TRANSLATE_NOOP("MainWindow", "Conflicts"),
    "nurse": QT_TRANSLATE_NOOP("MainWindow", "research nurse"),
    "investigator": QT_TRANSLATE_NOOP("MainWindow", "investigator"),
    "monitor": QT_TRANSLATE_NOOP("MainWindow", "monitor"),
    "data_manager": QT_TRANSLATE_NOOP("MainWindow", "data manager"),
    "admin": QT_TRANSLATE_NOOP("MainWindow", "administrator"),
    "settings_unsaved": QT_TRANSLATE_NOOP("MainWindow", "Settings could not be saved: {error}"),
    "dashboard": QT_TRANSLATE_NOOP("MainWindow", "Dashboard"),
    "lock": QT_TRANSLATE_NOOP("MainWindow", "Lock now"),
    "sign_out": QT_TRANSLATE_NOOP("MainWindow", "Sign out"),
    "lock_tip": QT_TRANSLATE_NOOP("MainWindow", "Hide patient data now; sign in again to continue (Ctrl+L)"),
    "sign_out_tip": QT_TRANSLATE_NOOP("MainWindow", "End your session and hand the laptop to another user"),
    "back_tip": QT_TRANSLATE_NOOP("MainWindow", "Back (Alt+Left)"),
}
ICONS = {
    "subjects": "subjects",
    "back": "back",
    "dashboard": "dashboard",
    "sync_now": "sync",
    "conflicts": "conflicts",
    "settings": "settings",
    "lock": "lock",
    "sign_out": "sign-out",
}
TIPS = {"lock": "lock_tip", "sign_out": "sign_out_tip", "back": "back_tip"}
FITS = QSize(1440, 900)  # the preferred size; smaller screens (1366×768) get what they have


_t = translator(CONTEXT, TEXTS)


class MainWindow(QMainWindow):
    sig_lock_requested = Signal()
    """Emitted by the idle timer or the user; the window hides its pages until someone signs in."""

    def __init__(
        self,
        store: Store,
        worker: StoreWorker,
        language: str = "en",
        idle_minutes: float = 5,
        parent: QWidget | None = None,
        settings_dir: Path | None = None,
        sync_automatic: bool = True,
    ) -> None:
        super().__init__(parent)
        self.setObjectName("mainWindow")
        self.store, self.worker, self.language = store, worker, language
        self.settings_dir = settings_dir
        self.signing = SigningSession()  # both user id and password again after a lock or a change of user
        self.settings = ClientSettings(language="zh" if language.startswith("zh") else "en", idle_minutes=idle_minutes)
        self.setWindowTitle(_t("title", language))
        self.stack = QStackedWidget()
        self.stack.setObjectName("pages")
        self.setCentralWidget(self.stack)
        toolbar = QToolBar()
        toolbar.setObjectName("mainToolbar")
        toolbar.setMovable(False)
        toolbar.setIconSize(QSize(20, 20))
        toolbar.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextBesideIcon)
        self.addToolBar(toolbar)
        subjects = QAction(_t("subjects", language), self)
        subjects.setObjectName("showSubjects")
        subjects.triggered.connect(self.show_subjects)
        toolbar.addAction(subjects)
        back = QAction(_t("back", language), self)
        back.setObjectName("back")
        back.triggered.connect(self.back)
        toolbar.addAction(back)
        settings = QAction(_t("settings", language), self)
        settings.setObjectName("openSettings")
        settings.triggered.connect(self.open_settings)
        sync_now = QAction(_t("sync_now", language), self)
        sync_now.setObjectName("syncNow")
        conflicts = QAction(_t("conflicts", language), self)
        conflicts.setObjectName("showConflicts")
        conflicts.triggered.connect(self.show_conflicts)
        dashboard = QAction(_t("dashboard", language), self)
        dashboard.setObjectName("showDashboard")
        dashboard.triggered.connect(self.show_dashboard)
        lock = QAction(_t("lock", language), self)
        lock.setObjectName("lockNow")
        lock.setShortcut(QKeySequence("Ctrl+L"))
        lock.setShortcutContext(Qt.ShortcutContext.ApplicationShortcut)
        lock.triggered.connect(self.lock_now)
        sign_out = QAction(_t("sign_out", language), self)
        sign_out.setObjectName("signOut")
        sign_out.triggered.connect(self.sign_out)
        toolbar.addAction(dashboard)
        self.worklist = WorklistHook(self, toolbar, dashboard)  # the monitor's query worklist
        toolbar.addSeparator()
        for action in (sync_now, conflicts, settings):
            toolbar.addAction(action)
        spacer = QWidget()
        spacer.setSizePolicy(spacer.sizePolicy().Policy.Expanding, spacer.sizePolicy().Policy.Preferred)
        toolbar.addWidget(spacer)
        toolbar.addAction(lock)
        toolbar.addAction(sign_out)
        self.actions_ = {
            "subjects": subjects,
            "back": back,
            "dashboard": dashboard,
            "sync_now": sync_now,
            "conflicts": conflicts,
            "settings": settings,
            "lock": lock,
            "sign_out": sign_out,
        }
        for key, action in self.actions_.items():
            action.setIcon(icon(ICONS[key]))
        self._set_tips(language)
        self.user_label = QLabel()
        self.user_label.setObjectName("currentUser")
        self.user_label.setStyleSheet("color: #495057; padding: 0 8px;")
        toolbar.insertWidget(lock, self.user_label)  # who is signed in, beside Lock now and Sign out
        self.busy = QLabel(_t("busy", language))
        self.busy.setObjectName("busyIndicator")
        self.busy.setVisible(False)
        self.statusBar().addWidget(self.busy)
        worker.sig_busy.connect(self.busy.setVisible)
        worker.sig_bug.connect(lambda text: self.statusBar().showMessage(text.splitlines()[-1], 10000))
        # Sync: its own network thread, a status line, and "Sync now"; on a schedule when enrolled.
        self.sync = SyncController(store, worker, self, automatic=sync_automatic)
        self.sync_indicator = SyncIndicator(self.sync, language)
        self.statusBar().addPermanentWidget(self.sync_indicator)
        sync_now.triggered.connect(self.request_sync)
        self._sync_asked = False
        self.sync.sig_running.connect(lambda running: sync_now.setEnabled(not running))
        self.sync.sig_outcome.connect(self._synced)
        self.subject_list = SubjectList(store, worker, language)
        self.subject_list.sig_subject_opened.connect(self.open_subject)
        self.stack.addWidget(self.subject_list)
        self.subject_view: SubjectView | None = None
        self.dashboard: DashboardPage | None = None
        self.set_store(store)
        # Idle lock: hides every page (unsaved input included) until the same or another user signs in.
        self.idle = IdleLock(idle_minutes, self)
        self.lock_screen = LockScreen(self, store.directory, worker, store.study, language)
        self.lock_screen.watch(self.idle, lambda: self.store.actor.username)
        self.lock_screen.sig_unlocked.connect(self._unlocked)
        self.sig_lock_requested.connect(lambda: self.lock_screen.lock(self.store.actor.username))
        self.idle.sig_lock_requested.connect(self.signing.reset)
        self.sig_lock_requested.connect(self.signing.reset)
        self.idle.start()
        self.sync.start()

    def set_store(self, store: Store) -> None:
        """After a login or a switch of user: the same pages, now acting as that user."""
        self.store = store
        role = _t(store.actor.role, self.language) if store.actor.role in TEXTS else store.actor.role
        self.user_label.setText(_t("user", self.language).format(name=store.actor.username, role=role))
        for index in range(self.stack.count()):
            page = self.stack.widget(index)
            if hasattr(page, "store"):
                page.store = store
        self.subject_list.update_actions()

    def _set_tips(self, language: str) -> None:
        for key, action in self.actions_.items():
            action.setToolTip(_t(TIPS[key], language) if key in TIPS else action.text())

    def fit_to_screen(self) -> None:
        """The preferred size, or the screen's available area when smaller (a 1366×768 ward laptop)."""
        screen = self.screen() or QApplication.primaryScreen()
        if screen is None:
            self.resize(FITS)
            return
        available = screen.availableGeometry()
        frame = self.frameGeometry().size() - self.geometry().size()
        width = min(FITS.width(), available.width() - frame.width())
        height = min(FITS.height(), available.height() - frame.height())
        self.resize(width, height)
        self.move(available.x() + (available.width() - width) // 2, available.y())

    def lock_now(self) -> None:
        """Hide every page now (unsaved input kept); the same user, or another one, signs in to go on."""
        if not self.lock_screen.locked:
            self.sig_lock_requested.emit()

    def sign_out(self) -> None:
        """Like a lock, with an empty user name: the next person signs in as themselves."""
        if self.lock_screen.locked:
            return
        self.signing.reset()
        self.idle.stop()
        self.lock_screen.lock("")

    def _unlocked(self, store: Store) -> None:
        """Someone signed in at the lock screen; if it is another user, the previous login ends."""
        self.signing.reset()
        if store is not self.store:
            previous = self.store
            self.worker.submit(previous.close)
            self.set_store(store)
            self.sync.set_store(store)
            if self.subject_view is not None:
                self.subject_view.refresh()  # Sign visit follows the new user's role

    # ------------------------------------------------------------------ settings

    def open_settings(self, dialog: SettingsDialog | None = None) -> None:
        """Ask for settings (tests pass a prepared dialog) and apply them at once."""
        dialog = dialog or SettingsDialog(self.settings, self)
        if dialog.exec():
            self.apply_settings(dialog.chosen())

    def apply_settings(self, settings: ClientSettings) -> None:
        """New idle time and language take effect now; the file is written for the next start."""
        self.idle.set_timeout(settings.idle_minutes)
        if settings.language != self.settings.language:
            self.set_language(settings.language)
        self.settings = settings
        if self.settings_dir is not None:
            try:
                save_settings(self.settings_dir, settings)
            except OSError as exc:
                self.statusBar().showMessage(_t("settings_unsaved", self.language).format(error=exc), 10000)

    def set_language(self, language: str) -> None:
        """Every page again in `language`; a form being filled in keeps its unsaved input."""
        app = QApplication.instance()
        if app is not None:
            install_language(app, language)
        self.language = language
        self.setWindowTitle(_t("title", language))
        for key, action in self.actions_.items():
            action.setText(_t(key, language))
        self._set_tips(language)
        self.busy.setText(_t("busy", language))
        self.sync_indicator.set_language(language)
        self.worklist.set_language(language)
        self.set_store(self.store)
        showing = self.stack.currentWidget()
        old_list, self.subject_list = self.subject_list, SubjectList(self.store, self.worker, language)
        self.subject_list.sig_subject_opened.connect(self.open_subject)
        self.stack.insertWidget(self.stack.indexOf(old_list), self.subject_list)
        self.stack.removeWidget(old_list)
        old_list.deleteLater()
        self.subject_list.refresh()
        if self.subject_view is not None:
            old_view = self.subject_view
            self.subject_view = self._subject_view(old_view.number)
            self.stack.insertWidget(self.stack.indexOf(old_view), self.subject_view)
            self.stack.removeWidget(old_view)
            old_view.deleteLater()
            if showing is old_view:
                showing = self.subject_view
        if self.dashboard is not None:
            old_dashboard = self.dashboard
            self.dashboard = self._dashboard()
            self.stack.insertWidget(self.stack.indexOf(old_dashboard), self.dashboard)
            self.stack.removeWidget(old_dashboard)
            old_dashboard.deleteLater()
            if showing is old_dashboard:
                showing = self.dashboard
                self.dashboard.refresh()
        for index in range(self.stack.count()):
            page = self.stack.widget(index)
            if isinstance(page, FormPage):
                page.set_language(language)
        self.stack.setCurrentWidget(self.subject_list if showing is old_list else showing)
        self.lock_screen.set_language(language)

    # ------------------------------------------------------------------ sync

    def show_conflicts(self) -> ConflictDialog:
        dialog = ConflictDialog(self.store, self.worker, self.language, self)
        dialog.sig_resolved.connect(lambda _field: self.sync.refresh_status())
        dialog.show()
        return dialog

    def request_sync(self) -> None:
        """Sync now, asked for: the outcome is then said in words in the status bar, offline included."""
        self._sync_asked = True
        self.sync.sync_now()

    def _synced(self, outcome: SyncOutcome) -> None:
        """New data from other laptops: the pages showing lists and schedules read again (forms keep their input)."""
        if self._sync_asked:
            self._sync_asked = False
            self.statusBar().showMessage(explain(self.sync.status, outcome, self.language), 30000)
        if outcome.pulled:
            self.subject_list.refresh()
            if self.subject_view is not None:
                self.subject_view.refresh()
            self.worklist.after_sync()  # monitoring: queries opened, answered or closed elsewhere

    # ------------------------------------------------------------------ pages

    def show_subjects(self) -> None:
        self.stack.setCurrentWidget(self.subject_list)
        self.subject_list.refresh()

    def show_dashboard(self) -> DashboardPage:
        """The study dashboard, computed afresh on the worker each time it is shown."""
        if self.dashboard is None:
            self.dashboard = self._dashboard()
            self.stack.addWidget(self.dashboard)
        self.stack.setCurrentWidget(self.dashboard)
        self.dashboard.refresh()
        return self.dashboard

    def _dashboard(self) -> DashboardPage:
        return DashboardPage(self.store, self.worker, self.language)

    def open_subject(self, number: str) -> None:
        if self.subject_view is not None:
            self.stack.removeWidget(self.subject_view)
            self.subject_view.deleteLater()
        self.subject_view = self._subject_view(number)
        self.stack.addWidget(self.subject_view)
        self.stack.setCurrentWidget(self.subject_view)

    def _subject_view(self, number: str) -> SubjectView:
        view = SubjectView(self.store, self.worker, number, self.language, signing=self.signing)
        view.sig_form_requested.connect(lambda visit, form, instance: self.open_form(number, visit, form, instance))
        view.monitoring.sig_query_opened.connect(self.worklist.open_query)
        return view

    def open_form(self, number: str, visit: str, form: str, instance: str | None) -> FormPage:
        page = FormPage(self.store, self.worker, number, visit, form, instance, self.language, signing=self.signing)
        page.sig_saved.connect(lambda _result: self.subject_view.refresh() if self.subject_view else None)
        page.sig_back_requested.connect(self.back)
        page.actions.sig_signed.connect(lambda _result: self.subject_view.refresh() if self.subject_view else None)
        self.stack.addWidget(page)
        self.stack.setCurrentWidget(page)
        return page

    def back(self) -> None:
        current = self.stack.currentWidget()
        if isinstance(current, FormPage) and self.subject_view is not None:
            if not current.confirm_leave():  # unsaved input: saved, discarded, or we stay
                return
            self.stack.setCurrentWidget(self.subject_view)
            self.stack.removeWidget(current)
            current.deleteLater()
            self.subject_view.refresh()  # what was saved or signed on the form shows in the schedule
        elif current is self.subject_view or current is self.dashboard or self.worklist.showing():
            self.show_subjects()

    def closeEvent(self, event: QCloseEvent) -> None:
        """Queued saves finish before the store closes: nothing acknowledged is dropped."""
        if not all(page.confirm_leave() for page in self.findChildren(FormPage)):
            event.ignore()  # the user chose to stay with unsaved input
            return
        self.sync.shutdown()
        self.worker.submit(self.store.close)
        self.worker.shutdown()
        super().closeEvent(event)
