"""Applying one pushed batch in one transaction: the server decides what every change may do.

Each change is read on its own (a malformed one is refused alone), then checked in this order: the
same id again (duplicate), this device's own change, its place in the device's sequence (exactly one
after the last one logged: a change after a gap is held, not logged, and the laptop sends again
from where the server is), the event type and the author's role as the SERVER records it, the payload against the study
definitions, a base version that exists, and finally the event's own rules against the server's
state (`cik_ecrf.events`). A refused change is logged as rejected, never sent to another laptop.

Values: based on the current version, applied. Same value as the current one: merged. Based on an
older version, but every change since then came from the same laptop: applied. Otherwise both values
are kept and the field is put in conflict on every laptop by a server `sync_conflict` event, which
holds each competing value once (at most ten, bounded in size); only a `conflict_resolve` (audited,
with a reason) that saw that event closes it. Client clocks never decide anything. The batch is read
in a few bulk queries and written in a few executemany statements.
"""

from __future__ import annotations

import functools
import hashlib
import json
import operator
import uuid
from collections.abc import Iterable, Sequence
from typing import Any

from pydantic import TypeAdapter, ValidationError
from sqlalchemy import Connection, bindparam, func, insert, select, update

from ..core.roles import ENTRY_ROLES
from ..core.status import FROZEN_STATUSES
from ..definitions.spec import StudyDefinition
from ..events import randomization_rules, registry
from ..events.base import Outcome, Refused
from ..events.change import Change
from ..sync.protocol import ChangeResult
from . import authorship
from .covers import SignatureCover, SignatureCovers
from .database import now
from .devices import RestoredSequence
from .merge import SERVER_DEVICE, FieldMerge, FieldRow
from .models import Change as ChangeRow
from .models import FieldState, Instance, SeqCounter, Subject, User
from .renumber import OwnNumbers  # a restored laptop's subject numbers, given again
from .study_versions.state import InstanceVersions  # study versions: each change checked under its instance's

VALUE_ACTIONS = registry.VALUE_ACTIONS
CHUNK = 500
MAX_REASON = 500


def _chunks(items: Sequence[Any]) -> Iterable[Sequence[Any]]:
    for start in range(0, len(items), CHUNK):
        yield items[start : start + CHUNK]


_CHANGES = TypeAdapter(list[Change])


def _read_all(raws: Sequence[Any]) -> list[tuple[Change | None, str, str | None]]:
    """Every pushed item read in one pass (pydantic's own loop); item by item only when one is malformed."""
    try:
        return [(change, change.id, None) for change in _CHANGES.validate_python(raws)]
    except ValidationError:
        return [_read(raw, index) for index, raw in enumerate(raws)]


def _read(raw: Any, index: int) -> tuple[Change | None, str, str | None]:
    """A pushed item as a Change, or the id to answer with and why it cannot be read."""
    if isinstance(raw, Change):
        return raw, raw.id, None
    given = raw.get("id") if isinstance(raw, dict) else None
    answer_id = given if isinstance(given, str) and 0 < len(given) <= 36 else f"#{index}"
    try:
        return Change.model_validate(raw), answer_id, None
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first.get("loc", ())) or "change"
        return None, answer_id, f"malformed change: {where}: {first.get('msg', 'invalid')}"[:MAX_REASON]


class SignaturesDiffer(Exception):
    """A seal taken as signed while the batch was applied was not: roll back, and apply the batch again
    knowing it (`BatchApplier(..., signed=)`)."""

    def __init__(self, signed: list[bool]) -> None:
        super().__init__("a seal's signature did not hold")
        self.signed = signed


class BatchApplier(FieldMerge, SignatureCovers, InstanceVersions, OwnNumbers):
    """One push transaction for one device of one site; the `ServerState` the event types act on."""

    def __init__(
        self,
        conn: Connection,
        site_code: str,
        device_id: str,
        changes: Sequence[Any],
        seals: Sequence[Any] = (),
        signed: list[bool] | None = None,
    ) -> None:
        """`signed`: whether each seal's signature holds, when known already (`SignaturesDiffer`); else
        checked meanwhile by `seal_proofs`."""
        self.conn = conn
        self.seals = authorship.BatchSeals(conn, site_code, device_id, changes, seals, signed)  # who signed what
        self.site = site_code
        self.device_id = device_id
        self.study: StudyDefinition = _study()
        self.raw = changes
        self.read = _read_all(changes)
        parsed = [c for c, _, _ in self.read if c is not None]
        self.changes = parsed
        counter = conn.execute(select(SeqCounter.next_seq).where(SeqCounter.id == 1).with_for_update()).scalar_one()
        self.next_seq = int(counter)
        self.high = self.next_seq - 1  # the newest change a base version may name
        self.rows: list[dict[str, Any]] = []
        self.received_at = now()
        self.users = {
            u.username: u
            for u in conn.execute(
                select(User.username, User.role, User.site_code, User.active).where(User.site_code == site_code)
            )
        }
        last = conn.execute(select(func.max(ChangeRow.device_seq)).where(ChangeRow.device_id == device_id)).scalar()
        self.device_seq = int(last or 0)
        self.restored = RestoredSequence(conn, device_id)  # a restored laptop's declared run (server/devices.py)
        self.existing: dict[str, tuple[str, int]] = {}
        for part in _chunks([c.id for c in parsed]):
            for cid, digest, seq in conn.execute(
                select(ChangeRow.id, ChangeRow.digest, ChangeRow.seq).where(ChangeRow.id.in_(part))
            ):
                self.existing[cid] = (digest, seq)
        instance_ids = sorted({c.instance_id for c in parsed if c.instance_id})
        self.preloaded = set(instance_ids)  # looked up already: one not found here is not on the server
        self.instances: dict[str, dict[str, Any]] = {}
        self.fields: dict[tuple[str, str], FieldRow] = {}
        for part in _chunks(instance_ids):
            for row in conn.execute(select(Instance).where(Instance.id.in_(part))).mappings():
                self.instances[row["id"]] = dict(row)
            for row in conn.execute(select(FieldState).where(FieldState.instance_id.in_(part))).mappings():
                self.fields[(row["instance_id"], row["field_id"])] = FieldRow(
                    row["value_json"], row["version"], row["device_id"], row["conflict_seq"]
                )
        self.study = self._load_versions(instance_ids).latest  # study versions: the newest for new instances
        subject_ids = sorted(
            {c.subject_id for c in parsed if c.subject_id} | {i["subject_id"] for i in self.instances.values()}
        )
        self.subjects: dict[str, dict[str, Any]] = {}
        for part in _chunks(subject_ids):
            for row in conn.execute(select(Subject).where(Subject.id.in_(part))).mappings():
                self.subjects[row["id"]] = dict(row)
        self.new_subjects: list[dict[str, Any]] = []
        numbers = sorted({c.new_json.strip('"') for c in parsed if c.action == "subject_add" and c.new_json})
        self.numbers: set[str] = set()  # subject numbers of this site taken, among those this batch adds
        for part in _chunks(numbers):
            self.numbers |= set(
                conn.execute(
                    select(Subject.number).where(Subject.number.in_(part), Subject.site_code == site_code)
                ).scalars()
            )
        self.new_instances: list[dict[str, Any]] = []
        self.status_updates: dict[str, str] = {}
        self.refused_edits: set[str] = set()  # instances whose edit was refused in this batch (signed or locked)
        self.covers: dict[str, dict[str, int]] = {}  # instance -> active signature -> signed seq (loaded lazily)
        self.new_covers: list[dict[str, Any]] = []
        self.cleared: dict[str, int] = {}  # signature -> the seq that cleared it
        self.position = 0  # index of the change being applied, for looking ahead in the batch

    # ------------------------------------------------------------------ the batch

    def run(self) -> list[ChangeResult]:
        results = []
        seen: dict[str, tuple[str, int]] = {}
        for index, (change, answer_id, problem) in enumerate(self.read):
            if change is None:
                seq = self._log_malformed(self.raw[index], answer_id, problem or "malformed change")
                results.append(ChangeResult(id=answer_id, disposition="rejected", reason=problem, server_seq=seq))
                continue
            self.position = index
            body = change.model_dump_json()
            digest = change.digest(body)
            known = self.existing.get(change.id) or seen.get(change.id)
            if known is not None:
                if known[0] == digest:
                    results.append(ChangeResult(id=change.id, disposition="duplicate", server_seq=known[1]))
                else:
                    results.append(
                        ChangeResult(
                            id=change.id,
                            disposition="rejected",
                            reason="this change id was already used for a different change",
                        )
                    )
                continue
            if change.device_id != self.device_id:
                results.append(
                    ChangeResult(
                        id=change.id,
                        disposition="rejected",
                        reason="a change of another device: each laptop pushes only its own changes",
                    )
                )
                continue
            expected = self.restored.expected(self.device_seq)
            if change.device_seq != expected:
                why = "comes again" if change.device_seq < expected else "follows a gap"
                reason = f"out of order: device_seq {change.device_seq} {why}; the server takes {expected} next"
                results.append(
                    ChangeResult(id=change.id, disposition="held", reason=reason, expected_device_seq=expected)
                )
                continue
            self.device_seq = self.restored.take(change.device_seq, self.device_seq)
            try:
                outcome = self._apply(change)
            except Refused as exc:
                outcome = Outcome("rejected", str(exc)[:MAX_REASON])
            seq = self._log(change, digest, outcome.disposition, outcome.reason, body=body)
            self.note_version(change, outcome.disposition)  # study versions
            seen[change.id] = (digest, seq)
            if outcome.after is not None:
                outcome.after(seq)
            self.monitoring().after(change, outcome.disposition, seq)  # monitoring: SDV dropped, queries moved
            results.append(
                ChangeResult.model_construct(
                    id=change.id, disposition=outcome.disposition, reason=outcome.reason, server_seq=seq
                )
            )
        differ = self.seals.settle()  # the seals' signatures, checked meanwhile (seal_proofs): nothing written before
        if differ is not None:
            raise SignaturesDiffer(differ)
        self._write()
        return results

    def log_server_event(self, action: str, **fields: Any) -> int:
        """Log an event the server writes itself (a conflict, a monitoring step, a renumbering), in this
        push's transaction at the next seq; every laptop of the site pulls it. Returns its seq."""
        event = Change(
            id=str(uuid.uuid4()),
            device_id=SERVER_DEVICE,
            device_seq=self.next_seq,
            username="server",
            at_utc=now(),
            utc_offset_min=0,
            action=action,
            **fields,
        )
        return self._log(event, event.digest(), "applied", None)

    def _log(self, change: Change, digest: str, disposition: str, reason: str | None, body: str | None = None) -> int:
        seq = self.next_seq
        self.next_seq += 1
        self.rows.append(
            {
                "seq": seq,
                "id": change.id,
                "digest": digest,
                "site_code": self.site,
                "device_id": change.device_id,
                "device_seq": change.device_seq,
                "action": change.action,
                "instance_id": change.instance_id,
                "field_id": change.field_id,
                "disposition": disposition,
                "reason": reason,
                "body": body or change.model_dump_json(),
                "received_at": self.received_at,
            }
        )
        return seq

    def _log_malformed(self, raw: Any, answer_id: str, reason: str) -> int | None:
        """A change that cannot be read still takes its place in its device's sequence when it names it
        (this device, the next seq, an unused id): logged as rejected, so the laptop's later changes are
        not held behind it forever. Anything else is answered and not logged."""
        if not isinstance(raw, dict) or raw.get("device_id") != self.device_id:
            return None
        seq_given = raw.get("device_seq")
        if type(seq_given) is not int or seq_given != self.device_seq + 1 or answer_id.startswith("#"):
            return None
        if answer_id in self.existing or any(r["id"] == answer_id for r in self.rows):
            return None
        self.device_seq = seq_given
        action = raw.get("action") if isinstance(raw.get("action"), str) else "?"
        body = json.dumps(
            {
                "id": answer_id,
                "device_id": self.device_id,
                "device_seq": seq_given,
                "action": action[:30],
                "malformed": reason,
            }
        )
        placeholder = Change.model_construct(
            id=answer_id,
            device_id=self.device_id,
            device_seq=seq_given,
            action=action[:30],
            instance_id=None,
            field_id=None,
        )
        return self._log(placeholder, hashlib.sha256(body.encode()).hexdigest(), "rejected", reason, body=body)

    # ------------------------------------------------------------------ one change

    def _apply(self, change: Change) -> Outcome:
        event = registry.event(change.action)
        if event is None:
            raise Refused(f"unknown action {change.action!r}")
        self.monitoring().refuse_locked(change)  # monitoring: a lock refuses edits from every device
        if event.origin != "laptop":
            raise Refused(f"{change.action} is written by the server only")
        if event.roles is not None or event.data:
            user = self.users.get(change.username)
            if user is None:
                raise Refused(f"{change.username} is not a user of site {self.site} on the server")
            if event.roles is not None and user.role not in event.roles:
                what = "enter data" if event.roles <= ENTRY_ROLES and event.data else change.action.replace("_", " ")
                raise Refused(
                    f"a {user.role} cannot {what} ({change.action} by {change.username}, a {user.role} on the server)"
                )
        unsigned = self.seals.refusal(change)  # its author's signature, checked with the server's keys
        if unsigned is not None:
            raise Refused(unsigned)
        event.check(self.study_of(change), change)  # study versions: under the instance's own version
        if change.base_version is not None and change.base_version > self.high:
            raise Refused(f"base version {change.base_version} is newer than anything on the server ({self.high})")
        randomization_rules.check(self, change)  # the randomization form is the server's; the infusion reads it
        return event.server_apply(self, change)

    # ------------------------------------------------------------------ ServerState

    def role_of(self, username: str) -> str | None:
        user = self.users.get(username)
        return None if user is None else user.role

    def monitoring(self) -> Any:  # monitoring: queries, SDV, locks (server/monitoring/state.py)
        if "_monitoring" not in self.__dict__:
            from .monitoring.state import ServerMonitoring

            self.__dict__["_monitoring"] = ServerMonitoring(self)
        return self.__dict__["_monitoring"]

    def subject(self, subject_id: str | None) -> dict[str, Any] | None:
        subject = self.subjects.get(subject_id or "")
        if subject is not None and subject["site_code"] != self.site:
            raise Refused(f"subject {subject['number']} belongs to another site")
        return subject

    def number_taken(self, number: str) -> bool:
        return number in self.numbers

    def add_subject(self, subject_id: str, number: str) -> None:
        self.numbers.add(number)
        row = {"id": subject_id, "number": number, "site_code": self.site}
        self.subjects[subject_id] = row
        self.new_subjects.append(row)

    def instance(self, instance_id: str | None) -> dict[str, Any] | None:
        instance = self.instances.get(instance_id or "")
        if instance is None and instance_id and instance_id not in self.preloaded:  # named inside a payload
            instance = self._load_instance(instance_id)  # (a visit's signature covers several forms)
        if instance is not None and instance["site_code"] != self.site:
            raise Refused("this form belongs to another site")
        return instance

    def add_instance(self, row: dict[str, Any]) -> None:
        self.instances[row["id"]] = row
        self.new_instances.append(row)

    def set_status(self, instance: dict[str, Any], status: str) -> None:
        self.status_updates[instance["id"]] = instance["status"] = status

    def edit_refused(self, instance: dict[str, Any]) -> bool:
        if instance["status"] in FROZEN_STATUSES:
            self.refused_edits.add(instance["id"])
        return instance["id"] in self.refused_edits

    def refuse_edits(self, instance: dict[str, Any]) -> None:
        self.refused_edits.add(instance["id"])

    def randomization_of(self, subject_id: str) -> dict[str, Any] | None:
        """The subject's randomization values on the server (RANDNO, PRODID, RANDDTC), None when it has none;
        read once per subject and batch (an allocation never arrives inside a laptop's push)."""
        cache: dict[str, dict[str, Any] | None] = self.__dict__.setdefault("_randomizations", {})
        if subject_id not in cache:
            rows = self.conn.execute(
                select(FieldState.field_id, FieldState.value_json)
                .join(Instance, Instance.id == FieldState.instance_id)
                .where(Instance.subject_id == subject_id, Instance.form_id == "randomization")
            ).all()
            values = {field: json.loads(text) for field, text in rows if text is not None}
            cache[subject_id] = values or None
        return cache[subject_id]

    def _load_instance(self, instance_id: str) -> dict[str, Any] | None:
        row = self.conn.execute(select(Instance).where(Instance.id == instance_id)).mappings().first()
        if row is not None:
            self.instances[instance_id] = dict(row)
        return self.instances.get(instance_id)

    def close(self) -> None:
        """Let the batch go as soon as its request ends. Its parts point back at the applier (the monitoring
        state, closures over it): a cycle, so without this the whole batch (the parsed body, 5,000
        changes and their rows) waits for the collector's rare full pass, and the server held several
        batches at once, its peak memory growing with the number of changes pushed."""
        self.__dict__.clear()

    # ------------------------------------------------------------------ writing

    def _write(self) -> None:
        conn = self.conn
        self.restored.save(conn)
        self.monitoring().write()  # monitoring: queries, SDV marks, locks
        if self.new_subjects:
            conn.execute(insert(Subject), self.new_subjects)
        if self.new_instances:
            conn.execute(insert(Instance), self.new_instances)
        if self.status_updates:
            conn.execute(
                update(Instance).where(Instance.id == bindparam("b_id")),
                [{"b_id": k, "status": v} for k, v in self.status_updates.items()],
            )
        new = [
            {
                "instance_id": k[0],
                "field_id": k[1],
                "value_json": s.value_json,
                "version": s.version,
                "device_id": s.device_id,
                "conflict_seq": s.conflict_seq,
            }
            for k, s in self.fields.items()
            if s.new
        ]
        changed = [
            {
                "b_instance": k[0],
                "b_field": k[1],
                "value_json": s.value_json,
                "version": s.version,
                "device_id": s.device_id,
                "conflict_seq": s.conflict_seq,
            }
            for k, s in self.fields.items()
            if s.dirty and not s.new
        ]
        if self.rows:
            _bulk_insert(conn, "change", self.rows)
        self.seals.finish(self.rows)
        if new:
            _bulk_insert(conn, "field_state", new)
        if changed:
            statement = update(FieldState).where(
                FieldState.instance_id == bindparam("b_instance"), FieldState.field_id == bindparam("b_field")
            )
            conn.execute(statement, changed)
        if self.new_covers:
            conn.execute(insert(SignatureCover), self.new_covers)
        for signature_id, seq in self.cleared.items():
            conn.execute(
                update(SignatureCover)
                .where(SignatureCover.signature_id == signature_id, SignatureCover.cleared_seq.is_(None))
                .values(cleared_seq=seq)
            )
        self._write_versions()  # study versions
        conn.execute(update(SeqCounter).where(SeqCounter.id == 1).values(next_seq=self.next_seq))


def _bulk_insert(conn: Connection, table: str, rows: list[dict[str, Any]]) -> None:
    """One executemany at the driver level: the ORM's per-row parameter processing was a third of a push."""
    columns = list(rows[0])
    mark = "?" if conn.dialect.paramstyle == "qmark" else "%s"
    statement = f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({', '.join([mark] * len(columns))})"
    conn.exec_driver_sql(statement, list(map(operator.itemgetter(*columns), rows)))


@functools.cache
def _study() -> StudyDefinition:
    """The shipped study: every pushed change is checked against its forms, fields and rules."""
    from ..definitions.loader import load_study

    return load_study()
