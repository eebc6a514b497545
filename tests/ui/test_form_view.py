"""The form renderer: widgets built from the definitions, validated live by the rules engine."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from PySide6.QtCore import QPoint, Qt
from PySide6.QtWidgets import QComboBox, QLineEdit, QPushButton, QRadioButton

from cik_ecrf.rules import Clock, RulesEngine, SubjectData
from cik_ecrf.ui.fields import ChoiceField, DerivedField, GroupField, LineField, MultiChoiceField
from cik_ecrf.ui.form_view import FormView

CLOCK = Clock.fixed("2026-02-01T10:00+08:00")


def view(
    qtbot: Any,
    engine: RulesEngine,
    form: str,
    visit: str = "screening",
    values: dict[str, Any] | None = None,
    language: str = "en",
    subject: SubjectData | None = None,
) -> FormView:
    widget = FormView(engine, form, visit, values, subject, CLOCK, language)
    qtbot.addWidget(widget)
    widget.show()
    return widget


def type_into(qtbot: Any, form: FormView, field: str, text: str) -> None:
    edit = form.findChild(QLineEdit, f"{field}_edit")
    assert edit is not None, field
    edit.clear()
    qtbot.keyClicks(edit, text)


def click(qtbot: Any, form: FormView, name: str) -> None:
    button = form.findChild(QRadioButton, name)
    assert button is not None, name
    qtbot.mouseClick(button, Qt.MouseButton.LeftButton)


def test_every_field_widget_is_named_for_its_field(qtbot: Any, engine: RulesEngine) -> None:
    for form_id in engine.study.forms:
        form = view(qtbot, engine, form_id, sorted(engine.study.forms[form_id].visits)[0])
        for field_id, spec in form.form.fields.items():
            widget = form.widgets[field_id]
            assert widget.objectName() == field_id
            assert widget.accessibleName() == spec.definition.label.en


@pytest.mark.parametrize(
    ("form_id", "field", "text", "expected"),
    [
        ("consent", "ICFVER", "v2.1", "v2.1"),
        ("vitals", "HR", "88", 88),
        ("vitals", "TEMP", "37.4", 37.4),
        ("consent", "ICFDAT", "2026-01-10", "2026-01-10"),
        ("diagnosis", "DIAGDAT", "2024-03", "2024-03"),
    ],
)
def test_typed_fields_round_trip(
    qtbot: Any, engine: RulesEngine, form_id: str, field: str, text: str, expected: Any
) -> None:
    form = view(qtbot, engine, form_id)
    assert isinstance(form.widgets[field], LineField)
    type_into(qtbot, form, field, text)
    assert form.values()[field] == text
    from cik_ecrf.rules.jsonvalues import to_json

    assert to_json(form.session.local[field]) == expected
    again = view(qtbot, engine, form_id, values={field: expected})
    assert again.values()[field] == str(expected)


def test_datetime_typed_as_local_time_gets_the_device_offset(qtbot: Any, engine: RulesEngine) -> None:
    form = view(qtbot, engine, "vitals")
    type_into(qtbot, form, "VSDAT", "2026-01-31 08:30")
    value = form.session.local["VSDAT"]
    assert isinstance(value, dt.datetime) and value.tzinfo is not None
    assert value.replace(tzinfo=None) == dt.datetime(2026, 1, 31, 8, 30)


def test_radio_choice_and_yesno(qtbot: Any, engine: RulesEngine) -> None:
    form = view(qtbot, engine, "demographics")
    assert isinstance(form.widgets["SEX"], ChoiceField) and form.widgets["SEX"].combo is None
    click(qtbot, form, "SEX_F")
    assert form.values()["SEX"] == "F" and form.session.local["SEX"] == "F"
    consent = view(qtbot, engine, "consent")
    click(qtbot, consent, "SUBJSIGN_Y")
    assert consent.session.local["SUBJSIGN"] == "Y"


def test_long_code_list_is_a_combo(qtbot: Any, engine: RulesEngine) -> None:
    form = view(qtbot, engine, "demographics")
    combo = form.findChild(QComboBox, "ETHNIC_combo")
    assert combo is not None
    combo.setFocus()
    qtbot.keyClick(combo, Qt.Key.Key_Down)
    assert form.session.local["ETHNIC"] == "HA"
    assert view(qtbot, engine, "demographics", values={"ETHNIC": "UG"}).values()["ETHNIC"] == "UG"


def test_integer_coded_choice(qtbot: Any, engine: RulesEngine) -> None:
    form = view(qtbot, engine, "vitals", values={"ECOG": 2})
    assert form.values()["ECOG"] == 2 and form.session.local["ECOG"] == 2


def test_multichoice(qtbot: Any, engine: RulesEngine) -> None:
    form = view(qtbot, engine, "adverse_events", "subject")
    click(qtbot, form, "AESER_Y")
    widget = form.widgets["AESCRIT"]
    assert isinstance(widget, MultiChoiceField)
    for code, box in widget.boxes:
        if code in ("DEATH", "HOSPITALIZATION"):
            qtbot.mouseClick(box, Qt.MouseButton.LeftButton, pos=QPoint(8, box.height() // 2))  # on the box itself
    assert form.values()["AESCRIT"] == ["DEATH", "HOSPITALIZATION"]
    assert set(form.session.local["AESCRIT"]) == {"DEATH", "HOSPITALIZATION"}


def test_derived_value_is_read_only_and_live(qtbot: Any, engine: RulesEngine) -> None:
    form = view(qtbot, engine, "vitals")
    assert isinstance(form.widgets["BSA"], DerivedField)
    type_into(qtbot, form, "HEIGHT", "150")
    type_into(qtbot, form, "WEIGHT", "40.5")
    assert form.widgets["BSA"].label.text() == "1.30"  # sqrt(150 * 40.5 / 3600) = 1.299..., two places
    assert "BSA" not in form.values()


def test_group_rows_round_trip_and_feed_the_derived_date(qtbot: Any, engine: RulesEngine) -> None:
    rows = [
        {"LOSSDAT": "2025-12-01", "LOSSMETH": "QPCR", "LOSSVAL": "0.001"},
        {"LOSSDAT": "2025-11-15", "LOSSMETH": "FCM", "LOSSVAL": "0"},
    ]
    form = view(qtbot, engine, "prior_cart", values={"LOSSEV": rows})
    widget = form.widgets["LOSSEV"]
    assert isinstance(widget, GroupField)
    assert form.values()["LOSSEV"] == rows
    qtbot.mouseClick(form.findChild(QPushButton, "LOSSEV_add"), Qt.MouseButton.LeftButton)
    assert len(form.values()["LOSSEV"]) == 3
    assert form.session.local["CARTLOSDAT"] is None  # a row without a date: the earliest is not known
    widget.table.selectRow(2)
    qtbot.mouseClick(form.findChild(QPushButton, "LOSSEV_remove"), Qt.MouseButton.LeftButton)
    assert form.widgets["CARTLOSDAT"].label.text() == "2025-11-15"


def test_show_if_hides_and_shows_live(qtbot: Any, engine: RulesEngine) -> None:
    form = view(qtbot, engine, "diagnosis")
    label, cell = form.rows["NRELAPSE"]
    assert not cell.isVisible()
    click(qtbot, form, "DXSTAT_RELAPSED")
    assert cell.isVisible() and label.isVisible()
    assert "*" in form.labels["NRELAPSE"].text()  # required while shown
    click(qtbot, form, "DXSTAT_REFRACTORY")
    assert not cell.isVisible()


def test_hard_error_shows_beside_the_field_and_blocks_completion(qtbot: Any, engine: RulesEngine) -> None:
    form = view(qtbot, engine, "vitals")
    type_into(qtbot, form, "TEMP", "50")
    message = form.messages["TEMP"]
    assert message.isVisible() and "above the maximum 45" in message.text() and message.property("severity") == "error"
    with qtbot.waitSignal(form.sig_completion_refused) as refused:
        qtbot.mouseClick(form.findChild(object, "markComplete"), Qt.MouseButton.LeftButton)
    assert any(line.startswith("Temperature: ") for line in refused.args[0])
    assert any("Heart rate" in line for line in refused.args[0])  # unfilled required fields are named too
    type_into(qtbot, form, "TEMP", "37")
    assert form.messages["TEMP"].text() == ""  # its line stays reserved: nothing below moves


def test_soft_range_is_a_warning(qtbot: Any, engine: RulesEngine) -> None:
    form = view(qtbot, engine, "vitals")
    type_into(qtbot, form, "HR", "190")
    assert form.messages["HR"].property("severity") == "warning"
    assert "please confirm" in form.messages["HR"].text()


def test_unreadable_text_is_kept_and_explained(qtbot: Any, engine: RulesEngine) -> None:
    form = view(qtbot, engine, "vitals")
    type_into(qtbot, form, "HR", "8o")
    assert form.findChild(QLineEdit, "HR_edit").text() == "8o"  # nothing the nurse typed is lost
    assert "whole number" in form.messages["HR"].text()


def test_save_draft_emits_the_entered_values(qtbot: Any, engine: RulesEngine) -> None:
    form = view(qtbot, engine, "vitals")
    type_into(qtbot, form, "HR", "90")
    with qtbot.waitSignal(form.sig_save_requested) as saved:
        qtbot.mouseClick(form.findChild(object, "saveDraft"), Qt.MouseButton.LeftButton)
    assert saved.args == [{"HR": "90"}, True]


def test_enter_moves_to_the_next_field(qtbot: Any, engine: RulesEngine) -> None:
    form = view(qtbot, engine, "vitals")
    form.activateWindow()
    temp = form.findChild(QLineEdit, "TEMP_edit")
    temp.setFocus()
    qtbot.waitUntil(temp.hasFocus)
    qtbot.keyClick(temp, Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: form.findChild(QLineEdit, "HR_edit").hasFocus())


def test_chinese_labels_from_the_definitions(qtbot: Any, engine: RulesEngine) -> None:
    form = view(qtbot, engine, "vitals", language="zh")
    assert form.labels["TEMP"].text().startswith("体温")
    assert form.findChild(object, "markComplete").text() == "标记为完成"
    type_into(qtbot, form, "TEMP", "50")
    assert "高于最大值" in form.messages["TEMP"].text()


def test_cross_form_rule_from_subject_data(qtbot: Any, engine: RulesEngine) -> None:
    subject = SubjectData.of(
        {("screening", "demographics"): {"BRTHDAT": "2016-01-01"}, ("screening", "consent"): {"ICFDAT": "2026-01-10"}}
    )
    form = view(qtbot, engine, "crs_icans", "D1", subject=subject)
    assert form.rows["CAPD"][1].isVisible() and not form.rows["ICE"][1].isVisible()  # a 10-year-old: CAPD, not ICE


def test_eligibility_shows_every_criterion_with_its_source_values(qtbot: Any, engine: RulesEngine) -> None:
    subject = SubjectData.of({("screening", "labs"): {"CREAT": "120", "CREAT_ULN": "80", "BUN": "4", "BUN_ULN": "7"}})
    form = view(qtbot, engine, "eligibility", subject=subject)
    table = form.criteria_table
    assert table is not None and table.rowCount() == 23
    outcomes = {table.item(r, 0).text().split()[0]: table.item(r, 1).data(Qt.ItemDataRole.UserRole) for r in range(23)}
    assert outcomes["EXCL07"] == "present"  # creatinine 120 >= 1.5 x 80
    ids = [table.item(r, 0).text().split()[0] for r in range(23)]
    assert "Serum creatinine: 120" in table.item(ids.index("EXCL07"), 2).text()  # labels, not field codes
    assert outcomes["INCL04"] == "not evaluable"
    click(qtbot, form, "INCL04_Y")
    assert (
        table.item(ids.index("INCL04"), 1).data(Qt.ItemDataRole.UserRole) == "met"
    )  # live, as the investigator answers
