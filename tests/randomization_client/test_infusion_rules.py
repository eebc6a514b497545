"""The infusion needs a randomization: refused without one, PRODID must be the allocation's, the start
not before RANDDTC; on the laptop's form (rules engine and store) and on the server (a hand-driven push)."""

from __future__ import annotations

import shutil
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from rand_helpers import NURSE, RANDDTC, allocate, infusion, make_store, voided

from cik_ecrf.rules import Clock, RulesEngine, SubjectData
from cik_ecrf.store.api import Store
from cik_ecrf.store.entry import SaveRequest
from cik_ecrf.store.errors import ValidationFailed

ALLOCATION = {"RANDNO": "R-0001", "PRODID": "PX-7K2Q", "RANDDTC": RANDDTC}


def _errors(engine: RulesEngine, values: dict[str, Any], randomization: dict[str, Any] | None) -> set[tuple[str, str]]:
    typed = {k: Decimal(str(v)) if isinstance(v, float) else v for k, v in values.items()}
    forms: dict[tuple[str, str], list[dict[str, Any]]] = {("D0", "infusion"): [typed]}
    if randomization is not None:
        forms[("randomization", "randomization")] = [randomization]
    evaluation = engine.evaluate("infusion", "D0", typed, SubjectData.of(forms), Clock.system())
    return {(i.field, i.code) for i in evaluation.errors}


def test_rules_not_randomized_is_an_error_at_the_product_code(engine: RulesEngine) -> None:
    assert _errors(engine, infusion(), None) == {("PRODID", "INF_NEEDS_RANDOMIZATION")}
    assert _errors(engine, {}, None) == {("PRODID", "INF_NEEDS_RANDOMIZATION")}  # shown on an empty form too


def test_rules_product_code_must_be_the_allocations(engine: RulesEngine) -> None:
    assert _errors(engine, infusion(), ALLOCATION) == set()
    assert _errors(engine, infusion(prodid="PX-0000"), ALLOCATION) == {("PRODID", "PRODID_MATCH")}


def test_rules_infusion_not_before_randomization(engine: RulesEngine) -> None:
    assert _errors(engine, infusion(start="2026-03-04T09:29+08:00"), ALLOCATION) == {
        ("INFSTDTC", "INFSTDTC_AFTER_RAND")
    }
    assert _errors(engine, infusion(start="2026-03-04T09:30+08:00"), ALLOCATION) == set()  # the same minute is fine
    assert _errors(engine, infusion(start="2026-03-04T01:31Z"), ALLOCATION) == set()  # offsets compared as times


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory, study: Any) -> Path:
    return make_store(tmp_path_factory.mktemp("infusion") / "store", study)


@pytest.fixture
def nurse(built: Path, tmp_path: Path, study: Any) -> Any:
    copy = tmp_path / "store"
    shutil.copytree(built, copy)
    with Store.open(copy, NURSE[0], NURSE[1], study) as store:
        yield store


def _save(store: Store, values: dict[str, Any], draft: bool = False) -> Any:
    return store.save(SaveRequest("S-ELIG", "D0", "infusion", values, draft=draft))


def test_store_refuses_an_infusion_for_a_subject_not_randomized(nurse: Store) -> None:
    for draft in (False, True):
        with pytest.raises(ValidationFailed, match="PRODID: The subject is not randomized"):
            _save(nurse, infusion(), draft)
    assert not [r for r in nurse.subject_values("S-ELIG")[1] if r["form"] == "infusion"]


def test_store_takes_the_allocations_product_only(nurse: Store) -> None:
    allocate(nurse, "S-ELIG")
    with pytest.raises(ValidationFailed, match="PRODID: The product code does not match"):
        _save(nurse, infusion(prodid="PX-0000"))
    with pytest.raises(ValidationFailed, match="INFSTDTC: Infusion start must not be before randomization"):
        _save(nurse, infusion(start="2026-03-03T10:00+08:00"))
    assert _save(nurse, infusion()).status == "complete"


def test_store_a_voided_randomization_no_longer_allows_an_infusion(nurse: Store) -> None:
    allocate(nurse, "S-ELIG")
    voided(nurse, "S-ELIG")
    with pytest.raises(ValidationFailed, match="not randomized"):
        _save(nurse, infusion())
