"""Eligibility (crf-spec section 4) through the rules engine and the `eligibility` command.

The contract: each of the 23 criteria has an outcome (met / not met for inclusions, present / absent
for exclusions, or not evaluable when a value it needs is missing) and lists the source values it
read; ELIGIBLE is Y when every inclusion is met and no exclusion is present, N when any inclusion is
not met or any exclusion is present (even while others are not evaluable), otherwise not evaluable.
"""

from __future__ import annotations

import datetime as dt
import json
import subprocess
import sys
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from eligibility_fixtures import (
    BASE,
    CRITERIA,
    ENTERED,
    ICFDAT,
    base_outcomes,
    criterion,
    evaluate,
    evaluate_form,
    outcomes,
    subject,
    years_before,
)

from cik_ecrf.rules.jsonvalues import to_json

REPO = Path(__file__).resolve().parent.parent

FEMALE = {"demographics": {"SEX": "F", "CHILDPOT": "Y"}, "eligibility": {"LACTATING": "N"}, "labs": {"HCG": "NEG"}}


def female(**forms: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Changes making BASE a 12-year-old girl of childbearing potential (not lactating, hCG negative), then `forms`."""
    changes = {form: dict(fields) for form, fields in FEMALE.items()}
    for form, fields in forms.items():
        changes.setdefault(form, {}).update(fields)
    return changes


def assert_only_changed(result, expected: dict[str, str]) -> None:
    """Every criterion as in BASE except those in `expected`."""
    wanted = base_outcomes() | expected
    assert outcomes(result) == wanted


def verdict(outcome_by_id: dict[str, str]) -> str | None:
    if any(o in ("not met", "present") for o in outcome_by_id.values()):
        return "N"
    if any(o == "not evaluable" for o in outcome_by_id.values()):
        return None
    return "Y"


# --------------------------------------------------------------------------------------------- base


def test_base_subject_is_eligible_with_every_criterion_met_or_absent():
    result = evaluate(subject())
    assert result.eligible == "Y"
    assert [c.id for c in result.criteria] == list(CRITERIA)
    assert outcomes(result) == base_outcomes()
    for c in result.criteria:
        assert c.inclusion is c.id.startswith("INCL")
        assert c.source == ("entered" if c.id in ENTERED else "derived")


def test_eligible_field_on_the_form_mirrors_the_result():
    evaluation = evaluate_form(subject())
    assert evaluation.values["ELIGIBLE"] == "Y"
    assert not [i for i in evaluation.issues if i.field == "ELIGIBLE"]


# --------------------------------------------------------------------------------------------- INCL01


@pytest.mark.parametrize(
    ("changes", "outcome"),
    [
        ({"QUALBLST": 20}, "met"),
        ({"QUALBLST": 20.0}, "met"),
        ({"QUALBLST": 19.9}, "not met"),
        ({"QUALBLST": 100}, "met"),
        ({"DXSTAT": "REFRACTORY"}, "met"),
        ({"FCMDONE": "N"}, "not met"),
        ({"KARYDONE": "N"}, "not met"),
        ({"MRDDONE": "N"}, "not met"),
        ({"QUALBLST": None}, "not evaluable"),
        ({"DXSTAT": None}, "not evaluable"),
    ],
    ids=[
        "blasts-20",
        "blasts-20.0",
        "blasts-19.9",
        "blasts-100",
        "refractory",
        "no-fcm",
        "no-karyotype",
        "no-mrd",
        "no-blasts",
        "no-dxstat",
    ],
)
def test_incl01_marrow_blasts_and_workup(changes, outcome):
    result = evaluate(subject({"diagnosis": changes}))
    assert_only_changed(result, {"INCL01": outcome})
    assert result.eligible == verdict(outcomes(result))


# --------------------------------------------------------------------------------------------- INCL02


def _cart(cartdat: str, *lossdats: str | None, icfdat: str = ICFDAT, relsince: str = "N") -> dict[str, Any]:
    rows = [
        {"LOSSDAT": d, "LOSSMETH": "QPCR", "LOSSVAL": 0.001} if d else {"LOSSMETH": "FCM", "LOSSVAL": 0}
        for d in lossdats
    ]
    return {"prior_cart": {"CARTDAT": cartdat, "LOSSEV": rows, "RELSINCE": relsince}, "consent": {"ICFDAT": icfdat}}


@pytest.mark.parametrize(
    ("cartdat", "lossdat", "icfdat", "outcome"),
    [
        ("2025-06-01", "2025-12-01", ICFDAT, "met"),  # exactly 6 calendar months
        ("2025-06-01", "2025-12-02", ICFDAT, "not met"),  # one day later
        ("2025-06-01", "2025-11-30", ICFDAT, "met"),
        ("2025-08-31", "2026-02-28", "2026-03-10", "met"),  # month end: 08-31 + 6 months = 02-28
        ("2025-08-31", "2026-03-01", "2026-03-10", "not met"),
        ("2023-08-31", "2024-02-29", ICFDAT, "met"),  # leap year: 08-31 + 6 months = 02-29
        ("2023-08-31", "2024-03-01", ICFDAT, "not met"),
    ],
)
def test_incl02_loss_of_cart_activity_within_six_calendar_months(cartdat, lossdat, icfdat, outcome):
    result = evaluate(subject(_cart(cartdat, lossdat, icfdat=icfdat)))
    assert_only_changed(result, {"INCL02": outcome})
    c = criterion(result, "INCL02")
    assert c.values["prior_cart.CARTDAT"] == dt.date.fromisoformat(cartdat)
    assert c.values["prior_cart.CARTLOSDAT"] == dt.date.fromisoformat(lossdat)
    assert result.eligible == ("Y" if outcome == "met" else "N")


def test_incl02_relapse_since_cart_is_not_met():
    result = evaluate(subject(_cart("2025-06-01", "2025-07-01", relsince="Y")))
    assert_only_changed(result, {"INCL02": "not met"})
    assert result.eligible == "N"


def test_incl02_uses_the_earliest_loss_evidence():
    # The later row alone would be too late; CARTLOSDAT is the earliest LOSSDAT.
    result = evaluate(subject(_cart("2025-06-01", "2026-01-05", "2025-11-20")))
    c = criterion(result, "INCL02")
    assert c.outcome == "met"
    assert c.values["prior_cart.CARTLOSDAT"] == dt.date(2025, 11, 20)


@pytest.mark.parametrize(
    "changes",
    [
        _cart("2025-06-01", "2025-10-01", None),  # a row without its date: the earliest is unknown
        {"prior_cart": {"LOSSEV": None}},
        {"prior_cart": {"CARTDAT": None}},
        {"prior_cart": {"RELSINCE": None}},
    ],
    ids=["row-without-date", "no-rows", "no-cartdat", "no-relsince"],
)
def test_incl02_missing_input_is_not_evaluable(changes):
    result = evaluate(subject(changes))
    assert_only_changed(result, {"INCL02": "not evaluable"})
    assert result.eligible is None


# --------------------------------------------------------------------------------------------- INCL03


@pytest.mark.parametrize("icfdat", [ICFDAT, "2026-03-01"])
@pytest.mark.parametrize(
    ("years", "plus_days", "age", "outcome"),
    [
        (1, 0, 1, "met"),  # turns 1 on the consent date
        (1, 1, 0, "not met"),  # turns 1 the day after consent
        (0, -180, 0, "not met"),
        (39, 0, 39, "met"),
        (39, -1, 39, "met"),
        (40, 1, 39, "met"),  # the day before the 40th birthday
        (40, 0, 40, "not met"),  # turns 40 on the consent date
        (40, -1, 40, "not met"),
    ],
)
def test_incl03_age_at_consent_boundaries(icfdat, years, plus_days, age, outcome):
    brthdat = years_before(icfdat, years, plus_days)
    result = evaluate(subject({"consent": {"ICFDAT": icfdat}, "demographics": {"BRTHDAT": brthdat}}))
    c = criterion(result, "INCL03")
    assert c.values == {"demographics.AGE": age}
    assert c.outcome == outcome
    assert_only_changed(result, {"INCL03": outcome})
    assert result.eligible == ("Y" if outcome == "met" else "N")


def test_incl03_without_birth_date_is_not_evaluable():
    result = evaluate(subject({"demographics": {"BRTHDAT": None}}))
    assert criterion(result, "INCL03").outcome == "not evaluable"
    assert criterion(result, "INCL03").values == {"demographics.AGE": None}
    assert result.eligible is None


# --------------------------------------------------------------------------------------------- INCL05


@pytest.mark.parametrize(
    ("ecog", "outcome"), [(0, "met"), (1, "met"), (2, "met"), (3, "not met"), (4, "not met"), (5, "not met")]
)
def test_incl05_ecog(ecog, outcome):
    result = evaluate(subject({"vitals": {"ECOG": ecog}}))
    assert_only_changed(result, {"INCL05": outcome})
    assert criterion(result, "INCL05").values == {"vitals.ECOG": ecog}
    assert result.eligible == ("Y" if outcome == "met" else "N")


# --------------------------------------------------------------------------------------------- INCL07


@pytest.mark.parametrize(
    ("age", "plus_days", "consent", "outcome"),
    [
        (7, 0, {"SUBJSIGN": "N", "GRDSIGN": "Y"}, "met"),  # under 8: the subject need not sign
        (8, 1, {"SUBJSIGN": "N", "GRDSIGN": "Y"}, "met"),  # the day before the 8th birthday
        (8, 0, {"SUBJSIGN": "N", "GRDSIGN": "Y"}, "not met"),  # 8 and older: the subject must sign
        (8, 0, {"SUBJSIGN": "Y", "GRDSIGN": "Y"}, "met"),
        (18, 0, {"SUBJSIGN": "Y", "GRDSIGN": "N", "GRDREL": None}, "met"),  # adult: no guardian needed
        (18, 0, {"SUBJSIGN": "Y", "GRDSIGN": None, "GRDREL": None}, "met"),
        (17, 0, {"SUBJSIGN": "Y", "GRDSIGN": "N", "GRDREL": None}, "not met"),  # minor: guardian must sign
        (18, 1, {"SUBJSIGN": "Y", "GRDSIGN": "N", "GRDREL": None}, "not met"),  # the day before the 18th birthday
        (17, 0, {"SUBJSIGN": "Y", "GRDSIGN": None, "GRDREL": None}, "not evaluable"),  # guardian signature missing
        (12, 0, {"SUBJSIGN": None}, "not evaluable"),  # subject signature missing
    ],
    ids=[
        "7-no-subject-sign",
        "almost-8-no-subject-sign",
        "8-no-subject-sign",
        "8-both-sign",
        "18-no-guardian",
        "18-guardian-blank",
        "17-no-guardian",
        "almost-18-no-guardian",
        "17-guardian-blank",
        "12-subject-blank",
    ],
)
def test_incl07_consent_signatures_by_age(age, plus_days, consent, outcome):
    changes = {"consent": consent, "demographics": {"BRTHDAT": years_before(ICFDAT, age, plus_days)}}
    result = evaluate(subject(changes))
    assert_only_changed(result, {"INCL07": outcome})
    assert result.eligible == verdict(outcomes(result))


# --------------------------------------------------------------------------------------------- entered criteria


@pytest.mark.parametrize("cid", ENTERED)
def test_entered_criteria_follow_the_investigators_answer(cid):
    unfavourable = "N" if cid.startswith("INCL") else "Y"
    result = evaluate(subject({"eligibility": {cid: unfavourable}}))
    assert_only_changed(result, {cid: "not met" if cid.startswith("INCL") else "present"})
    assert criterion(result, cid).values == {f"eligibility.{cid}": unfavourable}
    assert result.eligible == "N"

    result = evaluate(subject({"eligibility": {cid: None}}))
    assert_only_changed(result, {cid: "not evaluable"})
    assert criterion(result, cid).values == {f"eligibility.{cid}": None}
    assert result.eligible is None


# --------------------------------------------------------------------------------------------- EXCL01


@pytest.mark.parametrize(
    ("icfdat", "bendadat", "outcome"),
    [
        (ICFDAT, "2025-04-10", "present"),  # exactly 9 calendar months before consent
        (ICFDAT, "2025-04-09", "absent"),  # one day earlier
        (ICFDAT, "2026-01-10", "present"),
        ("2026-01-31", "2025-04-30", "present"),  # month end: 01-31 - 9 months = 04-30
        ("2026-01-31", "2025-04-29", "absent"),
    ],
)
def test_excl01_bendamustine_within_nine_calendar_months(icfdat, bendadat, outcome):
    result = evaluate(subject({"consent": {"ICFDAT": icfdat}, "diagnosis": {"BENDA": "Y", "BENDADAT": bendadat}}))
    assert_only_changed(result, {"EXCL01": outcome})
    c = criterion(result, "EXCL01")
    assert c.values == {
        "consent.ICFDAT": dt.date.fromisoformat(icfdat),
        "diagnosis.BENDA": "Y",
        "diagnosis.BENDADAT": dt.date.fromisoformat(bendadat),
    }
    assert result.eligible == ("N" if outcome == "present" else "Y")


def test_excl01_never_received_bendamustine_is_absent():
    # BENDADAT is hidden when BENDA = N, so a stray date is not used.
    result = evaluate(subject({"diagnosis": {"BENDA": "N", "BENDADAT": "2025-12-01"}}))
    assert criterion(result, "EXCL01").outcome == "absent"
    assert criterion(result, "EXCL01").values["diagnosis.BENDADAT"] is None
    assert result.eligible == "Y"


def test_excl01_bendamustine_without_date_is_not_evaluable():
    result = evaluate(subject({"diagnosis": {"BENDA": "Y"}}))
    assert_only_changed(result, {"EXCL01": "not evaluable"})
    assert result.eligible is None


# --------------------------------------------------------------------------------------------- EXCL07


@pytest.mark.parametrize(
    ("labs", "outcome"),
    [
        ({"CREAT": 120, "CREAT_ULN": 80}, "present"),  # exactly 1.5 x ULN
        ({"CREAT": 119.9, "CREAT_ULN": 80}, "absent"),
        ({"CREAT": 99.9, "CREAT_ULN": 66.6}, "present"),  # 1.5 x 66.6 = 99.9, no float rounding
        ({"CREAT": 99.8, "CREAT_ULN": 66.6}, "absent"),
        ({"BUN": 10.5, "BUN_ULN": 7}, "present"),
        ({"BUN": 10.49, "BUN_ULN": 7}, "absent"),
        ({"BUN": 10.71, "BUN_ULN": 7.14}, "present"),
        ({"BUN": 10.7, "BUN_ULN": 7.14}, "absent"),
        ({"CREAT": 120, "CREAT_ULN": 80, "BUN": 10.5, "BUN_ULN": 7}, "present"),
    ],
)
def test_excl07_creatinine_or_bun_at_one_and_a_half_times_uln(labs, outcome):
    result = evaluate(subject({"labs": labs}))
    assert_only_changed(result, {"EXCL07": outcome})
    values = criterion(result, "EXCL07").values
    for field, value in labs.items():
        assert values[f"labs.{field}"] == Decimal(str(value))
    assert result.eligible == ("N" if outcome == "present" else "Y")


@pytest.mark.parametrize(
    ("labs", "outcome"),
    [
        ({"CREAT": 120, "BUN": None}, "present"),  # one raised value is enough
        ({"CREAT": 50, "BUN": None}, "not evaluable"),  # BUN could still be raised
        ({"CREAT_ULN": None}, "not evaluable"),
    ],
    ids=["creat-high-bun-missing", "creat-normal-bun-missing", "no-creat-uln"],
)
def test_excl07_with_a_missing_value(labs, outcome):
    result = evaluate(subject({"labs": labs}))
    assert_only_changed(result, {"EXCL07": outcome})


# --------------------------------------------------------------------------------------------- EXCL11, EXCL12, EXCL13


@pytest.mark.parametrize(
    ("marrow", "outcome"),
    [
        ({"MRIDONE": "Y", "MRILES": "N"}, "absent"),
        ({"MRIDONE": "Y", "MRILES": "Y"}, "present"),
        ({"MRIDONE": "N", "MRILES": None}, "not evaluable"),
        ({"MRIDONE": "N", "MRILES": "N"}, "not evaluable"),  # MRILES is hidden when no MRI was done
        ({"MRIDONE": "Y", "MRILES": None}, "not evaluable"),
    ],
)
def test_excl11_brain_lesion_on_mri(marrow, outcome):
    result = evaluate(subject({"marrow_mrd": marrow}))
    assert_only_changed(result, {"EXCL11": outcome})
    assert result.eligible == verdict(outcomes(result))


@pytest.mark.parametrize(
    ("marrow", "outcome"),
    [
        ({"CSFBLST": 20}, "absent"),  # exactly 20 cells/uL is not > 20
        ({"CSFBLST": 20.0}, "absent"),
        ({"CSFBLST": 20.1}, "present"),
        ({"CSFBLST": 500}, "present"),
        ({"CSFDONE": "N", "CSFBLST": None}, "not evaluable"),
        ({"CSFDONE": "N", "CSFBLST": 0}, "not evaluable"),  # CSFBLST is hidden when no lumbar puncture was done
        ({"CSFBLST": None}, "not evaluable"),
    ],
)
def test_excl12_csf_leukaemic_cells(marrow, outcome):
    result = evaluate(subject({"marrow_mrd": marrow}))
    assert_only_changed(result, {"EXCL12": outcome})
    assert result.eligible == verdict(outcomes(result))


@pytest.mark.parametrize(
    ("pbblst", "outcome"), [(30, "absent"), (30.0, "absent"), (30.1, "present"), (0, "absent"), (100, "present")]
)
def test_excl13_peripheral_blood_blasts(pbblst, outcome):
    result = evaluate(subject({"labs": {"PBBLST": pbblst}}))
    assert_only_changed(result, {"EXCL13": outcome})
    assert criterion(result, "EXCL13").values == {"labs.PBBLST": Decimal(str(pbblst))}
    assert result.eligible == ("N" if outcome == "present" else "Y")


# --------------------------------------------------------------------------------------------- EXCL15


@pytest.mark.parametrize(
    ("changes", "outcome"),
    [
        ({}, "absent"),  # BASE is male
        ({"labs": {"HCG": "POS"}, "eligibility": {"LACTATING": "Y"}}, "absent"),  # SEX = M: absent whatever else
        (female(labs={"HCG": "POS"}), "present"),
        (female(labs={"HCG": "POS"}, eligibility={"LACTATING": None}), "present"),
        (female(eligibility={"LACTATING": "Y"}), "present"),
        (female(eligibility={"LACTATING": "Y"}, labs={"HCG": "ND"}), "present"),
        (female(eligibility={"LACTATING": "N"}, labs={"HCG": "NEG"}), "absent"),
        (female(eligibility={"LACTATING": "N"}, labs={"HCG": "ND"}, demographics={"CHILDPOT": "N"}), "absent"),
        (female(eligibility={"LACTATING": "N"}, labs={"HCG": None}, demographics={"CHILDPOT": "N"}), "absent"),
        (female(eligibility={"LACTATING": "N"}, labs={"HCG": "ND"}, demographics={"CHILDPOT": "Y"}), "not evaluable"),
        (female(eligibility={"LACTATING": "N"}, labs={"HCG": None}, demographics={"CHILDPOT": "Y"}), "not evaluable"),
        (female(eligibility={"LACTATING": None}, labs={"HCG": "NEG"}), "not evaluable"),
        ({"demographics": {"SEX": None}}, "not evaluable"),
    ],
    ids=[
        "male",
        "male-hcg-pos-lactating",
        "female-hcg-pos",
        "female-hcg-pos-lactating-blank",
        "female-lactating",
        "female-lactating-hcg-nd",
        "female-not-lactating-hcg-neg",
        "female-not-lactating-not-childbearing",
        "female-not-lactating-not-childbearing-no-hcg",
        "female-not-lactating-hcg-nd-childbearing",
        "female-not-lactating-no-hcg-childbearing",
        "female-lactating-blank",
        "sex-blank",
    ],
)
def test_excl15_pregnant_or_lactating(changes, outcome):
    result = evaluate(subject(changes))
    assert_only_changed(result, {"EXCL15": outcome})
    assert result.eligible == verdict(outcomes(result))


def test_excl15_values_name_sex_hcg_lactating_and_childbearing_potential():
    result = evaluate(subject(female(labs={"HCG": "POS"})))
    assert criterion(result, "EXCL15").values == {
        "demographics.CHILDPOT": "Y",
        "demographics.SEX": "F",
        "eligibility.LACTATING": "N",
        "labs.HCG": "POS",
    }


@pytest.mark.parametrize(
    ("hcg", "outcome"), [("NEG", "absent"), ("POS", "present"), ("ND", "not evaluable"), (None, "not evaluable")]
)
def test_excl15_girl_under_eight_follows_the_rule_as_written(hcg, outcome):
    # CHILDPOT is only shown from age 8, so for a younger girl it counts as missing and only a
    # negative hCG makes the condition absent (the literal section-4 rule; see the report's doubts).
    changes = female(demographics={"BRTHDAT": years_before(ICFDAT, 5), "CHILDPOT": "N"}, labs={"HCG": hcg})
    result = evaluate(subject(changes))
    c = criterion(result, "EXCL15")
    assert c.values["demographics.CHILDPOT"] is None
    assert c.outcome == outcome


# --------------------------------------------------------------------------------------------- EXCL16


@pytest.mark.parametrize(
    ("labs", "outcome"),
    [
        ({"TPAB": "POS", "RPR": "NEG"}, "absent"),  # past, treated syphilis
        ({"TPAB": "POS", "RPR": "POS"}, "present"),
        ({"TPAB": "NEG", "RPR": "POS"}, "absent"),
        ({"TPAB": "POS", "RPR": None}, "not evaluable"),
        ({"HIVAGAB": "POS"}, "present"),
        ({"HBSAG": "POS"}, "present"),
        ({"HBVDNA": "POS"}, "present"),
        ({"HCVRNA": "POS"}, "present"),
        ({"HIVAGAB": "POS", "HBSAG": None}, "present"),  # one positive is enough
        ({"HIVAGAB": None}, "not evaluable"),
        ({"HBSAG": "ND", "HBVDNA": "ND", "HCVRNA": "ND", "HIVAGAB": "ND", "TPAB": "ND"}, "absent"),  # rule as written
    ],
    ids=[
        "tpab-pos-rpr-neg",
        "tpab-pos-rpr-pos",
        "tpab-neg-rpr-pos",
        "tpab-pos-rpr-blank",
        "hiv",
        "hbsag",
        "hbvdna",
        "hcvrna",
        "hiv-hbsag-blank",
        "hiv-blank",
        "all-not-done",
    ],
)
def test_excl16_active_infection(labs, outcome):
    result = evaluate(subject({"labs": labs}))
    assert_only_changed(result, {"EXCL16": outcome})
    assert result.eligible == verdict(outcomes(result))


# --------------------------------------------------------------------------------------------- not evaluable


def test_missing_labs_make_the_lab_criteria_not_evaluable_and_eligibility_open():
    result = evaluate(subject(drop=("labs",)))
    # EXCL15 stays absent: a male subject needs no lab value for it.
    assert_only_changed(result, {"EXCL07": "not evaluable", "EXCL13": "not evaluable", "EXCL16": "not evaluable"})
    assert result.eligible is None
    assert criterion(result, "EXCL13").values == {"labs.PBBLST": None}
    assert set(criterion(result, "EXCL07").values.values()) == {None}


def test_not_evaluable_criteria_are_errors_on_the_eligible_field():
    evaluation = evaluate_form(subject(drop=("labs",)))
    assert evaluation.values["ELIGIBLE"] is None
    errors = {i.code: i for i in evaluation.errors if i.field == "ELIGIBLE"}
    assert set(errors) == {"EXCL07", "EXCL13", "EXCL16"}
    assert "labs.PBBLST" in errors["EXCL13"].message.en


def test_missing_entered_answers_make_only_the_entered_criteria_not_evaluable():
    result = evaluate(subject(drop=("eligibility",)))
    assert_only_changed(result, {cid: "not evaluable" for cid in ENTERED})
    assert result.eligible is None


def test_unreadable_value_counts_as_missing_not_as_false():
    result = evaluate(subject({"vitals": {"ECOG": "abc"}}))
    assert_only_changed(result, {"INCL05": "not evaluable"})
    assert result.eligible is None


@pytest.mark.parametrize(
    ("changes", "drop", "expected"),
    [
        ({"marrow_mrd": {"MRIDONE": "N", "MRILES": None}}, (), {"EXCL11": "not evaluable"}),
        ({"marrow_mrd": {"CSFDONE": "N", "CSFBLST": None}}, (), {"EXCL12": "not evaluable"}),
        ({"marrow_mrd": {"MRIDONE": "N", "CSFDONE": "N"}}, (), {"EXCL11": "not evaluable", "EXCL12": "not evaluable"}),
    ],
    ids=["no-mri", "no-lumbar-puncture", "neither"],
)
def test_assessment_not_done_is_not_evaluable(changes, drop, expected):
    result = evaluate(subject(changes, drop))
    assert_only_changed(result, expected)
    assert result.eligible is None


@pytest.mark.parametrize(
    ("changes", "decisive"),
    [
        ({"vitals": {"ECOG": 3}}, {"INCL05": "not met"}),
        ({"eligibility": {"EXCL05": "Y"}}, {"EXCL05": "present"}),
        ({"demographics": {"BRTHDAT": years_before(ICFDAT, 40)}}, {"INCL03": "not met"}),
        ({"marrow_mrd": {"CSFBLST": 25}}, {"EXCL12": "present"}),
    ],
    ids=["inclusion-not-met", "entered-exclusion-present", "too-old", "csf-positive"],
)
def test_a_decisive_criterion_makes_the_subject_ineligible_while_others_are_not_evaluable(changes, decisive):
    changes = dict(changes)
    changes["marrow_mrd"] = {"MRIDONE": "N", **changes.get("marrow_mrd", {})}
    result = evaluate(subject(changes, drop=("labs",)))
    expected = {
        "EXCL07": "not evaluable",
        "EXCL13": "not evaluable",
        "EXCL16": "not evaluable",
        "EXCL11": "not evaluable",
    }
    assert_only_changed(result, expected | decisive)
    assert result.eligible == "N"
    assert evaluate_form(subject(changes, drop=("labs",))).values["ELIGIBLE"] == "N"


def test_investigator_cannot_confirm_an_ineligible_subject():
    evaluation = evaluate_form(subject({"vitals": {"ECOG": 3}, "eligibility": {"IECONF": "Y"}}))
    assert evaluation.values["ELIGIBLE"] == "N"
    assert any(i.field == "IECONF" and i.severity == "error" for i in evaluation.issues)


# --------------------------------------------------------------------------------------------- values


EXPECTED_BASE_VALUES: dict[str, dict[str, Any]] = {
    "INCL01": {
        "diagnosis.DXSTAT": "RELAPSED",
        "diagnosis.QUALBLST": 25.0,
        "diagnosis.FCMDONE": "Y",
        "diagnosis.KARYDONE": "Y",
        "diagnosis.MRDDONE": "Y",
    },
    "INCL02": {"prior_cart.CARTLOSDAT": "2025-12-01", "prior_cart.CARTDAT": "2025-06-01", "prior_cart.RELSINCE": "N"},
    "INCL03": {"demographics.AGE": 12},
    "INCL05": {"vitals.ECOG": 1},
    "INCL07": {"consent.ICFDAT": "2026-01-10", "demographics.AGE": 12, "consent.SUBJSIGN": "Y", "consent.GRDSIGN": "Y"},
    "EXCL01": {"diagnosis.BENDA": "N", "diagnosis.BENDADAT": None, "consent.ICFDAT": "2026-01-10"},
    "EXCL07": {"labs.CREAT": 50, "labs.CREAT_ULN": 80, "labs.BUN": 4, "labs.BUN_ULN": 7},
    "EXCL11": {"marrow_mrd.MRILES": "N"},
    "EXCL12": {"marrow_mrd.CSFBLST": 0},
    "EXCL13": {"labs.PBBLST": 2},
    "EXCL15": {"demographics.SEX": "M", "labs.HCG": None, "eligibility.LACTATING": None, "demographics.CHILDPOT": None},
    "EXCL16": {
        "labs.HBSAG": "NEG",
        "labs.HBVDNA": "NEG",
        "labs.HCVRNA": "NEG",
        "labs.HIVAGAB": "NEG",
        "labs.TPAB": "NEG",
        "labs.RPR": None,
    },
} | {cid: {f"eligibility.{cid}": BASE["eligibility"][cid]} for cid in ENTERED}

# The rule reads only MRILES / CSFBLST; naming the "done" flag too would also be faithful.
ALLOWED_EXTRA = {"EXCL11": {"marrow_mrd.MRIDONE"}, "EXCL12": {"marrow_mrd.CSFDONE"}}


@pytest.mark.parametrize("cid", CRITERIA)
def test_each_criterion_lists_its_source_fields_and_values(cid):
    result = evaluate(subject())
    values = {k: to_json(v) for k, v in criterion(result, cid).values.items()}
    expected = EXPECTED_BASE_VALUES[cid]
    assert {k: values.get(k, "<absent>") for k in expected} == expected
    assert set(values) - set(expected) <= ALLOWED_EXTRA.get(cid, set())


def test_source_values_are_typed_in_the_api():
    result = evaluate(subject({"diagnosis": {"BENDA": "Y", "BENDADAT": "2025-03-01"}}))
    assert criterion(result, "INCL02").values["prior_cart.CARTLOSDAT"] == dt.date(2025, 12, 1)
    assert criterion(result, "EXCL01").values["diagnosis.BENDADAT"] == dt.date(2025, 3, 1)
    assert criterion(result, "EXCL07").values["labs.CREAT"] == Decimal("50")
    assert criterion(result, "INCL05").values["vitals.ECOG"] == 1
    assert isinstance(criterion(result, "INCL03").values["demographics.AGE"], int)


# --------------------------------------------------------------------------------------------- CLI


def run_cli(path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "cik_ecrf", "eligibility", "--values", str(path), *args],
        cwd=REPO,
        capture_output=True,
        text=True,
        encoding="utf-8",
        timeout=120,
    )


def write_values(tmp_path: Path, data: Any, name: str = "values.json") -> Path:
    path = tmp_path / name
    path.write_text(data if isinstance(data, str) else json.dumps(data, ensure_ascii=False), encoding="utf-8")
    return path


def assert_rejected(proc: subprocess.CompletedProcess[str], path: Path, *fragments: str) -> list[str]:
    assert proc.returncode == 1, proc.stderr
    assert proc.stdout == ""  # nothing is evaluated on bad input
    assert "Traceback" not in proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert lines
    for line in lines:
        assert line.startswith(f"{path}:"), line
    for fragment in fragments:
        assert any(fragment in line for line in lines), (fragment, lines)
    return lines


def test_cli_json_output_for_the_base_subject(tmp_path):
    path = write_values(tmp_path, BASE)
    proc = run_cli(path, "--json")
    assert proc.returncode == 0, proc.stderr
    assert proc.stderr == ""
    out = json.loads(proc.stdout)
    assert set(out) == {"eligible", "criteria"}
    assert out["eligible"] == "Y"
    assert list(out["criteria"]) == list(CRITERIA)
    for cid, entry in out["criteria"].items():
        assert set(entry) == {"outcome", "values"}
        assert entry["outcome"] == base_outcomes()[cid]
        assert {k: entry["values"].get(k, "<absent>") for k in EXPECTED_BASE_VALUES[cid]} == EXPECTED_BASE_VALUES[cid]
    assert out == evaluate(subject()).as_json()


def test_cli_json_output_not_eligible_and_not_evaluable(tmp_path):
    data = subject({"vitals": {"ECOG": 3}}, drop=("labs",))
    out = json.loads(run_cli(write_values(tmp_path, data), "--json").stdout)
    assert out["eligible"] == "N"
    assert out["criteria"]["INCL05"] == {"outcome": "not met", "values": {"vitals.ECOG": 3}}
    assert out["criteria"]["EXCL13"] == {"outcome": "not evaluable", "values": {"labs.PBBLST": None}}

    proc = run_cli(write_values(tmp_path, subject(drop=("labs",))), "--json")
    assert proc.returncode == 0
    assert json.loads(proc.stdout)["eligible"] is None


def test_cli_reads_decimals_exactly_at_the_boundary(tmp_path):
    data = subject({"labs": {"CREAT": 99.9, "CREAT_ULN": 66.6}, "marrow_mrd": {"CSFBLST": 20.0}})
    out = json.loads(run_cli(write_values(tmp_path, data), "--json").stdout)
    assert out["criteria"]["EXCL07"]["outcome"] == "present"
    assert out["criteria"]["EXCL07"]["values"]["labs.CREAT"] == 99.9
    assert out["criteria"]["EXCL12"]["outcome"] == "absent"
    assert out["eligible"] == "N"


def test_cli_text_output(tmp_path):
    proc = run_cli(write_values(tmp_path, BASE))
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.strip().splitlines()
    assert lines[0] == "Eligibility: ELIGIBLE"
    assert len(lines) == 1 + len(CRITERIA)
    for line, cid in zip(lines[1:], CRITERIA):
        words = line.split()
        assert words[0] == cid
        assert base_outcomes()[cid] in line
    incl03 = next(line for line in lines if line.split()[0] == "INCL03")
    assert "demographics.AGE=12" in incl03
    incl02 = next(line for line in lines if line.split()[0] == "INCL02")
    assert 'prior_cart.CARTLOSDAT="2025-12-01"' in incl02


@pytest.mark.parametrize(
    ("changes", "drop", "headline", "row"),
    [
        ({"vitals": {"ECOG": 3}}, (), "Eligibility: NOT ELIGIBLE", ("INCL05", "not met")),
        ({}, ("labs",), "Eligibility: NOT EVALUABLE", ("EXCL13", "not evaluable")),
    ],
)
def test_cli_text_output_verdicts(tmp_path, changes, drop, headline, row):
    proc = run_cli(write_values(tmp_path, subject(changes, drop)))
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.strip().splitlines()
    assert lines[0] == headline
    line = next(line for line in lines if line.split()[0] == row[0])
    assert row[1] in line


@pytest.mark.parametrize(
    ("text", "position"),
    [
        ('{\n  "consent": {"ICFDAT": "2026-01-10",}\n}\n', "2:38"),
        ('{"consent": {"ICFDAT": "2026-01-10"}', "1:37"),
        ("", "1:1"),
    ],
    ids=["trailing-comma", "unclosed", "empty"],
)
def test_cli_malformed_json_gives_line_and_column(tmp_path, text, position):
    path = write_values(tmp_path, text)
    lines = assert_rejected(run_cli(path, "--json"), path)
    assert lines[0].startswith(f"{path}:{position}: ")
    assert "JSON" in lines[0]


@pytest.mark.parametrize(
    ("changes", "fragments"),
    [
        ({"labz": {"X": 1}}, ("$.labz: ", "not a screening form")),
        ({"randomization": {"RANDNO": "1"}}, ("$.randomization: ", "not a screening form")),
        ({"consent": {"FOO": "x"}}, ("$.consent.FOO: ", "no field FOO")),
        ({"vitals": {"ECOG": "one"}}, ("$.vitals.ECOG: ", "one")),
        ({"vitals": {"ECOG": 7}}, ("$.vitals.ECOG: ",)),
        ({"consent": {"ICFDAT": "10/01/2026"}}, ("$.consent.ICFDAT: ", "YYYY-MM-DD")),
        ({"consent": {"ICFDAT": "2026-02-30"}}, ("$.consent.ICFDAT: ", "2026-02-30")),
        ({"labs": {"CREAT": True}}, ("$.labs.CREAT: ", "number")),
        ({"labs": {"CREAT": "high"}}, ("$.labs.CREAT: ", "number")),
        ({"diagnosis": {"QUALBLST": 25.55}}, ("$.diagnosis.QUALBLST: ", "decimal")),
        ({"diagnosis": {"BENDA": "yes"}}, ("$.diagnosis.BENDA: ",)),
        ({"demographics": {"BRTHDAT": 20140110}}, ("$.demographics.BRTHDAT: ",)),
        (
            {"prior_cart": {"LOSSEV": [{"LOSSDAT": "2025-13-01", "LOSSMETH": "QPCR", "LOSSVAL": 0}]}},
            ("$.prior_cart.LOSSEV[1].LOSSDAT: ",),
        ),
        ({"prior_cart": {"LOSSEV": "2025-12-01"}}, ("$.prior_cart.LOSSEV: ",)),
    ],
    ids=[
        "unknown-form",
        "non-screening-form",
        "unknown-field",
        "ecog-text",
        "ecog-not-a-code",
        "date-format",
        "impossible-date",
        "bool-for-number",
        "text-for-number",
        "too-many-decimals",
        "yesno-not-a-code",
        "date-as-number",
        "group-cell",
        "group-not-a-list",
    ],
)
def test_cli_rejects_bad_input_naming_file_and_field(tmp_path, changes, fragments):
    path = write_values(tmp_path, subject(changes))
    assert_rejected(run_cli(path, "--json"), path, *fragments)


def test_cli_reports_every_problem_at_once(tmp_path):
    data = subject({"labz": {}, "consent": {"FOO": 1}, "vitals": {"ECOG": "one"}, "labs": {"CREAT": "high"}})
    path = write_values(tmp_path, data)
    lines = assert_rejected(run_cli(path), path, "$.labz: ", "$.consent.FOO: ", "$.vitals.ECOG: ", "$.labs.CREAT: ")
    assert len(lines) == 4


def test_cli_rejects_a_form_that_is_not_an_object(tmp_path):
    path = write_values(tmp_path, subject() | {"vitals": [1]})
    assert_rejected(run_cli(path), path, "$.vitals: ")


def test_cli_rejects_a_top_level_that_is_not_an_object(tmp_path):
    path = write_values(tmp_path, [BASE])
    assert_rejected(run_cli(path), path, "$: ")


def test_cli_missing_file(tmp_path):
    path = tmp_path / "nowhere.json"
    assert_rejected(run_cli(path), path, "cannot read")


def test_cli_rejects_a_derived_age_that_disagrees(tmp_path):
    path = write_values(tmp_path, subject({"demographics": {"AGE": 30}}))
    lines = assert_rejected(run_cli(path, "--json"), path, "$.demographics.AGE: ")
    (line,) = lines
    assert "derived" in line
    assert "12" in line and "30" in line  # what it comes out as, and what was given
    assert "BRTHDAT" in line


def test_cli_accepts_a_derived_age_that_agrees(tmp_path):
    proc = run_cli(write_values(tmp_path, subject({"demographics": {"AGE": 12}})), "--json")
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)["eligible"] == "Y"


def test_cli_rejects_a_derived_loss_date_that_disagrees(tmp_path):
    path = write_values(tmp_path, subject({"prior_cart": {"CARTLOSDAT": "2025-11-01"}}))
    (line,) = assert_rejected(run_cli(path), path, "$.prior_cart.CARTLOSDAT: ")
    assert "2025-12-01" in line and "2025-11-01" in line


def test_cli_derived_disagreement_message_names_group_sources_readably(tmp_path):
    path = write_values(tmp_path, subject({"prior_cart": {"CARTLOSDAT": "2025-11-01"}}))
    (line,) = assert_rejected(run_cli(path), path, "$.prior_cart.CARTLOSDAT: ")
    assert "LOSSEV.LOSSDAT" in line
    assert "ColumnRef" not in line
