"""Subject status, next visit and overdue visits follow the allocation: nothing randomized without one,
randomization due until there is one, baseline and D0 only after; a voided one counts for nothing."""

from __future__ import annotations

import datetime as dt
import shutil
from pathlib import Path
from typing import Any

import pytest
from rand_helpers import NURSE, allocate, infusion, make_store, unblinded, voided

from cik_ecrf.store import save_sql
from cik_ecrf.store.api import Store
from cik_ecrf.store.entry import SaveRequest
from cik_ecrf.store.errors import ValidationFailed
from cik_ecrf.store.overview import schedule_grid, subject_rows

TODAY = dt.date(2026, 3, 5)


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory, study: Any) -> Path:
    return make_store(tmp_path_factory.mktemp("schedule") / "store", study)


@pytest.fixture
def store(built: Path, tmp_path: Path, study: Any) -> Any:
    copy = tmp_path / "store"
    shutil.copytree(built, copy)
    with Store.open(copy, NURSE[0], NURSE[1], study) as opened:
        yield opened


def row(store: Store, number: str, today: dt.date = TODAY) -> Any:
    return next(r for r in subject_rows(store, today) if r.number == number)


def test_before_an_allocation_randomization_is_next_and_nothing_later_is_due(store: Store) -> None:
    eligible = row(store, "S-ELIG")
    assert (eligible.status, eligible.next_visit) == ("eligible", "randomization")
    grid = schedule_grid(store, "S-ELIG", TODAY)
    assert grid.status == "eligible" and grid.next_visit == "randomization"
    assert not grid.row("randomization").done
    late = row(store, "S-ELIG", TODAY + dt.timedelta(days=30))
    assert late.overdue_visits == ("randomization",)  # not baseline, not D0: they are not due yet


def test_after_the_allocation_the_subject_is_randomized_and_baseline_is_next(store: Store) -> None:
    allocate(store, "S-ELIG")
    randomized = row(store, "S-ELIG")
    assert (randomized.status, randomized.next_visit, randomized.overdue_visits) == ("randomized", "baseline", ())
    grid = schedule_grid(store, "S-ELIG", TODAY)
    assert grid.status == "randomized" and grid.row("randomization").done
    assert grid.row("randomization").cell("randomization").status == "complete"  # the server's event made it
    store.save(SaveRequest("S-ELIG", "D0", "infusion", infusion()))
    infused = row(store, "S-ELIG", dt.date(2026, 3, 10))
    assert (infused.status, infused.d0) == ("in follow-up", dt.date(2026, 3, 10))


def test_a_randomization_form_is_never_saved_on_the_laptop(store: Store) -> None:
    for draft in (True, False):
        with pytest.raises(ValidationFailed, match="form: randomization is set by the central server"):
            store.save(SaveRequest("S-SCREEN", "randomization", "randomization", {}, draft=draft))
    assert not [r for r in store.subject_values("S-SCREEN")[1] if r["form"] == "randomization"]


def test_an_empty_randomization_form_from_before_does_not_move_the_subject_on(store: Store) -> None:
    """The form a hand-saved "Save draft" left behind (before it was refused) counts for nothing."""
    with store.unit_of_work() as session:
        conn = session.connection()
        subject_id, _ = save_sql.subject_ref(conn, "S-SCREEN")
        now = dt.datetime.now(dt.UTC).isoformat()
        visit = save_sql.visit_pk(conn, subject_id, "randomization")
        save_sql.insert_instance(conn, "legacy-empty", visit, "randomization", "1.0", "draft", now)
    screening = row(store, "S-SCREEN")
    assert (screening.status, screening.next_visit) == ("screening", "screening")  # screening is not finished
    with store.unit_of_work() as session:
        session.connection().exec_driver_sql("UPDATE form_instance SET status = 'complete' WHERE id = 'legacy-empty'")
    assert row(store, "S-SCREEN").status == "screening"  # a complete but empty form is no allocation either


def test_no_subject_is_randomized_without_an_allocation_even_with_an_infusion_on_record(store: Store) -> None:
    """An infusion written before this rule (as the old demo did) makes nobody randomized or in follow-up."""
    allocate(store, "S-ELIG")
    store.save(SaveRequest("S-ELIG", "D0", "infusion", infusion()))
    voided(store, "S-ELIG")
    after = row(store, "S-ELIG", dt.date(2026, 3, 11))
    assert after.status == "eligible" and after.next_visit == "randomization"
    assert not {"baseline", "D0", "D1"} & set(after.overdue_visits)
    grid = schedule_grid(store, "S-ELIG", dt.date(2026, 3, 11))
    assert grid.status == "eligible" and not grid.row("randomization").done
    assert grid.row("D0").cell("infusion").errors == 1  # the infusion now says what is wrong with it


def test_an_unblinded_subject_is_marked_in_the_list_and_the_schedule(store: Store) -> None:
    allocate(store, "S-ELIG")
    assert not row(store, "S-ELIG").unblinded and not schedule_grid(store, "S-ELIG", TODAY).unblinded
    unblinded(store, "S-ELIG")
    assert row(store, "S-ELIG").unblinded and schedule_grid(store, "S-ELIG", TODAY).unblinded
    assert row(store, "S-ELIG").status == "randomized"  # still randomized: unblinding changes no allocation
    assert not row(store, "S-NOCONF").unblinded
