"""Each instance checked under its own study version by the laptop's one-time heal and by signing and
printing: a value an amendment no longer allows stays on an old instance, and a form an amendment
retired can still be signed and printed where its instances were entered."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from laptop_versions import (
    INVESTIGATOR,
    INVESTIGATOR_PW,
    NURSE,
    NURSE_PW,
    VITALS,
    bundle_with,
    laptop,
    receive,
    save,
    tighten_hr,
)

from cik_ecrf.pdf import record_pdf, verify_record
from cik_ecrf.store import health
from cik_ecrf.store.api import Store
from cik_ecrf.store.errors import StoreError

SURVIVAL = {"LKADAT": "2026-01-11", "ALIVE": "Y", "RELSINCE": "N", "NEWTHER": "N", "NEWMAL": "N"}


def _heal_again(store: Store) -> list[str]:
    """The heal runs once per store; drop its mark so it checks this store as an upgraded laptop's."""
    with store.unit_of_work() as session:
        session.connection().exec_driver_sql("DELETE FROM meta WHERE key = ?", (health.HEALED_KEY,))
    return store.sync_heal()


def _value(store: Store, instance: str, field: str) -> str | None:
    with store.unit_of_work() as session:
        return (
            session.connection()
            .exec_driver_sql(
                "SELECT value_json FROM field_value WHERE instance_id = ? AND field_id = ?", (instance, field)
            )
            .scalar()
        )


def test_heal_leaves_an_old_versions_values_alone(tmp_path: Path, study: Any) -> None:
    laptop(tmp_path / "store", study)
    with Store.open(tmp_path / "store", NURSE, NURSE_PW, study) as store:
        subject = store.add_subject()
        old = save(store, subject, "D1", "vitals", {**VITALS, "HR": 160})  # valid on 1.0 (a confirmed warning)
        receive(store, bundle_with(tighten_hr))  # 1.1: heart rate at most 150
        new = save(store, subject, "D7", "vitals", {**VITALS, "HR": 120})
        assert store.study.forms["vitals"].version == "1.1"
        # what an older server let through on a 1.1 instance is still repaired
        with store.unit_of_work() as session:
            session.connection().exec_driver_sql(
                "UPDATE field_value SET value_json = '170' WHERE instance_id = ? AND field_id = 'HR'", (new,)
            )
        repairs = _heal_again(store)
        assert _value(store, old, "HR") == "160"  # valid under its own version 1.0
        assert _value(store, new, "HR") == "120"  # back to the last value valid under 1.1
        assert len(repairs) == 1 and "D7 vitals HR" in repairs[0] and "170" in repairs[0]
        assert store.verify_audit().ok


def test_signing_and_printing_an_instance_of_a_retired_form(tmp_path: Path, study: Any) -> None:
    laptop(tmp_path / "store", study)
    with Store.open(tmp_path / "store", NURSE, NURSE_PW, study) as store:
        subject = store.add_subject()
        instance = save(store, subject, "Y3", "survival", SURVIVAL)
        receive(store, bundle_with(retire="survival"))
        assert "survival" not in store.study.forms
    with Store.open(tmp_path / "store", INVESTIGATOR, INVESTIGATOR_PW, study) as store:
        assert store.study_versions.numbers() == [1, 2]
        result = store.sign(
            subject, "Y3", "survival", meaning="review", username=INVESTIGATOR, password=INVESTIGATOR_PW
        )
        assert [ref.instance for ref in result.signed] == [instance]
        pdf = record_pdf(store, subject, "Y3", "survival")
        checked = verify_record(store, pdf)
        assert checked.matches and [s.instances for s in checked.signatures] == [(instance,)]
        # a visit no version ever had is still refused, in one line naming it
        with pytest.raises(StoreError, match="visit: unknown visit 'Y99'"):
            store.sign(subject, "Y99", "survival", meaning="review", username=INVESTIGATOR, password=INVESTIGATOR_PW)
        # and a form at a visit where no version collected it
        with pytest.raises(StoreError, match="form: 'survival' is not collected at visit D1"):
            store.sign(subject, "D1", "survival", meaning="review", username=INVESTIGATOR, password=INVESTIGATOR_PW)


def test_the_schedule_counts_an_old_instances_problems_under_its_version(tmp_path: Path, study: Any) -> None:
    from cik_ecrf.store.overview import schedule_grid

    laptop(tmp_path / "store", study)
    with Store.open(tmp_path / "store", NURSE, NURSE_PW, study) as store:
        subject = store.add_subject()
        save(store, subject, "D1", "vitals", {**VITALS, "HR": 160})  # a confirmed warning on 1.0
        receive(store, bundle_with(tighten_hr))  # an error on 1.1
        grid = schedule_grid(store, subject)
        [cell] = [c for row in grid.rows if row.visit == "D1" for c in row.cells if c.form == "vitals"]
        assert (cell.status, cell.errors) == ("complete", 0)
