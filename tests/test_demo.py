"""`cik-ecrf --demo` data: valid through the real rules, at four stages, with a sound audit trail."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from cik_ecrf.demo import NURSE, NURSE_PASSWORD, build_demo_store
from cik_ecrf.store.api import Store


def test_demo_store_has_subjects_at_every_stage(tmp_path: Path, study: Any) -> None:
    directory = build_demo_store(study, tmp_path / "demo")
    with Store.open(directory, NURSE, NURSE_PASSWORD, study) as store:
        numbers = store.subject_numbers()
        assert len(numbers) == 4
        forms = {n: {(r["visit"], r["form"]): r["status"] for r in store.subject_values(n)[1]} for n in numbers}
        assert forms[numbers[0]][("screening", "diagnosis")] == "draft"
        assert store.eligibility(numbers[1]).eligible == "Y"
        assert forms[numbers[2]][("D0", "infusion")] == "complete"
        assert forms[numbers[3]][("subject", "end_of_study")] == "complete"
        assert store.verify_audit().ok
