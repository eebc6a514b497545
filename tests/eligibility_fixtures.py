"""Screening data for the eligibility tests (crf-spec section 4).

`BASE` is a complete, eligible subject: a 12-year-old boy consenting on 2026-01-10, relapsed B-ALL,
CAR-T on 2025-06-01 with loss of activity exactly 6 months later, no bendamustine, normal labs,
no CNS disease, every investigator-entered criterion favourable.
"""

from __future__ import annotations

import copy
import datetime as dt
from collections.abc import Mapping
from typing import Any

from cik_ecrf.definitions.loader import load_study
from cik_ecrf.rules import Clock, EligibilityResult, FormEvaluation, RulesEngine, SubjectData

CLOCK = "2026-02-01T10:00+08:00"
ICFDAT = "2026-01-10"

BASE: dict[str, dict[str, Any]] = {
    "consent": {"ICFVER": "v1", "ICFDAT": ICFDAT, "SUBJSIGN": "Y", "GRDSIGN": "Y", "GRDREL": "MOTHER", "LTFUCONS": "Y"},
    "demographics": {"SUBJINIT": "AB", "BRTHDAT": "2014-01-10", "SEX": "M", "ETHNIC": "HA"},
    "diagnosis": {
        "DXSTAT": "RELAPSED",
        "QUALBLST": 25.0,
        "FCMDONE": "Y",
        "MRDDONE": "Y",
        "KARYDONE": "Y",
        "BENDA": "N",
    },
    "prior_cart": {
        "CARTDAT": "2025-06-01",
        "LOSSEV": [{"LOSSDAT": "2025-12-01", "LOSSMETH": "QPCR", "LOSSVAL": 0.001}],
        "RELSINCE": "N",
    },
    "vitals": {"ECOG": 1},
    "labs": {
        "CREAT": 50,
        "CREAT_ULN": 80,
        "BUN": 4,
        "BUN_ULN": 7,
        "PBBLST": 2,
        "HBSAG": "NEG",
        "HBVDNA": "NEG",
        "HCVRNA": "NEG",
        "HIVAGAB": "NEG",
        "TPAB": "NEG",
    },
    "marrow_mrd": {"CSFDONE": "Y", "CSFBLST": 0, "MRIDONE": "Y", "MRILES": "N"},
    "eligibility": {
        "INCL04": "Y",
        "INCL06": "Y",
        "EXCL02": "N",
        "EXCL03": "N",
        "EXCL04": "N",
        "EXCL05": "N",
        "EXCL06": "N",
        "EXCL08": "N",
        "EXCL09": "N",
        "EXCL10": "N",
        "EXCL14": "N",
    },
}

INCLUSIONS = ("INCL01", "INCL02", "INCL03", "INCL04", "INCL05", "INCL06", "INCL07")
EXCLUSIONS = tuple(f"EXCL{n:02d}" for n in range(1, 17))
CRITERIA = INCLUSIONS + EXCLUSIONS
ENTERED = ("INCL04", "INCL06", "EXCL02", "EXCL03", "EXCL04", "EXCL05", "EXCL06", "EXCL08", "EXCL09", "EXCL10", "EXCL14")

_ENGINE: RulesEngine | None = None


def engine() -> RulesEngine:
    """The shipped study's rules engine, built once per test session."""
    global _ENGINE
    if _ENGINE is None:
        _ENGINE = RulesEngine(load_study())
    return _ENGINE


def subject(
    changes: Mapping[str, Mapping[str, Any] | None] | None = None, drop: tuple[str, ...] = ()
) -> dict[str, dict[str, Any]]:
    """A deep copy of BASE with field overrides per form.

    `changes = {"labs": {"CREAT": 120, "BUN": None}}`: a value of None removes the field; a form
    mapped to None is removed, as are the forms named in `drop`.
    """
    data = copy.deepcopy(BASE)
    for form, fields in (changes or {}).items():
        if fields is None:
            data.pop(form, None)
            continue
        target = data.setdefault(form, {})
        for field, value in fields.items():
            if value is None:
                target.pop(field, None)
            else:
                target[field] = copy.deepcopy(value)
    for form in drop:
        data.pop(form, None)
    return data


def evaluate_form(data: Mapping[str, Mapping[str, Any]]) -> FormEvaluation:
    """The screening eligibility form evaluated against all the subject's screening forms."""
    forms = SubjectData.of({("screening", form): values for form, values in data.items()})
    return engine().evaluate("eligibility", "screening", data.get("eligibility", {}), forms, Clock.fixed(CLOCK))


def evaluate(data: Mapping[str, Mapping[str, Any]]) -> EligibilityResult:
    result = evaluate_form(data).eligibility
    assert result is not None
    return result


def outcomes(result: EligibilityResult) -> dict[str, str]:
    return {c.id: c.outcome for c in result.criteria}


def criterion(result: EligibilityResult, criterion_id: str):  # -> CriterionResult
    matches = [c for c in result.criteria if c.id == criterion_id]
    assert len(matches) == 1, f"{criterion_id} appears {len(matches)} times in the result"
    return matches[0]


def base_outcomes() -> dict[str, str]:
    """What BASE gives: every inclusion met, every exclusion absent."""
    return {cid: ("met" if cid.startswith("INCL") else "absent") for cid in CRITERIA}


def iso(value: dt.date) -> str:
    return value.isoformat()


def years_before(date_text: str, years: int, plus_days: int = 0) -> str:
    """The birthday on which a subject turns `years` exactly on `date_text` (shifted by `plus_days`)."""
    date = dt.date.fromisoformat(date_text)
    return iso(date.replace(year=date.year - years) + dt.timedelta(days=plus_days))
