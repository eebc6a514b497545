"""The server is the authority (hypothesis): three hand-driven laptops (two nurses' and a monitor's)
push random mixes of valid and malformed changes — forged statuses, server-only events, device
sequences out of order, base versions from the future, bad values, garbage in the batch — while two
real laptops save valid values and sync. After each run: no request was ever answered 5xx; the
server's state is exactly a replay of the changes it accepted (and served); no refused change was
served; the real laptops' syncs never failed, and after a final sync they and the server agree."""

from __future__ import annotations

import json
import tempfile
import uuid
from pathlib import Path
from typing import Any

import pytest
from attacks import post, pulled
from devices import Device
from hypothesis import HealthCheck, Phase, given, note, settings
from hypothesis import strategies as st
from live_server import LiveServer, backends, database_url, laptop, open_server_db, site_with_users
from sqlalchemy import Engine, text
from sync_fixtures import VITALS, local_state, save, server_state

from cik_ecrf.store.api import Store
from cik_ecrf.sync.client import SyncClient, SyncOutcome
from cik_ecrf.sync.protocol import Change

USERS = (("nurse1", "nurse"), ("nurse2", "nurse"), ("nurse3", "nurse"), ("mon1", "monitor"))
LAPTOPS = ("nurse1", "nurse2")
HANDS = ("nurse3", "nurse1", "mon1")  # a second laptop of nurse1's, and a monitor's that may enter nothing
FIELDS = {"HR": [60, 72, 88, 101], "RESP": [14, 18, 22], "TEMP": [36.4, 37.2, 38.5], "O2SUPP": ["NONE", "LOW_FLOW"]}
BAD_VALUES = [
    ("HR", '"eighty"'),
    ("HR", "400"),
    ("HR", "{{{"),
    ("HR", '{"a": 1}'),
    ("TEMP", "50.0"),
    ("O2SUPP", '"ZZ"'),
    ("VSDAT", '"2026-02-30T10:00+08:00"'),
    ("BSA", "1.5"),
    ("HEIGHT", "150.0"),
    ("NOSUCH", "1"),
]
FORGED_STATUSES = ['"signed"', '"locked"', '"frozen"', json.dumps("x" * 40), '{"a":1}', "123", "{{{"]
GARBAGE: list[Any] = [{}, 42, None, "change", [], {"id": 7}, {"action": "value_set", "device_seq": "abc"}]

KINDS = (
    "valid",
    "stale",
    "status",
    "bad_value",
    "forged_status",
    "server_only",
    "gap",
    "replay_first",
    "future_base",
    "signature_cleared",
    "garbage",
    "new_form",
)

operation = st.one_of(
    st.tuples(st.just("save"), st.integers(0, 1), st.sampled_from(sorted(FIELDS)), st.integers(0, 3)),
    st.tuples(st.just("sync"), st.integers(0, 1)),
    st.tuples(st.just("resolve"), st.integers(0, 1)),
    st.tuples(st.just("hand"), st.integers(0, 2), st.sampled_from(KINDS), st.integers(0, 9), st.integers(0, 3)),
)


class Hands:
    """The three hand-driven laptops, what they aim at, and every answer the server gave them."""

    def __init__(self, server: LiveServer, engine: Engine, subject: str, instance: str) -> None:
        self.engine = engine
        self.devices = [Device(server, user) for user in HANDS]
        self.targets = [(subject, instance, "D1")]
        self.statuses: list[int] = []
        self.rejected: set[str] = set()
        self.numbers = 0

    def push(self, device: Device, body: list[Any]) -> None:
        answer = post(device, {"changes": body})
        self.statuses.append(answer.status_code)
        assert answer.status_code < 500, answer.text
        if answer.status_code == 200:
            self.rejected |= {r["id"] for r in answer.json()["results"] if r["disposition"] == "rejected"}

    def version(self, instance: str, field: str) -> int | None:
        with self.engine.connect() as conn:
            return conn.execute(
                text("SELECT version FROM field_state WHERE instance_id = :i AND field_id = :f"),
                {"i": instance, "f": field},
            ).scalar()

    def value(self, device: Device, target: tuple[str, str, str], field: str, new_json: str, **extra: Any) -> Change:
        subject, instance, visit = target
        return device.change(
            extra.pop("action", "value_set"),
            subject_id=subject,
            visit_id=visit,
            form_id="vitals",
            instance_id=instance,
            field_id=field,
            new_json=new_json,
            **extra,
        )

    def form_event(self, device: Device, target: tuple[str, str, str], action: str, new_json: str | None) -> Change:
        subject, instance, visit = target
        return device.change(
            action, subject_id=subject, visit_id=visit, form_id="vitals", instance_id=instance, new_json=new_json
        )

    def act(self, which: int, kind: str, pick: int, aim: int) -> None:
        device = self.devices[which]
        target = self.targets[aim % len(self.targets)]
        field = sorted(FIELDS)[pick % len(FIELDS)]
        good = json.dumps(FIELDS[field][pick % len(FIELDS[field])])
        if kind == "valid":
            change = self.value(device, target, field, good, base_version=self.version(target[1], field))
        elif kind == "stale":
            change = self.value(device, target, field, good, base_version=1)
        elif kind == "status":
            change = self.form_event(device, target, "status_change", json.dumps(("draft", "complete")[pick % 2]))
        elif kind == "bad_value":
            bad_field, bad = BAD_VALUES[pick % len(BAD_VALUES)]
            change = self.value(device, target, bad_field, bad, base_version=self.version(target[1], bad_field))
        elif kind == "forged_status":
            change = self.form_event(device, target, "status_change", FORGED_STATUSES[pick % len(FORGED_STATUSES)])
        elif kind == "server_only":
            change = self.value(device, target, field, forged_conflict_body(device, good), action="sync_conflict")
        elif kind == "gap":
            change = self.value(device, target, field, good, base_version=self.version(target[1], field))
            device.seq -= 1  # this one jumps ahead: the device's next change still takes the skipped place
            change = change.model_copy(update={"device_seq": change.device_seq + 1 + pick % 3})
        elif kind == "replay_first":
            change = self.value(device, target, field, good, base_version=self.version(target[1], field))
            device.seq -= 1
            change = change.model_copy(update={"device_seq": 1})
        elif kind == "future_base":
            with self.engine.connect() as conn:
                newest = int(conn.execute(text("SELECT max(seq) FROM change")).scalar_one())
            change = self.value(device, target, field, good, base_version=newest + 1 + pick * 1000)
        elif kind == "signature_cleared":
            change = self.form_event(device, target, "signature_cleared", None).model_copy(update={"reason": "typo"})
        elif kind == "garbage":
            valid = self.value(device, target, field, good, base_version=self.version(target[1], field))
            self.push(device, [GARBAGE[pick % len(GARBAGE)], valid.model_dump()])
            return
        else:  # a new subject and form, valid for a nurse
            self.numbers += 1
            subject, instance = str(uuid.uuid4()), str(uuid.uuid4())
            changes = [
                device.change(
                    "subject_add", subject_id=subject, new_json=json.dumps(f"BJ01-H{which}{self.numbers:03d}")
                ),
                device.change(
                    "form_create",
                    subject_id=subject,
                    visit_id="D2",
                    form_id="vitals",
                    instance_id=instance,
                    new_json=json.dumps({"status": "draft", "version": "1.0"}),
                ),
            ]
            changes.append(self.value(device, (subject, instance, "D2"), field, good))
            self.push(device, [c.model_dump() for c in changes])
            self.targets.append((subject, instance, "D2"))
            return
        self.push(device, [change.model_dump()])


def forged_conflict_body(device: Device, value_json: str) -> str:
    """A sync_conflict body as the server writes them (what a laptop must never be able to send)."""
    return json.dumps(
        {
            "current": value_json,
            "candidates": [
                {
                    "value_json": value_json,
                    "seq": 1,
                    "username": device.user,
                    "device_id": device.id,
                    "at_utc": "2026-01-01T00:00:00+00:00",
                    "utc_offset_min": 480,
                    "change_id": str(uuid.uuid4()),
                }
            ],
        }
    )


def replay(served: list[dict[str, Any]]) -> dict[str, Any]:
    """The reference model: the accepted changes, in the server's order, applied the simplest way
    (subjects and forms created once, status as last set, last value per field, conflicts opened by the
    server's events and closed only by a resolution; the same value merged into a field in conflict
    leaves it in conflict)."""
    subjects: dict[str, str] = {}
    forms: dict[str, list[str]] = {}
    fields: dict[tuple[str, str], str | None] = {}
    conflicts: set[tuple[str, str]] = set()
    for entry in served:
        if entry["disposition"] not in ("applied", "merged"):
            continue  # a conflicting value is carried by the server's sync_conflict event that follows it
        c = entry["change"]
        action, instance, key = c["action"], c["instance_id"], (c["instance_id"], c["field_id"])
        if action == "subject_add":
            subjects.setdefault(c["subject_id"], json.loads(c["new_json"]))
        elif action == "form_create" and instance not in forms:
            forms[instance] = [c["visit_id"], c["form_id"], json.loads(c["new_json"] or "{}").get("status", "draft")]
        elif action == "status_change":
            forms[instance][2] = json.loads(c["new_json"])
        elif action == "signature_cleared" and forms[instance][2] == "signed":
            forms[instance][2] = "complete"
        elif action in ("value_set", "value_clear", "conflict_resolve"):
            fields[key] = None if action == "value_clear" else c["new_json"]
            if action == "conflict_resolve" or entry["disposition"] == "applied":
                conflicts.discard(key)  # the same value merged into a field in conflict leaves it in conflict
        elif action == "sync_conflict":
            fields[key] = json.loads(c["new_json"])["current"]
            conflicts.add(key)
    return {
        "subjects": sorted(subjects.items()),
        "forms": sorted((i, *f) for i, f in forms.items()),
        "fields": sorted((i, f, v) for (i, f), v in fields.items() if v is not None),
        "conflicts": sorted(conflicts),
    }


def comparable(state: dict[str, Any]) -> dict[str, Any]:
    """A server's or a laptop's state without the server versions (the model has no opinion on those)."""
    return {
        "subjects": sorted(tuple(s) for s in state["subjects"]),
        "forms": sorted(tuple(f) for f in state["forms"]),
        "fields": sorted((i, f, v) for i, f, v, *_ in state["fields"]),
        "conflicts": sorted((i, f) for i, f, *_ in state["conflicts"]),
    }


def run_sync(store: Store, outcomes: list[SyncOutcome]) -> None:
    outcome = SyncClient(store).run()
    outcomes.append(outcome)
    assert outcome.error is None, outcome.error
    assert outcome.rejected == (), outcome.rejected  # a real laptop's valid saves are never refused


@pytest.mark.parametrize("backend", backends())
@settings(
    max_examples=15,
    deadline=None,
    phases=[Phase.explicit, Phase.reuse, Phase.generate],
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(steps=st.lists(operation, min_size=4, max_size=16))
def test_the_server_state_is_a_replay_of_what_it_accepted(
    backend: str, study: Any, steps: list[tuple[Any, ...]]
) -> None:
    note(f"steps: {steps}")  # shrinking is off (CI time): the failing mix is printed instead
    with tempfile.TemporaryDirectory() as scratch, database_url(Path(scratch), backend) as url:
        root = Path(scratch)
        engine = open_server_db(url)
        site_with_users(engine, "BJ01", USERS)
        stores: list[Store] = []
        outcomes: list[SyncOutcome] = []
        try:
            with LiveServer(engine) as server:
                stores = [laptop(root / user, server.url, user, study) for user in LAPTOPS]
                number = stores[0].add_subject()
                instance = save(stores[0], number, "D1", "vitals", VITALS)
                for store in stores:
                    run_sync(store, outcomes)
                subject = stores[0].subject_values(number)[0].id
                hands = Hands(server, engine, subject, instance)
                for step in steps:
                    if step[0] == "save":
                        choices = FIELDS[step[2]]
                        value = choices[step[3] % len(choices)]
                        save(stores[step[1]], number, "D1", "vitals", {step[2]: value}, reason="re-measured")
                    elif step[0] == "sync":
                        run_sync(stores[step[1]], outcomes)
                    elif step[0] == "resolve":
                        conflicts = stores[step[1]].conflicts()
                        if conflicts:
                            c = conflicts[0]
                            stores[step[1]].resolve_conflict(
                                c.instance_id, c.field_id, c.candidates[-1].value, "agreed at handover"
                            )
                    else:
                        hands.act(*step[1:])
                for store in stores + stores:
                    run_sync(store, outcomes)
                # (a) never a 5xx
                assert all(code < 500 for code in hands.statuses), hands.statuses
                # (b) the server's state is a replay of what it accepted, and it served nothing it refused
                served = pulled(hands.devices[0])
                assert not {c["change"]["id"] for c in served} & hands.rejected
                on_server = comparable(server_state(engine))
                assert on_server == replay(served)
                # (c) the real laptops agree with each other and with the server
                states = [comparable(local_state(store)) for store in stores]
                assert states[0] == states[1] == on_server
                assert all(store.verify_audit().ok for store in stores)
                # (d) no real laptop's sync failed (each was checked as it ran), and nothing is left to push
                assert outcomes and outcomes[-1].waiting == 0 and outcomes[-2].waiting == 0
        finally:
            for store in stores:
                store.close()
            engine.dispose()
