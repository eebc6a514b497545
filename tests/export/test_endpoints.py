"""The endpoint dataset on hand-made subjects, one per event and censoring rule of crf-spec §5, with the
days counted by hand (AVAL = ADT − STARTDT + 1)."""

from __future__ import annotations

import copy
import datetime as dt
from decimal import Decimal
from typing import Any

import pytest

from cik_ecrf.definitions.endpoints import read_endpoints
from cik_ecrf.definitions.errors import DefinitionErrors
from cik_ecrf.definitions.spec import StudyDefinition
from cik_ecrf.reporting.export.dataset import Dataset, InstanceRecord, SubjectRecord
from cik_ecrf.reporting.export.endpoints import derive

T0 = "2025-01-10"
NOW = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)


def _subject(number: str, forms: list[tuple[str, str, dict[str, Any]]]) -> tuple[SubjectRecord, list[InstanceRecord]]:
    subject = SubjectRecord(f"id-{number}", number, "BJ01")
    return subject, [
        InstanceRecord(f"{number}-{i}", subject.id, visit, 0, form, "1.0", "complete", values)
        for i, (visit, form, values) in enumerate(forms)
    ]


def _infusion(start: str = T0) -> tuple[str, str, dict[str, Any]]:
    return ("D0", "infusion", {"INFSTDTC": f"{start}T09:00+08:00"})


def _assessment(
    visit: str, day: str, response: str, mrd_negative: bool = True
) -> list[tuple[str, str, dict[str, Any]]]:
    mrd = Decimal("0") if mrd_negative else Decimal("0.5")
    return [
        (visit, "response", {"RSDAT": day, "OVRLRESP": response}),
        (visit, "marrow_mrd", {"BMDAT": day, "MRDRES": mrd, "MRDLLOQ": Decimal("0.001")}),
    ]


def _rows(
    study: StudyDefinition, *subjects: tuple[SubjectRecord, list[InstanceRecord]], arms: dict[str, str] | None = None
):
    dataset = Dataset(
        study.study.id,
        "test",
        NOW,
        ("BJ01",),
        tuple(s for s, _ in subjects),
        tuple(i for _, instances in subjects for i in instances),
        arms=arms,
    )
    data = derive(dataset, study)
    return {(r["USUBJID"].rsplit("-", 1)[-1], r["PARAMCD"]): r for r in data.records()}, data


def _check(
    row: dict[str, Any], start: str, adt: str, aval: int, cnsr: int, rule_text: str, src: tuple[str, str]
) -> None:
    assert (row["STARTDT"], row["ADT"], row["AVAL"], row["CNSR"]) == (start, adt, aval, cnsr), row
    assert row["EVNTDESC" if cnsr == 0 else "CNSDTDSC"] == rule_text, row
    assert row["CNSDTDSC" if cnsr == 0 else "EVNTDESC"] == ""
    assert (row["SRCDOM"], row["SRCVAR"]) == src


def test_relapse_after_a_response(study: StudyDefinition) -> None:
    rows, _ = _rows(
        study,
        _subject(
            "001",
            [_infusion(), *_assessment("D28", "2025-02-07", "CR"), ("subject", "relapse", {"RELDAT": "2025-06-01"})],
        ),
    )
    _check(rows[("001", "EFS")], T0, "2025-06-01", 143, 0, "relapse or progression", ("relapse", "RELDAT"))
    _check(rows[("001", "PFS")], T0, "2025-06-01", 143, 0, "relapse or progression", ("relapse", "RELDAT"))
    # duration of response counts from the first qualifying response: 2025-02-07 → 2025-06-01
    _check(rows[("001", "DOR")], "2025-02-07", "2025-06-01", 115, 0, "relapse or progression", ("relapse", "RELDAT"))
    assert rows[("001", "OS")]["CNSR"] == 1


def test_death_without_relapse(study: StudyDefinition) -> None:
    rows, _ = _rows(
        study,
        _subject(
            "002",
            [_infusion(), *_assessment("D28", "2025-02-07", "CRI"), ("subject", "death", {"DTHDAT": "2025-03-01"})],
        ),
    )
    _check(rows[("002", "EFS")], T0, "2025-03-01", 51, 0, "death", ("death", "DTHDAT"))
    _check(rows[("002", "OS")], T0, "2025-03-01", 51, 0, "death", ("death", "DTHDAT"))
    _check(rows[("002", "DOR")], "2025-02-07", "2025-03-01", 23, 0, "death", ("death", "DTHDAT"))


def test_no_response_at_d28_is_a_treatment_failure_on_day_one(study: StudyDefinition) -> None:
    rows, _ = _rows(study, _subject("003", [_infusion(), *_assessment("D28", "2025-02-07", "NR")]))
    failure = "treatment failure (no qualifying response at D28), dated T0"
    _check(rows[("003", "EFS")], T0, T0, 1, 0, failure, ("response", "QUALRESP"))
    # PFS knows no treatment failure: censored at the last assessment without relapse
    _check(rows[("003", "PFS")], T0, "2025-02-07", 29, 1, "last adequate assessment", ("response", "RSDAT"))
    assert ("003", "DOR") not in rows  # no qualifying response, no duration of response


def test_complete_remission_with_mrd_is_not_a_qualifying_response(study: StudyDefinition) -> None:
    rows, _ = _rows(study, _subject("004", [_infusion(), *_assessment("D28", "2025-02-07", "CR", mrd_negative=False)]))
    assert rows[("004", "EFS")]["AVAL"] == 1 and rows[("004", "EFS")]["CNSR"] == 0
    assert ("004", "DOR") not in rows


def test_responder_with_a_later_relapse(study: StudyDefinition) -> None:
    rows, _ = _rows(
        study,
        _subject(
            "005",
            [
                _infusion(),
                *_assessment("D28", "2025-02-07", "CR"),
                *_assessment("M2", "2025-03-11", "CR"),
                *_assessment("M3", "2025-04-10", "CR"),
                *_assessment("M6", "2025-07-09", "RELAPSE"),
                ("subject", "relapse", {"RELDAT": "2025-07-01"}),
            ],
        ),
    )
    _check(rows[("005", "EFS")], T0, "2025-07-01", 173, 0, "relapse or progression", ("relapse", "RELDAT"))
    _check(rows[("005", "DOR")], "2025-02-07", "2025-07-01", 145, 0, "relapse or progression", ("relapse", "RELDAT"))


def test_lost_to_follow_up_is_censored_at_the_last_adequate_assessment(study: StudyDefinition) -> None:
    rows, _ = _rows(
        study,
        _subject(
            "006",
            [
                _infusion(),
                *_assessment("D28", "2025-02-07", "CR"),
                *_assessment("M2", "2025-03-11", "CR"),
                ("D14", "labs", {"LBDAT": "2025-01-24"}),
            ],
        ),
    )
    _check(rows[("006", "EFS")], T0, "2025-03-11", 61, 1, "last adequate assessment", ("response", "RSDAT"))
    _check(rows[("006", "DOR")], "2025-02-07", "2025-03-11", 33, 1, "last adequate assessment", ("response", "RSDAT"))
    # last known alive: the latest date of any kind for the subject, named where it was found
    _check(rows[("006", "OS")], T0, "2025-03-11", 61, 1, "last known alive", ("response", "RSDAT"))


def test_last_known_alive_from_long_term_follow_up(study: StudyDefinition) -> None:
    rows, _ = _rows(
        study,
        _subject(
            "012",
            [
                _infusion(),
                *_assessment("D28", "2025-02-07", "CR"),
                ("Y3", "survival", {"LKADAT": "2028-01-20", "ALIVE": "Y"}),
            ],
        ),
    )
    _check(rows[("012", "OS")], T0, "2028-01-20", 1106, 1, "last known alive", ("survival", "LKADAT"))
    _check(rows[("012", "EFS")], T0, "2025-02-07", 29, 1, "last adequate assessment", ("response", "RSDAT"))


def test_death_after_relapse(study: StudyDefinition) -> None:
    rows, _ = _rows(
        study,
        _subject(
            "007",
            [
                _infusion(),
                *_assessment("D28", "2025-02-07", "CR"),
                ("subject", "relapse", {"RELDAT": "2025-05-01"}),
                ("subject", "death", {"DTHDAT": "2025-08-01"}),
                ("Y3", "survival", {"LKADAT": "2025-07-15", "ALIVE": "Y"}),
            ],
        ),
    )
    _check(rows[("007", "EFS")], T0, "2025-05-01", 112, 0, "relapse or progression", ("relapse", "RELDAT"))
    _check(rows[("007", "PFS")], T0, "2025-05-01", 112, 0, "relapse or progression", ("relapse", "RELDAT"))
    _check(rows[("007", "OS")], T0, "2025-08-01", 204, 0, "death", ("death", "DTHDAT"))


def test_no_infusion_goes_to_the_side_file_with_its_reason(study: StudyDefinition) -> None:
    rows, data = _rows(
        study,
        _subject("008", [*_assessment("D28", "2025-02-07", "CR")]),
        _subject("009", [_infusion()]),
    )
    assert not any(key[0] == "008" for key in rows)
    (excluded,) = data.excluded
    assert excluded.usubjid.endswith("-008")
    assert "infusion.INFSTDTC" in excluded.reason_en and "T0" in excluded.reason_zh
    # infused, never assessed: censored on day one, one row per parameter except DOR
    assert sorted(k[1] for k in rows if k[0] == "009") == ["EFS", "OS", "PFS"]
    _check(rows[("009", "EFS")], T0, T0, 1, 1, "no adequate assessment after T0", ("infusion", "INFSTDTC"))


def test_the_arm_column_exists_only_when_unblinded(study: StudyDefinition) -> None:
    subject = _subject("010", [_infusion()])
    blinded, data = _rows(study, subject)
    assert "ARM" not in data.columns() and all("ARM" not in r for r in blinded.values())
    unblinded, data = _rows(study, subject, arms={"id-010": "CIK"})
    assert data.columns()[2] == "ARM" and unblinded[("010", "EFS")]["ARM"] == "CIK"


def test_the_rules_are_data_an_amendment_changes_them(study: StudyDefinition) -> None:
    """Without the treatment-failure event in study.json, the same subject is censored instead."""
    raw = copy.deepcopy(study.study.endpoints)
    efs = raw["parameters"][0]  # type: ignore[index]
    efs["events"] = [e for e in efs["events"] if e["id"] != "TFAIL"]
    amended = StudyDefinition(study.study.model_copy(update={"endpoints": raw}), study.forms, study.directory)
    rows, _ = _rows(amended, _subject("011", [_infusion(), *_assessment("D28", "2025-02-07", "NR")]))
    assert rows[("011", "EFS")]["CNSR"] == 1


def test_a_wrong_rule_is_a_located_definition_error(study: StudyDefinition) -> None:
    raw = copy.deepcopy(study.study.endpoints)
    raw["variables"][0]["expr"] = "date(earliest(infusion, INFSTDTX))"  # type: ignore[index]
    broken = StudyDefinition(study.study.model_copy(update={"endpoints": raw}), study.forms, study.directory)
    with pytest.raises(DefinitionErrors) as caught:
        read_endpoints(broken)
    error = caught.value.errors[0]  # (later rules that use T0 report it unknown as well)
    assert error.path == "$.endpoints.variables[0].expr" and "INFSTDTX" in error.message
