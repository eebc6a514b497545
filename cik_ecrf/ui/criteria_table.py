"""The eligibility criteria as the investigator checks them: each one's outcome and, in words, the
values it read ("Disease status: Relapsed", not `diagnosis.DXSTAT="RELAPSED"`)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from PySide6.QtCore import QT_TRANSLATE_NOOP, Qt, QTimer
from PySide6.QtGui import QColor, QResizeEvent
from PySide6.QtWidgets import QAbstractItemView, QTableWidget, QTableWidgetItem, QWidget

from ..definitions.spec import FieldSpec, FormSpec, StudyDefinition
from ..rules import EligibilityResult
from ..rules.jsonvalues import to_json
from .texts import translator

# The context stays "FormView": these texts were the form view's, and their Chinese is kept under it.
TEXTS = {
    "criterion": QT_TRANSLATE_NOOP("FormView", "Criterion"),
    "outcome": QT_TRANSLATE_NOOP("FormView", "Outcome"),
    "sources": QT_TRANSLATE_NOOP("FormView", "Source values"),
    "met": QT_TRANSLATE_NOOP("FormView", "met"),
    "not met": QT_TRANSLATE_NOOP("FormView", "not met"),
    "present": QT_TRANSLATE_NOOP("FormView", "present"),
    "absent": QT_TRANSLATE_NOOP("FormView", "absent"),
    "not evaluable": QT_TRANSLATE_NOOP("FormView", "not evaluable"),
    "not entered": QT_TRANSLATE_NOOP("FormView", "not entered"),
    "row": QT_TRANSLATE_NOOP("FormView", "1 row"),
    "rows": QT_TRANSLATE_NOOP("FormView", "{n} rows"),
}
_t = translator("FormView", TEXTS)
COLOURS = {"met": "#1b7a3a", "absent": "#1b7a3a", "not met": "#b00020", "present": "#b00020"}


def value_text(spec: FieldSpec | None, value: Any, language: str) -> str:
    """A value as a person reads it: the code's label, local time, units; "not entered" for nothing."""
    if value is None or value == []:
        return _t("not entered", language)
    if isinstance(value, list):
        if value and isinstance(value[0], dict):
            return _t("row", language) if len(value) == 1 else _t("rows", language).format(n=len(value))
        return ", ".join(value_text(spec, v, language) for v in value)
    if spec is not None and spec.codes:
        label = spec.code_label(to_json(value), language)
        if label:
            return label
    if isinstance(value, dt.datetime):
        return value.astimezone().strftime("%Y-%m-%d %H:%M")
    units = spec.definition.units if spec is not None else None
    suffix = f" {units if isinstance(units, str) else units.get(language)}" if units else ""
    return f"{value if isinstance(value, Decimal) else to_json(value)}{suffix}"


def source_text(study: StudyDefinition, name: str, value: Any, language: str) -> str:
    """`diagnosis.DXSTAT` = "RELAPSED" as "Disease status: Relapsed" (`form@visit.FIELD` too)."""
    form_part, _, field_id = name.rpartition(".")
    form = study.forms.get(form_part.split("@")[0])
    spec = form.fields.get(field_id) if form else None
    if spec is None:
        return f"{name}: {value_text(None, value, language)}"
    return f"{spec.definition.label.get(language)}: {value_text(spec, value, language)}"


class CriteriaTable(QTableWidget):
    """Read-only; long criterion names wrap and the rows follow the width, never cut off."""

    def __init__(self, study: StudyDefinition, form: FormSpec, language: str, parent: QWidget | None = None) -> None:
        super().__init__(len(form.criteria), 3, parent)
        self.study, self.language = study, language
        self.shown: object = None
        self.setObjectName("eligibilityCriteria")
        self.setHorizontalHeaderLabels([_t(k, language) for k in ("criterion", "outcome", "sources")])
        self.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.setWordWrap(True)
        self.horizontalHeader().setStretchLastSection(True)
        self.verticalHeader().setVisible(False)
        self.setColumnWidth(0, 380)
        self.setColumnWidth(1, 100)
        self.horizontalHeader().sectionResized.connect(lambda *_: self.resizeRowsToContents())
        for row, criterion in enumerate(form.criteria):
            item = QTableWidgetItem(f"{criterion.id} {criterion.definition.label.get(language)}")
            item.setToolTip(item.text())
            self.setItem(row, 0, item)

    def show_result(self, result: EligibilityResult | None) -> None:
        if result is None or result is self.shown:
            return
        self.shown = result
        for row, criterion in enumerate(result.criteria):
            outcome = QTableWidgetItem(_t(criterion.outcome, self.language))
            outcome.setData(Qt.ItemDataRole.UserRole, criterion.outcome)
            outcome.setForeground(QColor(COLOURS.get(criterion.outcome, "#8a5a00")))
            self.setItem(row, 1, outcome)
            sources = "; ".join(
                source_text(self.study, name, value, self.language) for name, value in criterion.values.items()
            )
            item = QTableWidgetItem(sources)
            item.setData(Qt.ItemDataRole.UserRole, dict(criterion.values))
            item.setToolTip(sources)
            self.setItem(row, 2, item)
        self.resizeRowsToContents()

    def resizeEvent(self, event: QResizeEvent) -> None:
        super().resizeEvent(event)
        QTimer.singleShot(0, self.resizeRowsToContents)  # after the header has laid out its sections
