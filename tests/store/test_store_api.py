"""The `Store` facade on real encrypted stores in tmp_path: users, roles, lockout, subjects, saves, audit.

A template store (admin, nurse, monitor, investigator, data manager and one brand-new nurse) is built once
per module and copied into each test's tmp_path, so each test has its own real store without paying for
`init` and the user set-up every time.
"""

from __future__ import annotations

import dataclasses
import json
import re
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from eligibility_fixtures import BASE, CLOCK
from eligibility_fixtures import subject as screening_subject

from cik_ecrf.cli.eligibility import evaluate_file
from cik_ecrf.definitions.loader import load_study
from cik_ecrf.rules import Clock
from cik_ecrf.store.api import Store
from cik_ecrf.store.entry import SaveRequest
from cik_ecrf.store.errors import AuthError, PermissionDenied, StoreError, ValidationFailed
from cik_ecrf.store.keyring import KEYRING

ROOT = Path(__file__).resolve().parents[2]
SITE, DEVICE = "BJ01", "A1"
PASSWORDS = {
    "admin": "Harbour2026x",
    "nurse.chen": "Lantern4477q",
    "mon.li": "Compass5521r",
    "dr.wu": "Meadow8812tt",
    "dm.zhou": "Orchid3390kk",
}
NEW_USER, NEW_FIRST = "new.nurse", "Welcome2026ab"
FIRST = "Provisional11"  # every template user's first password, changed at once

VITALS: dict[str, Any] = {
    "VSDAT": "2026-01-01T10:00+08:00",
    "TEMP": 36.5,
    "HR": 80,
    "RESP": 20,
    "SYSBP": 110,
    "DIABP": 70,
    "OXYSAT": 98,
    "O2SUPP": "NONE",
    "WEIGHT": 40.0,
}
AE: dict[str, Any] = {
    "AETERM": "Fever",
    "AECAT": "OTHER",
    "AESTDAT": "2026-01-20",
    "AEONGO": "Y",
    "AETOXGR": 1,
    "AESER": "N",
    "AEREL": "POSSIBLE",
    "AEOUT": "RECOVERING",
}


# ---------------------------------------------------------------------------- fixtures and helpers


@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory, study) -> Path:
    directory = tmp_path_factory.mktemp("template") / "store"
    Store.init(directory, SITE, "admin", PASSWORDS["admin"], full_name="Admin Li", device_code=DEVICE)
    roles = {"nurse.chen": "nurse", "mon.li": "monitor", "dr.wu": "investigator", "dm.zhou": "data_manager"}
    with Store.open(directory, "admin", PASSWORDS["admin"], study) as store:
        for name, role in roles.items():
            store.add_user(name, role, FIRST)
        store.add_user(NEW_USER, "nurse", NEW_FIRST)
    for name in roles:
        with Store.open(directory, name, FIRST, study) as store:
            store.change_password(FIRST, PASSWORDS[name])
    return directory


@pytest.fixture
def store_dir(template: Path, tmp_path: Path) -> Path:
    directory = tmp_path / "store"
    shutil.copytree(template, directory)
    return directory


@pytest.fixture
def clean_policy(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("CIK_ECRF_MAX_FAILURES", raising=False)
    monkeypatch.delenv("CIK_ECRF_LOCKOUT_MINUTES", raising=False)


@contextmanager
def login(directory: Path, user: str, study, password: str | None = None) -> Iterator[Store]:
    store = Store.open(directory, user, password or PASSWORDS[user], study)
    try:
        yield store
    finally:
        store.close()


def keyring(directory: Path) -> dict[str, Any]:
    return json.loads((directory / KEYRING).read_text(encoding="utf-8"))


def refusal(exc: pytest.ExceptionInfo[ValidationFailed]) -> list[str]:
    return list(exc.value.lines)


# ---------------------------------------------------------------------------- init


def test_init_creates_store_and_keyring(tmp_path: Path, study) -> None:
    directory = tmp_path / "new"
    info = Store.init(directory, "bj01", "admin", PASSWORDS["admin"], device_code="c3")
    assert (info.site, info.device_code) == ("BJ01", "C3")
    assert (directory / "store.db").is_file() and (directory / KEYRING).is_file()
    ring = keyring(directory)
    assert ring["store_id"] == info.store_id
    assert set(ring["users"]) == {"admin"}
    with login(directory, "admin", study) as store:
        assert store.actor.role == "admin" and not store.must_change_password
        events = store.audit_events()
        assert [e.action for e in events] == ["store_init", "user_add", "login"]
        assert {e.device_id for e in events} == {info.device_id}
        assert store.verify_audit().ok


def test_init_twice_refuses_and_keeps_the_store(store_dir: Path, study) -> None:
    before = {p.name: p.read_bytes() for p in store_dir.iterdir() if p.is_file()}
    with pytest.raises(StoreError, match="already exists"):
        Store.init(store_dir, SITE, "admin", "Another2026zz", device_code="Z9")
    with pytest.raises(StoreError, match="already exists"):
        Store.init(store_dir, "SH02", "root.admin", "Another2026zz")
    after = {p.name: p.read_bytes() for p in store_dir.iterdir() if p.is_file()}
    assert after == before
    with login(store_dir, "admin", study) as store:
        assert store.verify_audit().ok


@pytest.mark.parametrize(
    ("password", "rule"),
    [
        ("Short12x", "at least 10 characters"),
        ("onlyletterspassword", "letters and digits"),
        ("12345678901234", "letters and digits"),
        ("xxadmin2026xx", "must not contain the user name"),
        ("ADMIN-2026-secret", "must not contain the user name"),
    ],
)
def test_init_weak_password_refused_naming_the_rule(tmp_path: Path, password: str, rule: str) -> None:
    directory = tmp_path / "weak"
    with pytest.raises(StoreError, match="password too weak") as exc:
        Store.init(directory, SITE, "admin", password, device_code=DEVICE)
    assert rule in str(exc.value)
    assert not (directory / "store.db").exists() and not (directory / KEYRING).exists()


def test_init_bad_site_code_refused(tmp_path: Path) -> None:
    with pytest.raises(StoreError, match="site code"):
        Store.init(tmp_path / "s", "BJ 01!", "admin", PASSWORDS["admin"])
    assert not (tmp_path / "s" / "store.db").exists()


def test_open_without_store_says_so(tmp_path: Path, study) -> None:
    with pytest.raises(AuthError, match="no store here"):
        Store.open(tmp_path, "admin", PASSWORDS["admin"], study)


# ---------------------------------------------------------------------------- passwords


@pytest.mark.parametrize(
    ("password", "rule"),
    [
        ("Short12x", "at least 10 characters"),
        ("onlyletterspassword", "letters and digits"),
        ("1234567890123", "letters and digits"),
        ("my-ward.nurse-77", "must not contain the user name"),
    ],
)
def test_weak_passwords_refused_for_new_users_and_changes(store_dir: Path, study, password: str, rule: str) -> None:
    ring_before = (store_dir / KEYRING).read_bytes()
    with login(store_dir, "admin", study) as store:
        with pytest.raises(StoreError, match="password too weak") as exc:
            store.add_user("ward.nurse", "nurse", password)
        assert rule in str(exc.value)
        assert not any(e.new_json and "ward.nurse" in e.new_json for e in store.audit_events())
    assert "ward.nurse" not in keyring(store_dir)["users"]
    with login(store_dir, "nurse.chen", study) as store:
        with pytest.raises(StoreError, match="password too weak") as exc:
            store.change_password(PASSWORDS["nurse.chen"], password.replace("ward.nurse", "nurse.chen"))
        assert rule in str(exc.value)
    assert keyring(store_dir)["users"] == json.loads(ring_before)["users"]


def test_password_change_rewraps_only_that_users_entry(store_dir: Path, study) -> None:
    before = keyring(store_dir)
    new = "Seashell6060w"
    with login(store_dir, "nurse.chen", study) as store:
        store.change_password(PASSWORDS["nurse.chen"], new)
    after = keyring(store_dir)
    assert after["store_id"] == before["store_id"]
    assert set(after["users"]) == set(before["users"])
    assert after["users"]["nurse.chen"] != before["users"]["nurse.chen"]
    for name, entry in before["users"].items():
        if name != "nurse.chen":
            assert (
                json.dumps(after["users"][name], sort_keys=True).encode() == json.dumps(entry, sort_keys=True).encode()
            ), name
    with pytest.raises(AuthError):
        Store.open(store_dir, "nurse.chen", PASSWORDS["nurse.chen"], study)
    with login(store_dir, "nurse.chen", study, new) as store:
        assert store.actor.role == "nurse"
        events = [e for e in store.audit_events() if e.action == "password_change"]
        assert events[-1].username == "nurse.chen" and events[-1].role == "nurse"
    for name in ("admin", "mon.li", "dr.wu"):
        with login(store_dir, name, study):
            pass


def test_password_change_wrong_current_or_same_refused(store_dir: Path, study) -> None:
    ring = (store_dir / KEYRING).read_bytes()
    with login(store_dir, "nurse.chen", study) as store:
        count = len(store.audit_events())
        with pytest.raises(AuthError, match="current password"):
            store.change_password("NotMine12345", "Seashell6060w")
        with pytest.raises(StoreError, match="differ"):
            store.change_password(PASSWORDS["nurse.chen"], PASSWORDS["nurse.chen"])
        assert len(store.audit_events()) == count
    assert json.loads((store_dir / KEYRING).read_bytes())["users"] == json.loads(ring)["users"]
    with login(store_dir, "nurse.chen", study):
        pass


# ---------------------------------------------------------------------------- roles


def test_monitor_reads_but_cannot_enter_or_add_subjects(store_dir: Path, study) -> None:
    with login(store_dir, "nurse.chen", study) as store:
        number = store.add_subject()
        store.save(SaveRequest(number, "D1", "vitals", VITALS))
    with login(store_dir, "mon.li", study) as store:
        count = len(store.audit_events())
        with pytest.raises(PermissionDenied, match="monitor"):
            store.add_subject()
        with pytest.raises(PermissionDenied, match="monitor"):
            store.add_subject("PAPER-001")
        with pytest.raises(PermissionDenied, match="monitor"):
            store.save(SaveRequest(number, "D1", "vitals", {"TEMP": 37.0}, reason="monitor edit"))
        with pytest.raises(PermissionDenied):
            store.add_user("other.user", "nurse", "Whatever2026q")
        assert len(store.audit_events()) == count
        assert store.subject_numbers() == [number]
        _, rows = store.subject_values(number)
        assert rows[0]["values"]["TEMP"] == 36.5


def test_nurse_cannot_add_users(store_dir: Path, study) -> None:
    with login(store_dir, "nurse.chen", study) as store:
        with pytest.raises(PermissionDenied, match="nurse"):
            store.add_user("ward.two", "nurse", "Whatever2026q")
        with pytest.raises(PermissionDenied):
            store.add_user("boss", "admin", "Whatever2026q")
    assert "ward.two" not in keyring(store_dir)["users"] and "boss" not in keyring(store_dir)["users"]


def test_admin_cannot_enter_data(store_dir: Path, study) -> None:
    with login(store_dir, "nurse.chen", study) as store:
        number = store.add_subject()
    with login(store_dir, "admin", study) as store:
        with pytest.raises(PermissionDenied, match="admin"):
            store.save(SaveRequest(number, "D1", "vitals", VITALS))
        with pytest.raises(PermissionDenied, match="admin"):
            store.add_subject()
        _, rows = store.subject_values(number)
        assert rows == []


@pytest.mark.parametrize("user", ["nurse.chen", "dr.wu", "dm.zhou"])
def test_entry_roles_can_enter(store_dir: Path, study, user: str) -> None:
    with login(store_dir, user, study) as store:
        number = store.add_subject()
        result = store.save(SaveRequest(number, "D1", "vitals", VITALS))
        assert result.status == "complete"
        assert store.audit_events(number)[-1].role == store.actor.role


def test_add_user_unknown_role_or_duplicate_refused(store_dir: Path, study) -> None:
    ring = keyring(store_dir)
    with login(store_dir, "admin", study) as store:
        with pytest.raises(StoreError, match="unknown role"):
            store.add_user("some.one", "superuser", "Whatever2026q")
        with pytest.raises(StoreError, match="already exists"):
            store.add_user("nurse.chen", "admin", "Whatever2026q")
    assert keyring(store_dir)["users"] == ring["users"]
    with login(store_dir, "nurse.chen", study) as store:
        assert store.actor.role == "nurse"


def test_user_add_is_audited_with_role(store_dir: Path, study) -> None:
    with login(store_dir, "admin", study) as store:
        store.add_user("ward.two", "investigator", "Whatever2026q", full_name="Dr Two Ward")
        event = store.audit_events()[-1]
    assert event.action == "user_add" and event.username == "admin" and event.role == "admin"
    assert json.loads(event.new_json) == {"username": "ward.two", "role": "investigator", "full_name": "Dr Two Ward"}


# ---------------------------------------------------------------------------- first login


def test_new_user_must_change_password_before_entering(store_dir: Path, study) -> None:
    with login(store_dir, "nurse.chen", study) as store:
        number = store.add_subject()
    with login(store_dir, NEW_USER, study, NEW_FIRST) as store:
        assert store.must_change_password
        with pytest.raises(AuthError, match="passwd"):
            store.add_subject()
        with pytest.raises(AuthError, match="passwd"):
            store.save(SaveRequest(number, "D1", "vitals", VITALS))
        store.change_password(NEW_FIRST, "Fresh2026start")
        assert not store.must_change_password
        store.save(SaveRequest(number, "D1", "vitals", VITALS))
    with login(store_dir, NEW_USER, study, "Fresh2026start") as store:
        assert not store.must_change_password
        assert store.add_subject().startswith(f"{SITE}-{DEVICE}-")
    with pytest.raises(AuthError):
        Store.open(store_dir, NEW_USER, NEW_FIRST, study)


def test_new_user_cannot_read_before_changing_password(store_dir: Path, study) -> None:
    with login(store_dir, "nurse.chen", study) as store:
        number = store.add_subject()
        store.save(SaveRequest(number, "D1", "vitals", VITALS))
    with login(store_dir, NEW_USER, study, NEW_FIRST) as store:
        for read in (
            store.subject_numbers,
            lambda: store.subject_values(number),
            lambda: store.eligibility(number),
            store.audit_events,
        ):
            with pytest.raises(AuthError, match="passwd"):
                read()


# ---------------------------------------------------------------------------- lockout and login audit


def test_five_wrong_passwords_lock_even_the_right_one(store_dir: Path, study, clean_policy: None) -> None:
    for attempt in range(4):
        with pytest.raises(AuthError, match="wrong password"):
            Store.open(store_dir, "nurse.chen", f"Wrong{attempt}pass99", study)
    with pytest.raises(AuthError, match="locked"):
        Store.open(store_dir, "nurse.chen", "Wrong4pass99", study)
    with pytest.raises(AuthError, match="locked"):
        Store.open(store_dir, "nurse.chen", PASSWORDS["nurse.chen"], study)
    with pytest.raises(AuthError, match="locked"):
        Store.open(store_dir, "nurse.chen", PASSWORDS["nurse.chen"], study)
    # other users are not affected; the lockout is in the trail once someone logs in
    with login(store_dir, "admin", study) as store:
        failed = [e for e in store.audit_events() if e.action == "login_failed"]
    assert [e.username for e in failed] == ["nurse.chen"] * 7
    assert "locked for 15 minutes" in failed[4].reason
    assert all("locked" in e.reason for e in failed[5:])


def test_max_failures_is_a_study_setting(store_dir: Path, study, clean_policy: None) -> None:
    # the limits come from study.json (`security`), never the environment: tests/test_lockout.py
    security = study.study.security.model_copy(update={"max_failed_logins": 2})
    study = dataclasses.replace(study, study=study.study.model_copy(update={"security": security}))
    with pytest.raises(AuthError, match="wrong password"):
        Store.open(store_dir, "dr.wu", "Wrong0pass99", study)
    with pytest.raises(AuthError, match="locked"):
        Store.open(store_dir, "dr.wu", "Wrong1pass99", study)
    with pytest.raises(AuthError, match="locked"):
        Store.open(store_dir, "dr.wu", PASSWORDS["dr.wu"], study)


def test_successful_login_resets_the_failure_count(store_dir: Path, study, clean_policy: None) -> None:
    for _ in range(2):
        for attempt in range(4):
            with pytest.raises(AuthError, match="wrong password"):
                Store.open(store_dir, "nurse.chen", f"Wrong{attempt}pass99", study)
        with login(store_dir, "nurse.chen", study):
            pass


def test_failed_logins_audited_at_next_successful_login(store_dir: Path, study, clean_policy: None) -> None:
    with pytest.raises(AuthError):
        Store.open(store_dir, "nurse.chen", "Wrong0pass99", study)
    with pytest.raises(AuthError):
        Store.open(store_dir, "ghost", "Whatever2026q", study)
    pending = keyring(store_dir)["pending_events"]
    assert [p["username"] for p in pending] == ["nurse.chen", "ghost"]
    with login(store_dir, "admin", study) as store:
        events = store.audit_events()
    assert keyring(store_dir)["pending_events"] == []
    tail = events[-3:]
    assert [e.action for e in tail] == ["login_failed", "login_failed", "login"]
    wrong, unknown, ok = tail
    assert (wrong.username, wrong.role, wrong.reason) == ("nurse.chen", "nurse", "wrong password")
    assert wrong.user_id is not None
    assert (unknown.username, unknown.role, unknown.user_id, unknown.reason) == ("ghost", None, None, "unknown user")
    assert (ok.username, ok.role) == ("admin", "admin")
    assert wrong.at_utc <= unknown.at_utc <= ok.at_utc
    with login(store_dir, "admin", study) as store:
        assert store.verify_audit().ok
        assert [e.action for e in store.audit_events()].count("login_failed") == 2  # copied once, not twice


def test_login_and_logout_are_audited(store_dir: Path, study) -> None:
    store = Store.open(store_dir, "dr.wu", PASSWORDS["dr.wu"], study)
    event = store.audit_events()[-1]
    assert (event.action, event.username, event.role) == ("login", "dr.wu", "investigator")
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}\+00:00", event.at_utc)
    assert isinstance(event.utc_offset_min, int)
    store.close()
    with login(store_dir, "admin", study) as store:
        assert [(e.action, e.username) for e in store.audit_events()[-2:]] == [("logout", "dr.wu"), ("login", "admin")]


# ---------------------------------------------------------------------------- subject numbers


def test_subject_numbers_are_site_device_sequence(store_dir: Path, study) -> None:
    with login(store_dir, "nurse.chen", study) as store:
        numbers = [store.add_subject() for _ in range(3)]
    assert numbers == [f"{SITE}-{DEVICE}-000{i}" for i in (1, 2, 3)]
    with login(store_dir, "dr.wu", study) as store:
        assert store.add_subject() == f"{SITE}-{DEVICE}-0004"
        assert store.subject_numbers() == numbers + [f"{SITE}-{DEVICE}-0004"]
        added = [e for e in store.audit_events() if e.action == "subject_add"]
    assert [json.loads(e.new_json) for e in added] == numbers + [f"{SITE}-{DEVICE}-0004"]


def test_two_laptops_of_one_site_never_collide(tmp_path: Path, study) -> None:
    numbers: list[str] = []
    for code in ("L1", "L2"):
        directory = tmp_path / code
        Store.init(directory, SITE, "admin", PASSWORDS["admin"], device_code=code)
        with login(directory, "admin", study) as store:
            store.add_user("nurse.chen", "nurse", FIRST)
        with login(directory, "nurse.chen", study, FIRST) as store:
            store.change_password(FIRST, PASSWORDS["nurse.chen"])
            numbers += [store.add_subject() for _ in range(50)]
    assert len(numbers) == 100 and len(set(numbers)) == 100
    assert all(re.fullmatch(rf"{SITE}-L[12]-\d{{4}}", n) for n in numbers)


def test_paper_number_accepted_duplicates_refused(store_dir: Path, study) -> None:
    with login(store_dir, "nurse.chen", study) as store:
        auto = store.add_subject()
        assert store.add_subject("  SCR-2026-017 ") == "SCR-2026-017"
        count = len(store.audit_events())
        with pytest.raises(StoreError, match="already exists"):
            store.add_subject("SCR-2026-017")
        with pytest.raises(StoreError, match="already exists"):
            store.add_subject(auto)
        with pytest.raises(StoreError):
            store.add_subject("   ")
        with pytest.raises(StoreError):
            store.add_subject("X" * 41)
        assert len(store.audit_events()) == count
        assert sorted(store.subject_numbers()) == sorted([auto, "SCR-2026-017"])
        assert store.add_subject() == f"{SITE}-{DEVICE}-0002"


def test_subject_numbers_never_change(store_dir: Path, study) -> None:
    with login(store_dir, "nurse.chen", study) as store:
        first = store.add_subject()
        paper = store.add_subject("SCR-9")
        subject, _ = store.subject_values(first)
        store.save(SaveRequest(first, "D1", "vitals", VITALS))
        store.save(SaveRequest(subject.id, "D1", "vitals", {"TEMP": 37.2}, reason="transcription error"))
        store.save(SaveRequest(paper, "subject", "adverse_events", AE, draft=True))
        store.add_subject()
    with login(store_dir, "dm.zhou", study) as store:
        assert {first, paper} <= set(store.subject_numbers()) and len(store.subject_numbers()) == 3
        again, rows = store.subject_values(subject.id)
        assert (again.id, again.number) == (subject.id, first)
        assert rows[0]["values"]["TEMP"] == 37.2
        assert store.subject_values(paper)[0].number == "SCR-9"


def test_paper_number_in_device_pattern_does_not_block_numbering(store_dir: Path, study) -> None:
    with login(store_dir, "nurse.chen", study) as store:
        try:
            store.add_subject(f"{SITE}-{DEVICE}-0002")  # refusing it outright would also be correct
        except StoreError:
            pass
        numbers = [store.add_subject() for _ in range(3)]
        assert len(set(numbers + store.subject_numbers())) == len(store.subject_numbers())
        assert len(store.subject_numbers()) in (3, 4)


# ---------------------------------------------------------------------------- saving: refusals


@pytest.fixture
def nurse(store_dir: Path, study) -> Iterator[tuple[Store, str]]:
    with login(store_dir, "nurse.chen", study) as store:
        yield store, store.add_subject()


def test_hard_error_refused_names_field_nothing_written(nurse: tuple[Store, str]) -> None:
    store, number = nurse
    count = len(store.audit_events())
    for draft in (False, True):
        with pytest.raises(ValidationFailed) as exc:
            store.save(SaveRequest(number, "D1", "vitals", {**VITALS, "TEMP": 50}, draft=draft))
        lines = refusal(exc)
        assert any(line.startswith("TEMP: ") and "45" in line for line in lines), lines
        assert not any(line.startswith(("HR:", "VSDAT:")) for line in lines)
    with pytest.raises(ValidationFailed) as exc:
        store.save(SaveRequest(number, "D1", "vitals", {**VITALS, "SYSBP": 60, "DIABP": 90}, confirm_warnings=True))
    assert any(line.startswith(("DIABP:", "SYSBP:")) for line in refusal(exc))
    assert len(store.audit_events()) == count
    assert store.subject_values(number)[1] == []
    assert store.verify_audit().ok


def test_missing_required_refused_unless_draft(nurse: tuple[Store, str]) -> None:
    store, number = nurse
    partial = {k: v for k, v in VITALS.items() if k not in ("HR", "WEIGHT")}
    count = len(store.audit_events())
    with pytest.raises(ValidationFailed) as exc:
        store.save(SaveRequest(number, "D1", "vitals", partial))
    assert sorted(refusal(exc)) == ["HR: required", "WEIGHT: required"]
    assert len(store.audit_events()) == count
    result = store.save(SaveRequest(number, "D1", "vitals", partial, draft=True))
    assert result.status == "draft"
    _, rows = store.subject_values(number)
    assert rows[0]["status"] == "draft" and "HR" not in rows[0]["values"] and rows[0]["values"]["TEMP"] == 36.5


def test_unconfirmed_warning_refused_confirmed_saved_and_audited(nurse: tuple[Store, str]) -> None:
    store, number = nurse
    count = len(store.audit_events())
    with pytest.raises(ValidationFailed) as exc:
        store.save(SaveRequest(number, "D1", "vitals", {**VITALS, "TEMP": 41}))
    (line,) = refusal(exc)
    assert line.startswith("TEMP: ") and "confirm" in line
    assert len(store.audit_events()) == count
    result = store.save(SaveRequest(number, "D1", "vitals", {**VITALS, "TEMP": 41}, confirm_warnings=True))
    assert result.status == "complete"
    (temp,) = [e for e in store.audit_events(number) if e.action == "value_set" and e.field_id == "TEMP"]
    confirmed = json.loads(temp.confirmed_json)
    assert confirmed and all(c.startswith("TEMP:") for c in confirmed)
    assert "TEMP:soft_range" in confirmed
    others = [e for e in store.audit_events(number) if e.action == "value_set" and e.field_id != "TEMP"]
    assert all(e.confirmed_json is None for e in others)


def test_confirmed_warning_on_a_derived_field_is_audited(nurse: tuple[Store, str]) -> None:
    store, number = nurse
    clock = Clock.fixed(CLOCK)
    store.save(SaveRequest(number, "screening", "consent", BASE["consent"]), clock)
    old = {**BASE["demographics"], "BRTHDAT": "1980-01-01"}  # AGE 46: outside 1–39, a warning
    with pytest.raises(ValidationFailed) as exc:
        store.save(SaveRequest(number, "screening", "demographics", old), clock)
    assert [line.split(":")[0] for line in refusal(exc)] == ["AGE"]
    store.save(SaveRequest(number, "screening", "demographics", old, confirm_warnings=True), clock)
    confirmed = [json.loads(e.confirmed_json) for e in store.audit_events(number) if e.confirmed_json]
    assert any(any(c.startswith("AGE:") for c in group) for group in confirmed)


def test_change_to_complete_form_needs_reason_and_audits_it(nurse: tuple[Store, str]) -> None:
    store, number = nurse
    first = store.save(SaveRequest(number, "D1", "vitals", {**VITALS, "TEMP": 41}, confirm_warnings=True))
    count = len(store.audit_events())
    for reason in (None, "", "   "):
        with pytest.raises(ValidationFailed) as exc:
            store.save(SaveRequest(number, "D1", "vitals", {"TEMP": 38.0}, reason=reason))
        assert [line for line in refusal(exc) if line.startswith("reason:")], refusal(exc)
    assert len(store.audit_events()) == count
    assert store.subject_values(number)[1][0]["values"]["TEMP"] == 41
    second = store.save(SaveRequest(number, "D1", "vitals", {"TEMP": 38.0}, reason="thermometer misread"))
    assert second.instance_id == first.instance_id and second.changed == ("TEMP",) and second.status == "complete"
    event = store.audit_events(number)[-1]
    assert (event.action, event.field_id, event.reason) == ("value_set", "TEMP", "thermometer misread")
    assert (json.loads(event.old_json), json.loads(event.new_json)) == (41, 38)
    assert (event.instance_id, event.visit_id, event.form_id) == (first.instance_id, "D1", "vitals")
    # clearing a value on a complete form: also a change needing a reason (and required fields stay required)
    with pytest.raises(ValidationFailed) as exc:
        store.save(SaveRequest(number, "D1", "vitals", {"HR": None}, reason="wrong patient"))
    assert "HR: required" in refusal(exc)
    # an unchanged re-save is not a change
    store.save(SaveRequest(number, "D1", "vitals", {"TEMP": 38.0}))


def test_draft_then_complete_gives_status_change(nurse: tuple[Store, str]) -> None:
    store, number = nurse
    draft = store.save(SaveRequest(number, "D1", "vitals", {"TEMP": 36.8}, draft=True))
    create = [e for e in store.audit_events(number) if e.action == "form_create"]
    assert json.loads(create[-1].new_json)["status"] == "draft"
    done = store.save(SaveRequest(number, "D1", "vitals", VITALS))  # no reason needed: the form was a draft
    assert done.instance_id == draft.instance_id and done.status == "complete"
    changes = [e for e in store.audit_events(number) if e.action == "status_change"]
    assert len(changes) == 1
    assert (json.loads(changes[0].old_json), json.loads(changes[0].new_json)) == ("draft", "complete")
    assert changes[0].instance_id == draft.instance_id
    temp = [e for e in store.audit_events(number) if e.field_id == "TEMP"]
    assert [(json.loads(e.old_json) if e.old_json else None, json.loads(e.new_json)) for e in temp] == [
        (None, 36.8),
        (36.8, 36.5),
    ]


def test_repeating_form_new_instance_unless_given(nurse: tuple[Store, str]) -> None:
    store, number = nurse
    clock = Clock.fixed(CLOCK)
    store.save(SaveRequest(number, "screening", "consent", BASE["consent"]), clock)
    first = store.save(SaveRequest(number, "subject", "adverse_events", AE), clock)
    second = store.save(SaveRequest(number, "subject", "adverse_events", {**AE, "AETERM": "Rash"}), clock)
    assert first.instance_id != second.instance_id
    changed = store.save(
        SaveRequest(number, "subject", "adverse_events", {"AETOXGR": 2}, instance=first.instance_id, reason="regraded"),
        clock,
    )
    assert changed.instance_id == first.instance_id
    rows = {r["instance"]: r for r in store.subject_values(number)[1] if r["form"] == "adverse_events"}
    assert set(rows) == {first.instance_id, second.instance_id}
    assert rows[first.instance_id]["values"]["AETOXGR"] == 2 and rows[first.instance_id]["values"]["AETERM"] == "Fever"
    assert rows[second.instance_id]["values"]["AETOXGR"] == 1 and rows[second.instance_id]["values"]["AETERM"] == "Rash"
    # a non-repeating form keeps its one instance
    a = store.save(SaveRequest(number, "D1", "vitals", VITALS), clock)
    b = store.save(SaveRequest(number, "D1", "vitals", {"HR": 90}, reason="recount"), clock)
    assert a.instance_id == b.instance_id
    # an instance id that is not this subject's form is refused
    other = store.add_subject()
    store.save(SaveRequest(other, "screening", "consent", BASE["consent"]), clock)
    count = len(store.audit_events())
    with pytest.raises(StoreError, match="instance"):
        store.save(
            SaveRequest(other, "subject", "adverse_events", {"AETOXGR": 3}, instance=first.instance_id, reason="x"),
            clock,
        )
    with pytest.raises(StoreError, match="instance"):
        store.save(
            SaveRequest(number, "subject", "adverse_events", {"AETOXGR": 3}, instance=a.instance_id, reason="x"), clock
        )
    assert len(store.audit_events()) == count


def test_instance_keeps_the_definitions_form_version(store_dir: Path, study, tmp_path: Path) -> None:
    forms = tmp_path / "forms"
    shutil.copytree(ROOT / "forms", forms)
    vitals = json.loads((forms / "vitals.json").read_text(encoding="utf-8"))
    vitals["version"] = "1.7"
    (forms / "vitals.json").write_text(json.dumps(vitals, ensure_ascii=False, indent=1), encoding="utf-8")
    amended = load_study(forms)
    assert amended.forms["vitals"].version == "1.7"
    with login(store_dir, "nurse.chen", study) as store:
        number = store.add_subject()
        old = store.save(SaveRequest(number, "D1", "vitals", VITALS))
        created = [e for e in store.audit_events(number) if e.action == "form_create"][-1]
        assert json.loads(created.new_json)["version"] == study.forms["vitals"].version
    with login(store_dir, "nurse.chen", amended) as store:
        new = store.save(SaveRequest(number, "D2", "vitals", VITALS))
        versions = {r["instance"]: r["version"] for r in store.subject_values(number)[1]}
    assert versions == {old.instance_id: study.forms["vitals"].version, new.instance_id: "1.7"}


@pytest.mark.parametrize(
    ("visit", "form", "values", "expected"),
    [
        ("D1", "vitals", {**VITALS, "PULSE": 80}, ["PULSE: form vitals has no field PULSE"]),
        ("D1", "vitals", {**VITALS, "BSA": 1.2}, ["BSA: is derived (computed), it cannot be entered"]),
        ("randomization", "randomization", {"RANDNO": "R-001"}, ["RANDNO: is set by the central server"]),
        ("D1", "consent", BASE["consent"], ["form: consent is not collected at visit D1"]),
        ("D99", "vitals", VITALS, ["visit: unknown visit 'D99'"]),
        ("D1", "vital_signs", VITALS, ["form: unknown form 'vital_signs'"]),
    ],
)
def test_bad_requests_refused_with_clear_lines(
    nurse: tuple[Store, str], visit: str, form: str, values: dict, expected: list[str]
) -> None:
    store, number = nurse
    count = len(store.audit_events())
    with pytest.raises(ValidationFailed) as exc:
        store.save(SaveRequest(number, visit, form, values))
    lines = refusal(exc)
    for want in expected:
        assert any(line.startswith(want) for line in lines), lines
    assert all(re.match(r"^[A-Za-z_0-9.\[\]]+: \S", line) for line in lines), lines
    assert len(store.audit_events()) == count and store.subject_values(number)[1] == []


def test_unknown_subject_refused(nurse: tuple[Store, str]) -> None:
    store, _ = nurse
    with pytest.raises(StoreError, match="no subject 'NOPE-1'"):
        store.save(SaveRequest("NOPE-1", "D1", "vitals", VITALS))
    with pytest.raises(StoreError, match="no subject"):
        store.subject_values("NOPE-1")


# ---------------------------------------------------------------------------- rules across forms, from stored data


def test_derived_age_from_stored_consent(nurse: tuple[Store, str]) -> None:
    store, number = nurse
    clock = Clock.fixed(CLOCK)
    store.save(SaveRequest(number, "screening", "consent", BASE["consent"]), clock)
    demo = store.save(SaveRequest(number, "screening", "demographics", BASE["demographics"]), clock)
    assert demo.evaluation.values["AGE"] == 12
    values = {r["form"]: r["values"] for r in store.subject_values(number)[1]}
    assert "AGE" not in values["demographics"]  # derived: computed, never stored as entered
    assert store.evaluate(number, "screening", "demographics", values["demographics"], clock).values["AGE"] == 12
    # the stored consent date is corrected to the day before the 12th birthday: AGE follows
    store.save(
        SaveRequest(number, "screening", "consent", {"ICFDAT": "2026-01-09"}, reason="date of the later signature"),
        clock,
    )
    assert store.evaluate(number, "screening", "demographics", values["demographics"], clock).values["AGE"] == 11
    # a birth date after the stored consent date is a hard error on demographics
    with pytest.raises(ValidationFailed) as exc:
        store.save(SaveRequest(number, "screening", "demographics", {"BRTHDAT": "2026-01-11"}, reason="typo"), clock)
    assert any(line.startswith("BRTHDAT: ") for line in refusal(exc))


def test_bsa_uses_stored_screening_height(nurse: tuple[Store, str]) -> None:
    store, number = nurse
    store.save(SaveRequest(number, "screening", "vitals", {"HEIGHT": 150.0, "WEIGHT": 40.0}, draft=True))
    result = store.save(SaveRequest(number, "D1", "vitals", VITALS))
    assert str(result.evaluation.values["BSA"]) == "1.29"


def _store_screening(store: Store, number: str, forms: dict[str, dict[str, Any]], clock: Clock) -> None:
    for form, values in forms.items():
        store.save(SaveRequest(number, "screening", form, values, draft=True), clock)


@pytest.mark.parametrize(
    "forms",
    [
        BASE,
        screening_subject({"labs": {"CREAT": 200}}),
        screening_subject(drop=("vitals", "marrow_mrd")),
        screening_subject({"demographics": {"SEX": "F", "CHILDPOT": "N"}, "eligibility": {"LACTATING": "N"}}),
    ],
    ids=["eligible", "creatinine", "missing-forms", "female"],
)
def test_eligibility_from_stored_forms_equals_values_file(
    nurse: tuple[Store, str], study, tmp_path: Path, forms: dict
) -> None:
    store, number = nurse
    clock = Clock.fixed(CLOCK)
    _store_screening(store, number, forms, clock)
    path = tmp_path / "values.json"
    path.write_text(json.dumps(forms), encoding="utf-8")
    stored = store.eligibility(number, clock)
    assert stored.as_json() == evaluate_file(study, path, clock).as_json()
    if forms is BASE:
        assert stored.eligible == "Y"


def test_investigator_confirmation_checked_against_stored_forms(nurse: tuple[Store, str]) -> None:
    store, number = nurse
    clock = Clock.fixed(CLOCK)
    _store_screening(store, number, {k: v for k, v in BASE.items() if k != "eligibility"}, clock)
    store.save(SaveRequest(number, "screening", "labs", {"CREAT": 200}, draft=True), clock)
    assert store.eligibility(number, clock).eligible == "N"
    with pytest.raises(ValidationFailed) as exc:
        store.save(
            SaveRequest(
                number, "screening", "eligibility", {**BASE["eligibility"], "IECONF": "Y", "IEDAT": "2026-01-20"}
            ),
            clock,
        )
    assert any(line.startswith("IECONF: ") for line in refusal(exc))


# ---------------------------------------------------------------------------- one save, one transaction


def _replay(events: list) -> dict[str, dict[str, Any]]:
    """Current values rebuilt from the trail alone."""
    values: dict[str, dict[str, Any]] = {}
    for e in events:
        if e.action == "value_set":
            values.setdefault(e.instance_id, {})[e.field_id] = json.loads(e.new_json)
        elif e.action == "value_clear":
            values.setdefault(e.instance_id, {}).pop(e.field_id, None)
    return {k: v for k, v in values.items() if v}


def test_many_saves_keep_values_and_trail_together(store_dir: Path, study) -> None:
    clock = Clock.fixed(CLOCK)
    with login(store_dir, "dr.wu", study) as store:
        info_device = store.audit_events()[0].device_id
        numbers = [store.add_subject() for _ in range(3)]
        for i, number in enumerate(numbers):
            store.save(SaveRequest(number, "screening", "consent", BASE["consent"]), clock)
            for day in range(1, 8):
                store.save(SaveRequest(number, f"D{day}", "vitals", {**VITALS, "HR": 70 + day + i}), clock)
            store.save(SaveRequest(number, "D1", "vitals", {"HR": 99, "TEMP": 37.1}, reason="re-measured"), clock)
            store.save(
                SaveRequest(
                    number, "D2", "vitals", {"TEMP": 39.5, "WEIGHT": None}, draft=True, reason="weight to re-check"
                ),
                clock,
            )
            for _ in range(2):
                store.save(SaveRequest(number, "subject", "adverse_events", AE), clock)
            with pytest.raises(ValidationFailed):
                store.save(SaveRequest(number, "D3", "vitals", {"TEMP": 99}, reason="bad"), clock)
        check = store.verify_audit()
        assert check.ok, check.problem
        events = store.audit_events()
        assert check.events == len(events)
        stored = {r["instance"]: r["values"] for n in numbers for r in store.subject_values(n)[1]}
    assert _replay(events) == stored
    assert [e.seq for e in events] == sorted(e.seq for e in events)
    seqs = [e.device_seq for e in events]
    assert seqs == list(range(seqs[0], seqs[0] + len(seqs)))
    assert {e.device_id for e in events} == {info_device}
    assert all(e.prev_hash == p.hash for p, e in zip(events, events[1:]))
    cleared = [e for e in events if e.action == "value_clear"]
    assert len(cleared) == 3 and {e.field_id for e in cleared} == {"WEIGHT"}
    with login(store_dir, "admin", study) as store:
        assert store.verify_audit().ok
