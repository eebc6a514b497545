"""The randomization endpoints refuse bad requests with a 4xx and one line, never a 5xx."""

from __future__ import annotations

import uuid

from devices import client, enrol
from trial import PW, Trial, enter_subject

from cik_ecrf.sync.randomization_protocol import CODEBREAK, RANDOMIZE, UNBLIND


def test_refusals_are_4xx_with_one_line(trial: Trial) -> None:
    http, _ = enrol(trial.live, "inv1")
    other, _ = enrol(trial.live, "inv9")  # site SH02
    store = trial.laptop("inv1")
    subject = store.randomization.subject_id(enter_subject(store))
    anonymous = client(trial.live)
    cases = [
        (anonymous.post(RANDOMIZE, json={"subject_id": subject, "username": "inv1", "password": PW}), 401),
        (http.post(RANDOMIZE, content=b"not json", headers={"Content-Type": "application/json"}), 422),
        (http.post(RANDOMIZE, json={"subject_id": subject}), 422),
        (http.post(RANDOMIZE, json={"subject_id": str(uuid.uuid4()), "username": "inv1", "password": PW}), 404),
        (other.post(RANDOMIZE, json={"subject_id": subject, "username": "inv9", "password": PW}), 403),
        (http.post(RANDOMIZE, json={"subject_id": subject, "username": "nobody", "password": PW}), 401),
        (http.post(UNBLIND, json={"subject_id": subject, "username": "inv1", "password": PW, "reason": "x"}), 422),
        (
            http.post(UNBLIND, json={"subject_id": subject, "username": "inv1", "password": PW, "reason": "a reason"}),
            409,
        ),
        (
            http.post(
                CODEBREAK,
                json={
                    "subject_id": subject,
                    "username": "inv1",
                    "password": PW,
                    "reason": "a reason",
                    "opened_at": "2026-01-01",
                },
            ),
            409,
        ),
    ]
    for reply, status in cases:
        assert reply.status_code == status, (reply.status_code, reply.text)
        detail = reply.json()["detail"]
        if isinstance(detail, str):
            assert "\n" not in detail and 0 < len(detail) < 300
    assert "not randomized" in cases[7][0].json()["detail"]
    assert cases[7][0].json()["detail_zh"].startswith("受试者")


def test_a_laptop_cannot_forge_a_randomization(trial: Trial) -> None:
    """The allocation events and the server-set fields come from the server only: a pushed forgery is
    refused, logged as rejected and never pulled by another laptop."""
    from devices import Device

    from cik_ecrf.events import randomized

    store = trial.laptop("inv1")
    subject = store.randomization.subject_id(enter_subject(store))
    device = Device(trial.live, "inv1")
    instance = randomized.instance_id(subject)
    where = {"subject_id": subject, "visit_id": "randomization", "form_id": "randomization", "instance_id": instance}
    forged = [
        device.change(
            "randomized",
            new_json='{"RANDNO": "GE18-0001", "PRODID": "AAAA-BBBB", "RANDDTC": "2026-01-01T10:00+00:00"}',
            **where,
        ),
        device.change("unblinded", new_json='{"kind": "emergency"}', subject_id=subject),
        device.change("form_create", new_json='{"status": "draft"}', **where),
        device.change("value_set", field_id="PRODID", new_json='"AAAA-BBBB"', **where),
    ]
    results = device.push(forged)["results"]
    assert [r["disposition"] for r in results] == ["rejected"] * 4  # a laptop never starts this form either
    assert "written by the server only" in results[0]["reason"] and "set by the central server" in results[3]["reason"]
    other = trial.laptop("nurse1")
    assert other.randomization.allocation(subject) is None
