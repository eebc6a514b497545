"""The audit history of a form's fields, on the form page: the History button, Ctrl+H and a right-click
open the trail of the field with the cursor. The trail is read on the worker (the UI thread never
touches the store) and shown in a dialog, or handed to a caller (tests, the monitoring thread)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from PySide6.QtCore import QT_TRANSLATE_NOOP, QPoint, Qt
from PySide6.QtWidgets import QApplication, QMenu, QPushButton

from ..store.api import Store
from .field_history import history_lines
from .form_dialogs import show_history_dialog
from .form_view import FormView
from .texts import translator
from .worker import StoreWorker

# The context stays "FormPage": these texts were the page's, and their Chinese is kept under it.
TEXTS = {
    "history": QT_TRANSLATE_NOOP("FormPage", "History"),
    "history_button": QT_TRANSLATE_NOOP("FormPage", "History (Ctrl+H)"),
    "history_tip": QT_TRANSLATE_NOOP("FormPage", "The audit history of the field with the cursor"),
    "no_history": QT_TRANSLATE_NOOP("FormPage", "No changes recorded yet."),
}
_t = translator("FormPage", TEXTS)


class FieldHistory:
    """Mixed into `FormPage` (a QWidget, the parent of the menu and dialog), which holds what it reads."""

    view: FormView | None
    language: str
    monitoring: Any
    store: Store
    subject: str
    instance: str | None
    worker: StoreWorker
    history_button: QPushButton
    _show_refusal: Callable[[str], None]

    def _add_history_button(self, language: str) -> QPushButton:
        self.history_button = QPushButton(_t("history_button", language))
        self.history_button.setObjectName("history")
        self.history_button.setToolTip(_t("history_tip", language))
        self.history_button.setFocusPolicy(Qt.FocusPolicy.NoFocus)  # the cursor stays in the field it asks about
        self.history_button.clicked.connect(self.history_of_focused)
        return self.history_button

    def _name_history_button(self, language: str) -> None:
        self.history_button.setText(_t("history_button", language))
        self.history_button.setToolTip(_t("history_tip", language))

    def _offer_history(self, view: FormView) -> None:
        """A right-click on any field opens its history (and the monitoring actions)."""
        for field_id, widget in view.widgets.items():
            widget.setContextMenuPolicy(Qt.ContextMenuPolicy.CustomContextMenu)
            widget.customContextMenuRequested.connect(lambda pos, fid=field_id: self._context_menu(fid, pos))

    def _context_menu(self, field_id: str, pos: QPoint) -> None:
        assert self.view is not None
        menu = QMenu(self)  # type: ignore[call-overload]
        action = menu.addAction(_t("history", self.language))
        action.triggered.connect(lambda: self.show_history(field_id))
        self.monitoring.extend_menu(menu, field_id)
        menu.popup(self.view.widgets[field_id].mapToGlobal(pos))

    def focused_field(self) -> str | None:
        if self.view is None:
            return None
        focus = QApplication.focusWidget()
        for field_id, widget in self.view.widgets.items():
            if focus is not None and (focus is widget or widget.isAncestorOf(focus)):
                return field_id
        return None

    def history_of_focused(self) -> None:
        field_id = self.focused_field() or (next(iter(self.view.widgets)) if self.view else None)
        if field_id is not None:
            self.show_history(field_id)

    def history_lines(self, field_id: str) -> list[str]:
        """Runs on the worker: the field's audit events, oldest first, as lines a person reads."""
        assert self.view is not None
        view, language = self.view, self.language
        spec = view.form.fields[field_id]
        return history_lines(
            self.store.audit_events(self.subject),
            field_id,
            self.instance,
            lambda value: view.value_text(spec, value),
            language,
        )

    def show_history(self, field_id: str, on_ready: Callable[[list[str]], None] | None = None) -> None:
        def present(lines: list[str]) -> None:
            if on_ready is not None:
                on_ready(lines)
                return
            label = self.view._label(field_id) if self.view else field_id
            title = f"{_t('history', self.language)}: {label}"
            show_history_dialog(self, title, lines or [_t("no_history", self.language)])  # type: ignore[arg-type]

        self.worker.submit(lambda: self.history_lines(field_id), present, self._show_refusal)
