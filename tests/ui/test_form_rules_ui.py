"""What the nurse sees of the rules: cross-form checks on the form being edited, eligibility in words,
group tables with label drop-downs and problems in their row, plain wording, confirmed warnings."""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QComboBox, QLineEdit, QListWidget, QPushButton, QRadioButton

from cik_ecrf.rules import Clock, RulesEngine, SubjectData
from cik_ecrf.rules.cross import issues_elsewhere, needs_attention
from cik_ecrf.ui.form_view import FormView
from cik_ecrf.ui.group_table import GroupField

CLOCK = Clock.fixed("2026-02-01T10:00+08:00")
CONSENT = {"ICFVER": "v1", "ICFDAT": "2026-01-10", "SUBJSIGN": "Y", "LTFUCONS": "Y"}


def view(qtbot: Any, engine: RulesEngine, form: str, subject: SubjectData | None = None, **kw: Any) -> FormView:
    widget = FormView(engine, form, "screening", kw.pop("values", None), subject, CLOCK, **kw)
    qtbot.addWidget(widget)
    widget.show()
    return widget


def type_into(qtbot: Any, form: FormView, field: str, text: str) -> None:
    edit = form.findChild(QLineEdit, f"{field}_edit")
    edit.clear()
    qtbot.keyClicks(edit, text)


def test_a_marrow_date_before_consent_is_an_error_on_the_marrow_form(qtbot: Any, engine: RulesEngine) -> None:
    subject = SubjectData.of({("screening", "consent"): CONSENT})
    form = view(qtbot, engine, "marrow_mrd", subject)
    type_into(qtbot, form, "BMDAT", "2026-01-05")  # five days before consent
    message = form.messages["BMDAT"].text()
    assert "Informed consent: Consent must be obtained on or before" in message
    assert form.messages["BMDAT"].property("severity") == "error"
    assert any("Informed consent" in line for line in form.completion_problems())  # blocks completion here too
    type_into(qtbot, form, "BMDAT", "2026-01-12")
    assert form.messages["BMDAT"].text() == ""


def test_a_birth_date_that_makes_the_guardian_sign_flags_the_completed_consent(engine: RulesEngine) -> None:
    adult = SubjectData.of({("screening", "consent"): CONSENT})
    child = {"BRTHDAT": "2012-05-01", "SEX": "F"}
    found = issues_elsewhere(engine, "demographics", "screening", child, adult, CLOCK)
    assert any(i.field == "AGE" and "Legal guardian signed consent" in i.message.en for i in found)
    subject = SubjectData.of({("screening", "demographics"): child, ("screening", "consent"): CONSENT})
    attention = needs_attention(engine, "consent", "screening", CONSENT, subject, CLOCK)
    assert {i.field for i in attention} >= {"GRDSIGN"}  # the completed consent now lacks the guardian's signature


def test_the_problem_list_is_live_and_jumps_to_the_field(qtbot: Any, engine: RulesEngine) -> None:
    form = view(qtbot, engine, "consent")
    form.activateWindow()
    qtbot.mouseClick(form.findChild(QPushButton, "markComplete"), Qt.MouseButton.LeftButton)
    problems = form.findChild(QListWidget, "completionProblems")
    assert problems.isVisible() and any("Version" in line or "version" in line for line in problems.lines())
    before = problems.count()
    type_into(qtbot, form, "ICFVER", "v1")
    assert problems.count() == before - 1  # never stale
    row = next(i for i in range(problems.count()) if problems.item(i).data(Qt.ItemDataRole.UserRole) == "ICFDAT")
    problems.itemClicked.emit(problems.item(row))
    qtbot.waitUntil(form.findChild(QLineEdit, "ICFDAT_edit").hasFocus)


def test_plain_wording_distinct_symbols_and_confirmed_warnings(qtbot: Any, engine: RulesEngine) -> None:
    form = view(qtbot, engine, "vitals")
    type_into(qtbot, form, "VSDAT", "2026-03-01 09:00")
    assert form.messages["VSDAT"].text() == "✖ This time is in the future: it cannot be later than now."
    type_into(qtbot, form, "HR", "190")
    assert form.messages["HR"].text().startswith("⚠ ") and "please confirm" in form.messages["HR"].text()
    form.confirm_warnings()
    assert form.messages["HR"].text().startswith("✔ Confirmed: ") and "please confirm" not in form.messages["HR"].text()
    zh = view(qtbot, engine, "consent", language="zh")
    type_into(qtbot, zh, "ICFDAT", "2026-05-01")
    assert "将来" in zh.messages["ICFDAT"].text()


def test_a_negative_age_is_not_shown(qtbot: Any, engine: RulesEngine) -> None:
    subject = SubjectData.of({("screening", "consent"): CONSENT})
    form = view(qtbot, engine, "demographics", subject)
    type_into(qtbot, form, "BRTHDAT", "2026-01-20")  # after consent: a typing mistake
    assert form.widgets["AGE"].label.text() == "—"
    assert form.messages["BRTHDAT"].property("severity") == "error"


def test_group_choice_columns_are_label_drop_downs_with_problems_in_the_row(qtbot: Any, engine: RulesEngine) -> None:
    form = view(qtbot, engine, "diagnosis", values={"MOLEC": [{"GENE": "BCR::ABL1", "METHOD": "RTPCR"}]})
    widget = form.widgets["MOLEC"]
    assert isinstance(widget, GroupField)
    table = widget.table
    assert table.item(0, 1).text() == "RT-PCR" and table.item(0, 1).data(Qt.ItemDataRole.UserRole) == "RTPCR"
    assert form.values()["MOLEC"] == [{"GENE": "BCR::ABL1", "METHOD": "RTPCR"}]
    table.setCurrentCell(0, 2)
    table.editItem(table.item(0, 2) or table.currentItem())
    combo = table.findChild(QComboBox, "RESULT_cellCombo")
    assert combo is not None and combo.itemText(1) in ("Positive", "Negative")
    combo.hidePopup()
    combo.setCurrentIndex(1)
    table.commitData(combo)
    assert form.values()["MOLEC"][0]["RESULT"] == combo.itemData(1)
    header = table.horizontalHeader()
    assert all(header.sectionSize(c) >= header.sectionSizeHint(c) for c in range(len(widget.columns)))
    widget.add_row()
    form.request_complete()
    problems = table.item(1, len(widget.columns)).text()
    assert problems.startswith("✖") and "Gene / fusion" in problems  # in the row, not below the table
    assert "Gene / fusion" not in form.messages["MOLEC"].text()


def test_eligibility_sources_in_words_and_the_confirmation_is_the_investigators(
    qtbot: Any, engine: RulesEngine
) -> None:
    subject = SubjectData.of({("screening", "diagnosis"): {"DXSTAT": "RELAPSED", "QUALBLST": "35"}})
    nurse = view(qtbot, engine, "eligibility", subject, role="nurse")
    table = nurse.criteria_table
    row = next(r for r in range(table.rowCount()) if table.item(r, 0).text().startswith("INCL01"))
    assert "Disease status: Relapsed" in table.item(row, 2).text()
    assert "DXSTAT" not in table.item(row, 2).text()
    assert table.rowHeight(row) > table.fontMetrics().height() * 1.5  # the long name wraps, not cut off
    assert not nurse.widgets["IECONF"].isEnabled()
    assert "Only an investigator" in nurse.widgets["IECONF"].toolTip()
    investigator = view(qtbot, engine, "eligibility", subject, role="investigator")
    assert investigator.widgets["IECONF"].isEnabled()
    qtbot.mouseClick(investigator.findChild(QRadioButton, "IECONF_Y"), Qt.MouseButton.LeftButton)
    assert investigator.values()["IECONF"] == "Y"
    zh = view(qtbot, engine, "eligibility", subject, role="nurse", language="zh")
    zh_row = zh.criteria_table.item(row, 2).text()
    assert "疾病状态: 复发" in zh_row


def test_a_message_appearing_moves_no_field_below_it(qtbot: Any, engine: RulesEngine) -> None:
    from PySide6.QtWidgets import QApplication

    form = view(qtbot, engine, "vitals")
    form.resize(900, 700)
    QApplication.processEvents()
    below = form.widgets["HR"]
    before = below.mapTo(form, below.rect().topLeft())
    type_into(qtbot, form, "TEMP", "50")
    QApplication.processEvents()
    assert form.messages["TEMP"].isVisible() and form.messages["TEMP"].text()
    assert below.mapTo(form, below.rect().topLeft()) == before  # the line was reserved
    type_into(qtbot, form, "TEMP", "37")
    QApplication.processEvents()
    assert not form.messages["TEMP"].isVisible() and below.mapTo(form, below.rect().topLeft()) == before
