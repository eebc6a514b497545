"""The role × transition table, enforced by the server for every role and every transition with its
own record of who each user is (a laptop writing another role into its changes changes nothing), and
by a laptop before anything is sent."""

from __future__ import annotations

import json
import uuid
from pathlib import Path
from typing import Any

import pytest
from devices import Device
from live_server import PASSWORD, LiveServer, laptop
from sync_fixtures import VITALS, save, sync

from cik_ecrf.core.queries import TRANSITIONS, USER_TRANSITIONS, refusal
from cik_ecrf.store.errors import PermissionDenied, StoreError
from cik_ecrf.sync.protocol import Change

TESTERS = {"nurse": "nurse2", "investigator": "inv1", "monitor": "mon2", "data_manager": "dm1"}
STATES = (None, "open", "answered", "closed")


def test_the_table_names_the_rule_in_every_refusal() -> None:
    for transition in USER_TRANSITIONS:
        for state in (*STATES, "closed_modified"):
            for role in (*TESTERS, "admin"):
                problem = refusal(transition, state, role, "someone", "mon1")
                allowed = role in TRANSITIONS[transition].roles and state in TRANSITIONS[transition].sources
                assert (problem is None) == allowed, (transition, state, role, problem)
                assert problem is None or problem.startswith("query rule: ")
    assert refusal("close", "answered", "investigator", "inv1", "inv1") is None  # the opener closes their own
    assert refusal("close", "answered", "investigator", "inv1", "mon1") is not None


def _on(device: Device, action: str, where: dict[str, Any], body: dict[str, Any], **extra: Any) -> Change:
    return device.change(action, new_json=json.dumps(body), **where, **extra)


def test_the_server_enforces_every_role_and_transition(server: LiveServer) -> None:
    devices = {name: Device(server, name) for name in ("nurse1", "mon1", *TESTERS.values())}
    nurse, opener = devices["nurse1"], devices["mon1"]
    subject, instance, changes = nurse.new_form(number="BJ01-RULE-0001")
    changes.append(nurse.value(subject, instance, "HR", 80))
    assert all(r["disposition"] == "applied" for r in nurse.push(changes)["results"])
    where = {"subject_id": subject, "visit_id": "D1", "form_id": "vitals", "instance_id": instance, "field_id": "HR"}
    body = lambda q, **kw: {"query": q, **kw}  # noqa: E731

    # one query per (transition, state, role), brought to its state by the people allowed to
    cases = [(t, s, r) for t in USER_TRANSITIONS for s in STATES for r in TESTERS]
    ids = {case: str(uuid.uuid4()) for case in cases}
    setup = [c for c in cases if c[1] is not None]
    opened = [_on(opener, "query_open", where, body(ids[c], scope="field", text="check HR")) for c in setup]
    assert {r["disposition"] for r in opener.push(opened)["results"]} == {"applied"}
    answered = [_on(nurse, "query_answer", where, body(ids[c], text="ok")) for c in setup if c[1] != "open"]
    assert {r["disposition"] for r in nurse.push(answered)["results"]} == {"applied"}
    closed = [_on(opener, "query_close", where, body(ids[c])) for c in setup if c[1] == "closed"]
    assert {r["disposition"] for r in opener.push(closed)["results"]} == {"applied"}

    for role, user in TESTERS.items():
        device = devices[user]
        tried = []
        for transition, state, who in cases:
            if who != role:
                continue
            query = ids[(transition, state, who)]
            if transition in ("open", "open_review"):
                kind = "manual" if transition == "open" else "review"
                change = _on(device, "query_open", where, body(query, scope="field", kind=kind, text="look"))
            elif transition == "reopen":
                change = _on(device, "query_reopen", where, body(query), reason="not settled")
            else:
                change = _on(device, f"query_{transition}", where, body(query, text="done"))
            # the laptop claims to be a monitor: the server goes by its own record of the user
            tried.append(((transition, state), change.model_copy(update={"role": "monitor"})))
        results = device.push([c for _, c in tried])["results"]
        for ((transition, state), _change), result in zip(tried, results, strict=True):
            expected = refusal(transition, state, role, user, "mon1")
            assert (result["disposition"] == "applied") == (expected is None), (role, transition, state, result)
            if expected is not None:
                assert result["reason"].startswith("query rule: "), result


def test_sdv_and_locks_are_the_monitor_s_and_the_data_manager_s(server: LiveServer) -> None:
    nurse, monitor, manager = Device(server, "nurse1"), Device(server, "mon1"), Device(server, "dm1")
    subject, instance, changes = nurse.new_form(number="BJ01-RULE-0002")
    nurse.push(changes)
    verify = {"scope": "form", "instances": [instance], "fields": []}
    where = {"subject_id": subject, "visit_id": "D1", "form_id": "vitals"}
    lock = {"scope": "form"}
    for device, action, payload, ok in (
        (nurse, "sdv_verify", verify, False),
        (manager, "sdv_verify", verify, False),
        (monitor, "sdv_verify", verify, True),
        (monitor, "record_lock", lock, False),
        (nurse, "record_lock", lock, False),
        (manager, "record_lock", lock, True),
        (manager, "record_unlock", lock, False),  # no reason
    ):
        [result] = device.push([_on(device, action, where, payload)])["results"]
        assert (result["disposition"] == "applied") == ok, (device.user, action, result)
        if not ok:
            assert "rule" in result["reason"], result


def test_a_laptop_refuses_before_sending(server: LiveServer, tmp_path: Path, study) -> None:
    nurse = laptop(tmp_path / "n", server.url, "nurse1", study)
    number = nurse.add_subject()
    save(nurse, number, "D1", "vitals", VITALS)
    with pytest.raises(PermissionDenied, match="query rule: a nurse cannot open"):
        nurse.monitoring.open_query(number, "D1", "vitals", "HR", text="?")
    with pytest.raises(PermissionDenied, match="SDV rule"):
        nurse.monitoring.verify(number, "D1", "vitals")
    with pytest.raises(PermissionDenied, match="lock rule"):
        nurse.monitoring.lock(number)
    assert nurse.monitoring.refusal("open") is not None and nurse.monitoring.refusal("answer") is not None
    sync(nurse)
    nurse.close()
    monitor = laptop(tmp_path / "m", server.url, "mon1", study)
    sync(monitor)
    query = monitor.monitoring.open_query(number, "D1", "vitals", "HR", text="source says 88")
    with pytest.raises(PermissionDenied, match="query rule: a monitor cannot answer"):
        monitor.monitoring.answer_query(query, "it is fine")
    monitor.close()


def test_a_laptop_enforces_every_role_and_transition_offline(tmp_path: Path, study) -> None:
    """One laptop, its users of every role taking turns, no server: the same table decides."""
    from stores import store_with_nurse

    from cik_ecrf.store.api import Store

    directory = tmp_path / "laptop"
    store_with_nurse(directory, study, "MX01", ("admin", "Harbour2026x"), ("nurse2", "Provisional11", PASSWORD))
    with Store.open(directory, "admin", "Harbour2026x", study=study) as admin:
        for user, role in (("inv1", "investigator"), ("mon1", "monitor"), ("mon2", "monitor"), ("dm1", "data_manager")):
            admin.add_user(user, role, "Provisional11")
    for user in ("inv1", "mon1", "mon2", "dm1"):
        with Store.open(directory, user, "Provisional11", study=study) as first:
            first.change_password("Provisional11", PASSWORD)
    users = {
        name: Store.open(directory, name, PASSWORD, study=study) for name in ("nurse2", "inv1", "mon1", "mon2", "dm1")
    }
    try:
        number = users["nurse2"].add_subject()
        save(users["nurse2"], number, "D1", "vitals", VITALS)
        target = (number, "D1", "vitals", "HR")
        cases = [(t, s, r) for t in USER_TRANSITIONS for s in STATES if s is not None for r in TESTERS]
        ids = {}
        for case in cases:
            ids[case] = users["mon1"].monitoring.open_query(*target, text="check HR")
            if case[1] in ("answered", "closed"):
                users["nurse2"].monitoring.answer_query(ids[case], "ok")
            if case[1] == "closed":
                users["mon1"].monitoring.close_query(ids[case])
        for transition in USER_TRANSITIONS:
            for role, user in TESTERS.items():
                for state in STATES:
                    monitoring = users[user].monitoring
                    expected = refusal(transition, state, role, user, "mon1")
                    try:
                        if state is None:
                            kind = "manual" if transition == "open" else "review"
                            if transition not in ("open", "open_review"):
                                continue  # a move of a query that does not exist: nothing to name
                            monitoring.open_query(*target, text="look", kind=kind)
                        elif transition in ("open", "open_review"):
                            continue  # opening names no existing query
                        elif transition == "reopen":
                            monitoring.reopen_query(ids[(transition, state, role)], "not settled")
                        else:
                            getattr(monitoring, f"{transition}_query")(ids[(transition, state, role)], "done")
                        outcome = None
                    except StoreError as exc:
                        outcome = str(exc)
                    assert (outcome is None) == (expected is None), (transition, state, role, outcome)
                    assert outcome is None or outcome.startswith("query rule: ")
    finally:
        for store in users.values():
            store.close()


def test_a_correction_answer_needs_the_value_change(server: LiveServer) -> None:
    nurse, monitor = Device(server, "nurse1"), Device(server, "mon1")
    subject, instance, changes = nurse.new_form(number="BJ01-RULE-0003")
    changes.append(nurse.value(subject, instance, "HR", 80))
    nurse.push(changes)
    where = {"subject_id": subject, "visit_id": "D1", "form_id": "vitals", "instance_id": instance, "field_id": "HR"}
    query = str(uuid.uuid4())
    monitor.push([_on(monitor, "query_open", where, {"query": query, "scope": "field", "text": "HR?"})])
    [refused] = nurse.push([_on(nurse, "query_answer", where, {"query": query, "text": "fixed", "correction": True})])[
        "results"
    ]
    assert refused["disposition"] == "rejected" and "correction answer follows a value change" in refused["reason"]
    corrected = nurse.value(subject, instance, "HR", 88, base=None, reason="chart says 88")
    answer = _on(nurse, "query_answer", where, {"query": query, "text": "chart says 88", "correction": True})
    results = nurse.push([corrected, answer])["results"]
    assert [r["disposition"] for r in results] == ["applied", "applied"], results


def test_a_query_on_a_field_is_no_change_of_its_value(server: LiveServer, tmp_path: Path, study) -> None:
    """A laptop's own offline edits after a monitor queried (and verified) the field merge as before:
    the query and the verification name the field, they change no value (no false conflict)."""
    nurse = laptop(tmp_path / "n", server.url, "nurse1", study)
    monitor = laptop(tmp_path / "m", server.url, "mon1", study)
    number = nurse.add_subject()
    save(nurse, number, "D1", "vitals", VITALS)
    sync(nurse), sync(monitor)
    monitor.monitoring.open_query(number, "D1", "vitals", "HR", text="HR?")
    monitor.monitoring.verify(number, "D1", "vitals", ["HR"])
    sync(monitor)
    save(nurse, number, "D1", "vitals", {"HR": 81}, reason="typo")
    save(nurse, number, "D1", "vitals", {"HR": 82}, reason="typo again")
    outcome = sync(nurse)
    assert outcome.ok and outcome.conflicts == 0 and nurse.conflicts() == []
    nurse.close(), monitor.close()
