"""Lockout that holds: study settings, not the environment; hand edits of keyring.json are found and audited.

Real stores and real keyring files: the tests edit keyring.json as an attacker with write access to
the folder would, then a legitimate login must audit `lockout_state_edited` (once) and the CLI warn.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
from pathlib import Path
from typing import Any

import pytest

from cik_ecrf.definitions.errors import DefinitionErrors
from cik_ecrf.definitions.loader import load_study
from cik_ecrf.definitions.spec import StudyDefinition
from cik_ecrf.store import access, integrity
from cik_ecrf.store.api import Store
from cik_ecrf.store.errors import AuthError
from cik_ecrf.store.files import KEYRING_FILE

ADMIN, NURSE = "admin", "nurse.chen"
PASSWORDS = {ADMIN: "Harbour2026x", NURSE: "Lantern4477q"}


@pytest.fixture
def store_dir(tmp_path: Path, study: StudyDefinition) -> Path:
    directory = tmp_path / "store"
    Store.init(directory, "BJ01", ADMIN, PASSWORDS[ADMIN])
    with Store.open(directory, ADMIN, PASSWORDS[ADMIN], study) as store:
        store.add_user(NURSE, "nurse", PASSWORDS[NURSE])
    return directory


def keyring(directory: Path) -> dict[str, Any]:
    return json.loads((directory / KEYRING_FILE).read_text(encoding="utf-8"))


def edit(directory: Path, change: Any) -> None:
    data = keyring(directory)
    change(data)
    (directory / KEYRING_FILE).write_text(json.dumps(data), encoding="utf-8")


def fail(directory: Path, user: str, times: int, study: StudyDefinition) -> list[str]:
    messages = []
    for attempt in range(times):
        with pytest.raises(AuthError) as refused:
            Store.open(directory, user, f"Wrong{attempt}pass99", study)
        messages.append(str(refused.value))
    return messages


def findings(directory: Path, study: StudyDefinition) -> list[str]:
    """Log in as the administrator; what was audited as an edited lockout state."""
    with Store.open(directory, ADMIN, PASSWORDS[ADMIN], study) as store:
        return [e.reason for e in store.audit_events() if e.action == "lockout_state_edited"]


def with_security(study: StudyDefinition, **values: int) -> StudyDefinition:
    security = study.study.security.model_copy(update=values)
    return dataclasses.replace(study, study=study.study.model_copy(update={"security": security}))


# ---------------------------------------------------------------------------------------- the limits


def test_the_environment_does_not_loosen_the_lockout(
    store_dir: Path, study: StudyDefinition, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CIK_ECRF_MAX_FAILURES", "1000000")
    monkeypatch.setenv("CIK_ECRF_LOCKOUT_MINUTES", "0")
    messages = fail(store_dir, NURSE, 5, study)
    assert messages[-1] == f"too many failed logins: {NURSE} is locked for 15 minutes"
    with pytest.raises(AuthError, match="locked"):
        Store.open(store_dir, NURSE, PASSWORDS[NURSE], study)


def test_the_limits_are_the_study_settings(store_dir: Path, study: StudyDefinition) -> None:
    assert (study.study.security.max_failed_logins, study.study.security.lockout_minutes) == (5, 15)
    strict = with_security(study, max_failed_logins=3, lockout_minutes=45)
    messages = fail(store_dir, NURSE, 3, strict)
    assert messages[:2] == ["unknown user or wrong password"] * 2
    assert messages[2] == f"too many failed logins: {NURSE} is locked for 45 minutes"


def test_unknown_security_keys_are_definition_errors(tmp_path: Path) -> None:
    forms = Path(__file__).resolve().parents[1] / "forms"
    copy = tmp_path / "forms"
    copy.mkdir()
    for path in forms.glob("*.json"):
        (copy / path.name).write_bytes(path.read_bytes())
    study = json.loads((copy / "study.json").read_text(encoding="utf-8"))
    study["security"] = {"max_failed_logins": 5, "lockout_minutes": 15, "max_failures_env": True}
    (copy / "study.json").write_text(json.dumps(study, ensure_ascii=False), encoding="utf-8")
    with pytest.raises(DefinitionErrors) as errors:
        load_study(copy)
    assert any("max_failures_env" in str(e) for e in errors.value.errors)
    study["security"] = {"max_failed_logins": 0}
    (copy / "study.json").write_text(json.dumps(study, ensure_ascii=False), encoding="utf-8")
    with pytest.raises(DefinitionErrors):
        load_study(copy)


def test_a_lock_expires_after_its_minutes(store_dir: Path, study: StudyDefinition) -> None:
    policy = access.Policy.of(study)
    fail(store_dir, NURSE, 5, study)
    with pytest.raises(AuthError, match="locked"):
        access.unlock_key(store_dir, NURSE, PASSWORDS[NURSE], policy)
    later = dt.datetime.now(dt.UTC) + dt.timedelta(minutes=16)
    key, _pending = access.unlock_key(store_dir, NURSE, PASSWORDS[NURSE], policy, now=later)
    assert len(key) == 32
    assert findings(store_dir, study) == []  # an expired lock lifted by a login is no edit


# ---------------------------------------------------------------------------------------- hand edits


def test_normal_failures_and_logins_raise_no_alarm(store_dir: Path, study: StudyDefinition) -> None:
    for _ in range(2):
        fail(store_dir, NURSE, 3, study)
        fail(store_dir, "ghost", 2, study)
        with Store.open(store_dir, NURSE, PASSWORDS[NURSE], study):
            pass
    fail(store_dir, NURSE, 6, study)  # locked, then a login while locked
    assert findings(store_dir, study) == []
    assert integrity.reported(store_dir) == []


def test_clearing_the_failure_count_is_found_and_audited(store_dir: Path, study: StudyDefinition) -> None:
    findings(store_dir, study)  # a first login under this version starts the mirror
    fail(store_dir, NURSE, 4, study)
    edit(store_dir, lambda data: data["failures"].clear())
    fail(store_dir, NURSE, 4, study)  # the attacker's next guesses: still not locked, so far
    found = findings(store_dir, study)
    assert len(found) == 1 and "changed by hand" in found[0] and NURSE in found[0]
    assert findings(store_dir, study) == found  # audited once


def test_lifting_a_lock_by_hand_is_found(store_dir: Path, study: StudyDefinition) -> None:
    findings(store_dir, study)
    fail(store_dir, NURSE, 5, study)
    edit(store_dir, lambda data: data["failures"][NURSE].update(locked_until=None))
    with Store.open(store_dir, NURSE, PASSWORDS[NURSE], study):  # the lift worked, and is on record
        pass
    with Store.open(store_dir, ADMIN, PASSWORDS[ADMIN], study) as store:
        found = [e for e in store.audit_events() if e.action == "lockout_state_edited"]
    assert len(found) == 1 and found[0].username == NURSE and "changed by hand" in found[0].reason


def test_removing_failed_login_records_is_found(store_dir: Path, study: StudyDefinition) -> None:
    findings(store_dir, study)
    fail(store_dir, NURSE, 3, study)

    def scrub(data: dict[str, Any]) -> None:
        data["pending_events"] = data["pending_events"][:1]
        data["failures"][NURSE]["count"] = 1

    edit(store_dir, scrub)
    found = findings(store_dir, study)
    assert len(found) == 1 and "2 failed-login record(s) were removed" in found[0]


def test_turning_the_count_back_is_found(store_dir: Path, study: StudyDefinition) -> None:
    fail(store_dir, NURSE, 3, study)
    findings(store_dir, study)  # mirrors 3 failed logins
    edit(store_dir, lambda data: data.update(attempts=0))
    found = findings(store_dir, study)
    assert len(found) == 1 and "went back from 3 to 0" in found[0]


def test_the_cli_warns_about_an_edited_lockout_state(
    store_dir: Path, study: StudyDefinition, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    from cik_ecrf.cli import main

    findings(store_dir, study)
    fail(store_dir, NURSE, 2, study)
    edit(store_dir, lambda data: data["failures"].clear())
    monkeypatch.setenv("CIK_ECRF_PASSWORD", PASSWORDS[ADMIN])
    capsys.readouterr()
    assert main(["subject", "list", "--data-dir", str(store_dir), "--user", ADMIN]) == 0
    err = capsys.readouterr().err.splitlines()
    assert len(err) == 1 and err[0].startswith("warning: keyring.json: failure counts or lock times were changed")
