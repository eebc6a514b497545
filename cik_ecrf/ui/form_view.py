"""A case report form rendered from its JSON definition, validated as the nurse types.

Every keystroke goes to the rules engine's incremental path (`FormSession.set_value`), and the
returned `Delta` updates only the fields whose visibility, requiredness, derived value or messages
moved. The rules are in-memory and take well under a millisecond, so this runs on the UI thread;
saving (database work) is requested by signal and done elsewhere.

Each field's message line is reserved even while empty, so a message appearing never pushes the
fields below it (and the one under the pointer) down. Tab, Shift+Tab and Enter move field by field
in the form's order; a radio group is one stop (arrow keys choose within it).
"""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import QT_TRANSLATE_NOOP, QEvent, QObject, Qt, Signal
from PySide6.QtGui import QColor, QKeyEvent, QPalette, QResizeEvent
from PySide6.QtWidgets import (
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QScrollArea,
    QVBoxLayout,
    QWidget,
)

from ..definitions.server_forms import server_set
from ..rules import Clock, Delta, FormSession, Issue, RulesEngine, SubjectData
from ..rules.cross import dependents_of, issues_elsewhere
from .criteria_table import CriteriaTable, value_text
from .fields import DerivedField, FieldWidget, make_field_widget
from .group_table import GroupField
from .messages import COLOURS, Problem, ProblemList, issue_text, missing_text, worst
from .texts import translator

CONTEXT = "FormView"
TEXTS = {
    "required": QT_TRANSLATE_NOOP("FormView", "Required"),
    "draft": QT_TRANSLATE_NOOP("FormView", "Save draft"),
    "complete": QT_TRANSLATE_NOOP("FormView", "Mark complete"),
    "missing": QT_TRANSLATE_NOOP("FormView", "Cannot complete: fill in"),
    "errors": QT_TRANSLATE_NOOP("FormView", "Cannot complete: correct"),
    "cannot": QT_TRANSLATE_NOOP("FormView", "Cannot complete yet — click a line to go to the field:"),
    "investigator_only": QT_TRANSLATE_NOOP(
        "FormView", "Only an investigator can give this confirmation; it is shown read-only to you."
    ),
    "draft_tip": QT_TRANSLATE_NOOP("FormView", "Save what is entered so far (Ctrl+S)"),
    "complete_tip": QT_TRANSLATE_NOOP("FormView", "Check every field and mark the form complete (Ctrl+Enter)"),
}
INVESTIGATOR_ONLY = {"eligibility": frozenset({"IECONF"})}
"""Fields only an investigator may set: the investigator's own confirmation of the eligibility assessment."""


_t = translator(CONTEXT, TEXTS)


class FormView(QWidget):
    sig_save_requested = Signal(dict, bool)
    """The values to save and whether as a draft; emitted by "Save draft" and an accepted "Mark complete"."""

    sig_completion_refused = Signal(list)
    """The lines saying why "Mark complete" was refused (errors, unfilled required fields)."""

    sig_edited = Signal(str)
    """The id of a field the user just changed (the page marks the form as having unsaved changes)."""

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
        role: str | None = None,
        confirmed: frozenset[str] = frozenset(),
    ) -> None:
        super().__init__(parent)
        self.language = language
        self.engine, self.visit_id = engine, visit_id
        self.subject = subject or SubjectData()
        self.clock = clock or Clock.system()
        self.session = FormSession(engine, form_id, visit_id, values or {}, self.subject, self.clock)
        self.form = self.session.form
        self.server_set = server_set(self.form)  # randomization: shown, never saved by hand (randomize_panel)
        self.role = role
        self.confirmed = set(confirmed)
        self.setObjectName(f"form_{form_id}")
        self.widgets: dict[str, FieldWidget] = {}
        self.labels: dict[str, QLabel] = {}
        self.messages: dict[str, QLabel] = {}
        self.rows: dict[str, tuple[QLabel, QWidget]] = {}
        self.elsewhere: dict[str, tuple[Issue, ...]] = {}
        self._palettes = {severity: self._palette(colour) for severity, colour in COLOURS.items()}
        self._build(values or {})
        self._apply_all()
        self.baseline = self.entries()

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
        layout.setVerticalSpacing(2)
        layout.setLabelAlignment(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignTop)
        restricted = INVESTIGATOR_ONLY.get(self.form.id, frozenset())
        for field_id, spec in self.form.fields.items():
            widget = make_field_widget(spec, self.language)
            if field_id in values:
                widget.set_raw(values[field_id])
            widget.edited.connect(lambda raw, fid=field_id: self.on_edited(fid, raw))
            for target in widget.focus_chain():
                target.installEventFilter(self)
            if field_id in restricted and self.role is not None and self.role != "investigator":
                widget.set_read_only(True, _t("investigator_only", self.language))
                note = QLabel(_t("investigator_only", self.language))
                note.setObjectName(f"{field_id}_readOnlyReason")
                note.setWordWrap(True)
                note.setStyleSheet("color: #5f6368")
                widget.layout_.insertWidget(max(widget.layout_.count() - 1, 0), note)  # beside it, before the stretch
            label = QLabel(spec.definition.label.get(self.language))
            label.setTextFormat(Qt.TextFormat.PlainText)  # rich text costs a QTextDocument per label
            label.setObjectName(f"{field_id}_label")
            label.setBuddy(widget.focus_target())
            if spec.definition.help:
                label.setToolTip(spec.definition.help.get(self.language))
            message = QLabel("")
            message.setObjectName(f"{field_id}_message")
            message.setTextFormat(Qt.TextFormat.PlainText)
            message.setFixedHeight(message.fontMetrics().height())
            message.setVisible(False)
            # The message line is reserved as a bottom margin of the field while there is no message, and the
            # margin goes as the message row comes: the rows below (and the one under the pointer) never move.
            # An empty label per field would cost a third more to lay out on opening.
            widget.layout_.setContentsMargins(0, 0, 0, message.fontMetrics().height() + layout.verticalSpacing())
            # The message gets its own row under the field rather than a wrapper widget around both: one
            # widget and layout fewer per field is most of what the renderer costs over a hand-built form.
            layout.addRow(label, widget)
            layout.setWidget(layout.rowCount(), QFormLayout.ItemRole.FieldRole, message)
            self.widgets[field_id], self.labels[field_id], self.messages[field_id] = widget, label, message
            self.rows[field_id] = (label, widget)
        self.scroll = QScrollArea()
        self.scroll.setWidgetResizable(True)
        self.scroll.setWidget(body)
        outer.addWidget(self.scroll, 3)
        self.criteria_table: CriteriaTable | None = None
        if self.form.criteria:
            self.criteria_table = CriteriaTable(self.engine.study, self.form, self.language)
            outer.addWidget(self.criteria_table, 2)
        self.summary = QLabel("")
        self.summary.setObjectName("completionSummary")
        self.summary.setWordWrap(True)
        self.summary.setPalette(self._palettes["error"])
        self.summary.setVisible(False)
        outer.addWidget(self.summary)
        self.problems = ProblemList()
        self.problems.sig_field_chosen.connect(self.go_to)
        outer.addWidget(self.problems)
        buttons = QHBoxLayout()
        buttons.addStretch(1)
        self.draft_button = QPushButton(_t("draft", self.language))
        self.draft_button.setObjectName("saveDraft")
        self.draft_button.setToolTip(_t("draft_tip", self.language))
        self.draft_button.clicked.connect(self.request_draft)
        self.complete_button = QPushButton(_t("complete", self.language))
        self.complete_button.setObjectName("markComplete")
        self.complete_button.setToolTip(_t("complete_tip", self.language))
        self.complete_button.clicked.connect(self.request_complete)
        buttons.addWidget(self.draft_button)
        buttons.addWidget(self.complete_button)
        if self.server_set:
            self.draft_button.setVisible(False)
            self.complete_button.setVisible(False)
        for button in (self.draft_button, self.complete_button):
            button.installEventFilter(self)  # Shift+Tab from them goes back into the form's order
        outer.addLayout(buttons)
        chain = [w for f in self.form.fields for w in self.widgets[f].focus_chain()]
        chain += [self.draft_button, self.complete_button]
        for first, second in zip(chain, chain[1:]):
            QWidget.setTabOrder(first, second)

    def value_text(self, spec: Any, value: Any) -> str:
        return value_text(spec, value, self.language)

    def _show_criteria(self) -> None:
        if self.criteria_table is not None:
            self.criteria_table.show_result(self.session.criteria)

    # ------------------------------------------------------------------ reacting

    def on_edited(self, field_id: str, raw: Any) -> None:
        self.apply(self.session.set_value(field_id, raw))
        self.refresh_elsewhere()
        if self.problems.isVisible() or self.summary.isVisible():
            self.show_problems()  # live: the list never goes stale
        self.sig_edited.emit(field_id)

    def apply(self, delta: Delta) -> None:
        for field_id, value in delta.values.items():
            if self.form.fields[field_id].read_only:
                self.widgets[field_id].set_raw(value)
        for field_id, shown in delta.visible.items():
            self._show(field_id, shown)
        for field_id in delta.required:
            self._mark_required(field_id)
        for field_id in delta.issues:
            self._show_issues(field_id)
        self._show_criteria()

    def _apply_all(self) -> None:
        for field_id in self.form.fields:
            if self.form.fields[field_id].read_only:
                self.widgets[field_id].set_raw(self.session.local.get(field_id))
            self._show(field_id, self.session.visible[field_id])
            self._mark_required(field_id)
        self.refresh_elsewhere(show=False)
        for field_id in self.form.fields:
            self._show_issues(field_id)
        self._show_criteria()

    def refresh_elsewhere(self, show: bool = True) -> None:
        """Rules of the subject's other forms that this form's values now break, shown at the fields they read."""
        if not self.elsewhere and not dependents_of(self.engine, self.form.id):
            return  # no other form's rule reads this one: nothing to look for on each keystroke
        found: dict[str, list[Issue]] = {}
        for issue in issues_elsewhere(
            self.engine, self.form.id, self.visit_id, self.values(), self.subject, self.clock
        ):
            found.setdefault(issue.field, []).append(issue)
        now = {f: tuple(v) for f, v in found.items()}
        changed = set(now) | set(self.elsewhere)
        self.elsewhere = now
        for field_id in changed if show else ():
            if field_id in self.messages:
                self._show_issues(field_id)

    def _show(self, field_id: str, shown: bool) -> None:
        label, widget = self.rows[field_id]
        label.setVisible(shown)
        widget.setVisible(shown)
        self._place_message(field_id)

    def resizeEvent(self, event: QResizeEvent) -> None:
        """Messages shown before the form had its width (restored input) get their height for the real one."""
        super().resizeEvent(event)
        for field_id, message in self.messages.items():
            if not message.isHidden():
                self._place_message(field_id)

    def _place_message(self, field_id: str) -> None:
        """The message row while there is text, else the field's reserved bottom margin of the same height."""
        message, widget = self.messages[field_id], self.widgets[field_id]
        showing = bool(message.text()) and bool(self.session.visible[field_id])
        if showing:
            # One line takes exactly the reserved margin; only a longer message adds the lines beyond it.
            lines = message.heightForWidth(max(widget.width(), 200)) if message.wordWrap() else -1
            message.setFixedHeight(max(message.fontMetrics().height(), lines))
        if message.isHidden() != showing:
            return  # already as it should be
        widget.layout_.setContentsMargins(0, 0, 0, 0 if showing else message.fontMetrics().height() + 2)
        widget.updateGeometry()  # the form's layout caches the field's size: tell it the margin moved
        message.setVisible(showing)

    def _mark_required(self, field_id: str) -> None:
        spec = self.form.fields[field_id]
        text = spec.definition.label.get(self.language)
        required = self.session.required.get(field_id) and self.session.visible[field_id] and not self.server_set
        self.labels[field_id].setText(f"{text} *" if required else text)
        self.labels[field_id].setAccessibleDescription(_t("required", self.language) if required else "")

    def field_issues(self, field_id: str) -> tuple[Issue, ...]:
        return self.session.issues_for(field_id) + self.elsewhere.get(field_id, ())

    def _show_issues(self, field_id: str) -> None:
        issues = self.field_issues(field_id)
        label = self.messages[field_id]
        widget = self.widgets[field_id]
        if isinstance(widget, GroupField):
            widget.show_issues(issues, self.session.snapshot().missing_required)
            issues = tuple(i for i in issues if i.row is None)  # row problems are shown in their row
        confirmed = frozenset(self.confirmed)
        lines = [issue_text(i, self.language, f"{i.field}:{i.code}" in confirmed) for i in issues]
        label.setText("\n".join(lines))
        if lines and not label.wordWrap():
            label.setWordWrap(True)  # height-for-width, costly to lay out: only once there is a message
        self._place_message(field_id)
        severity = worst(issues, confirmed) if issues else None
        if severity is not None and label.property("severity") != severity:
            label.setPalette(self._palettes[severity])  # a palette, not a style sheet: no re-polish on every keystroke
            label.setProperty("severity", severity)

    def confirm_warnings(self) -> None:
        """The warnings showing now were confirmed by the user: they say so from here on."""
        for issue in self.session.snapshot().warnings:
            self.confirmed.add(f"{issue.field}:{issue.code}")
        for field_id in self.form.fields:
            self._show_issues(field_id)

    # ------------------------------------------------------------------ what was typed

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

    def entries(self) -> dict[str, Any]:
        """Every field as it is on screen (typed text kept as typed), for `restore` and the unsaved check."""
        return {f: w.entry() for f, w in self.widgets.items() if not self.form.fields[f].read_only}

    def restore(self, entries: dict[str, Any]) -> None:
        """Put back what was on screen (after a change of language or of user); the rules see it as typed."""
        for field_id, entry in entries.items():
            widget = self.widgets.get(field_id)
            if widget is None or self.form.fields[field_id].read_only or widget.entry() == entry:
                continue
            widget.set_entry(entry)
            self.apply(self.session.set_value(field_id, widget.raw()))
        self.refresh_elsewhere()

    def is_dirty(self) -> bool:
        return self.entries() != self.baseline

    def mark_clean(self, entries: dict[str, Any] | None = None) -> None:
        self.baseline = self.entries() if entries is None else entries

    # ------------------------------------------------------------------ completion

    def problem_list(self) -> list[Problem]:
        evaluation = self.session.snapshot()
        problems = [
            Problem(i.field, "error", f"{self._label(i.field)}: {issue_text(i, self.language, symbol=False)}")
            for i in evaluation.errors
        ]
        problems += [
            Problem(i.field, "error", f"{self._label(i.field)}: {issue_text(i, self.language, symbol=False)}")
            for issues in self.elsewhere.values()
            for i in issues
            if i.severity == "error"
        ]
        problems += [
            Problem(m.split("[")[0], "warning", missing_text(self._missing_label(m), self.language))
            for m in evaluation.missing_required
        ]
        return problems

    def completion_problems(self) -> list[str]:
        return [p.text for p in self.problem_list()]

    def show_problems(self) -> list[Problem]:
        problems = self.problem_list()
        self.summary.setText(_t("cannot", self.language))
        self.summary.setVisible(bool(problems))
        self.problems.show_problems(problems)
        return problems

    def _missing_label(self, location: str) -> str:
        """`MOLEC[2].GENE` as "Molecular findings · 2 · Gene / fusion"."""
        field_id, _, rest = location.partition("[")
        if not rest:
            return self._label(field_id)
        row, _, column = rest.partition("].")
        spec = self.form.fields.get(field_id)
        sub = next((c for c in spec.sub_fields if c.id == column), None) if spec else None
        column_label = sub.definition.label.get(self.language) if sub else column
        return f"{self._label(field_id)} · {row} · {column_label}"

    def _label(self, field_id: str) -> str:
        spec = self.form.fields.get(field_id)
        return spec.definition.label.get(self.language) if spec else field_id

    def go_to(self, field_id: str) -> None:
        """Scroll to the field and put the cursor in it."""
        widget = self.widgets.get(field_id)
        if widget is None:
            return
        self.scroll.ensureWidgetVisible(widget)
        widget.focus_target().setFocus(Qt.FocusReason.OtherFocusReason)

    def request_draft(self) -> None:
        if not self.server_set:
            self.sig_save_requested.emit(self.values(), True)

    def request_complete(self) -> None:
        if self.server_set:
            return  # its values come from the server; there is nothing to complete by hand
        problems = self.show_problems()
        if problems:
            self.sig_completion_refused.emit([p.text for p in problems])
            self.go_to(problems[0].field)
            return
        self.sig_save_requested.emit(self.values(), False)

    # ------------------------------------------------------------------ keyboard

    def stops(self) -> list[QWidget]:
        """Where Tab and Enter go, in the form's order: one stop per visible, changeable field widget."""
        out: list[QWidget] = []
        for field_id, widget in self.widgets.items():
            if isinstance(widget, DerivedField) or not widget.isEnabled() or not self.session.visible[field_id]:
                continue
            if isinstance(widget, GroupField):
                out += widget.focus_chain()
            elif widget.focus_chain():
                out += [widget.focus_target()] if self._is_radio(widget) else widget.focus_chain()
        return out if self.server_set else [*out, self.draft_button, self.complete_button]

    @staticmethod
    def _is_radio(widget: FieldWidget) -> bool:
        return bool(getattr(widget, "radios", None))

    def focus_first(self) -> None:
        first = next(iter(self.stops()), None)
        if first is not None and first not in (self.draft_button, self.complete_button):
            first.setFocus(Qt.FocusReason.TabFocusReason)

    def _owner(self, watched: QObject) -> FieldWidget | None:
        return next((w for w in self.widgets.values() if watched in w.focus_chain()), None)

    def move_focus(self, watched: QObject, forward: bool) -> None:
        stops = self.stops()
        owner = self._owner(watched)
        if owner is not None and self._is_radio(owner):
            current = owner.focus_target()
        else:
            current = watched
        if current not in stops:
            return
        index = stops.index(current) + (1 if forward else -1)
        if 0 <= index < len(stops):
            target = stops[index]
            self.scroll.ensureWidgetVisible(target)
            target.setFocus(Qt.FocusReason.TabFocusReason if forward else Qt.FocusReason.BacktabFocusReason)

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        """Enter and Tab move to the next field, as on a paper form; Shift+Tab goes back."""
        if event.type() == QEvent.Type.KeyPress and isinstance(event, QKeyEvent) and isinstance(watched, QWidget):
            key = event.key()
            enter = key in (Qt.Key.Key_Return, Qt.Key.Key_Enter) and not event.modifiers() & (
                Qt.KeyboardModifier.ControlModifier | Qt.KeyboardModifier.AltModifier
            )
            if enter and not watched.inherits("QTableWidget") and not watched.inherits("QPushButton"):
                self.move_focus(watched, True)
                return True
            if key == Qt.Key.Key_Tab and not event.modifiers() & Qt.KeyboardModifier.ControlModifier:
                self.move_focus(watched, True)
                return True
            if key == Qt.Key.Key_Backtab:
                self.move_focus(watched, False)
                return True
        return super().eventFilter(watched, event)
