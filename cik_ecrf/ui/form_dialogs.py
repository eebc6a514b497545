"""The questions a form page asks (tests answer them through the page's callbacks instead)."""

from __future__ import annotations

from PySide6.QtCore import QT_TRANSLATE_NOOP
from PySide6.QtWidgets import QInputDialog, QMessageBox, QWidget

from .texts import translator

CONTEXT = "FormDialogs"
TEXTS = {
    "reason": QT_TRANSLATE_NOOP("FormDialogs", "This form is complete. Reason for the change:"),
    "confirm": QT_TRANSLATE_NOOP("FormDialogs", "Confirm these values outside the expected range?"),
    "leave_title": QT_TRANSLATE_NOOP("FormDialogs", "Unsaved changes"),
    "leave": QT_TRANSLATE_NOOP(
        "FormDialogs", "This form has changes that are not saved. Save them before leaving, or discard them?"
    ),
    "save": QT_TRANSLATE_NOOP("FormDialogs", "Save"),
    "discard": QT_TRANSLATE_NOOP("FormDialogs", "Discard changes"),
    "cancel": QT_TRANSLATE_NOOP("FormDialogs", "Stay on the form"),
    "unsign_title": QT_TRANSLATE_NOOP("FormDialogs", "Signed data"),
    "unsign_one": QT_TRANSLATE_NOOP(
        "FormDialogs", "This form is signed. Saving a change clears its signature; it must be signed again. Continue?"
    ),
    "unsign_many": QT_TRANSLATE_NOOP(
        "FormDialogs",
        "This form is covered by a signature on {n} forms. Saving a change clears that signature on all {n}; "
        "they must be signed again. Continue?",
    ),
}
_t = translator(CONTEXT, TEXTS)


def ask_reason_dialog(parent: QWidget, language: str) -> str | None:
    """The reason typed (possibly empty: the page says why that is refused), or None when cancelled."""
    text, ok = QInputDialog.getText(parent, _t("reason", language), _t("reason", language))
    return text.strip() if ok else None


def confirm_dialog(parent: QWidget, lines: list[str], language: str) -> bool:
    answer = QMessageBox.question(parent, _t("confirm", language), _t("confirm", language) + "\n\n" + "\n".join(lines))
    return answer == QMessageBox.StandardButton.Yes


def ask_leave_dialog(parent: QWidget, language: str) -> str:
    """ "save", "discard" or "cancel"."""
    box = QMessageBox(parent)
    box.setObjectName("leaveQuestion")
    box.setIcon(QMessageBox.Icon.Warning)
    box.setWindowTitle(_t("leave_title", language))
    box.setText(_t("leave", language))
    save = box.addButton(_t("save", language), QMessageBox.ButtonRole.AcceptRole)
    discard = box.addButton(_t("discard", language), QMessageBox.ButtonRole.DestructiveRole)
    cancel = box.addButton(_t("cancel", language), QMessageBox.ButtonRole.RejectRole)
    box.setDefaultButton(save)
    box.setEscapeButton(cancel)
    box.exec()
    return {save: "save", discard: "discard"}.get(box.clickedButton(), "cancel")


def confirm_unsign_dialog(parent: QWidget, forms: int, language: str) -> bool:
    text = _t("unsign_one", language) if forms <= 1 else _t("unsign_many", language).format(n=forms)
    answer = QMessageBox.warning(
        parent,
        _t("unsign_title", language),
        text,
        QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.Cancel,
        QMessageBox.StandardButton.Cancel,
    )
    return answer == QMessageBox.StandardButton.Yes


def show_history_dialog(parent: QWidget, title: str, lines: list[str]) -> None:
    box = QMessageBox(QMessageBox.Icon.Information, title, "\n".join(lines), QMessageBox.StandardButton.Close, parent)
    box.setObjectName("fieldHistory")
    box.open()
