"""Subject list and schedule grid read from a real store: statuses, D0, next visit, overdue, cells.

One store is built per module (through the real save path) with a subject at each stage; the
overview functions only read, so the tests share it. `today` is always explicit.
"""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any

import pytest
from stores import store_with_nurse

from cik_ecrf import demo
from cik_ecrf.store import save_sql
from cik_ecrf.store.api import Store
from cik_ecrf.store.entry import SaveRequest
from cik_ecrf.store.overview import schedule_grid, subject_rows

ADMIN = ("admin", "Harbour2026x")
NURSE = ("nurse.chen", "Provisional11", "Lantern4477q")
CONSENT = dt.date(2025, 3, 1)
D0 = dt.date(2025, 4, 1)


def screening_forms(consent: dt.date = CONSENT, birth: str = "2014-03-02") -> dict[str, dict[str, Any]]:
    """A complete, eligible screening visit (a boy of 11 with relapsed B-ALL after CAR-T): the demo's."""
    return demo.screening_forms(consent, birth, "M")


def infusion(day: dt.date = D0) -> dict[str, Any]:
    return {
        "PRODID": "P-0001",
        "INFSTDTC": f"{day}T10:00+08:00",
        "INFENDTC": f"{day}T10:40+08:00",
        "DOSWT": 38.0,
        "CELLS": 5.0,
        "VIAB": 92.0,
        "VOL": 100,
        "INTERR": "N",
    }


def vitals(day: dt.date, **changes: Any) -> dict[str, Any]:
    return {
        "VSDAT": f"{day}T09:00+08:00",
        "TEMP": 37.0,
        "HR": 90,
        "RESP": 20,
        "SYSBP": 105,
        "DIABP": 65,
        "OXYSAT": 98,
        "O2SUPP": "NONE",
        "WEIGHT": 38.0,
        **changes,
    }


def server_write(
    store: Store, number: str, visit: str, form: str, values: dict[str, Any], status: str = "complete"
) -> str:
    """Values that arrive from the central server (a sync pull): written as stored, not through `save`."""
    with store.unit_of_work() as session:
        conn = session.connection()
        subject_id, _ = save_sql.subject_ref(conn, number)
        instance_id = f"srv-{number}-{visit}-{form}"
        now = dt.datetime.now(dt.UTC).isoformat()
        save_sql.insert_instance(
            conn,
            instance_id,
            save_sql.visit_pk(conn, subject_id, visit),
            form,
            store.study.forms[form].version,
            status,
            now,
        )
        save_sql.write_values(
            conn, instance_id, store.actor.user_id or "", now, {k: json.dumps(v) for k, v in values.items()}, set(), []
        )
    return instance_id


def allocate(store: Store, number: str) -> None:
    """The server's `randomized` event as a pull applies it (an infusion needs one: forms/infusion.json)."""
    demo.receive_allocation(store, number, "R-0007", "P-0001", "2025-03-03T10:00+08:00")


def full_screening(store: Store, number: str, ieconf: str = "Y", **kwargs: Any) -> None:
    forms = screening_forms(**kwargs)
    forms["eligibility"]["IECONF"] = ieconf
    for form, values in forms.items():
        store.save(SaveRequest(number, "screening", form, values, confirm_warnings=True))


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory, study: Any) -> Any:
    directory: Path = tmp_path_factory.mktemp("overview") / "store"
    store_with_nurse(directory, study, "OV", ADMIN, NURSE)
    opened = Store.open(directory, NURSE[0], NURSE[2], study)
    forms = screening_forms()
    # screening in progress: two forms complete, one draft
    opened.add_subject("S-SCREEN")
    for form in ("consent", "demographics"):
        opened.save(SaveRequest("S-SCREEN", "screening", form, forms[form]))
    opened.save(SaveRequest("S-SCREEN", "screening", "diagnosis", {"DXSTAT": "REFRACTORY"}, draft=True))
    # screening finished but not eligible: 45 years old (INCL03 not met)
    opened.add_subject("S-NOTELIG")
    full_screening(opened, "S-NOTELIG", ieconf="N", birth="1979-05-01")
    # eligible, waiting for randomization
    opened.add_subject("S-ELIG")
    full_screening(opened, "S-ELIG")
    # randomized by the server (RANDNO, PRODID and RANDDTC are server-set)
    opened.add_subject("S-RAND")
    full_screening(opened, "S-RAND")
    allocate(opened, "S-RAND")
    # infused at D0, vitals at D1, one adverse event
    opened.add_subject("S-FU")
    full_screening(opened, "S-FU")
    allocate(opened, "S-FU")
    opened.save(SaveRequest("S-FU", "D0", "infusion", infusion()))
    opened.save(SaveRequest("S-FU", "D1", "vitals", vitals(D0 + dt.timedelta(days=1))))
    opened.save(
        SaveRequest(
            "S-FU",
            "subject",
            "adverse_events",
            {
                "AETERM": "Fever",
                "AECAT": "OTHER",
                "AESTDAT": "2025-04-02",
                "AEONGO": "Y",
                "AETOXGR": 1,
                "AESER": "N",
                "AEREL": "POSSIBLE",
                "AEOUT": "RECOVERING",
            },
        )
    )
    # infused, then ended
    opened.add_subject("S-END")
    full_screening(opened, "S-END")
    allocate(opened, "S-END")
    opened.save(SaveRequest("S-END", "D0", "infusion", infusion()))
    opened.save(
        SaveRequest("S-END", "subject", "end_of_study", {"DSDECOD": "WITHDRAWAL_BY_SUBJECT", "DSSTDAT": "2025-05-01"})
    )
    yield opened
    opened.close()


def rows_by_number(store: Store, today: dt.date) -> dict[str, Any]:
    return {row.number: row for row in subject_rows(store, today)}


# ---------------------------------------------------------------------------- subject list


def test_status_of_each_stage(store: Store) -> None:
    rows = rows_by_number(store, dt.date(2025, 3, 5))
    assert {n: r.status for n, r in rows.items()} == {
        "S-SCREEN": "screening",
        "S-NOTELIG": "screening",
        "S-ELIG": "eligible",
        "S-RAND": "randomized",
        "S-FU": "in follow-up",
        "S-END": "ended",
    }
    assert list(rows) == sorted(rows)  # ordered by subject number


def test_d0_is_the_first_infusion_date(store: Store) -> None:
    rows = rows_by_number(store, dt.date(2025, 4, 2))
    assert rows["S-FU"].d0 == D0 and rows["S-END"].d0 == D0
    assert rows["S-ELIG"].d0 is None and rows["S-SCREEN"].d0 is None


def test_next_visit_stays_at_d1_while_only_one_of_its_forms_is_saved(store: Store) -> None:
    row = rows_by_number(store, dt.date(2025, 4, 2))["S-FU"]
    assert row.next_visit == "D1"  # vitals saved, labs and CRS/ICANS not yet
    assert row.due == D0 + dt.timedelta(days=1)
    assert (row.next_window.earliest, row.next_window.latest) == (row.due, row.due)  # D1…D7 windows are ±0


def test_every_overdue_visit_is_flagged_not_only_the_next(store: Store) -> None:
    row = rows_by_number(store, dt.date(2025, 4, 5))["S-FU"]
    assert row.overdue is True
    # baseline and D0 vitals missing; D1 partial; D2 and D3 past their day (D4 is today)
    assert row.overdue_visits == ("baseline", "D0", "D1", "D2", "D3")
    grid = schedule_grid(store, "S-FU", dt.date(2025, 4, 5))
    assert grid.overdue_visits == row.overdue_visits
    assert [r.visit for r in grid.rows if r.overdue] == list(row.overdue_visits)
    assert not grid.row("D4").overdue and not grid.row("screening").overdue


def test_overdue_once_today_is_past_the_window(tmp_path: Path, study: Any) -> None:
    directory = tmp_path / "store"
    store_with_nurse(directory, study, "OD", ADMIN, NURSE)
    with Store.open(directory, NURSE[0], NURSE[2], study) as opened:
        opened.add_subject("S-1")
        allocate(opened, "S-1")
        opened.save(SaveRequest("S-1", "D0", "infusion", infusion()))
        opened.save(SaveRequest("S-1", "D0", "vitals", vitals(D0)))
        on_time = rows_by_number(opened, D0)["S-1"]
        assert on_time.next_visit == "D1"  # D0 (infusion and vitals) done
        assert "D1" not in on_time.overdue_visits
        late = rows_by_number(opened, D0 + dt.timedelta(days=2))["S-1"]
        assert late.next_visit == "D1" and late.overdue is True and "D1" in late.overdue_visits


def test_next_visit_moves_on_only_when_every_form_of_the_visit_is_complete(tmp_path: Path, study: Any) -> None:
    directory = tmp_path / "store"
    store_with_nurse(directory, study, "NV", ADMIN, NURSE)
    with Store.open(directory, NURSE[0], NURSE[2], study) as opened:
        opened.add_subject("S-1")
        allocate(opened, "S-1")
        opened.save(SaveRequest("S-1", "D0", "infusion", infusion()))
        opened.save(SaveRequest("S-1", "D1", "vitals", vitals(D0 + dt.timedelta(days=1))))
        assert rows_by_number(opened, D0)["S-1"].next_visit == "D1"
        server_write(opened, "S-1", "D1", "labs", {"LBDAT": "2025-04-02"})
        server_write(opened, "S-1", "D1", "crs_icans", {}, status="draft")
        assert rows_by_number(opened, D0)["S-1"].next_visit == "D1"  # one form still a draft
        assert not schedule_grid(opened, "S-1", D0).row("D1").done
        with opened.unit_of_work() as session:
            session.connection().exec_driver_sql(
                "UPDATE form_instance SET status = 'signed' WHERE id = 'srv-S-1-D1-crs_icans'"
            )
        assert rows_by_number(opened, D0)["S-1"].next_visit == "D2"
        grid = schedule_grid(opened, "S-1", D0)
        assert grid.row("D1").done and grid.next_visit == "D2"
        assert grid.row("D1").cell("crs_icans").status == "signed"  # signed shows as signed, not complete


def test_randomization_due_within_seven_days_of_eligibility(store: Store) -> None:
    early = rows_by_number(store, dt.date(2025, 3, 8))["S-ELIG"]
    assert early.next_visit == "randomization"
    assert (early.next_window.target, early.next_window.latest) == (CONSENT, CONSENT + dt.timedelta(days=7))
    assert early.overdue is False
    assert rows_by_number(store, dt.date(2025, 3, 9))["S-ELIG"].overdue is True


def test_randomized_subject_next_visit_baseline_without_d0_has_no_due_date(store: Store) -> None:
    row = rows_by_number(store, dt.date(2025, 3, 20))["S-RAND"]
    assert row.next_visit == "baseline"
    assert row.due is None and row.overdue is False  # baseline is anchored at D0, not yet known


def test_ended_subject_has_nothing_due(store: Store) -> None:
    row = rows_by_number(store, dt.date(2026, 1, 1))["S-END"]
    assert (row.next_visit, row.due, row.overdue) == (None, None, False)


def test_screen_failure_has_nothing_due(store: Store) -> None:
    row = rows_by_number(store, dt.date(2026, 1, 1))["S-NOTELIG"]
    assert (row.status, row.next_visit, row.overdue_visits) == ("screening", None, ())


# ---------------------------------------------------------------------------- schedule grid


def test_grid_cell_statuses_draft_complete_not_started(store: Store) -> None:
    grid = schedule_grid(store, "S-SCREEN", dt.date(2025, 3, 5))
    screening = grid.row("screening")
    statuses = {c.form: c.status for c in screening.cells}
    assert statuses == {
        "consent": "complete",
        "demographics": "complete",
        "diagnosis": "draft",
        "prior_cart": "not started",
        "vitals": "not started",
        "labs": "not started",
        "marrow_mrd": "not started",
        "eligibility": "not started",
    }
    assert screening.cell("consent").instance is not None and screening.cell("prior_cart").instance is None
    assert all(c.status == "not started" for row in grid.rows[1:] for c in row.cells)
    assert grid.status == "screening" and grid.d0 is None
    assert screening.started and not screening.done  # consent alone does not finish screening
    assert grid.next_visit == "screening"


def test_screening_is_done_only_when_every_screening_form_is(store: Store) -> None:
    assert schedule_grid(store, "S-ELIG", dt.date(2025, 3, 5)).row("screening").done
    assert not schedule_grid(store, "S-SCREEN", dt.date(2025, 3, 5)).row("screening").done
    assert rows_by_number(store, dt.date(2025, 3, 5))["S-ELIG"].next_visit == "randomization"


def test_grid_has_every_visit_and_form_columns_in_schedule_order(store: Store) -> None:
    grid = schedule_grid(store, "S-SCREEN", dt.date(2025, 3, 5))
    visits = [r.visit for r in grid.rows]
    assert visits == [v for v in store.study.visit_ids() if v != "subject"]
    assert grid.forms[:8] == (
        "consent",
        "demographics",
        "diagnosis",
        "prior_cart",
        "vitals",
        "labs",
        "marrow_mrd",
        "eligibility",
    )
    assert {"infusion", "crs_icans", "response", "cart_persistence", "survival"} <= set(grid.forms)
    assert [c.form for c in grid.row("D28").cells] == ["vitals", "labs", "marrow_mrd", "response", "cart_persistence"]


def test_grid_windows_from_d0_and_visit_dates(store: Store) -> None:
    grid = schedule_grid(store, "S-FU", dt.date(2025, 4, 3))
    assert grid.status == "in follow-up" and grid.d0 == D0
    d0, d1, d14 = grid.row("D0"), grid.row("D1"), grid.row("D14")
    assert d0.cell("infusion").status == "complete" and d0.cell("vitals").status == "not started"
    assert (d0.date, d0.window_status) == (D0, "in window")
    assert (d1.window.target, d1.date, d1.window_status) == (
        D0 + dt.timedelta(days=1),
        D0 + dt.timedelta(days=1),
        "in window",
    )
    assert (d14.window.target, d14.window.earliest, d14.window.latest) == (
        dt.date(2025, 4, 15),
        dt.date(2025, 4, 13),
        dt.date(2025, 4, 17),
    )
    assert d14.date is None and d14.window_status is None
    screening = grid.row("screening")
    assert screening.date == CONSENT and screening.window_status == "in window"  # D−42 … D−15
    assert screening.done and not d0.done and d0.started and not d14.started
    assert grid.next_visit == "D1"


def test_grid_logs(store: Store) -> None:
    logs = {log.form: log for log in schedule_grid(store, "S-FU", dt.date(2025, 4, 3)).logs}
    assert list(logs) == ["adverse_events", "conmeds", "relapse", "death", "end_of_study"]
    assert logs["adverse_events"].repeating and logs["adverse_events"].count == 1
    assert logs["adverse_events"].entries[0].summary == "Fever" and logs["adverse_events"].status == "complete"
    assert logs["conmeds"].count == 0 and logs["conmeds"].status == "not started"
    assert logs["end_of_study"].status == "not started"
    ended = {log.form: log for log in schedule_grid(store, "S-END", dt.date(2025, 6, 1)).logs}
    assert (
        ended["end_of_study"].status == "complete"
        and ended["end_of_study"].entries[0].summary == "WITHDRAWAL_BY_SUBJECT"
    )


def test_confirmed_warning_is_not_open_but_an_unconfirmed_one_is(tmp_path: Path, study: Any) -> None:
    directory = tmp_path / "store"
    store_with_nurse(directory, study, "OW", ADMIN, NURSE)
    with Store.open(directory, NURSE[0], NURSE[2], study) as store:
        store.add_subject("W-1")
        store.save(SaveRequest("W-1", "D1", "vitals", vitals(D0, HR=190), confirm_warnings=True))
        server_write(store, "W-1", "D2", "vitals", vitals(D0, HR=195))  # e.g. pulled by sync, never confirmed here
        grid = schedule_grid(store, "W-1", dt.date(2025, 4, 5))
        assert grid.row("D1").cell("vitals").open_warnings == 0
        assert grid.row("D2").cell("vitals").open_warnings == 1
        assert grid.row("D2").cell("vitals").status == "complete"
        quick = schedule_grid(store, "W-1", dt.date(2025, 4, 5), with_warnings=False)
        assert quick.row("D2").cell("vitals").open_warnings == 0 and not quick.warnings_evaluated


def test_unknown_subject_is_refused(store: Store) -> None:
    from cik_ecrf.store.errors import StoreError

    with pytest.raises(StoreError, match="no subject"):
        schedule_grid(store, "NOPE", dt.date(2025, 3, 5))
