"""A case report form rendered from its JSON definition, validated as the nurse types.

Every keystroke goes to the rules engine's incremental path (`FormSession.set_value`), and the
returned `Delta` updates only the fields whose visibility, requiredness, derived value or messages
moved. The rules are in-memory and take well under a millisecond, so this runs on the UI thread;
saving (database work) is requested by signal and done elsewhere.
"""

from __future__ import annotations

import json
from typing import Any

from PySide6.QtCore import QT_TRANSLATE_NOOP, QEvent, QObject, Qt, Signal
from PySide6.QtGui import QColor, QKeyEvent, QPalette
from PySide6.QtWidgets import (
    QAbstractItemView,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QScrollArea,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from ..rules import Clock, Delta, FormSession, Issue, RulesEngine, SubjectData
from ..rules.jsonvalues import to_json
from .fields import FieldWidget, make_field_widget
from .texts import translator

COLOURS = {"error": "#b00020", "warning": "#8a5a00", "info": "#1f5fa8"}
CONTEXT = "FormView"
TEXTS = {
    "required": QT_TRANSLATE_NOOP("FormView", "Required"),
    "draft": QT_TRANSLATE_NOOP("FormView", "Save draft"),
    "complete": QT_TRANSLATE_NOOP("FormView", "Mark complete"),
    "missing": QT_TRANSLATE_NOOP("FormView", "Cannot complete: fill in"),
    "errors": QT_TRANSLATE_NOOP("FormView", "Cannot complete: correct"),
    "criterion": QT_TRANSLATE_NOOP("FormView", "Criterion"),
    "outcome": QT_TRANSLATE_NOOP("FormView", "Outcome"),
    "sources": QT_TRANSLATE_NOOP("FormView", "Source values"),
    "met": QT_TRANSLATE_NOOP("FormView", "met"),
    "not met": QT_TRANSLATE_NOOP("FormView", "not met"),
    "present": QT_TRANSLATE_NOOP("FormView", "present"),
    "absent": QT_TRANSLATE_NOOP("FormView", "absent"),
    "not evaluable": QT_TRANSLATE_NOOP("FormView", "not evaluable"),
}


def _shown(value: Any) -> str:
    return "—" if value is None else json.dumps(to_json(value), ensure_ascii=False)


_t = translator(CONTEXT, TEXTS)


class FormView(QWidget):
    sig_save_requested = Signal(dict, bool)
    """The values to save and whether as a draft; emitted by "Save draft" and an accepted "Mark complete"."""

    sig_completion_refused = Signal(list)
    """The lines saying why "Mark complete" was refused (errors, unfilled required fields)."""

    def __init__(
        self,
        engine: RulesEngine,
        form_id: str,
        visit_id: str,
        values: dict[str, Any] | None = None,
        subject: SubjectData | None = None,
        clock: Clock | None = None,
        language: str = "en",
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.language = language
        self.session = FormSession(
            engine, form_id, visit_id, values or {}, subject or SubjectData(), clock or Clock.system()
        )
        self.form = self.session.form
        self.setObjectName(f"form_{form_id}")
        self.widgets: dict[str, FieldWidget] = {}
        self.labels: dict[str, QLabel] = {}
        self.messages: dict[str, QLabel] = {}
        self.rows: dict[str, tuple[QLabel, QWidget]] = {}
        self._shown_criteria: object = None
        self._palettes = {severity: self._palette(colour) for severity, colour in COLOURS.items()}
        self._build(values or {})
        self._apply_all()

    # ------------------------------------------------------------------ building

    def _palette(self, colour: str) -> QPalette:
        palette = QPalette(self.palette())
        palette.setColor(QPalette.ColorRole.WindowText, QColor(colour))
        return palette

    def _build(self, values: dict[str, Any]) -> None:
        outer = QVBoxLayout(self)
        title = QLabel(f"<b>{self.form.definition.title.get(self.language)}</b>  v{self.form.version}")
        title.setObjectName("formTitle")
        outer.addWidget(title)
        body = QWidget()
        layout = QFormLayout(body)
        layout.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.AllNonFixedFieldsGrow)
        for field_id, spec in self.form.fields.items():
            widget = make_field_widget(spec, self.language)
            if field_id in values:
                widget.set_raw(values[field_id])
            widget.edited.connect(lambda raw, fid=field_id: self.on_edited(fid, raw))
            widget.focus_target().installEventFilter(self)
            label = QLabel(spec.definition.label.get(self.language))
            label.setTextFormat(Qt.TextFormat.PlainText)  # rich text costs a QTextDocument per label
            label.setObjectName(f"{field_id}_label")
            label.setBuddy(widget.focus_target())
            if spec.definition.help:
                label.setToolTip(spec.definition.help.get(self.language))
            message = QLabel("")
            message.setObjectName(f"{field_id}_message")
            message.setTextFormat(Qt.TextFormat.PlainText)
            message.setWordWrap(True)
            message.setVisible(False)
            # The message gets its own row under the field rather than a wrapper widget around both: one
            # widget and layout fewer per field is most of what the renderer costs over a hand-built form.
            layout.addRow(label, widget)
            layout.setWidget(layout.rowCount(), QFormLayout.ItemRole.FieldRole, message)
            self.widgets[field_id], self.labels[field_id], self.messages[field_id] = widget, label, message
            self.rows[field_id] = (label, widget)
        scroll = QScrollArea()
        scroll.setWidgetResizable(True)
        scroll.setWidget(body)
        outer.addWidget(scroll, 1)
        self.criteria_table: QTableWidget | None = None
        if self.form.criteria:
            self.criteria_table = self._criteria_table()
            outer.addWidget(self.criteria_table, 1)
        buttons = QHBoxLayout()
        buttons.addStretch(1)
        draft = QPushButton(_t("draft", self.language))
        draft.setObjectName("saveDraft")
        draft.clicked.connect(lambda: self.sig_save_requested.emit(self.values(), True))
        complete = QPushButton(_t("complete", self.language))
        complete.setObjectName("markComplete")
        complete.clicked.connect(self.request_complete)
        buttons.addWidget(draft)
        buttons.addWidget(complete)
        outer.addLayout(buttons)
        self.summary = QLabel("")
        self.summary.setObjectName("completionSummary")
        self.summary.setWordWrap(True)
        outer.addWidget(self.summary)
        focusable = [self.widgets[f].focus_target() for f in self.form.fields if not self.form.fields[f].read_only]
        for first, second in zip(focusable, focusable[1:]):
            QWidget.setTabOrder(first, second)

    def _criteria_table(self) -> QTableWidget:
        """Each eligibility criterion, its outcome and the source values it read (read-only)."""
        table = QTableWidget(len(self.form.criteria), 3)
        table.setObjectName("eligibilityCriteria")
        table.setHorizontalHeaderLabels([_t(k, self.language) for k in ("criterion", "outcome", "sources")])
        table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        table.horizontalHeader().setStretchLastSection(True)
        table.verticalHeader().setVisible(False)
        table.setColumnWidth(0, 340)
        table.setColumnWidth(1, 110)
        for row, criterion in enumerate(self.form.criteria):
            item = QTableWidgetItem(f"{criterion.id} {criterion.definition.label.get(self.language)}")
            item.setToolTip(criterion.definition.rule)
            table.setItem(row, 0, item)
        return table

    def _show_criteria(self) -> None:
        result = self.session.criteria
        if self.criteria_table is None or result is None or result is self._shown_criteria:
            return
        self._shown_criteria = result
        for row, criterion in enumerate(result.criteria):
            outcome = QTableWidgetItem(_t(criterion.outcome, self.language))
            outcome.setData(Qt.ItemDataRole.UserRole, criterion.outcome)
            colour = {"met": "#1b7a3a", "absent": "#1b7a3a", "not met": "#b00020", "present": "#b00020"}.get(
                criterion.outcome, "#8a5a00"
            )
            outcome.setForeground(QColor(colour))
            self.criteria_table.setItem(row, 1, outcome)
            sources = ", ".join(f"{name}={_shown(value)}" for name, value in criterion.values.items())
            self.criteria_table.setItem(row, 2, QTableWidgetItem(sources))

    # ------------------------------------------------------------------ reacting

    def on_edited(self, field_id: str, raw: Any) -> None:
        self.apply(self.session.set_value(field_id, raw))

    def apply(self, delta: Delta) -> None:
        for field_id, value in delta.values.items():
            if self.form.fields[field_id].read_only:
                self.widgets[field_id].set_raw(value)
        for field_id, shown in delta.visible.items():
            self._show(field_id, shown)
        for field_id in delta.required:
            self._mark_required(field_id)
        for field_id, issues in delta.issues.items():
            self._show_issues(field_id, issues)
        self._show_criteria()

    def _apply_all(self) -> None:
        for field_id in self.form.fields:
            if self.form.fields[field_id].read_only:
                self.widgets[field_id].set_raw(self.session.local.get(field_id))
            self._show(field_id, self.session.visible[field_id])
            self._mark_required(field_id)
            self._show_issues(field_id, self.session.issues_for(field_id))
        self._show_criteria()

    def _show(self, field_id: str, shown: bool) -> None:
        label, widget = self.rows[field_id]
        label.setVisible(shown)
        widget.setVisible(shown)
        message = self.messages[field_id]
        message.setVisible(shown and bool(message.text()))

    def _mark_required(self, field_id: str) -> None:
        spec = self.form.fields[field_id]
        text = spec.definition.label.get(self.language)
        required = self.session.required.get(field_id) and self.session.visible[field_id]
        self.labels[field_id].setText(f"{text} *" if required else text)
        self.labels[field_id].setAccessibleDescription(_t("required", self.language) if required else "")

    def _show_issues(self, field_id: str, issues: tuple[Issue, ...]) -> None:
        label = self.messages[field_id]
        if not issues:
            label.setVisible(False)
            label.setText("")
            return
        worst = (
            "error"
            if any(i.severity == "error" for i in issues)
            else "warning"
            if any(i.severity == "warning" for i in issues)
            else "info"
        )
        lines = [f"{'⚠ ' if i.severity != 'info' else ''}{i.message.get(self.language)}" for i in issues]
        label.setText("\n".join(lines))
        if label.property("severity") != worst:
            label.setPalette(self._palettes[worst])  # a palette, not a style sheet: no re-polish on every keystroke
            label.setProperty("severity", worst)
        label.setVisible(bool(self.session.visible[field_id]))

    # ------------------------------------------------------------------ completion

    def values(self) -> dict[str, Any]:
        """What the nurse entered, as the store takes it (derived and server fields left out)."""
        out: dict[str, Any] = {}
        for field_id, widget in self.widgets.items():
            if self.form.fields[field_id].read_only:
                continue
            raw = widget.raw()
            if raw not in (None, "", []):
                out[field_id] = raw
        return out

    def completion_problems(self) -> list[str]:
        evaluation = self.session.snapshot()
        lines = [f"{self._label(i.field)}: {i.message.get(self.language)}" for i in evaluation.errors]
        lines += [f"{_t('missing', self.language)} {self._label(m.split('[')[0])}" for m in evaluation.missing_required]
        return lines

    def _label(self, field_id: str) -> str:
        spec = self.form.fields.get(field_id)
        return spec.definition.label.get(self.language) if spec else field_id

    def request_complete(self) -> None:
        problems = self.completion_problems()
        if problems:
            self.summary.setText("\n".join(problems))
            self.summary.setStyleSheet(f"color: {COLOURS['error']}")
            self.sig_completion_refused.emit(problems)
            first = next(
                (
                    f
                    for f in self.form.fields
                    if self.messages[f].isVisible() or f in self.session.snapshot().missing_required
                ),
                None,
            )
            if first:
                self.widgets[first].focus_target().setFocus()
            return
        self.summary.setText("")
        self.sig_save_requested.emit(self.values(), False)

    # ------------------------------------------------------------------ keyboard

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        """Enter moves to the next field, as on a paper form."""
        if (
            event.type() == QEvent.Type.KeyPress
            and isinstance(event, QKeyEvent)
            and event.key() in (Qt.Key.Key_Return, Qt.Key.Key_Enter)
        ):
            if isinstance(watched, QWidget) and not watched.inherits("QTableWidget"):
                self.focusNextChild()
                return True
        return super().eventFilter(watched, event)
