"""The dashboard's numbers from a real store (the demo's four subjects plus a screen failure and a
subject infused yesterday), computed without any window."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import pytest

from cik_ecrf.demo import NURSE, NURSE_PASSWORD, build_demo_store, receive_allocation, screening_forms
from cik_ecrf.reporting.dashboard import TARGET, Dashboard, dashboard
from cik_ecrf.store.api import Store
from cik_ecrf.store.entry import SaveRequest

TODAY = dt.date(2026, 3, 15)
INFUSED_YESTERDAY = TODAY - dt.timedelta(days=1)


def _infusion(day: dt.date) -> dict[str, Any]:
    return {
        "PRODID": "P-0002",
        "INFSTDTC": f"{day}T10:00+08:00",
        "INFENDTC": f"{day}T10:40+08:00",
        "DOSWT": 38.0,
        "CELLS": 5.0,
        "VIAB": 92.0,
        "VOL": 100,
        "INTERR": "N",
    }


def _vitals(day: dt.date) -> dict[str, Any]:
    return {
        "VSDAT": f"{day}T12:00+08:00",
        "TEMP": 36.9,
        "HR": 90,
        "RESP": 20,
        "SYSBP": 105,
        "DIABP": 65,
        "OXYSAT": 98,
        "O2SUPP": "NONE",
        "WEIGHT": 38.0,
    }


@pytest.fixture(scope="module")
def report(tmp_path_factory: pytest.TempPathFactory, study: Any) -> Dashboard:
    directory: Path = build_demo_store(study, tmp_path_factory.mktemp("dash") / "store", today=TODAY)
    with Store.open(directory, NURSE, NURSE_PASSWORD, study) as store:
        failed = store.add_subject("FAIL-1")
        forms = screening_forms(TODAY - dt.timedelta(days=5), "1979-05-01", "M")  # 46 years old: INCL03 not met
        forms["eligibility"]["IECONF"] = "N"
        for form, values in forms.items():
            store.save(SaveRequest(failed, "screening", form, values, confirm_warnings=True))
        infused = store.add_subject("DUE-1")
        receive_allocation(store, infused, "R-0099", "P-0002", f"{INFUSED_YESTERDAY}T08:00+08:00")  # needed to infuse
        store.save(SaveRequest(infused, "D0", "infusion", _infusion(INFUSED_YESTERDAY)))
        store.save(SaveRequest(infused, "D0", "vitals", _vitals(INFUSED_YESTERDAY)))
        return dashboard(store, TODAY)


def test_subjects_by_status(report: Dashboard) -> None:
    assert dict(report.subjects_by_status) == {
        "screening": 2,  # the demo's subject in screening and the screen failure
        "eligible": 1,
        "randomized": 0,
        "in follow-up": 2,
        "ended": 1,
    }
    assert (report.study, report.site, report.today) == ("NCT06389305", "DEMO", TODAY)


def test_enrolment_against_the_target_month_by_month(report: Dashboard) -> None:
    enrolment = report.enrolment
    assert (enrolment.target, enrolment.registered, enrolment.screened, enrolment.enrolled) == (TARGET, 6, 5, 3)
    assert TARGET == 213 and enrolment.percent_of_target == pytest.approx(300 / 213)
    months = [p.month for p in enrolment.by_month]
    assert months[0] == dt.date(2025, 2, 1)  # the ended subject consented 400 days before TODAY
    assert months[-1] == dt.date(2026, 3, 1) and len(months) == 14
    first, last = enrolment.by_month[0], enrolment.by_month[-1]
    assert (first.screened, first.enrolled) == (1, 1)  # consented and randomized in February 2025
    assert (last.screened, last.enrolled) == (5, 3)
    assert all(
        a.enrolled <= b.enrolled and a.screened <= b.screened
        for a, b in zip(enrolment.by_month, enrolment.by_month[1:])
    )


def test_screen_failures_by_criterion(report: Dashboard) -> None:
    failures = report.screen_failures
    assert failures.subjects == 1
    assert [(c.criterion, c.inclusion, c.subjects) for c in failures.by_criterion] == [("INCL03", True, 1)]
    assert failures.by_criterion[0].label("en").startswith("Age") and "年龄" in failures.by_criterion[0].label("zh")


def test_visits_due_and_overdue(report: Dashboard) -> None:
    visits = report.visits
    by_visit = {v.visit: (v.due, v.overdue) for v in visits.by_visit}
    assert by_visit["D1"] == (1, 1)  # due today for DUE-1; overdue for the demo's infused subject
    assert by_visit["randomization"] == (0, 1)  # the eligible subject's window closed (the infused are randomized)
    assert by_visit["screening"] == (0, 1)  # DUE-1 has no screening forms; the screen failure owes nothing
    assert visits.due == 1 and visits.subjects_overdue == 3  # eligible, infused (demo) and DUE-1
    assert visits.overdue == sum(v.overdue for v in visits.by_visit)


def test_forms_by_status_and_what_does_not_exist_yet(report: Dashboard) -> None:
    forms = report.forms
    # demo: 3 + 8 + 11 + 12 instances (one diagnosis draft; the server's randomization forms complete);
    # FAIL-1: 8; DUE-1: 3
    assert (forms.count("draft"), forms.count("complete"), forms.count("signed"), forms.count("locked")) == (
        1,
        44,
        0,
        0,
    )
    assert forms.total == 45
    assert forms.missing > 0  # forms never started at the overdue visits
    assert report.not_yet == ("queries", "sdv")
