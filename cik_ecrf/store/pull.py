"""Applying pulled changes on a laptop: each is read and checked by its event type, joined to the
local hash chain as it was written elsewhere, and applied with the new cursor in one transaction. A
field this laptop changed and has not pushed yet is never overwritten by a pull: the push decides. A
change this laptop cannot read or apply is quarantined and reported; the rest of the page goes on.
"""

from __future__ import annotations

import datetime as dt
import functools
import json
import operator
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from pydantic import TypeAdapter, ValidationError
from sqlalchemy import Connection

from ..core import numbers as subject_numbers
from ..definitions.spec import StudyDefinition
from ..events import registry
from ..events.base import Refused
from ..events.change import CHANGE_FIELDS, Change
from . import audit
from .own_held import APPLIED, own_held, raw_get
from .study_versions import study_of_pulled, upgrade_pulled  # study versions
from .sync_local import CURSOR, CURSOR_ID, EPOCH, VALUE_ACTIONS, device_id, pushed_mark, put, rows_in

_COLUMNS = (*CHANGE_FIELDS, "prev_hash", "hash")
_CHANGES = TypeAdapter(list[Change])
_FIELDS = operator.attrgetter(*CHANGE_FIELDS)  # a change's trail columns, in order
_INSERT = f"INSERT INTO audit_event ({', '.join(_COLUMNS)}) VALUES ({', '.join('?' * len(_COLUMNS))})"


def _pending_fields(conn: Connection) -> set[tuple[str, str]]:
    rows = conn.exec_driver_sql(
        "SELECT instance_id, field_id FROM audit_event WHERE device_id = ? AND device_seq > ? AND action IN (?, ?, ?)",
        (device_id(conn), pushed_mark(conn), *VALUE_ACTIONS),
    )
    return {(r[0], r[1]) for r in rows}


def _append_to_trail(conn: Connection, events: Sequence[tuple[Any, ...]]) -> None:
    """Events written elsewhere (each its CHANGE_FIELDS, in order) join this laptop's chain unchanged;
    the local hash links them in."""
    if not events:
        return
    meta = dict(
        conn.exec_driver_sql("SELECT key, value FROM meta WHERE key IN (?, ?)", (audit.HEAD_KEY, audit.COUNT_KEY)).all()
    )
    previous, length = meta.get(audit.HEAD_KEY, audit.GENESIS), int(meta.get(audit.COUNT_KEY, 0))
    rows = []
    for values in events:
        hashed = dict(zip(CHANGE_FIELDS, values, strict=True))
        hashed["prev_hash"] = link = previous
        previous = audit.hash_of(hashed)
        rows.append((*values, link, previous))
    conn.exec_driver_sql(_INSERT, rows)
    put(conn, audit.HEAD_KEY, previous)
    put(conn, audit.COUNT_KEY, str(length + len(rows)))


def _user_ids(conn: Connection, changes: Sequence[Change]) -> dict[str, str]:
    """Local user ids by name; a user this laptop has not heard of gets an inactive record (no key, no login)."""
    known = dict(conn.exec_driver_sql('SELECT username, id FROM "user"').all())
    for change in changes:
        name = change.username
        if name not in known:
            known[name] = str(uuid.uuid4())
            conn.exec_driver_sql(
                'INSERT INTO "user" (id, username, full_name, role, password_hash, must_change_password, active, created_at) VALUES (?, ?, ?, ?, ?, 1, 0, ?)',
                (known[name], name, name, change.role or "nurse", "!", change.at_utc),
            )
    return known


@dataclass(frozen=True)
class PullApplied:
    """What one pulled page did here: how many changes were new, and which forms another laptop's
    values changed (instance -> (user, the change's server seq)), the ones whose signatures here no longer hold."""

    fresh: int
    touched: dict[str, tuple[str, int]]
    held: int = 0  # this laptop's own value changes back as it already held them: left alone (`own_held.py`)


class PulledPage:
    """One page of pulled changes applied to this laptop: the `LaptopState` the event types act on.

    Value writes are collected (last one wins, in server order) and written in a few executemany
    statements at the end; a field this laptop changed and has not pushed yet is left alone. New visits
    and forms and status changes are collected too (a fresh laptop's pull makes 10,000s of them: one
    statement each was a quarter of its time) and written before anything else reads or writes the
    store (`flush`), so every other step finds them in place."""

    def __init__(self, conn: Connection, study: StudyDefinition, users: dict[str, str]) -> None:
        self.conn = conn
        self.study = study
        self.users = users
        self.pending = _pending_fields(conn)
        self.writes: dict[tuple[str, str], tuple[str | None, int | None, str | None, str, bool]] = {}
        self.own_device = device_id(conn)
        # instances whose values another device changed, with who did it and that change's server seq
        self.touched: dict[str, tuple[str, int]] = {}
        self._new_visits: list[tuple[str, str, str, int]] = []  # (pk, subject, visit, repeat), not written yet
        self._new_instances: list[tuple[str, str, str, str, str, str, str]] = []
        self._statuses: dict[str, tuple[str, str]] = {}  # instance -> (status, at), not written yet
        self.instances: dict[str, str | None] = {}  # form -> its status here (None: not here), as far as read
        self._visits: dict[tuple[str, str, int], str] = {}  # (subject, visit, repeat) -> visit pk, as far as read
        self._visit_subjects: set[str] = set()  # subjects whose visits are read

    def preload(self, changes: Sequence[Change]) -> None:
        """The statuses of the forms the page names, and the visits of its subjects, in a few queries: a page
        reads what it touches, not every form and visit of the laptop (those grow for fifteen years)."""
        self._load_instances({c.instance_id for c in changes if c.instance_id})
        self._load_visits({c.subject_id for c in changes if c.subject_id})

    def _load_instances(self, ids: Iterable[str]) -> None:
        wanted = sorted(i for i in ids if i not in self.instances)
        self.instances.update(
            (r[0], r[1]) for r in rows_in(self.conn, "SELECT id, status FROM form_instance WHERE id", wanted)
        )
        self.instances.update((i, None) for i in wanted if i not in self.instances)  # not here (yet)

    def _load_visits(self, subjects: Iterable[str]) -> None:
        wanted = sorted(s for s in subjects if s not in self._visit_subjects)
        query = "SELECT subject_id, visit_id, repeat, id FROM visit WHERE subject_id"
        self._visits.update(((r[0], r[1], r[2]), r[3]) for r in rows_in(self.conn, query, wanted))
        self._visit_subjects.update(wanted)

    @functools.cached_property
    def _site(self) -> str:
        return str(
            self.conn.exec_driver_sql("SELECT site_code FROM device WHERE id = ?", (self.own_device,)).scalar_one()
        )

    def flush(self) -> None:
        """Write the visits, forms and statuses collected so far."""
        if self._new_visits:
            self.conn.exec_driver_sql(
                "INSERT INTO visit (id, subject_id, visit_id, repeat) VALUES (?, ?, ?, ?)", self._new_visits
            )
        if self._new_instances:
            from .save_sql import insert_instances

            insert_instances(self.conn, self._new_instances)
        if self._statuses:
            self.conn.exec_driver_sql(
                "UPDATE form_instance SET status = ?, updated_at = ? WHERE id = ?",
                [(status, at, instance) for instance, (status, at) in self._statuses.items()],
            )
        self._new_visits, self._new_instances, self._statuses = [], [], {}

    @functools.cached_property
    def subjects(self) -> set[str]:
        return {r[0] for r in self.conn.exec_driver_sql("SELECT id FROM subject")}

    def has_subject(self, subject_id: str | None) -> bool:
        return subject_id in self.subjects

    def add_subject(self, change: Change, number: str) -> None:
        site = self._site
        if self.conn.exec_driver_sql("SELECT 1 FROM subject WHERE number = ?", (number,)).first() is not None:
            if not subject_numbers.laptop_made(site, number):
                raise Refused(f"subject number {number} is another subject's on this laptop")
            # a restored laptop's number given again: the server registered the subject under the next free
            # one, which its `subject_renumbered` (next in the log) brings; until then it is held apart by its id
            number = f"{number}~{(change.subject_id or '')[:8]}"
        self.conn.exec_driver_sql(
            "INSERT INTO subject (id, number, site_code, created_at, created_by) VALUES (?, ?, ?, ?, ?)",
            (change.subject_id, number, site, change.at_utc, self.users.get(change.username, "")),
        )
        self.subjects.add(change.subject_id or "")

    def renumber_subject(self, change: Change, number: str) -> None:
        """The server registered the subject under `number` (events/subject_renumbered.py)."""
        self.flush()
        taken = self.conn.exec_driver_sql(
            "SELECT 1 FROM subject WHERE number = ? AND id <> ?", (number, change.subject_id)
        ).first()
        if taken is not None:
            raise Refused(f"subject number {number} is another subject's on this laptop")
        self.conn.exec_driver_sql("UPDATE subject SET number = ? WHERE id = ?", (number, change.subject_id))

    def instance_status(self, instance_id: str | None) -> str | None:
        if instance_id and instance_id not in self.instances:  # named inside a payload (a visit's signature)
            self._load_instances([instance_id])
        return self.instances.get(instance_id or "")

    def monitoring(self) -> Any:  # monitoring: queries, SDV, locks (store/monitoring_sql.py)
        from .monitoring_sql import LaptopMonitoring

        self.flush()  # what monitoring reads or writes next finds the page's forms in place
        if not hasattr(self, "_monitoring"):
            self._monitoring = LaptopMonitoring(self.conn, self.own_device)
        return self._monitoring

    def add_instance(self, change: Change, status: str, version: str) -> None:
        key = (change.subject_id or "", change.visit_id or "", 0)
        self._load_visits([key[0]])
        visit = self._visits.get(key)
        if visit is None:
            visit = self._visits[key] = str(uuid.uuid4())
            self._new_visits.append((visit, *key))
        at = change.at_utc
        self._new_instances.append((change.instance_id or "", visit, change.form_id or "", version, status, at, at))
        self.instances[change.instance_id or ""] = status

    def set_status(self, change: Change, status: str) -> None:
        self._statuses[change.instance_id or ""] = (status, change.at_utc)
        self.instances[change.instance_id or ""] = status

    def write_value(self, seq: int, change: Change, value_json: str | None, *, conflict: bool = False) -> None:
        key = (change.instance_id or "", change.field_id or "")
        if key in self.pending:
            return
        if conflict:
            self.writes[key] = (value_json, change.base_version, None, change.at_utc, True)
        else:
            self.writes[key] = (value_json, seq, self.users.get(change.username, ""), change.at_utc, False)
            if change.device_id != self.own_device:  # this laptop's own changes coming back touch nothing new
                self.touched[key[0]] = (change.username, seq)

    def open_conflict(self, seq: int, change: Change, current: str | None, candidates: list[dict[str, Any]]) -> None:
        self.flush()
        self.conn.exec_driver_sql(
            "INSERT OR REPLACE INTO sync_conflict (instance_id, field_id, conflict_seq, current_json, candidates_json, opened_at) VALUES (?, ?, ?, ?, ?, ?)",
            (change.instance_id, change.field_id, seq, current, json.dumps(candidates), change.at_utc),
        )

    def upgrade_instance(self, change: Change, to_version: str, dropped: list[str]) -> None:
        self.flush()
        upgrade_pulled(self, change, to_version, dropped)  # study versions

    def close_conflict(self, change: Change, up_to: int) -> None:
        self.flush()
        self.conn.exec_driver_sql(
            "DELETE FROM sync_conflict WHERE instance_id = ? AND field_id = ? AND conflict_seq <= ?",
            (change.instance_id, change.field_id, up_to),
        )

    # randomization: the allocation record (store/randomization.py); never an arm
    def set_allocation(self, change: Change, randno: str, prodid: str, randdtc: str) -> None:
        from .randomization import set_allocation

        self.flush()
        set_allocation(self.conn, change, randno, prodid, randdtc)

    def mark_unblinded(self, change: Change) -> None:
        from .randomization import mark_unblinded

        self.flush()
        mark_unblinded(self.conn, change)

    def mark_voided(self, change: Change, randno: str) -> None:
        from .randomization import mark_voided

        self.flush()
        mark_voided(self.conn, change, randno)


def _readable(
    changes: Sequence[tuple[int, str, Any]],
) -> tuple[list[tuple[int, str, Change]], list[tuple[str, int, str]]]:
    """Pulled items as Changes; an item that is not one is refused here (the rest of the page goes on)."""
    try:  # the whole page in pydantic's own loop; item by item only when one is not a change
        parsed = _CHANGES.validate_python([raw for _, _, raw in changes])
        return [(seq, disposition, change) for (seq, disposition, _), change in zip(changes, parsed, strict=True)], []
    except ValidationError:
        pass
    readable, refused = [], []
    for seq, disposition, raw in changes:
        try:
            readable.append((seq, disposition, raw if isinstance(raw, Change) else Change.model_validate(raw)))
        except ValidationError as exc:
            given = raw.get("id") if isinstance(raw, dict) else None
            name = given if isinstance(given, str) and len(given) <= 36 else f"server-seq-{seq}"
            refused.append((name, seq, f"received from the server (seq {seq}) unreadable: {exc.errors()[0]['msg']}"))
    return readable, refused


def apply_pulled(
    conn: Connection,
    changes: Sequence[tuple[int, str, Any]],
    cursor: int,
    epoch: str,
    cursor_id: str | None = None,
    study: StudyDefinition | None = None,
    versions: Any = None,  # study versions: a StudySet, each change checked under its instance's version
) -> PullApplied:
    """Apply one page of pulled changes and store the cursor after it: one transaction. Returns how many
    were new here. Each change is checked by its event type against this laptop's study first: one
    this laptop cannot apply (an old server let it in) is quarantined and reported, never a crash."""
    ids = [i for i in (raw_get(raw, "id") for _, _, raw in changes) if isinstance(i, str)]
    present = {r[0] for r in rows_in(conn, "SELECT id FROM audit_event WHERE id", ids)}
    changes, held = own_held(conn, changes, present)
    readable, refused = _readable(changes)
    fresh = [c for _, _, c in readable if c.id not in present]
    users = _user_ids(conn, fresh)
    _append_to_trail(conn, list(map(_FIELDS, fresh)))  # the validated values as they are: no dump per change
    page = PulledPage(conn, study or _default_study(), users)
    page.preload([c for _, disposition, c in readable if disposition in APPLIED])
    for seq, disposition, change in readable:
        if disposition not in APPLIED:
            continue  # a conflicting change: kept in the trail; the server's sync_conflict event carries its value
        event = registry.event(change.action)
        try:
            if event is None or not event.data:
                raise Refused(f"{change.action!r} is not a change laptops apply")
            if change.id not in present:  # this laptop's own changes coming back were checked when saved
                event.check(study_of_pulled(page, change, versions), change)
            if event.laptop_apply is not None:  # each refuses before it writes: no half-applied change
                event.laptop_apply(page, seq, disposition, change)
        except Refused as exc:
            refused.append(
                (
                    change.id,
                    seq,
                    f"received from the server (seq {seq}, {change.action} by {change.username}): {exc}"[:500],
                )
            )
    page.flush()
    _write_values(conn, page.writes)
    if refused:
        at = dt.datetime.now(dt.UTC).isoformat()
        conn.exec_driver_sql(
            "INSERT OR REPLACE INTO sync_quarantine (change_id, device_seq, reason, at_utc) VALUES (?, ?, ?, ?)",
            [(cid, seq, reason, at) for cid, seq, reason in refused],
        )
    put(conn, CURSOR, str(cursor))
    put(conn, CURSOR_ID, cursor_id)
    put(conn, EPOCH, epoch)
    return PullApplied(len(fresh), dict(page.touched), held)


@functools.cache
def _default_study() -> StudyDefinition:
    from ..definitions.loader import load_study

    return load_study()


def clear_signatures_under_pulled(
    conn: Connection, chain: audit.Chain, actor: audit.Actor, touched: dict[str, tuple[str, int]]
) -> int:
    """Data signed here that another device changed before the signature reached the server: the signature
    no longer covers what the form holds, so it is cleared (audited, and pushed) and the form needs
    signing again, exactly as when the change is made here. Only changes that were applied here count
    (not quarantined ones, not this laptop's own coming back, however long after it was pushed).

    The pushed `signature_cleared` names the server seq of the change that touched the form (its
    `base_version`): the server clears the signature only for a change of another device to that form,
    whatever this laptop changed itself (server/covers.py). Returns how many forms lost a signature."""
    from . import signatures

    changed = touched
    if (
        not changed
        or conn.exec_driver_sql("SELECT 1 FROM signature WHERE cleared_at_utc IS NULL LIMIT 1").first() is None
    ):
        return 0  # nothing signed here (a nurse's laptop, or a fresh one): nothing to clear
    cleared = 0
    for instance_id, (username, seq) in changed.items():
        row = conn.exec_driver_sql(
            "SELECT v.subject_id, v.visit_id, i.form_id, i.status FROM form_instance i JOIN visit v ON v.id = i.visit_pk WHERE i.id = ?",
            (instance_id,),
        ).first()
        if row is None:
            continue
        context = {"subject_id": row[0], "visit_id": row[1], "form_id": row[2]}
        reason = f"changed on another laptop by {username} after it was signed here"
        named = {**context, "base_version": seq}  # the change from elsewhere that touched the signed data
        if signatures.clear_for_change(conn, chain, actor, instance_id, reason, named) and row[3] == "signed":
            chain.append(
                actor,
                "status_change",
                instance_id=instance_id,
                old_json=json.dumps("signed"),
                new_json=json.dumps("complete"),
                reason=reason,
                **context,
            )
            conn.exec_driver_sql("UPDATE form_instance SET status = 'complete' WHERE id = ?", (instance_id,))
            cleared += 1
    return cleared


def _write_values(
    conn: Connection, writes: dict[tuple[str, str], tuple[str | None, int | None, str | None, str, bool]]
) -> None:
    """A page's value changes in a few executemany statements (a fresh laptop pulls a whole site)."""
    if not writes:
        return
    instance_ids = sorted({k[0] for k in writes})
    existing = {
        (r[0], r[1])
        for r in rows_in(conn, "SELECT instance_id, field_id FROM field_value WHERE instance_id", instance_ids)
    }
    fallback = conn.exec_driver_sql('SELECT id FROM "user" ORDER BY created_at LIMIT 1').scalar_one()
    deletes = [k for k, w in writes.items() if w[0] is None and k in existing]
    authored = [
        (w[0], w[1], w[3], w[2], *k) for k, w in writes.items() if w[0] is not None and k in existing and not w[4]
    ]
    kept = [(w[0], w[1], *k) for k, w in writes.items() if w[0] is not None and k in existing and w[4]]
    inserts = [
        (*k, w[0], w[3], w[2] or fallback, w[1]) for k, w in writes.items() if w[0] is not None and k not in existing
    ]
    if deletes:
        conn.exec_driver_sql("DELETE FROM field_value WHERE instance_id = ? AND field_id = ?", deletes)
    if authored:
        conn.exec_driver_sql(
            "UPDATE field_value SET value_json = ?, server_version = ?, updated_at = ?, updated_by = ? WHERE instance_id = ? AND field_id = ?",
            authored,
        )
    if kept:
        conn.exec_driver_sql(
            "UPDATE field_value SET value_json = ?, server_version = ? WHERE instance_id = ? AND field_id = ?", kept
        )
    if inserts:
        conn.exec_driver_sql(
            "INSERT INTO field_value (instance_id, field_id, value_json, updated_at, updated_by, server_version) VALUES (?, ?, ?, ?, ?, ?)",
            inserts,
        )
