"""Signing in: user name and password checked by the store, on the background worker.

`LoginPanel` holds the whole logic (open the store, show its refusal, ask a new user for a new
password); `LoginDialog` wraps it for start-up and the idle lock screen (`idle.py`) embeds it, so
the two never drift apart. Passwords are read from their fields, the fields cleared, and the text
handed to the worker job; the only one kept is the current password while a new user chooses a new
one (`change_password` needs it), dropped as soon as that step ends.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import QT_TRANSLATE_NOOP, Signal
from PySide6.QtWidgets import (
    QDialog,
    QFormLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QStackedWidget,
    QVBoxLayout,
    QWidget,
)

from .texts import translator
from .worker import StoreWorker

if TYPE_CHECKING:  # the store (SQLAlchemy, pydantic, the rules) is imported on the worker, after the window shows
    from ..definitions.spec import StudyDefinition
    from ..store.api import Store

ERROR_COLOUR = "#b00020"
CONTEXT = "Login"
TEXTS = {
    "title": QT_TRANSLATE_NOOP("Login", "Sign in — CIK eCRF"),
    "user": QT_TRANSLATE_NOOP("Login", "User name"),
    "password": QT_TRANSLATE_NOOP("Login", "Password"),
    "sign_in": QT_TRANSLATE_NOOP("Login", "Sign in"),
    "busy": QT_TRANSLATE_NOOP("Login", "Signing in…"),
    "empty": QT_TRANSLATE_NOOP("Login", "Enter your user name and password."),
    "change_intro": QT_TRANSLATE_NOOP(
        "Login",
        "Welcome, {user}. Choose your own password before you start: at least 10 characters, letters and digits.",
    ),
    "new_password": QT_TRANSLATE_NOOP("Login", "New password"),
    "new_again": QT_TRANSLATE_NOOP("Login", "New password again"),
    "change": QT_TRANSLATE_NOOP("Login", "Change password and sign in"),
    "changing": QT_TRANSLATE_NOOP("Login", "Changing the password…"),
    "new_empty": QT_TRANSLATE_NOOP("Login", "Enter the new password twice."),
    "mismatch": QT_TRANSLATE_NOOP("Login", "The two new passwords differ."),
    "bug": QT_TRANSLATE_NOOP("Login", "Sign-in failed unexpectedly; the error was reported."),
}

# The store speaks English; these show its refusals in Chinese (anything unknown stays as it is).
_REFUSALS_ZH: list[tuple[re.Pattern[str], str]] = [
    (re.compile(r"^unknown user or wrong password$"), "用户名或密码错误"),
    (
        re.compile(r"^too many failed logins: (\S+) is locked for (\d+) minutes$"),
        "登录失败次数过多：{0} 已被锁定 {1} 分钟",
    ),
    (
        re.compile(r"^(\S+) is locked after repeated failed logins until (\d\d:\d\d)$"),
        "{0} 因多次登录失败已被锁定，{1} 后可再试",
    ),
    (re.compile(r"^(\S+) is not an active user of this store$"), "{0} 不是本数据库的有效用户"),
    (re.compile(r"^the current password is wrong$"), "当前密码错误"),
    (re.compile(r"^the new password must differ from the current one$"), "新密码不能与当前密码相同"),
    (re.compile(r"^site code (.*): 1–16 letters or digits$"), "站点代码 {0}：须为 1–16 个字母或数字"),
    (
        re.compile(r"^user name (.*): 2–32 characters.*$"),
        "用户名 {0}：2–32 个字符，小写字母、数字、'.'、'_' 或 '-'，以字母开头",
    ),
    (re.compile(r"^(.*): a store already exists here$"), "{0}：此处已有数据库"),
    (re.compile(r"^subject (.*) already exists$"), "受试者 {0} 已存在"),
    (re.compile(r"^a subject number is 1–40 characters$"), "受试者编号须为 1–40 个字符"),
    (re.compile(r"^a (\S+) cannot add subjects$"), "当前角色不能添加受试者"),
]
_WEAK_ZH = {
    "at least 10 characters": "至少 10 个字符",
    "both letters and digits": "须同时包含字母和数字",
    "must not contain the user name": "不得包含用户名",
}


_t = translator(CONTEXT, TEXTS)


def refusal_text(message: str, language: str) -> str:
    """A store refusal as the user reads it: the store's English, or its Chinese where known."""
    if not language.startswith("zh"):
        return message
    if message.startswith("password too weak: "):
        parts = message.removeprefix("password too weak: ").split("; ")
        return "密码强度不足：" + "；".join(_WEAK_ZH.get(p, p) for p in parts)
    for pattern, text in _REFUSALS_ZH:
        match = pattern.match(message)
        if match:
            return text.format(*match.groups())
    return message


def password_edit(name: str) -> QLineEdit:
    edit = QLineEdit()
    edit.setObjectName(name)
    edit.setEchoMode(QLineEdit.EchoMode.Password)
    return edit


def plain_button(text: str, name: str) -> QPushButton:
    """A button that Enter in a dialog does not click behind our back (Enter is wired per field)."""
    button = QPushButton(text)
    button.setObjectName(name)
    button.setAutoDefault(False)
    button.setDefault(False)
    return button


def open_store(directory: Path, user: str, password: str, study: StudyDefinition | None) -> Store:
    """Runs on the worker: the first sign-in also pays for importing the store."""
    from ..store.api import Store

    return Store.open(directory, user, password, study)


class LoginPanel(QWidget):
    sig_logged_in = Signal(object)
    """The open `Store` of the user who signed in (after a required password change, if any)."""

    sig_refused = Signal(str)
    """A sign-in or password change was refused; the text shown to the user."""

    def __init__(
        self,
        directory: Path,
        worker: StoreWorker,
        study: StudyDefinition | None = None,
        language: str = "en",
        username: str = "",
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.directory = Path(directory)
        self.worker = worker
        self.study = study
        self.language = language
        self._busy = False
        self._store: Store | None = None  # opened, waiting for the new user's own password
        self._current: str | None = None  # that user's first password, needed by change_password
        self._build(username)
        worker.sig_bug.connect(self._on_bug)

    def set_study(self, study: StudyDefinition) -> None:
        """The forms, once loaded in the background; a sign-in before that loads them itself."""
        self.study = study

    def _build(self, username: str) -> None:
        t = self.language
        self.pages = QStackedWidget()
        credentials = QWidget()
        form = QFormLayout(credentials)
        self.user = QLineEdit(username)
        self.user.setObjectName("loginUser")
        self.user.setAccessibleName(_t("user", t))
        self.password = password_edit("loginPassword")
        self.password.setAccessibleName(_t("password", t))
        self.button = plain_button(_t("sign_in", t), "loginButton")
        form.addRow(_t("user", t), self.user)
        form.addRow(_t("password", t), self.password)
        form.addRow(self.button)
        self.user.returnPressed.connect(self.password.setFocus)
        self.password.returnPressed.connect(self.sign_in)
        self.button.clicked.connect(self.sign_in)

        change = QWidget()
        column = QVBoxLayout(change)
        self.change_intro = QLabel("")
        self.change_intro.setObjectName("changeIntro")
        self.change_intro.setWordWrap(True)
        column.addWidget(self.change_intro)
        form2 = QFormLayout()
        self.new_password = password_edit("newPassword")
        self.new_password.setAccessibleName(_t("new_password", t))
        self.new_again = password_edit("newPasswordAgain")
        self.new_again.setAccessibleName(_t("new_again", t))
        self.change_button = plain_button(_t("change", t), "changePassword")
        form2.addRow(_t("new_password", t), self.new_password)
        form2.addRow(_t("new_again", t), self.new_again)
        form2.addRow(self.change_button)
        column.addLayout(form2)
        self.new_password.returnPressed.connect(self.new_again.setFocus)
        self.new_again.returnPressed.connect(self.change)
        self.change_button.clicked.connect(self.change)

        self.pages.addWidget(credentials)
        self.pages.addWidget(change)
        self.message = QLabel("")
        self.message.setObjectName("loginMessage")
        self.message.setWordWrap(True)
        layout = QVBoxLayout(self)
        layout.addWidget(self.pages)
        layout.addWidget(self.message)

    # ------------------------------------------------------------------ state

    @property
    def changing_password(self) -> bool:
        return self.pages.currentIndex() == 1

    def focus(self) -> None:
        target = self.new_password if self.changing_password else self.password if self.user.text() else self.user
        target.setFocus()

    def reset(self, username: str = "") -> None:
        """Back to an empty sign-in (an abandoned password change closes its store)."""
        self.abandon()
        self.user.setText(username)
        self.password.clear()
        self._say("")
        self.focus()

    def abandon(self) -> None:
        """Give up a pending password change: the new user's store is closed on the worker."""
        store, self._store, self._current = self._store, None, None
        self.new_password.clear()
        self.new_again.clear()
        self.pages.setCurrentIndex(0)
        if store is not None:
            self.worker.submit(store.close)

    def _set_busy(self, busy: bool, text: str = "") -> None:
        self._busy = busy
        for widget in (self.user, self.password, self.button, self.new_password, self.new_again, self.change_button):
            widget.setEnabled(not busy)
        if busy:
            self._say(text)

    def _say(self, text: str, refusal: bool = False) -> None:
        self.message.setText(text)
        self.message.setStyleSheet(f"color: {ERROR_COLOUR}" if refusal else "")
        self.message.setAccessibleDescription(text)

    def _refuse(self, text: str) -> None:
        self._say(text, refusal=True)
        self.sig_refused.emit(text)

    # ------------------------------------------------------------------ signing in

    def sign_in(self) -> None:
        if self._busy or self.changing_password:
            return
        user = self.user.text().strip().lower()
        password = self.password.text()
        self.password.clear()
        if not user or not password:
            self._refuse(_t("empty", self.language))
            self.focus()
            return
        self.user.setText(user)
        self._set_busy(True, _t("busy", self.language))
        directory, study = self.directory, self.study
        self.worker.submit(
            lambda: open_store(directory, user, password, study),
            lambda store: self._opened(store, password),
            self._sign_in_refused,
        )

    def _opened(self, store: Store, password: str) -> None:
        self._set_busy(False)
        if store.must_change_password:
            self._store, self._current = store, password
            self.change_intro.setText(_t("change_intro", self.language).format(user=store.actor.username))
            self._say("")
            self.pages.setCurrentIndex(1)
            self.new_password.setFocus()
            return
        self._say("")
        self.sig_logged_in.emit(store)

    def _sign_in_refused(self, message: str) -> None:
        self._set_busy(False)
        self._refuse(refusal_text(message, self.language))
        self.password.setFocus()

    # ------------------------------------------------------------------ a new user's own password

    def change(self) -> None:
        if self._busy or self._store is None or self._current is None:
            return
        new, again = self.new_password.text(), self.new_again.text()
        self.new_password.clear()
        self.new_again.clear()
        if not new or not again:
            self._refuse(_t("new_empty", self.language))
            self.new_password.setFocus()
            return
        if new != again:
            self._refuse(_t("mismatch", self.language))
            self.new_password.setFocus()
            return
        store, current = self._store, self._current
        self._set_busy(True, _t("changing", self.language))
        self.worker.submit(lambda: store.change_password(current, new), self._changed, self._change_refused)

    def _changed(self, _: Any) -> None:
        store, self._store, self._current = self._store, None, None
        self._set_busy(False)
        self._say("")
        self.pages.setCurrentIndex(0)
        if store is not None:
            self.sig_logged_in.emit(store)

    def _change_refused(self, message: str) -> None:
        self._set_busy(False)
        self._refuse(refusal_text(message, self.language))
        self.new_password.setFocus()

    def _on_bug(self, _: str) -> None:
        if self._busy:  # the job died: let the user try again rather than wait forever
            self._set_busy(False)
            self._refuse(_t("bug", self.language))


class LoginDialog(QDialog):
    sig_logged_in = Signal(object)
    """The open `Store` of the user who signed in; the dialog accepts right after."""

    def __init__(
        self,
        directory: Path,
        worker: StoreWorker,
        study: StudyDefinition | None = None,
        language: str = "en",
        username: str = "",
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.setObjectName("loginDialog")
        self.setWindowTitle(_t("title", language))
        self.panel = LoginPanel(directory, worker, study, language, username, self)
        layout = QVBoxLayout(self)
        layout.addWidget(self.panel)
        self.panel.sig_logged_in.connect(self._logged_in)
        self.panel.focus()

    def _logged_in(self, store: Store) -> None:
        self.sig_logged_in.emit(store)
        self.accept()

    def reject(self) -> None:
        self.panel.abandon()
        super().reject()
