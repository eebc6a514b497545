"""The incremental path (`FormSession.set_value`) must agree with a full evaluation of the same values.

A property test replays random keystroke sequences on shipped forms and, after every keystroke,
compares the session's snapshot with a fresh `RulesEngine.evaluate` (same subject data, same clock).
It also checks that each returned `Delta` is complete (every change is named) and minimal (nothing
unchanged is named), and that an independent field only re-runs a handful of nodes.
"""

from __future__ import annotations

import random
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from mini_forms import check, derived, field, label, write_study

from cik_ecrf.definitions.loader import load_study
from cik_ecrf.definitions.spec import FieldSpec
from cik_ecrf.rules import Clock, Delta, FormEvaluation, FormSession, RulesEngine, SubjectData

FORMS = Path(__file__).parents[1] / "forms"
CLOCK = Clock.fixed("2025-06-01T12:00+08:00")


@pytest.fixture(scope="module")
def engine() -> RulesEngine:
    return RulesEngine(load_study(FORMS))


def _screening(birth: str, sex: str) -> dict[tuple[str, str], Any]:
    return {
        ("screening", "consent"): {
            "ICFVER": "v1.0",
            "ICFDAT": "2024-01-10",
            "SUBJSIGN": "Y",
            "GRDSIGN": "Y",
            "GRDREL": "MOTHER",
            "LTFUCONS": "Y",
        },
        ("screening", "demographics"): {
            "SUBJINIT": "ABC",
            "BRTHDAT": birth,
            "SEX": sex,
            "ETHNIC": "HA",
            "CHILDPOT": "Y",
        },
        ("screening", "vitals"): {"VSDAT": "2024-01-11T09:00+08:00", "HEIGHT": "150.0", "WEIGHT": "45.0", "ECOG": 1},
        ("screening", "labs"): {
            "LBDAT": "2024-01-11",
            "CREAT": "60",
            "CREAT_ULN": "100",
            "BUN": "5",
            "BUN_ULN": "8",
            "PBBLST": "10",
            "HBSAG": "NEG",
            "HBVDNA": "NEG",
            "HCVRNA": "NEG",
            "HIVAGAB": "NEG",
            "TPAB": "NEG",
            "HCG": "NEG",
        },  # fmt: skip
        ("screening", "marrow_mrd"): {"BMDAT": "2024-01-12", "CSFDONE": "Y", "CSFBLST": "0", "MRIDONE": "N"},
        ("screening", "diagnosis"): {
            "DXSTAT": "RELAPSED",
            "QUALBLST": "45",
            "FCMDONE": "Y",
            "KARYDONE": "Y",
            "MRDDONE": "Y",
            "BENDA": "N",
        },
        ("screening", "prior_cart"): {
            "CARTDAT": "2023-06-01",
            "LOSSEV": [{"LOSSDAT": "2023-08-01", "LOSSMETH": "FCM", "LOSSVAL": "0"}],
            "RELSINCE": "N",
        },
        ("screening", "eligibility"): {"IEDAT": "2024-01-15"},
        ("subject", "adverse_events"): [
            {"AETERM": "CRS", "AECAT": "CRS", "AESTDAT": "2024-02-01", "AEONGO": "Y", "AETOXGR": 2}
        ],
    }


SUBJECTS = {
    "adult_female": SubjectData.of(_screening("2000-05-05", "F")),  # AGE 23
    "child_male": SubjectData.of(_screening("2014-03-01", "M")),  # AGE 9: guardian, CAPD
    "none": SubjectData(),
}

FORMS_UNDER_TEST = [
    ("vitals", "screening"),
    ("vitals", "D1"),
    ("labs", "screening"),
    ("labs", "D1"),
    ("consent", "screening"),
    ("crs_icans", "D1"),
    ("diagnosis", "screening"),
    ("prior_cart", "screening"),
    ("eligibility", "screening"),
]

# --------------------------------------------------------------------------- values a nurse might type

INTEGERS = [None, "", 0, 1, 2, 5, 9, 12, 20, 40, 72, 100, 120, 300, 301, 5000, "abc", "7.5", True, "-3"]
DECIMALS = [
    None,
    "",
    "0",
    "0.5",
    "1.25",
    "5",
    "8",
    "12.5",
    "36.5",
    "38.5",
    "45",
    "60",
    "70.0",
    "100",
    "150.0",
    "170",
    "1000",
    "abc",
    "1.23456",
    -1,
]
DATES = [
    None,
    "",
    "2023-01-01",
    "2023-06-01",
    "2023-08-01",
    "2024-01-09",
    "2024-01-10",
    "2024-01-11",
    "2024-06-15",
    "2025-06-01",
    "2025-06-02",
    "2023-02-30",
    "01/02/2024",
]
PARTIALS = [None, "2023", "2024", "2024-01", "2024-01-10", "2024-02", "2024-13", "x"]
DATETIMES = [
    None,
    "2024-01-11T09:00+08:00",
    "2025-06-01T12:00+08:00",
    "2025-06-01T12:30+08:00",
    "2024-01-01T08:00",
    "bad",
]
TEXTS = [None, "", "AB", "v1.0", "x" * 45, 7, "BCR-ABL1"]


def _pool(spec: FieldSpec) -> list[Any]:
    kind = spec.kind
    if kind in ("choice", "yesno"):
        return [None, "", "BAD", 99, *[c.code for c in spec.codes]]
    if kind == "multichoice":
        codes = [c.code for c in spec.codes]
        return [None, [], [codes[0]], codes[:2], [codes[0], codes[0]], ["BAD"]]
    return {
        "integer": INTEGERS,
        "decimal": DECIMALS,
        "date": DATES,
        "partial_date": PARTIALS,
        "datetime": DATETIMES,
        "time": [None, "08:30", "25:00"],
        "text": TEXTS,
    }[kind]


def _values_for(spec: FieldSpec) -> st.SearchStrategy[Any]:
    if spec.definition.type == "group":
        cell = {sub.id: st.sampled_from(_pool(sub)) for sub in spec.sub_fields}
        row = st.fixed_dictionaries({}, optional=cell)
        return st.one_of(st.lists(row, max_size=3), st.sampled_from([None, "not rows", ["not a row"]]))
    return st.sampled_from(_pool(spec))


def _entered(engine: RulesEngine, form: str) -> list[FieldSpec]:
    return [s for s in engine.study.forms[form].fields.values() if s.definition.type != "derived"]


# --------------------------------------------------------------------------- comparisons


def assert_same_state(got: FormEvaluation, expected: FormEvaluation) -> None:
    assert got.values == expected.values
    assert got.visible == expected.visible
    assert got.required == expected.required
    assert set(got.issues) == set(expected.issues)
    assert len(got.issues) == len(expected.issues)
    assert got.missing_required == expected.missing_required
    assert got.eligibility == expected.eligibility


def _same(a: Any, b: Any) -> bool:
    return a == b and type(a) is type(b)


def _missing_of(result: FormEvaluation, field: str) -> set[str]:
    return {m for m in result.missing_required if m == field or m.startswith(field + "[")}


def assert_delta_exact(
    delta: Delta,
    edited: str,
    before: FormEvaluation,
    after: FormEvaluation,
    req_before: dict[str, bool],
    req_after: dict[str, bool],
    result_field: str | None = None,
) -> None:
    fields = list(after.values)
    changed_values = {f for f in fields if not _same(before.values[f], after.values[f])}
    assert set(delta.values) == changed_values
    for f, value in delta.values.items():
        assert _same(value, after.values[f])
    changed_visible = {f for f in fields if (f in before.visible) != (f in after.visible)}
    assert delta.visible == {f: f in after.visible for f in changed_visible}
    changed_required = {f for f in fields if req_before[f] != req_after[f]}
    assert delta.required == {f: req_after[f] for f in changed_required}
    issues_before = {f: {i for i in before.issues if i.field == f} for f in fields}
    issues_after = {f: {i for i in after.issues if i.field == f} for f in fields}
    changed_issues = {f for f in fields if issues_before[f] != issues_after[f]}
    assert changed_issues <= set(delta.issues)  # complete: every changed issue list is sent
    for f, issues in delta.issues.items():
        assert set(issues) == issues_after[f]  # the full, current list
        # minimal: a field is only named when something about it moved (the edited field included)
        moved = (
            f in changed_issues
            or _missing_of(before, f) != _missing_of(after, f)
            or f in changed_values
            or f in changed_visible
            or f in changed_required
            or (f == result_field and before.eligibility != after.eligibility)  # criteria outcomes / values read
        )
        assert moved, (f, edited, delta)


# --------------------------------------------------------------------------- the property


@settings(
    max_examples=120,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(data=st.data())
def test_incremental_equals_full_evaluation(engine: RulesEngine, data: st.DataObject) -> None:
    form, visit = data.draw(st.sampled_from(FORMS_UNDER_TEST), label="form")
    subject_name = data.draw(st.sampled_from(sorted(SUBJECTS)), label="subject")
    subject = SUBJECTS[subject_name]
    specs = _entered(engine, form)
    initial = data.draw(st.fixed_dictionaries({}, optional={s.id: _values_for(s) for s in specs}), label="initial")
    raw = dict(initial)
    session = engine.session(form, visit, raw, subject, CLOCK)
    assert_same_state(session.snapshot(), engine.evaluate(form, visit, raw, subject, CLOCK))
    steps = data.draw(st.integers(min_value=1, max_value=12), label="steps")
    for _ in range(steps):
        spec = data.draw(st.sampled_from(specs), label="field")
        value = data.draw(_values_for(spec), label="value")
        before = session.snapshot()
        req_before = dict(session.required)
        delta = session.set_value(spec.id, value)
        raw[spec.id] = value
        after = session.snapshot()
        assert_same_state(after, engine.evaluate(form, visit, raw, subject, CLOCK))
        assert_delta_exact(
            delta, spec.id, before, after, req_before, dict(session.required), engine.study.forms[form].result_field
        )
        assert 0 <= delta.nodes_evaluated <= engine.graphs[form].size


# --------------------------------------------------------------------------- targeted cases

LABS_FULL = {
    "LBDAT": "2025-05-30", "WBC": "4.5", "ANC": "2.1", "HGB": 120, "PLT": 150, "PBBLST": "2.0",
    "CREAT": "60", "CREAT_ULN": "100", "BUN": "5", "BUN_ULN": "8", "ALT": 30, "ALT_ULN": 40, "TBIL": "10", "TBIL_ULN": "20",
    "CRP": "3.0", "HBSAG": "NEG", "HBVDNA": "NEG", "HCVRNA": "NEG", "HIVAGAB": "NEG", "TPAB": "NEG",
}  # fmt: skip


@pytest.mark.parametrize(
    ("field", "value", "limit"),
    [
        ("CRP", "5.0", 1),
        ("IL6", "12.5", 1),
        ("FERRITIN", 800, 1),
        ("WBC", "5.5", 1),
        ("ALT", 70, 3),
        ("CREAT_ULN", "90", 3),
    ],
)
def test_independent_field_reruns_few_nodes(engine: RulesEngine, field: str, value: Any, limit: int) -> None:
    session = engine.session("labs", "screening", LABS_FULL, SubjectData(), CLOCK)
    delta = session.set_value(field, value)
    assert delta.nodes_evaluated <= limit <= 3
    assert delta.nodes_evaluated < engine.graphs["labs"].size
    assert_same_state(
        session.snapshot(), engine.evaluate("labs", "screening", {**LABS_FULL, field: value}, SubjectData(), CLOCK)
    )


def test_delta_of_a_flagged_lab(engine: RulesEngine) -> None:
    session = engine.session("labs", "screening", LABS_FULL, SubjectData(), CLOCK)
    delta = session.set_value("ALT", 70)  # >= 1.5 x ULN: an info flag
    assert delta.values == {"ALT": 70}
    assert delta.visible == {} and delta.required == {}
    assert set(delta.issues) == {"ALT"}
    assert [(i.code, i.severity) for i in delta.issues["ALT"]] == [("ALT_GE_1_5_ULN", "info")]
    delta = session.set_value("ALT", 30)
    assert delta.issues == {"ALT": ()}


def test_delta_of_a_derived_value(engine: RulesEngine) -> None:
    session = engine.session("vitals", "screening", {"WEIGHT": "70.0"}, SubjectData(), CLOCK)
    delta = session.set_value("HEIGHT", "170.0")
    assert delta.values == {"HEIGHT": Decimal("170.0"), "BSA": Decimal("1.82")}
    assert set(delta.issues) == {"HEIGHT"}
    assert delta.nodes_evaluated <= 3  # HEIGHT's check, BSA, nothing else reads them


def test_delta_of_a_visibility_change(engine: RulesEngine) -> None:
    session = engine.session("diagnosis", "screening", {"NRELAPSE": 3}, SubjectData(), CLOCK)
    delta = session.set_value("DXSTAT", "RELAPSED")
    assert delta.values == {"DXSTAT": "RELAPSED", "NRELAPSE": 3}
    assert delta.visible == {"NRELAPSE": True} and delta.required == {"NRELAPSE": True}
    delta = session.set_value("DXSTAT", "REFRACTORY")
    assert delta.values == {"DXSTAT": "REFRACTORY", "NRELAPSE": None}
    assert delta.visible == {"NRELAPSE": False} and delta.required == {"NRELAPSE": False}


def test_delta_of_eligibility(engine: RulesEngine) -> None:
    subject = SUBJECTS["adult_female"]
    session = engine.session("eligibility", "screening", {}, subject, CLOCK)
    assert session.snapshot().values["ELIGIBLE"] is None
    delta = session.set_value("EXCL02", "Y")  # an exclusion present: ineligible whatever else is unknown
    assert delta.values == {"EXCL02": "Y", "ELIGIBLE": "N"}
    assert_same_state(session.snapshot(), engine.evaluate("eligibility", "screening", {"EXCL02": "Y"}, subject, CLOCK))


def test_unreadable_value_delta(engine: RulesEngine) -> None:
    session = engine.session("vitals", "screening", {"HR": 72}, SubjectData(), CLOCK)
    delta = session.set_value("HR", "seventy")
    assert delta.values == {"HR": None}
    assert [i.code for i in delta.issues["HR"]] == ["type"]
    assert "HR" not in session.snapshot().missing_required
    delta = session.set_value("HR", "")
    assert delta.values == {} and delta.issues == {"HR": ()}
    assert "HR" in session.snapshot().missing_required


def test_reentering_the_same_value_changes_nothing(engine: RulesEngine) -> None:
    session = engine.session("labs", "screening", LABS_FULL, SubjectData(), CLOCK)
    delta = session.set_value("CRP", "3.0")
    assert (delta.values, delta.visible, delta.required, delta.issues) == ({}, {}, {}, {})


def test_sessions_are_independent(engine: RulesEngine) -> None:
    a = engine.session("labs", "screening", LABS_FULL, SubjectData(), CLOCK)
    b = engine.session("labs", "screening", LABS_FULL, SubjectData(), CLOCK)
    a.set_value("ALT", 100)
    assert b.snapshot().values["ALT"] == 30
    assert_same_state(b.snapshot(), engine.evaluate("labs", "screening", LABS_FULL, SubjectData(), CLOCK))


def test_long_random_walk_on_every_form_stays_consistent(engine: RulesEngine) -> None:
    """A deterministic long walk (seeded), complementing the shorter hypothesis sequences."""
    rng = random.Random(20250601)
    for form, visit in FORMS_UNDER_TEST:
        specs = [s for s in _entered(engine, form) if s.definition.type != "group"]
        subject = SUBJECTS["adult_female"]
        session: FormSession = engine.session(form, visit, {}, subject, CLOCK)
        raw: dict[str, Any] = {}
        for _ in range(60):
            spec = rng.choice(specs)
            value = rng.choice(_pool(spec))
            session.set_value(spec.id, value)
            raw[spec.id] = value
        assert_same_state(session.snapshot(), engine.evaluate(form, visit, raw, subject, CLOCK))


# --------------------------------------------------------------------------- a purpose-built chain of rules

CHAIN_FORM = {
    "id": "probe",
    "version": "1",
    "title": label("Chain"),
    "fields": [
        field("A", "integer", range={"min": 0, "max": 200}),
        field("B", "integer", show_if="A > 0", required_if="A > 10", soft_range={"min": 0, "max": 50}),
        derived("S", "coalesce(B, 0) + 1", "integer", show_if="A < 100"),
        field("R", "yesno", required_if="S > 5"),
        field(
            "GRP",
            "group",
            min_rows=1,
            fields=[field("VAL", "integer", required=True), field("DAY", "date")],
            checks=[check("ROW_LE_S", "VAL <= S", ["VAL"])],
        ),
        derived("DD", 'case when any(GRP, VAL > B) then "Y" else "N" end', "yesno"),
        field("C", "choice", codelist="COLOR", show_if='DD = "Y"', required_if='DD = "Y"'),
        field("MC", "multichoice", codelist="COLOR", show_if='C = "RED" or R = "Y"'),
        derived("N_MC", "count(MC) + count(GRP)", "integer"),
        field("P", "partial_date", show_if="N_MC >= 2"),
        field("D", "date", range={"max": "today"}),
        derived("NEXT", "D + months(1)", "date", show_if="present(P)"),
    ],
    "checks": [
        check("B_LT_A", "B < A", ["A", "B"]),
        check("P_BEFORE_D", "P < D", ["P", "D"], severity="warning"),
        check("MC_RED", '"RED" not in MC or C = "RED"', ["MC"], severity="info"),
    ],
}
CHAIN_POOLS: dict[str, list[Any]] = {
    "A": [None, 0, 1, 5, 11, 50, 150, 250, "x"],
    "B": [None, 0, 3, 6, 20, 60, "y"],
    "R": [None, "Y", "N", "?"],
    "C": [None, "RED", "GREEN", "PINK"],
    "MC": [None, [], ["RED"], ["GREEN", "BLUE"], ["RED", "RED"]],
    "P": [None, "2024", "2024-05", "2024-05-20", "2024-13"],
    "D": [None, "2024-05-01", "2024-06-01", "2025-06-02", "bad"],
}
CHAIN_ROWS = st.lists(
    st.fixed_dictionaries(
        {},
        optional={
            "VAL": st.sampled_from([None, 0, 2, 4, 7, 30, "z"]),
            "DAY": st.sampled_from([None, "2024-01-01", "2024-02-30"]),
        },
    ),
    max_size=3,
)


@pytest.fixture(scope="module")
def chain_engine(tmp_path_factory: pytest.TempPathFactory) -> RulesEngine:
    return RulesEngine(load_study(write_study(tmp_path_factory.mktemp("chain"), forms={"probe": CHAIN_FORM})))


def _chain_value(field_id: str) -> st.SearchStrategy[Any]:
    return CHAIN_ROWS if field_id == "GRP" else st.sampled_from(CHAIN_POOLS[field_id])


@settings(
    max_examples=100,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(data=st.data())
def test_incremental_equals_full_on_a_chain_of_rules(chain_engine: RulesEngine, data: st.DataObject) -> None:
    visit = data.draw(st.sampled_from(["screening", "V1"]))
    fields = [*CHAIN_POOLS, "GRP"]
    raw: dict[str, Any] = {}
    session = chain_engine.session("probe", visit, {}, SubjectData(), CLOCK)
    for _ in range(data.draw(st.integers(min_value=1, max_value=15))):
        field_id = data.draw(st.sampled_from(fields))
        value = data.draw(_chain_value(field_id))
        before = session.snapshot()
        req_before = dict(session.required)
        delta = session.set_value(field_id, value)
        raw[field_id] = value
        after = session.snapshot()
        assert_same_state(after, chain_engine.evaluate("probe", visit, raw, SubjectData(), CLOCK))
        assert_delta_exact(delta, field_id, before, after, req_before, dict(session.required))


def test_chain_propagates_through_derived_values_and_visibility(chain_engine: RulesEngine) -> None:
    session = chain_engine.session("probe", "V1", {"GRP": [{"VAL": 4}]}, SubjectData(), CLOCK)
    delta = session.set_value("A", 20)  # B and S (show_if A < 100, not evaluable until now) appear
    assert delta.visible == {"B": True, "S": True} and delta.required == {"B": True}
    assert delta.values == {"A": 20, "S": 1}
    delta = session.set_value("B", 6)  # S = 7 -> R required; DD: any(VAL > 6) is false
    assert delta.values == {"B": 6, "S": 7}
    assert delta.required == {"R": True}
    delta = session.set_value("B", 2)  # S = 3; DD = "Y" -> C shown and required; the row check re-runs
    assert delta.values == {"B": 2, "S": 3, "DD": "Y"}
    assert delta.visible == {"C": True}
    assert delta.required == {"R": False, "C": True}
    assert [(i.code, i.row) for i in delta.issues["GRP"]] == [("ROW_LE_S", 0)]
    assert_same_state(
        session.snapshot(),
        chain_engine.evaluate("probe", "V1", {"GRP": [{"VAL": 4}], "A": 20, "B": 2}, SubjectData(), CLOCK),
    )
