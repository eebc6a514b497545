"""A form instance on its own study version, on the form page: the definitions it is drawn, checked and
printed with, the mark saying a newer version exists, and "Move to the newest version…".

An instance keeps the version it was entered under after a protocol amendment (new instances take the
newest). The page asks this helper for the rules of the instance's own version, read on the worker in
the page's own load job (`prefetch`), so the UI thread never touches the database. Moving an instance
runs `store.amendments.upgrade` on the worker, with the reason typed in the dialog; afterwards the page
reloads under the new version and the mark names the newly required fields that are still empty.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from PySide6.QtCore import QT_TRANSLATE_NOOP, QObject, Qt, Signal
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QHBoxLayout,
    QLabel,
    QPlainTextEdit,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from ..core.roles import ENTRY_ROLES
from ..definitions.spec import StudyDefinition
from ..rules import RulesEngine
from ..store.study_versions import Upgraded, rules_for
from .texts import translator

if TYPE_CHECKING:
    from .form_page import FormPage

CONTEXT = "FormUpgrade"
TEXTS = {
    "behind": QT_TRANSLATE_NOOP("FormUpgrade", "Form version {own} — newer version {newest} available"),
    "retired": QT_TRANSLATE_NOOP(
        "FormUpgrade", "Form version {own} — this form is retired in the newest study version; it stays on {own}"
    ),
    "upgrade": QT_TRANSLATE_NOOP("FormUpgrade", "Move to the newest version…"),
    "upgrade_tip": QT_TRANSLATE_NOOP(
        "FormUpgrade", "Move this form to the newest version of its definitions, with a reason (audited)"
    ),
    "not_allowed": QT_TRANSLATE_NOOP("FormUpgrade", "Only investigators and nurses move a form to a new version."),
    "unsaved": QT_TRANSLATE_NOOP(
        "FormUpgrade", "Save or discard the changes on this form before moving it to a new version."
    ),
    "title": QT_TRANSLATE_NOOP("FormUpgrade", "Move to the newest version"),
    "explain": QT_TRANSLATE_NOOP(
        "FormUpgrade",
        "Move this form from version {own} to version {newest}. Its values are carried over by the published "
        "mapping; fields version {newest} no longer has leave the form (their values stay in the audit trail). "
        "A signed form loses its signature. Reason for the move (required):",
    ),
    "move": QT_TRANSLATE_NOOP("FormUpgrade", "Move"),
    "cancel": QT_TRANSLATE_NOOP("FormUpgrade", "Cancel"),
    "moving": QT_TRANSLATE_NOOP("FormUpgrade", "Moving the form to version {newest}…"),
    "moved": QT_TRANSLATE_NOOP("FormUpgrade", "Moved from version {old} to {new}."),
    "missing": QT_TRANSLATE_NOOP("FormUpgrade", "Newly required and still empty: {fields}"),
    "dropped": QT_TRANSLATE_NOOP("FormUpgrade", "No longer on the form: {fields}"),
}
_t = translator(CONTEXT, TEXTS)


class UpgradeDialog(QDialog):
    """Asks for the reason (required: Move stays disabled while it is blank)."""

    def __init__(self, parent: QWidget, own: str, newest: str, language: str) -> None:
        super().__init__(parent)
        self.setObjectName("upgradeDialog")
        self.setWindowTitle(_t("title", language))
        self.setMinimumWidth(520)
        layout = QVBoxLayout(self)
        text = QLabel(_t("explain", language).format(own=own, newest=newest))
        text.setObjectName("upgradeExplain")
        text.setWordWrap(True)
        layout.addWidget(text)
        self.reason = QPlainTextEdit()
        self.reason.setObjectName("upgradeReason")
        self.reason.setTabChangesFocus(True)
        self.reason.setFixedHeight(80)
        layout.addWidget(self.reason)
        self.buttons = QDialogButtonBox()
        self.move_button = self.buttons.addButton(_t("move", language), QDialogButtonBox.ButtonRole.AcceptRole)
        self.move_button.setObjectName("upgradeMove")
        self.move_button.setEnabled(False)
        cancel = self.buttons.addButton(_t("cancel", language), QDialogButtonBox.ButtonRole.RejectRole)
        cancel.setObjectName("upgradeCancel")
        self.buttons.accepted.connect(self.accept)
        self.buttons.rejected.connect(self.reject)
        self.reason.textChanged.connect(lambda: self.move_button.setEnabled(bool(self.text())))
        layout.addWidget(self.buttons)
        self.reason.setFocus()

    def text(self) -> str:
        return self.reason.toPlainText().strip()


class FormUpgrade(QObject):
    sig_upgraded = Signal(object)
    """The store's `Upgraded` after a move went through (the page then reloads under the new version)."""

    def __init__(self, page: FormPage) -> None:
        super().__init__(page)
        self.page = page
        self.language = page.language
        self.study: StudyDefinition | None = None  # the shown instance's own version (None: the newest)
        self._prefetched: StudyDefinition | None = None
        self._after = ""  # what the last move did, kept on the mark after the reload
        self.dialog: UpgradeDialog | None = None
        self.bar = QWidget()
        self.bar.setObjectName("versionBar")
        row = QHBoxLayout(self.bar)
        row.setContentsMargins(0, 0, 0, 0)
        self.mark = QLabel("")
        self.mark.setObjectName("versionInfo")
        self.mark.setWordWrap(True)
        self.mark.setTextFormat(Qt.TextFormat.PlainText)
        self.mark.setStyleSheet("color: #0b57d0")
        row.addWidget(self.mark, 1)
        self.button = QPushButton(_t("upgrade", self.language))
        self.button.setObjectName("upgradeVersion")
        self.button.setToolTip(_t("upgrade_tip", self.language))
        self.button.clicked.connect(self.ask)
        row.addWidget(self.button)
        self.bar.setVisible(False)

    # ------------------------------------------------------------------ the instance's definitions

    def prefetch(self, instance: str | None) -> None:
        """Worker side, inside the page's own load: the instance's version (a new form takes the newest)."""
        store = self.page.store
        self._prefetched = store.amendments.study_for_instance(instance) if instance else None

    def take(self) -> None:
        """UI side, once the load is delivered (the job's outcome orders it after `prefetch`)."""
        self.study, self._prefetched = self._prefetched, None

    def rules(self) -> RulesEngine:
        """The rules the page draws and checks the form with: its own version's, or the newest."""
        store = self.page.store
        if self.study is None or self.study is store.study:
            return store.rules
        return rules_for(self.study)

    # ------------------------------------------------------------------ the mark and the action

    def versions(self) -> tuple[str | None, str | None]:
        """(this instance's form version, the newest's; None when the newest has no such form)."""
        view = self.page.view
        if view is None or self.page.instance is None:
            return None, None
        newest = self.page.store.study.forms.get(self.page.form)
        return view.form.version, (newest.version if newest is not None else None)

    def show(self) -> None:
        own, newest = self.versions()
        lines = [self._after] if self._after else []
        behind = own is not None and newest is not None and own != newest
        if own is not None and newest is None:
            lines.insert(0, _t("retired", self.language).format(own=own))
        elif behind:
            lines.insert(0, _t("behind", self.language).format(own=own, newest=newest))
        self.mark.setText("\n".join(lines))
        may = self.page.store.actor.role in ENTRY_ROLES
        self.button.setVisible(behind)
        self.button.setEnabled(may and not self.page.monitoring.locked)
        self.button.setToolTip(_t("upgrade_tip" if may else "not_allowed", self.language))
        self.bar.setVisible(bool(lines))

    def ask(self) -> UpgradeDialog | None:
        """Open the reason dialog (not modal-blocking: its accepted signal runs the move)."""
        own, newest = self.versions()
        if own is None or newest is None or own == newest:
            return None
        if self.page.has_unsaved_changes():
            self.page._say(_t("unsaved", self.language), error=True)
            return None
        self.dialog = UpgradeDialog(self.page, own, newest, self.language)
        self.dialog.accepted.connect(lambda d=self.dialog: self.move(d.text()))
        self.dialog.setWindowModality(Qt.WindowModality.WindowModal)
        self.dialog.open()
        return self.dialog

    def move(self, reason: str) -> None:
        """Run the move on the worker; a refusal (locked, a value the new version refuses) shows on the page."""
        instance, newest = self.page.instance, self.versions()[1]
        if instance is None or not reason.strip():
            return
        store = self.page.store
        self.button.setEnabled(False)
        self.page._say(_t("moving", self.language).format(newest=newest))
        self.page.worker.submit(lambda: store.amendments.upgrade(instance, reason), self._moved, self._refused)

    def _moved(self, result: Upgraded) -> None:
        form = self.page.store.study.forms.get(self.page.form)

        def labels(ids: tuple[str, ...]) -> str:
            return ", ".join(
                form.fields[f].definition.label.get(self.language) if form is not None and f in form.fields else f
                for f in ids
            )

        parts = [_t("moved", self.language).format(old=result.from_version, new=result.to_version)]
        if result.missing_required:
            parts.append(_t("missing", self.language).format(fields=labels(result.missing_required)))
        if result.dropped:
            parts.append(_t("dropped", self.language).format(fields=", ".join(result.dropped)))
        self._after = " ".join(parts)
        self.page._message = parts[0]  # the details stay on the mark
        self.page.worker.submit(self.page._load, self.page._loaded, self.page._show_refusal)
        self.sig_upgraded.emit(result)

    def _refused(self, text: str) -> None:
        self.button.setEnabled(True)
        self.page._show_refusal(text)

    def set_language(self, language: str) -> None:
        self.language = language
        self.button.setText(_t("upgrade", language))
        self.show()


def attach(page: Any) -> FormUpgrade:
    """The page's version mark and move action, placed just under the page's top row."""
    upgrade = FormUpgrade(page)
    page.layout_.insertWidget(1, upgrade.bar)
    return upgrade
