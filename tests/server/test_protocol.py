"""The protocol at the HTTP level: enrolment, tokens, idempotent push, per-site and per-role
authorisation, signed forms, unknown cursors, clock skew. Every check goes through a live server."""

from __future__ import annotations

import datetime as dt
import json
import uuid
from typing import Any

import httpx
from devices import Device
from live_server import PASSWORD, LiveServer

from cik_ecrf.server import admin
from cik_ecrf.sync.protocol import API


def dispositions(answer: dict[str, Any]) -> list[str]:
    return [r["disposition"] for r in answer["results"]]


def test_enrolment_checks_the_password_and_the_site(server: LiveServer) -> None:
    bad = httpx.post(
        f"{server.url}{API}/enrol",
        json={"username": "nurse1", "password": "wrong-password1", "device_id": str(uuid.uuid4())},
    )
    assert bad.status_code == 401 and "wrong password" in bad.json()["detail"]
    other = httpx.post(
        f"{server.url}{API}/enrol",
        json={"username": "nurse1", "password": PASSWORD, "device_id": str(uuid.uuid4()), "site_code": "SH02"},
    )
    assert other.status_code == 403 and "BJ01" in other.json()["detail"]
    good = httpx.post(
        f"{server.url}{API}/enrol", json={"username": "nurse1", "password": PASSWORD, "device_id": str(uuid.uuid4())}
    )
    assert good.status_code == 200 and good.json()["site_code"] == "BJ01" and len(good.json()["device_code"]) == 4
    assert httpx.get(f"{server.url}{API}/pull").status_code == 401
    assert httpx.get(f"{server.url}{API}/pull", headers={"Authorization": "Bearer forged"}).status_code == 401


def test_replayed_batches_are_harmless_and_a_reused_id_is_refused(server: LiveServer) -> None:
    device = Device(server, "nurse1")
    subject, instance, changes = device.new_form(number="BJ01-AAAA-0001")
    changes.append(device.value(subject, instance, "HR", 80))
    first = device.push(changes)
    assert dispositions(first) == ["applied"] * 3
    again = device.push(changes)
    assert dispositions(again) == ["duplicate"] * 3
    assert [r["server_seq"] for r in again["results"]] == [r["server_seq"] for r in first["results"]]
    forged = changes[2].model_copy(update={"new_json": "99"})
    [result] = device.push([forged])["results"]
    assert result["disposition"] == "rejected" and "different change" in result["reason"]
    stranger = changes[2].model_copy(update={"id": str(uuid.uuid4()), "device_id": str(uuid.uuid4())})
    assert dispositions(device.push([stranger])) == ["rejected"]
    pulled = device.pull().json()
    assert [c["change"]["id"] for c in pulled["changes"]] == [c.id for c in changes]  # once each, in commit order


def test_a_device_cannot_read_or_write_another_sites_data(server: LiveServer) -> None:
    beijing, shanghai = Device(server, "nurse1"), Device(server, "nurse9")
    subject, instance, changes = beijing.new_form(number="BJ01-AAAA-0001")
    beijing.push(changes + [beijing.value(subject, instance, "HR", 80)])
    attack = [
        shanghai.value(subject, instance, "HR", 200),
        shanghai.change(
            "form_create",
            subject_id=subject,
            visit_id="D2",
            form_id="vitals",
            instance_id=str(uuid.uuid4()),
            new_json="{}",
        ),
    ]
    results = shanghai.push(attack)["results"]
    assert [r["disposition"] for r in results] == ["rejected", "rejected"]
    assert "another site" in results[0]["reason"] and "another site" in results[1]["reason"]
    assert shanghai.pull().json()["changes"] == []  # nothing of Beijing's
    assert [c["change"]["new_json"] for c in beijing.pull().json()["changes"] if c["change"]["field_id"] == "HR"] == [
        "80"
    ]


def test_roles_are_checked_per_change(server: LiveServer) -> None:
    device = Device(server, "nurse1")
    subject, instance, changes = device.new_form(number="BJ01-AAAA-0001")
    device.push(changes)
    as_monitor = device.value(subject, instance, "HR", 90).model_copy(update={"username": "mon1"})
    unknown = device.value(subject, instance, "HR", 91).model_copy(update={"username": "ghost"})
    results = device.push([as_monitor, unknown])["results"]
    assert results[0]["disposition"] == "rejected" and "monitor cannot enter data" in results[0]["reason"]
    assert results[1]["disposition"] == "rejected" and "not a user of site BJ01" in results[1]["reason"]


def test_signed_forms_refuse_edits_unless_the_laptop_cleared_the_signature(server: LiveServer) -> None:
    admin.add_user(server.engine, "inv1", "investigator", "BJ01", PASSWORD, full_name="Inv One")
    a, b, pi = Device(server, "nurse1"), Device(server, "nurse2"), Device(server, "inv1")
    subject, instance, changes = a.new_form(number="BJ01-AAAA-0001")
    hr = a.value(subject, instance, "HR", 80)
    complete = a.change(
        "status_change",
        subject_id=subject,
        visit_id="D1",
        form_id="vitals",
        instance_id=instance,
        new_json='"complete"',
    )
    seq = a.push(changes + [hr, complete])["results"][-2]["server_seq"]
    signature = str(uuid.uuid4())
    body = {
        "signature": signature,
        "scope": "form",
        "meaning": "approve",
        "full_name": "Inv One",
        "content_sha256": "a" * 64,
        "instances": [instance],
    }
    signed = pi.change(
        "signature",
        subject_id=subject,
        visit_id="D1",
        form_id="vitals",
        instance_id=instance,
        new_json=json.dumps(body),
    )
    assert dispositions(pi.push([signed])) == ["applied"]
    edit = [
        b.value(subject, instance, "HR", 95, base=seq),
        b.change(
            "status_change",
            subject_id=subject,
            visit_id="D1",
            form_id="vitals",
            instance_id=instance,
            new_json='"complete"',
            reason="x",
        ),
    ]
    results = b.push(edit)["results"]
    assert [r["disposition"] for r in results] == ["rejected", "rejected"] and "signed" in results[0]["reason"]
    forged = b.change(
        "signature_cleared",
        subject_id=subject,
        visit_id="D1",
        form_id="vitals",
        instance_id=instance,
        old_json=json.dumps({"signature": str(uuid.uuid4())}),
        reason="typo",
    )
    assert dispositions(b.push([forged])) == ["rejected"]
    cleared = [
        a.change(
            "signature_cleared",
            subject_id=subject,
            visit_id="D1",
            form_id="vitals",
            instance_id=instance,
            old_json=json.dumps({"signature": signature}),
            reason="typo",
        ),
        a.value(subject, instance, "HR", 85, base=seq, reason="typo"),
    ]
    assert dispositions(a.push(cleared)) == ["applied", "applied"]


def test_merge_rules_ignore_client_clocks(server: LiveServer) -> None:
    """A laptop a day behind and one a day ahead: the base version decides, never the timestamps."""
    ahead, behind = Device(server, "nurse1"), Device(server, "nurse2")
    day = dt.timedelta(days=1)
    subject, instance, changes = ahead.new_form(number="BJ01-AAAA-0001")
    answer = ahead.push(
        changes + [ahead.value(subject, instance, "HR", 80, skew=day)],
        client_time=(dt.datetime.now(dt.UTC) + day).isoformat(),
    )
    assert any("ahead of" in w for w in answer["warnings"])
    base = answer["results"][-1]["server_seq"]
    late = behind.push(
        [behind.value(subject, instance, "HR", 70, base=base, skew=-day)],
        client_time=(dt.datetime.now(dt.UTC) - day).isoformat(),
    )
    assert late["results"][0]["disposition"] == "applied" and any("behind" in w for w in late["warnings"])
    stale = ahead.push([ahead.value(subject, instance, "HR", 99, base=base, skew=day)])  # newer clock, stale base
    assert dispositions(stale) == ["conflict"]
    same = behind.push([behind.value(subject, instance, "RESP", 20)])
    assert dispositions(same) == ["applied"]
    assert dispositions(ahead.push([ahead.value(subject, instance, "RESP", 20)])) == ["merged"]


def test_an_unknown_cursor_is_answered_410(server: LiveServer) -> None:
    device = Device(server, "nurse1")
    page = device.pull().json()
    assert device.pull(page["next_cursor"], page["epoch"]).status_code == 200
    assert device.pull(10**9, page["epoch"]).status_code == 410
    subject, instance, changes = device.new_form(number="BJ01-AAAA-0001")
    device.push(changes)
    assert device.pull(1, "another-server-epoch").status_code == 410


def test_a_revoked_token_is_refused(server: LiveServer) -> None:
    device = Device(server, "nurse1")
    assert device.pull().status_code == 200
    admin.revoke_device(server.engine, device.id)
    refused = device.pull()
    assert refused.status_code == 401 and "revoked" in refused.json()["detail"]


def test_forms_and_fields_the_study_does_not_have_are_refused(server: LiveServer) -> None:
    device = Device(server, "nurse1")
    subject, instance, changes = device.new_form(number="BJ01-AAAA-0001")
    nosuch = device.value(subject, instance, "NOSUCH", 1)  # device_seq in push order
    wrong_visit = device.change(
        "form_create",
        subject_id=subject,
        visit_id="D99",
        form_id="vitals",
        instance_id=str(uuid.uuid4()),
        new_json="{}",
    )
    results = device.push(changes + [nosuch, wrong_visit])["results"]
    assert [r["disposition"] for r in results] == ["applied", "applied", "rejected", "rejected"]
    assert "no field NOSUCH" in results[2]["reason"] and "not collected at visit D99" in results[3]["reason"]
