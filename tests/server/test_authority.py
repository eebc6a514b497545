"""The server is the authority: whatever one enrolled laptop sends, the server applies only valid
changes its user's role allows, answers every change on its own (never a 5xx), serves no refused
change to any laptop, and what it serves never crashes a laptop's sync. Every attack goes through a
live server on loopback, on SQLite and on PostgreSQL."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from attacks import (
    VITALS,
    Ward,
    field_value,
    forged_conflict,
    inject,
    newest_seq,
    post,
    pulled,
    pulled_ids,
    push_one,
    start_form,
    state,
    status,
)
from devices import Device
from live_server import (
    PASSWORD,
    LiveServer,
    backends,
    database_url,
    laptop,
    open_server_db,
    site_with_users,
    sync_process,
)
from sqlalchemy import text

from cik_ecrf.server import admin
from cik_ecrf.store.api import Store
from cik_ecrf.store.entry import SaveRequest
from cik_ecrf.sync.client import SyncClient
from cik_ecrf.sync.protocol import Change

CONFLICT_BODY_LIMIT = 16 * 1024
MAX_CANDIDATES = 10


@pytest.fixture(scope="module", params=backends())
def live(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    """One server per backend for the attacks: each test attacks its own subject (its `ward`), and a
    refused change must leave the whole state as it was, whatever earlier tests left in it."""
    with database_url(tmp_path_factory.mktemp("authority"), request.param) as url:
        engine = open_server_db(url)
        site_with_users(engine, "BJ01", (("nurse1", "nurse"), ("nurse2", "nurse"), ("mon1", "monitor")))
        with LiveServer(engine) as server:
            yield server
        engine.dispose()


@pytest.fixture
def ward(live: LiveServer) -> Ward:
    return Ward(Device(live, "nurse1"), number=f"BJ01-{uuid.uuid4().hex[:6].upper()}")


def assert_refused(
    live: LiveServer, result: dict[str, Any], before: dict[str, Any], *words: str, disposition: str = "rejected"
) -> None:
    """Rejected (or held), with a reason naming what is wrong; nothing changed on the server; no laptop is served it."""
    assert result["disposition"] == disposition, result
    reason = result.get("reason") or ""
    assert reason.strip(), result
    assert not words or any(w.lower() in reason.lower() for w in words), f"{reason!r} names none of {words}"
    assert state(live.engine) == before
    assert result["id"] not in pulled_ids(Device(live, "nurse2"))


# ---------------------------------------------------------------- server-only events


@pytest.mark.parametrize("user", ["nurse1", "mon1"])
def test_a_laptop_cannot_push_a_server_event(live: LiveServer, ward: Ward, user: str) -> None:
    before = state(live.engine)
    attacker = Device(live, user)
    result = push_one(attacker, forged_conflict(ward, attacker, "vitals", "HR", 200))
    assert_refused(live, result, before, "sync_conflict", "server")
    assert field_value(live.engine, ward.instances["vitals"], "HR") == 80


# ---------------------------------------------------------------- values against the field's definition

BAD_VALUES = [
    pytest.param("vitals", "HR", '"eighty"', id="text-for-integer"),
    pytest.param("vitals", "HR", "80.5", id="decimal-for-integer"),
    pytest.param("vitals", "TEMP", '"hot"', id="text-for-decimal"),
    pytest.param("vitals", "VSDAT", "12345", id="number-for-datetime"),
    pytest.param("demographics", "SUBJINIT", "123", id="number-for-text"),
    pytest.param("demographics", "SEX", '"ZZ"', id="code-not-in-list"),
    pytest.param("vitals", "O2SUPP", '"ZZ"', id="o2-code-not-in-list"),
    pytest.param("vitals", "HR", "400", id="above-hard-range"),
    pytest.param("vitals", "HR", "10", id="below-hard-range"),
    pytest.param("vitals", "TEMP", "50.0", id="temp-above-hard-range"),
    pytest.param("demographics", "BRTHDAT", '"1899-12-31"', id="date-before-hard-range"),
    pytest.param("vitals", "VSDAT", '"2099-01-01T10:00+08:00"', id="datetime-in-the-future"),
    pytest.param("demographics", "SUBJINIT", '"ABCDE"', id="over-max-length"),
    pytest.param("demographics", "SUBJINIT", json.dumps("A" * 99_000), id="100KB-initials"),
    pytest.param("diagnosis", "KARYO", json.dumps("K" * 201), id="text-over-200"),
    pytest.param("demographics", "SUBJINIT", '"ab"', id="pattern-lowercase"),
    pytest.param("demographics", "SUBJINIT", '"Z1"', id="pattern-digit"),
    pytest.param("demographics", "BRTHDAT", '"2026-02-30"', id="impossible-date"),
    pytest.param("demographics", "BRTHDAT", '"30/01/2020"', id="not-iso-date"),
    pytest.param("vitals", "VSDAT", '"2026-02-30T10:00+08:00"', id="impossible-datetime"),
    pytest.param("vitals", "HR", "{{{", id="not-json"),
    pytest.param("demographics", "SEX", "{{{", id="choice-not-json"),
    pytest.param("vitals", "HR", '{"a": 1}', id="object-for-integer"),
    pytest.param("demographics", "SEX", '["M"]', id="list-for-choice"),
]


@pytest.mark.parametrize(("form", "field", "new_json"), BAD_VALUES)
def test_a_value_that_breaks_the_fields_definition_is_refused(
    live: LiveServer, ward: Ward, form: str, field: str, new_json: str
) -> None:
    before = state(live.engine)
    result = push_one(ward.device, ward.value(form, field, new_json, base=ward.versions.get((form, field))))
    assert_refused(live, result, before, field)


def test_a_bad_value_is_refused_as_a_conflict_resolution_too(live: LiveServer, ward: Ward) -> None:
    before = state(live.engine)
    change = ward.value(
        "vitals", "HR", '"eighty"', action="conflict_resolve", reason="agreed", base=newest_seq(live.engine)
    )
    assert_refused(live, push_one(ward.device, change), before, "HR")


@pytest.mark.parametrize(("field", "value"), [("HR", 190), ("HR", 35), ("TEMP", 34.0), ("OXYSAT", 85), ("RESP", 70)])
def test_a_soft_range_value_is_taken_without_confirmation(live: LiveServer, ward: Ward, field: str, value: Any) -> None:
    """Outside the soft range but inside the hard one: the laptop asked its user to confirm; the server takes it."""
    change = ward.value("vitals", field, json.dumps(value), base=ward.versions.get(("vitals", field)))
    result = push_one(ward.device, change)
    assert result["disposition"] == "applied", result
    assert field_value(live.engine, ward.instances["vitals"], field) == value
    assert change.id in pulled_ids(Device(live, "nurse2"))


# ---------------------------------------------------------------- fields that take no input


@pytest.mark.parametrize(
    ("form", "field", "new_json"),
    [
        pytest.param("demographics", "AGE", "200", id="derived-age-impossible"),
        pytest.param("demographics", "AGE", "20", id="derived-age-plausible"),
        pytest.param("vitals", "BSA", "1.5", id="derived-bsa"),
        pytest.param("vitals", "HEIGHT", "150.0", id="field-not-collected-at-this-visit"),
        pytest.param("vitals", "NOSUCH", "1", id="no-such-field"),
        pytest.param("vitals", "SEX", '"M"', id="field-of-another-form"),
    ],
)
def test_a_field_that_takes_no_input_here_is_refused(
    live: LiveServer, ward: Ward, form: str, field: str, new_json: str
) -> None:
    before = state(live.engine)
    assert_refused(live, push_one(ward.device, ward.value(form, field, new_json)), before, field)


def test_a_server_set_field_is_refused_from_a_laptop(live: LiveServer, ward: Ward) -> None:
    """Randomization numbers come from the server: a laptop's RANDNO never lands, whatever happens to the form."""
    device = ward.device
    instance, create = start_form(device, ward.subject, "randomization")
    forged = device.change(
        "value_set",
        subject_id=ward.subject,
        visit_id="randomization",
        form_id="randomization",
        instance_id=instance,
        field_id="RANDNO",
        new_json='"R-0001"',
    )
    results = device.push([create, forged])["results"]
    assert results[1]["disposition"] == "rejected" and (results[1].get("reason") or "").strip(), results
    assert field_value(live.engine, instance, "RANDNO") is None
    assert forged.id not in pulled_ids(Device(live, "nurse2"))


# ---------------------------------------------------------------- form status


def test_status_change_moves_between_draft_and_complete(live: LiveServer, ward: Ward) -> None:
    instance = ward.instances["vitals"]
    assert push_one(ward.device, ward.form_event("vitals", "status_change", '"complete"'))["disposition"] == "applied"
    assert status(live.engine, instance) == "complete"
    assert push_one(ward.device, ward.form_event("vitals", "status_change", '"draft"'))["disposition"] == "applied"
    assert status(live.engine, instance) == "draft"


@pytest.mark.parametrize(
    "new_json",
    [
        pytest.param('"signed"', id="signed"),
        pytest.param('"locked"', id="locked"),
        pytest.param('"frozen"', id="unknown-status"),
        pytest.param(json.dumps("x" * 40), id="40-characters"),
        pytest.param('""', id="empty"),
        pytest.param('{"a": 1}', id="object"),
        pytest.param("123", id="number"),
        pytest.param("null", id="null"),
        pytest.param("{{{", id="not-json"),
    ],
)
@pytest.mark.parametrize("start", ["draft", "complete"])
def test_a_forged_status_is_refused(live: LiveServer, ward: Ward, start: str, new_json: str) -> None:
    if start == "complete":
        assert (
            push_one(ward.device, ward.form_event("vitals", "status_change", '"complete"'))["disposition"] == "applied"
        )
    before = state(live.engine)
    assert_refused(live, push_one(ward.device, ward.form_event("vitals", "status_change", new_json)), before)
    assert status(live.engine, ward.instances["vitals"]) == start


@pytest.mark.parametrize("forged", ["signed", "locked", "frozen"])
def test_a_new_form_cannot_start_signed_or_locked(live: LiveServer, ward: Ward, forged: str) -> None:
    """Nothing from a laptop can lock, nor sign without a signature: not through form_create either."""
    instance, create = start_form(ward.device, ward.subject, "vitals", visit="D2")
    create = create.model_copy(update={"new_json": json.dumps({"status": forged, "version": "1.0"})})
    before = state(live.engine)
    assert_refused(live, push_one(ward.device, create), before)
    assert instance not in {row[0] for row in state(live.engine)["instance"]}


@pytest.mark.parametrize("start", ["draft", "complete"])
def test_clearing_a_signature_the_server_does_not_hold_is_refused(live: LiveServer, ward: Ward, start: str) -> None:
    if start == "complete":
        push_one(ward.device, ward.form_event("vitals", "status_change", '"complete"'))
    before = state(live.engine)
    cleared = ward.form_event("vitals", "signature_cleared", None).model_copy(update={"reason": "typo"})
    assert_refused(live, push_one(ward.device, cleared), before, "sign")
    assert status(live.engine, ward.instances["vitals"]) == start


# ---------------------------------------------------------------- roles: the server's record, not the laptop's word


@pytest.mark.parametrize("claimed", ["nurse", "investigator", "data_manager"])
@pytest.mark.parametrize("action", ["subject_add", "form_create", "value_set"])
def test_a_monitor_cannot_enter_data_whatever_role_the_laptop_claims(
    live: LiveServer, ward: Ward, action: str, claimed: str
) -> None:
    monitor = Device(live, "mon1")
    if action == "subject_add":
        change = monitor.change("subject_add", subject_id=str(uuid.uuid4()), new_json='"BJ01-MMMM-0001"')
    elif action == "form_create":
        _, change = start_form(monitor, ward.subject, "vitals", visit="D2")
    else:
        change = ward.value("vitals", "HR", "90", device=monitor, base=ward.versions[("vitals", "HR")])
    change = change.model_copy(update={"role": claimed})
    before = state(live.engine)
    assert_refused(live, push_one(monitor, change), before, "monitor")


# ---------------------------------------------------------------- versions and sequences


@pytest.mark.parametrize("ahead", [1, 10**9])
def test_a_base_version_from_the_future_is_refused(live: LiveServer, ward: Ward, ahead: int) -> None:
    other = Device(live, "nurse2")
    before = state(live.engine)
    change = ward.value("vitals", "HR", "99", device=other, base=newest_seq(live.engine) + ahead)
    assert_refused(live, push_one(other, change), before, "base", "version")
    assert field_value(live.engine, ward.instances["vitals"], "HR") == 80


@pytest.mark.parametrize("skipped", [1, 5])
def test_a_change_after_a_gap_in_device_seq_is_held(live: LiveServer, ward: Ward, skipped: int) -> None:
    """Held, not applied and not logged: the answer names the seq the server takes next, and the same
    change sent again in order then applies."""
    before = state(live.engine)
    change = ward.value("vitals", "HR", "95", base=ward.versions[("vitals", "HR")])
    expected = change.device_seq
    early = change.model_copy(update={"device_seq": change.device_seq + skipped})
    result = push_one(ward.device, early)
    assert_refused(live, result, before, "order", "gap", disposition="held")
    assert result["expected_device_seq"] == expected
    assert field_value(live.engine, ward.instances["vitals"], "HR") == 80
    assert push_one(ward.device, change)["disposition"] == "applied"
    assert field_value(live.engine, ward.instances["vitals"], "HR") == 95


@pytest.mark.parametrize("replayed", ["same-seq", "first-seq"])
def test_an_older_change_never_overwrites_a_newer_one(live: LiveServer, ward: Ward, replayed: str) -> None:
    newer = ward.value("vitals", "HR", "90", base=ward.versions[("vitals", "HR")])
    result = push_one(ward.device, newer)
    assert result["disposition"] == "applied"
    older = ward.value("vitals", "HR", "70", base=result["server_seq"])
    older = older.model_copy(update={"device_seq": newer.device_seq if replayed == "same-seq" else 1})
    before = state(live.engine)
    assert_refused(live, push_one(ward.device, older), before, "order", "comes again", disposition="held")
    assert field_value(live.engine, ward.instances["vitals"], "HR") == 90


# ---------------------------------------------------------------- malformed batches: answered change by change


def _valid(ward: Ward, device: Device, field: str, value: Any) -> Change:
    return ward.value("vitals", field, json.dumps(value), device=device, base=ward.versions[("vitals", field)])


def test_a_malformed_batch_is_answered_change_by_change(live: LiveServer, ward: Ward) -> None:
    device = Device(live, "nurse2")
    first = _valid(ward, device, "HR", 81)
    frob = device.change("frobnicate", subject_id=ward.subject)
    not_json = ward.value("vitals", "RESP", "{{{", device=device)
    extra_key = {**ward.value("vitals", "RESP", "21", device=device).model_dump(), "sneaky": 1}
    oversized = {
        **ward.value("vitals", "RESP", "21", device=device).model_dump(),
        "new_json": json.dumps("x" * 200_000),
    }
    typed_wrong = {**ward.value("vitals", "RESP", "21", device=device).model_dump(), "new_json": 21}
    last = _valid(ward, device, "RESP", 22)
    no_seq = {**ward.value("vitals", "RESP", "23", device=device).model_dump()}
    device.seq -= 1  # that one carries no usable device_seq: it takes no place in the device's order
    no_seq["device_seq"] = "abc"
    missing = {"id": str(uuid.uuid4()), "action": "value_set", "new_json": "80"}
    items: list[Any] = [
        first.model_dump(),
        {},
        42,
        "a change",
        None,
        [],
        {"id": 7, "action": "value_set"},
        missing,
        no_seq,
        frob.model_dump(),
        not_json.model_dump(),
        extra_key,
        oversized,
        typed_wrong,
        last.model_dump(),
    ]
    # the device's order: first=1, frob=2, not_json=3, extra_key=4, oversized=5, typed_wrong=6, last=7
    answer = post(device, {"changes": items})
    assert answer.status_code == 200, answer.text
    results = answer.json()["results"]
    assert len(results) == len(items)
    expected_ids = [
        item["id"] if isinstance(item, dict) and isinstance(item.get("id"), str) else f"#{i}"
        for i, item in enumerate(items)
    ]
    assert [r["id"] for r in results] == expected_ids
    dispositions = [r["disposition"] for r in results]
    assert dispositions[0] == "applied" and dispositions[-1] == "applied", results
    assert all(d == "rejected" for d in dispositions[1:-1]), results
    assert all((r.get("reason") or "").strip() for r in results[1:-1]), results
    assert field_value(live.engine, ward.instances["vitals"], "HR") == 81
    assert field_value(live.engine, ward.instances["vitals"], "RESP") == 22
    served = pulled_ids(Device(live, "nurse1"))
    assert {first.id, last.id} <= served
    assert not served & {r["id"] for r in results[1:-1]}


MALFORMED = [
    pytest.param(lambda c: {**c, "action": "frobnicate"}, True, id="unknown-action"),
    pytest.param(lambda c: {**c, "new_json": "{{{"}, True, id="value-not-json"),
    pytest.param(lambda c: {**c, "new_json": 80}, True, id="new-json-not-a-string"),
    pytest.param(lambda c: {**c, "new_json": json.dumps("x" * 150_000)}, True, id="oversized-new-json"),
    pytest.param(lambda c: {**c, "reason": "r" * 20_000}, True, id="oversized-reason"),
    pytest.param(lambda c: {**c, "sneaky": True}, True, id="unknown-key"),
    pytest.param(lambda c: {**c, "base_version": "soon"}, True, id="base-version-not-a-number"),
    pytest.param(lambda c: {**c, "utc_offset_min": 10**6}, True, id="offset-out-of-range"),
    pytest.param(lambda c: {**c, "field_id": ["HR"]}, True, id="field-id-a-list"),
    pytest.param(lambda c: {k: v for k, v in c.items() if k not in ("username", "at_utc")}, True, id="missing-fields"),
    pytest.param(lambda c: {**c, "device_seq": "abc"}, False, id="device-seq-not-a-number"),
    pytest.param(lambda c: {**c, "device_seq": None}, False, id="device-seq-null"),
    pytest.param(lambda c: {**c, "id": None}, False, id="id-null"),
    pytest.param(lambda c: {**c, "id": "x" * 100}, False, id="id-too-long"),
    pytest.param(lambda c: [c], False, id="a-list-not-a-change"),
    pytest.param(lambda c: json.dumps(c), False, id="a-string-not-a-change"),
]


@pytest.mark.parametrize(("spoil", "keeps_its_seq"), MALFORMED)
def test_a_malformed_change_is_rejected_alone_and_the_next_one_applies(
    live: LiveServer, ward: Ward, spoil: Any, keeps_its_seq: bool
) -> None:
    device = Device(live, "nurse2")
    bad = spoil(ward.value("vitals", "RESP", "21", device=device).model_dump())
    if not keeps_its_seq:
        device.seq -= 1  # no usable device_seq: the next change takes its place in the device's order
    good = _valid(ward, device, "HR", 82)
    answer = post(device, {"changes": [bad, good.model_dump()]})
    assert answer.status_code == 200, answer.text
    results = answer.json()["results"]
    assert len(results) == 2 and results[1]["id"] == good.id
    assert results[0]["disposition"] == "rejected" and (results[0].get("reason") or "").strip(), results
    usable = isinstance(bad, dict) and isinstance(bad.get("id"), str) and 0 < len(bad["id"]) <= 36
    assert results[0]["id"] == (bad["id"] if usable else "#0"), results
    assert results[1]["disposition"] == "applied", results
    assert field_value(live.engine, ward.instances["vitals"], "HR") == 82
    assert field_value(live.engine, ward.instances["vitals"], "RESP") == 20


BAD_CONTENT = [
    pytest.param("form_create", "{{{", id="form-create-not-json"),
    pytest.param("form_create", "[1]", id="form-create-a-list"),
    pytest.param("form_create", '{"status": 5}', id="form-create-status-a-number"),
    pytest.param("subject_add", "{{{", id="subject-add-not-json"),
    pytest.param("subject_add", '{"n": 1}', id="subject-add-an-object"),
    pytest.param("subject_add", json.dumps("N" * 60), id="subject-number-too-long"),
    pytest.param("status_change", json.dumps("s" * 40), id="status-40-characters"),
]


@pytest.mark.parametrize(("action", "new_json"), BAD_CONTENT)
def test_bad_content_in_a_well_formed_change_never_answers_5xx(
    live: LiveServer, ward: Ward, action: str, new_json: str
) -> None:
    device = Device(live, "nurse2")
    if action == "subject_add":
        bad = device.change("subject_add", subject_id=str(uuid.uuid4()), new_json=new_json)
    elif action == "form_create":
        _, bad = start_form(device, ward.subject, "vitals", visit="D3")
        bad = bad.model_copy(update={"new_json": new_json})
    else:
        bad = ward.form_event("vitals", action, new_json, device=device)
    good = _valid(ward, device, "RESP", 24)
    before = state(live.engine)
    answer = post(device, {"changes": [bad.model_dump(), good.model_dump()]})
    assert answer.status_code == 200, answer.text
    results = answer.json()["results"]
    assert [r["id"] for r in results] == [bad.id, good.id]
    assert results[0]["disposition"] == "rejected" and (results[0].get("reason") or "").strip(), results
    assert results[1]["disposition"] == "applied", results
    after = state(live.engine)
    assert after["subject"] == before["subject"] and after["instance"] == before["instance"]
    assert field_value(live.engine, ward.instances["vitals"], "HR") == 80
    assert field_value(live.engine, ward.instances["vitals"], "RESP") == 24


@pytest.mark.parametrize(
    ("body", "answered"),
    [
        pytest.param({"changes": []}, True, id="empty"),
        pytest.param({"changes": [None]}, True, id="null"),
        pytest.param({"changes": [[]]}, True, id="list"),
        pytest.param({"changes": [{"id": ""}]}, True, id="empty-id"),
        pytest.param({"changes": [{}] * 5001}, False, id="over-5000"),
        pytest.param({"changes": [{}], "client_time_utc": 5}, False, id="client-time-a-number"),
        pytest.param({"changes": [{}], "extra": True}, False, id="extra-envelope-key"),
    ],
)
def test_no_envelope_of_changes_answers_5xx(live: LiveServer, body: dict[str, Any], answered: bool) -> None:
    """Change by change where the envelope is sound; a refusal of the whole request (4xx) otherwise."""
    answer = post(Device(live, "nurse1"), body)
    assert answer.status_code < 500, answer.text
    if answered:
        assert answer.status_code == 200, answer.text
        results = answer.json()["results"]
        assert [r["id"] for r in results] == [f"#{i}" for i in range(len(body["changes"]))]
        assert all(r["disposition"] == "rejected" for r in results)


# ---------------------------------------------------------------- conflicts stay bounded


def test_a_conflict_record_holds_each_value_once_and_stays_bounded(live: LiveServer, ward: Ward) -> None:
    devices = [Device(live, user) for user in ("nurse1", "nurse2", "nurse1", "nurse2", "nurse1")]
    base = ward.versions[("diagnosis", "KARYO")]
    texts = [f"{n:02d}" + "K" * 198 for n in range(25)]  # the longest KARYO a laptop may enter
    for round_ in range(60):
        device = devices[round_ % len(devices)]
        change = ward.value(
            "diagnosis", "KARYO", json.dumps(texts[(round_ * 7) % len(texts)]), device=device, base=base
        )
        assert push_one(device, change)["disposition"] in ("applied", "conflict", "merged")
    events = [
        c["change"]
        for c in pulled(Device(live, "nurse2"))
        if c["change"]["action"] == "sync_conflict"
        and (c["change"]["instance_id"], c["change"]["field_id"]) == (ward.instances["diagnosis"], "KARYO")
    ]
    assert events, "competing values on one field open a conflict"
    for event in events:
        assert len(json.dumps(event)) < CONFLICT_BODY_LIMIT
        candidates = json.loads(event["new_json"])["candidates"]
        values = [c["value_json"] for c in candidates]
        assert len(values) <= MAX_CANDIDATES and len(values) == len(set(values)), values
    with live.engine.connect() as conn:
        open_conflict = conn.execute(
            text("SELECT conflict_seq FROM field_state WHERE instance_id = :i AND field_id = 'KARYO'"),
            {"i": ward.instances["diagnosis"]},
        ).scalar()
    assert open_conflict is not None


# ---------------------------------------------------------------- a pull never crashes a laptop


def save(store: Store, number: str, visit: str, form: str, data: dict[str, Any], **kwargs: Any) -> str:
    return store.save(SaveRequest(number, visit, form, data, **kwargs)).instance_id


def laptop_fields(store: Store, instance: str) -> dict[str, Any]:
    with store.unit_of_work() as session:
        rows = session.connection().exec_driver_sql(
            "SELECT field_id, value_json FROM field_value WHERE instance_id = ?", (instance,)
        )
        return {field: json.loads(value) for field, value in rows}


def laptop_status(store: Store, instance: str) -> str:
    with store.unit_of_work() as session:
        return str(
            session.connection()
            .exec_driver_sql("SELECT status FROM form_instance WHERE id = ?", (instance,))
            .scalar_one()
        )


class Junked:
    """A signed form on the server and on its investigator's laptop, junk the old server let into the
    log after it, and a second subject entered after the junk (the rest of the page)."""

    def __init__(self, server: LiveServer, root: Path, study: Any) -> None:
        admin.add_user(server.engine, "dr.li", "investigator", "BJ01", PASSWORD, full_name="Dr Li")
        self.study = study
        self.root = root
        self.doctor = laptop(root / "doctor", server.url, "dr.li", study)
        self.number = self.doctor.add_subject()
        self.instance = save(self.doctor, self.number, "D1", "vitals", VITALS)
        assert SyncClient(self.doctor).run().error is None  # the data first: its echo is not what is tested here
        self.doctor.sign(self.number, "D1", "vitals", meaning="approve", username="dr.li", password=PASSWORD)
        assert SyncClient(self.doctor).run().error is None
        assert status(server.engine, self.instance) == "signed"
        self.nurse = laptop(root / "nurse", server.url, "nurse1", study)
        assert SyncClient(self.nurse).run().error is None
        subject_id = self.doctor.subject_values(self.number)[0].id
        old = Device(server, "nurse2")  # the laptop that sent the junk to the old server
        context = {"subject_id": subject_id, "visit_id": "D1", "form_id": "vitals", "instance_id": self.instance}
        forged = {
            "current": "200",
            "candidates": [
                {
                    "value_json": "200",
                    "seq": 1,
                    "username": "nurse2",
                    "device_id": old.id,
                    "at_utc": "2026-01-01T00:00:00+00:00",
                    "utc_offset_min": 480,
                    "change_id": str(uuid.uuid4()),
                }
            ],
        }
        self.junk = [
            old.change("status_change", new_json='{"a":1}', **context),
            old.change("value_set", field_id="HR", new_json="{{{", **context),
            old.change("sync_conflict", field_id="HR", new_json=json.dumps(forged), **context),
            old.change("status_change", new_json='"locked"', **context),
            old.change("value_set", field_id="RESP", new_json='"eighty"', **context),
            old.change("value_set", field_id="NOSUCH", new_json="1", **context),
        ]
        for change in self.junk:
            inject(server.engine, change)
        self.second = self.nurse.add_subject()
        self.second_instance = save(self.nurse, self.second, "D1", "vitals", {**VITALS, "HR": 66})

    def assert_untouched(self, store: Store) -> None:
        """The junk changed nothing here, and what came after it applied."""
        fields = laptop_fields(store, self.instance)
        assert {field: fields.get(field) for field in VITALS} == VITALS and "NOSUCH" not in fields
        assert laptop_status(store, self.instance) == "signed"
        assert store.conflicts() == []
        assert laptop_fields(store, self.second_instance)["HR"] == 66
        assert store.verify_audit().ok

    def close(self) -> None:
        for store in (self.doctor, self.nurse):
            store.close()


def test_a_laptops_own_changes_coming_back_never_clear_its_signature(
    server: LiveServer, tmp_path: Path, study: Any
) -> None:
    """Entered and signed on one laptop before its first sync: the pull brings its own values back,
    which were signed as they are (no other laptop changed them)."""
    admin.add_user(server.engine, "dr.li", "investigator", "BJ01", PASSWORD, full_name="Dr Li")
    doctor = laptop(tmp_path / "doctor", server.url, "dr.li", study)
    try:
        number = doctor.add_subject()
        instance = save(doctor, number, "D1", "vitals", VITALS)
        doctor.sign(number, "D1", "vitals", meaning="approve", username="dr.li", password=PASSWORD)
        for _ in range(2):
            outcome = SyncClient(doctor).run()
            assert outcome.error is None and outcome.rejected == (), outcome
        [signature] = doctor.signatures(number)
        assert signature.active, signature.cleared_reason
        assert laptop_status(doctor, instance) == "signed" and status(server.engine, instance) == "signed"
    finally:
        doctor.close()


def test_junk_in_the_log_never_crashes_a_laptops_sync(server: LiveServer, tmp_path: Path, study: Any) -> None:
    site = Junked(server, tmp_path, study)
    try:
        assert SyncClient(site.nurse).run().error is None  # pushes the second subject, after the junk
        fresh = laptop(tmp_path / "fresh", server.url, "nurse2", study)
        try:
            for store in (fresh, site.doctor, site.nurse):
                outcome = SyncClient(store).run()
                assert outcome.error is None, outcome.error
                site.assert_untouched(store)
                assert store.sync_status().quarantined >= len(site.junk)  # reported, not silently dropped
            [signature] = site.doctor.signatures(site.number)
            assert signature.active
            for store in (fresh, site.doctor, site.nurse):
                again = SyncClient(store).run()
                assert again.error is None and again.waiting == 0, again
                site.assert_untouched(store)
        finally:
            fresh.close()
    finally:
        site.close()


def test_junk_in_the_log_never_crashes_the_sync_command(server: LiveServer, tmp_path: Path, study: Any) -> None:
    site = Junked(server, tmp_path, study)
    site.close()
    for attempt in range(2):
        child = sync_process(tmp_path / "nurse", "nurse1", "--json")
        out, err = child.communicate(timeout=300)
        assert b"Traceback" not in err, err.decode(errors="replace")
        assert child.returncode == 0, (attempt, out.decode(errors="replace"), err.decode(errors="replace"))
        assert json.loads(out)["error"] is None
    nurse = Store.open(tmp_path / "nurse", "nurse1", PASSWORD, study=study)
    try:
        site.assert_untouched(nurse)
        assert nurse.sync_status().quarantined >= len(site.junk)
    finally:
        nurse.close()


def test_a_laptop_cannot_renumber_a_subject(live: LiveServer, ward: Ward) -> None:
    """`subject_renumbered` is the server's: a laptop that sends one to move a subject is refused."""
    before = state(live.engine)
    attacker = Device(live, "nurse1")
    forged = attacker.change(
        "subject_renumbered",
        subject_id=ward.subject,
        new_json=json.dumps({"given": ward.number, "number": "BJ01-ZZZZ-9999"}),
    )
    assert_refused(live, push_one(attacker, forged), before, "server")


def test_a_taken_number_outside_the_laptops_own_pattern_is_refused_not_renumbered(live: LiveServer, ward: Ward) -> None:
    """Only a device's own pattern (a restored laptop numbering again) is given the next free number:
    another's number, or a paper number, taken already is refused."""
    attacker = Device(live, "nurse2")
    before = state(live.engine)
    copy = attacker.change("subject_add", subject_id=str(uuid.uuid4()), new_json=json.dumps(ward.number))
    assert_refused(live, push_one(attacker, copy), before, "already taken")
