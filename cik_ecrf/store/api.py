"""The local store as its callers (CLI, desktop client) use it: one object per logged-in user.

Each public method is one user action and one transaction (the unit of work commits once). No Qt
here: the desktop client calls this from its background worker.
"""

from __future__ import annotations

import contextlib
import functools  # monitoring: the store.monitoring accessor
import json
import secrets
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from ..core import crypto
from ..core.content import Scope
from ..definitions.loader import load_study
from ..definitions.spec import StudyDefinition
from ..rules import Clock, EligibilityResult, RulesEngine
from . import (
    access,
    audit,
    authorship,
    health,
    pull,
    repository,
    restore,  # a store.db put back from an older copy (store/restore.py)
    study_versions,  # study versions (amendments)
    sync_local,
)
from . import signatures as esign
from .database import DB_FILE, open_engine, read_only
from .entry import SaveRequest, SaveResult, save_form
from .errors import AuthError, PermissionDenied, StoreError
from .files import STORE_FILES
from .models import AuditEvent, Device, Meta, Site, Subject, User
from .monitoring import Monitoring  # monitoring: queries, SDV, locks
from .randomization import RandomizationQueries
from .users import ADMIN_ROLES, check_password, check_role, check_username, hash_password, verify_password

SUBJECT_NUMBER_CHARS = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"  # no 0/O, 1/I: read aloud at the bedside


@dataclass(frozen=True)
class StoreInfo:
    store_id: str
    site: str
    device_id: str
    device_code: str


def _now() -> str:
    return audit.now_with_offset()[0]


class Store:
    def __init__(self, directory: Path, engine: Any, user: User, study: StudyDefinition, signer: Any = None) -> None:
        self.signer: authorship.Signer | None = signer  # the user's keys: every save is signed with them
        self.directory = directory
        self.engine = engine
        self.study = study
        self.rules = RulesEngine(study)
        self.study_versions = study_versions.load_set(engine, study)  # study versions: the newest is current
        if self.study_versions.latest is not study:
            self.study, self.rules = self.study_versions.latest, study_versions.rules_for(self.study_versions.latest)
        self.amendments = study_versions.Amendments(self)  # study versions: receive, read by version, upgrade
        self.actor = audit.Actor(user.id, user.username, user.role)
        self.must_change_password = user.must_change_password
        self.randomization = RandomizationQueries(self)  # randomization: allocations, never an arm

    # ------------------------------------------------------------------ lifecycle

    @classmethod
    def init(
        cls,
        directory: Path,
        site: str,
        admin: str,
        password: str,
        full_name: str | None = None,
        device_code: str | None = None,
        site_name: str | None = None,
        role: str = "admin",
        device_id: str | None = None,
        central: dict[str, Any] | None = None,
    ) -> StoreInfo:
        """Create a store for one site on this laptop, with its first administrator (enrolment: its first user, of any role, and the device id the server knows)."""
        check_username(admin)
        check_password(password, admin)
        if not site or not site.replace("-", "").isalnum() or len(site) > 16:
            raise StoreError(f"site code {site!r}: 1–16 letters or digits")
        directory.mkdir(parents=True, exist_ok=True)
        if (directory / DB_FILE).exists() or (directory / "keyring.json").exists():
            raise StoreError(f"{directory}: a store already exists here")
        store_id, device_id = str(uuid.uuid4()), device_id or str(uuid.uuid4())
        code = device_code or "".join(secrets.choice(SUBJECT_NUMBER_CHARS) for _ in range(4))
        key = crypto.new_data_key()
        try:
            # first: the keys that sign what follows (the server's for a central user, `central`)
            unlocked = access.create_keyring(directory, store_id, admin, password, key, (central or {}).get("keys"))
            engine = open_engine(directory / DB_FILE, key, create=True)
            with Session(engine, info={"signer": authorship.Signer.of(unlocked)}) as session, session.begin():
                session.add(Site(code=site.upper(), name=site_name or site.upper()))
                session.flush()  # no ORM relationships, so parents are flushed before children
                device = Device(
                    id=device_id,
                    site_code=site.upper(),
                    code=code.upper(),
                    next_seq=1,
                    next_subject=1,
                    created_at=_now(),
                )
                session.add(device)
                session.add_all([Meta(key="store_id", value=store_id), Meta(key="device_id", value=device_id)])
                session.flush()
                user = User(
                    id=str(uuid.uuid4()),
                    username=admin,
                    full_name=full_name or admin,
                    role=role,
                    password_hash=hash_password(password),
                    must_change_password=False,
                    active=True,
                    created_at=_now(),
                )
                session.add(user)
                session.flush()
                if central is not None:  # the user as the server sent them at enrolment (UserRecord)
                    authorship.record_central_keys(session.connection(), [central])
                else:
                    authorship.record_own_key(session.connection(), unlocked)
                actor = audit.Actor(user.id, admin, role)
                audit.append(
                    session,
                    actor,
                    "store_init",
                    new_json=json.dumps({"site": site.upper(), "device_code": code.upper()}),
                )
                audit.append(session, actor, "user_add", new_json=json.dumps({"username": admin, "role": role}))
                health.mark_healthy(session.connection())  # a new store holds nothing an older server let in
            engine.dispose()
        except BaseException:
            for name in STORE_FILES:  # the head record too: a new store here must not be checked against it
                with contextlib.suppress(FileNotFoundError):
                    (directory / name).unlink()
            raise
        return StoreInfo(store_id, site.upper(), device_id, code.upper())

    @classmethod
    def open(cls, directory: Path, username: str, password: str, study: StudyDefinition | None = None) -> Store:
        """Log in: unwrap the key, open and migrate the file, audit the login (and earlier failures)."""
        study = study or load_study()
        unlocked = access.unlock_key(directory, username, password, access.Policy.of(study))
        key, pending = unlocked.key, unlocked.pending
        try:
            engine = open_engine(directory / DB_FILE, key)
            with Session(engine) as session, session.begin():
                user = repository.user_by_name(session, username)
                if user is None or not user.active:
                    raise AuthError(f"{username} is not an active user of this store")
                # The password was proved by unwrapping the key (argon2id + GCM tag); checking the
                # stored hash as well would double the deliberate cost of every login.
                repository.this_device(session)  # a store without its device record is refused here
                # the keys the password opened must be this user's (keyring.json is a plain file)
                signer = authorship.adopt_signer(session.connection(), unlocked.signer, not read_only(engine))
                session.info["signer"] = signer
                if not read_only(engine):  # a store.db put back from an older copy: numbering resumes before any event
                    restore.resume_after_restore(session.connection(), directory)
                for failed in pending:
                    event_id = failed.get("id")
                    if event_id and session.scalar(select(AuditEvent.id).where(AuditEvent.id == event_id)):
                        continue  # copied by a login that died before tidying the keyring
                    who = repository.user_by_name(session, failed["username"])
                    audit.append(
                        session,
                        audit.Actor(who.id if who else None, failed["username"], who.role if who else None),
                        failed.get("action", "login_failed"),  # or what the login's checks found
                        reason=failed["why"],
                        at=(failed["at"], failed["offset"]),
                        event_id=event_id,
                    )
                if not read_only(engine):  # read-only media or a damaged store: nothing can be written
                    audit.append(session, audit.Actor(user.id, user.username, user.role), "login")
                session.expunge(user)
        except BaseException:
            with contextlib.suppress(NameError):
                engine.dispose()
            raise
        access.forget_pending(directory, pending)
        return cls(directory, engine, user, study, signer)

    def close(self) -> None:
        if not read_only(self.engine):
            with self.unit_of_work() as session:
                audit.append(session, self.actor, "logout")
        self.engine.dispose()

    @functools.cached_property  # monitoring
    def monitoring(self) -> Monitoring:  # monitoring: queries, SDV, locks (store/monitoring.py)
        return Monitoring(self)

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @contextlib.contextmanager
    def unit_of_work(self) -> Iterator[Session]:
        """One user action, one transaction: repositories flush, this commits (or rolls back)."""
        # autoflush off: the code flushes where a later statement depends on it (parents before
        # children); implicit flushes before every query cost a save several round trips.
        with (
            Session(self.engine, expire_on_commit=False, autoflush=False, info={"signer": self.signer}) as session,
            session.begin(),
        ):
            yield session

    def require(self, roles: frozenset[str] | None = None, what: str = "") -> None:
        """The public face of the role check, for the layers above the store (printing, reporting)."""
        self._require(roles, what)

    def _require(self, roles: frozenset[str] | None = None, what: str = "") -> None:
        """Role check; and nothing at all (not even reading) before a first password is changed."""
        if roles is not None and self.actor.role not in roles:
            raise PermissionDenied(f"a {self.actor.role} cannot {what}")
        if self.must_change_password:
            raise AuthError("the password must be changed first: run `cik-ecrf passwd`")

    # ------------------------------------------------------------------ users

    def add_user(self, username: str, role: str, password: str, full_name: str | None = None) -> None:
        self._require(ADMIN_ROLES, "manage users")
        check_username(username)
        check_role(role)
        check_password(password, username)
        with self.unit_of_work() as session:
            if repository.user_by_name(session, username):
                raise StoreError(f"user {username} already exists")
            session.add(
                User(
                    id=str(uuid.uuid4()),
                    username=username,
                    full_name=full_name or username,
                    role=role,
                    password_hash=hash_password(password),
                    must_change_password=True,
                    active=True,
                    created_at=_now(),
                )
            )
            session.flush()
            audit.append(
                session,
                self.actor,
                "user_add",
                new_json=json.dumps({"username": username, "role": role, "full_name": full_name or username}),
            )
            made = access.add_key(self.directory, username, password, self._data_key())
            authorship.record_own_key(session.connection(), made)

    def set_role(self, username: str, role: str) -> None:
        self._require(ADMIN_ROLES, "manage users")
        check_role(role)
        with self.unit_of_work() as session:
            user = repository.user_by_name(session, username)
            if user is None:
                raise StoreError(f"no user {username}")
            if user.role == role:
                return
            audit.append(
                session,
                self.actor,
                "role_change",
                old_json=json.dumps({"username": username, "role": user.role}),
                new_json=json.dumps({"username": username, "role": role}),
            )
            user.role = role

    def deactivate_user(self, username: str) -> None:
        """Users are never deleted (their names stay on the audit trail); a deactivated one cannot log in."""
        self._require(ADMIN_ROLES, "manage users")
        if username == self.actor.username:
            raise StoreError("you cannot deactivate yourself")
        with self.unit_of_work() as session:
            user = repository.user_by_name(session, username)
            if user is None:
                raise StoreError(f"no user {username}")
            user.active = False
            audit.append(session, self.actor, "user_deactivate", old_json=json.dumps({"username": username}))
        access.remove_key(self.directory, username)

    def _data_key(self) -> bytes:
        """The open store's key, read back from the engine's own URL (held in memory only)."""
        return bytes.fromhex(str(self.engine.url.password)[2:-1])

    def change_password(self, current: str, new: str) -> None:
        check_password(new, self.actor.username)
        if current == new:
            raise StoreError("the new password must differ from the current one")
        if access.is_central(self.directory, self.actor.username):
            raise StoreError(
                "your password is set on the central server (every laptop of the site takes it): an administrator runs `cik-ecrf server user passwd NAME`"
            )
        with self.unit_of_work() as session:
            user = session.get(User, self.actor.user_id)
            assert user is not None
            if not verify_password(user.password_hash, current):
                raise AuthError("the current password is wrong")
            user.password_hash = hash_password(new)
            user.must_change_password = False
            audit.append(session, self.actor, "password_change")
            access.change_key_password(self.directory, self.actor.username, current, new, self._data_key())
        self.must_change_password = False

    # ------------------------------------------------------------------ subjects and forms

    def add_subject(self, number: str | None = None) -> str:
        """A subject number: site-device-sequence, unique across offline laptops; or a paper screening number."""
        self._require(frozenset({"nurse", "investigator", "data_manager"}), "add subjects")
        with self.unit_of_work() as session:
            device = repository.this_device(session)
            if number is None:
                while True:  # a paper number may already have taken the next one in this pattern
                    number = f"{device.site_code}-{device.code}-{device.next_subject:04d}"
                    device.next_subject += 1
                    if not session.scalar(select(Subject.id).where(Subject.number == number)):
                        break
            else:
                number = number.strip()
                if not number or len(number) > 40:
                    raise StoreError("a subject number is 1–40 characters")
            if session.scalar(select(Subject).where(Subject.number == number)):
                raise StoreError(f"subject {number} already exists")
            subject = Subject(
                id=str(uuid.uuid4()),
                number=number,
                site_code=device.site_code,
                created_at=_now(),
                created_by=self.actor.user_id or "",
            )
            session.add(subject)
            session.flush()
            audit.append(session, self.actor, "subject_add", subject_id=subject.id, new_json=json.dumps(number))
        return number

    def save(self, request: SaveRequest, clock: Clock | None = None) -> SaveResult:
        self._require(frozenset({"nurse", "investigator", "data_manager"}), "enter data")
        with self.unit_of_work() as session:
            study, rules = self.amendments.for_save(session.connection(), request)  # the instance's version
            return save_form(session, study, rules, self.actor, request, clock or Clock.system())

    def subject_values(self, ref: str) -> tuple[Subject, list[dict[str, Any]]]:
        self._require()
        with self.unit_of_work() as session:
            subject = repository.subject_by_ref(session, ref)
            pairs = repository.instances(session, subject)
            values = repository.values_of(session, [i.id for _, i in pairs])
            rows = [
                {
                    "visit": v.visit_id,
                    "form": i.form_id,
                    "instance": i.id,
                    "version": i.form_version,
                    "status": i.status,
                    "values": values[i.id],
                }
                for v, i in pairs
            ]
            session.expunge(subject)
            return subject, rows

    def subject_numbers(self) -> list[str]:
        self._require()
        with self.unit_of_work() as session:
            return [s.number for s in repository.subjects(session)]

    def eligibility(self, ref: str, clock: Clock | None = None) -> EligibilityResult:
        self._require()
        with self.unit_of_work() as session:
            subject = repository.subject_by_ref(session, ref)
            data = repository.subject_data(session, subject)
        own = data.instances("screening", "eligibility")
        result = self.rules.evaluate(
            "eligibility", "screening", own[0] if own else {}, data, clock or Clock.system()
        ).eligibility
        assert result is not None
        return result

    def evaluate(self, ref: str, visit: str, form: str, instance: dict[str, Any], clock: Clock | None = None):
        self._require()
        with self.unit_of_work() as session:
            data = repository.subject_data(session, repository.subject_by_ref(session, ref))
        return self.rules.evaluate(form, visit, instance, data, clock or Clock.system())

    # ------------------------------------------------------------------ audit

    def audit_events(self, subject: str | None = None) -> list[AuditEvent]:
        self._require()
        with self.unit_of_work() as session:
            query = select(AuditEvent).order_by(AuditEvent.seq)
            if subject is not None:
                query = query.where(AuditEvent.subject_id == repository.subject_by_ref(session, subject).id)
            events = list(session.scalars(query))
            session.expunge_all()
            return events

    def verify_audit(self) -> audit.ChainCheck:
        self._require()
        with self.unit_of_work() as session:
            return audit.verify(session)

    # ---- signatures and PDFs (issue 6: the logic is in store/signatures.py and cik_ecrf/pdf/)

    def sign(
        self,
        subject: str,
        visit: str | None = None,
        form: str | None = None,
        *,
        meaning: str,
        username: str,
        password: str,
    ) -> esign.SignResult:
        """Sign a form, a visit or a casebook. The core proves the password every time (21 CFR 11.200);
        when to ask for the user id as well is the client's session rule. A refusal is audited."""
        self._require()
        if form is not None and visit is None:
            raise StoreError("sign: a form is named with its visit (SUBJECT VISIT FORM)")
        scope = Scope(subject, visit, form)
        # the password proved by opening the signer's own keys here (argon2id): they sign the content hash
        opened = access.prove(self.directory, username, password) if username == self.actor.username else None
        proved = authorship.Signer.of(opened) if opened is not None else None
        with self.unit_of_work() as session:
            refused = esign.refusal(session, self.actor, username, proved, scope)
            if refused is None and proved is not None:
                return esign.sign(session, self.study, self.actor, scope, meaning, proved, self.study_versions)
        raise refused  # after the commit: the refusal stays on the audit trail

    def signatures(self, subject: str) -> list[esign.SignatureRecord]:
        """Every signature of a subject, active and cleared; `esign.needs_resigning` names the forms to sign again."""
        self._require()
        with self.unit_of_work() as session:
            found = repository.subject_by_ref(session, subject)
            return esign.list_signatures(session, found.id, found.number)

    # ---- sync (issue 5): thin wrappers over store/sync_local.py, used by cik_ecrf.sync.client

    def sync_settings(self) -> dict[str, str | None]:
        """Every sync setting and mark in one read: server_url, token, epoch, cursor, pushed, last_sync."""
        keys = {
            "server_url": sync_local.SERVER_URL,
            "token": sync_local.TOKEN,
            "epoch": sync_local.EPOCH,
            "cursor": sync_local.CURSOR,
            "cursor_id": sync_local.CURSOR_ID,
            "pushed": sync_local.PUSHED,
            "last_sync": sync_local.LAST_SYNC,
        }
        with self.unit_of_work() as session:
            conn = session.connection()
            return {name: sync_local.get(conn, key) for name, key in keys.items()}

    def set_sync_settings(self, **values: str | None) -> None:
        """Server URL, device token (kept inside the encrypted store), epoch: set at enrolment."""
        names = {
            "server_url": sync_local.SERVER_URL,
            "token": sync_local.TOKEN,
            "epoch": sync_local.EPOCH,
            "last_sync": sync_local.LAST_SYNC,
        }
        with self.unit_of_work() as session:
            for name, value in values.items():
                sync_local.put(session.connection(), names[name], value)

    def sync_outbox(self, limit: int, after: int | None = None) -> list[dict[str, Any]]:
        with self.unit_of_work() as session:  # cut at a seal's end: the server checks each seal whole
            return authorship.whole_seals(session.connection(), sync_local.outbox(session.connection(), limit, after))

    def sync_seals(self, events: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """The authors' seals over these outbox events, as a push carries them."""
        with self.unit_of_work() as session:
            return authorship.seals_for(session.connection(), events)

    def verify_authorship(self, server: dict[str, Any] | None = None) -> authorship.Check:
        """Seals, authors, e-signatures and stored values (`audit verify`); `server`: its keys, users and
        this device's anchor when online (`sync.authorship_check`)."""
        self._require()
        server = server or {}
        with self.unit_of_work() as session:
            conn = session.connection()
            return authorship.verify(
                conn, sync_local.device_id(conn), server.get("keys"), server.get("anchor"), server.get("users")
            )

    def sync_record_push(self, last_seq: int, rejected: list[tuple[str, int, str]]) -> None:
        with self.unit_of_work() as session:
            sync_local.record_push(session.connection(), last_seq, rejected, _now())

    def sync_heal(self) -> list[str]:
        """Repair (audited) what an older server let through; once per store. Returns what was repaired."""
        with self.unit_of_work() as session:
            chain = audit.Chain(session)
            repairs = health.heal(session.connection(), chain, self.actor, self.study, self.study_versions)
            chain.close()
        return [f"repaired {r.describe()}" for r in repairs]

    def sync_rewind_push(self, last_seq: int) -> None:
        with self.unit_of_work() as session:
            sync_local.rewind_push(session.connection(), last_seq)

    def sync_apply_pull(
        self, changes: list[tuple[int, str, dict[str, Any]]], cursor: int, epoch: str, cursor_id: str | None = None
    ) -> int:
        with self.unit_of_work() as session:
            applied = pull.apply_pulled(
                session.connection(), changes, cursor, epoch, cursor_id, self.study, versions=self.study_versions
            )
            chain = audit.Chain(session)
            pull.clear_signatures_under_pulled(session.connection(), chain, self.actor, applied.touched)
            chain.close()
            return applied.fresh

    def sync_reset_full(self) -> None:
        with self.unit_of_work() as session:
            sync_local.reset_for_full_pull(session.connection())

    def sync_users(self, users: list[dict[str, Any]]) -> int:
        with self.unit_of_work() as session:
            chain = audit.Chain(session)
            count = sync_local.sync_users(session.connection(), chain, self.actor, users)
            chain.close()
            authorship.record_central_keys(session.connection(), users)
        access.apply_central_users(self.directory, users, self._data_key())
        return count

    def sync_status(self):  # -> sync_local.LocalStatus
        with self.unit_of_work() as session:
            return sync_local.status(session.connection())

    def conflicts(self):  # -> list[sync_local.Conflict]
        """Fields in conflict after a sync: every value with who entered it, where and when."""
        self._require()
        with self.unit_of_work() as session:
            return sync_local.conflicts(session.connection())

    def resolve_conflict(self, instance_id: str, field_id: str, value: Any, reason: str) -> None:
        """Close a conflict with the chosen value (any of the candidates or a new one), audited with a reason."""
        self._require(frozenset({"nurse", "investigator", "data_manager"}), "resolve conflicts")
        with self.unit_of_work() as session:
            conn = session.connection()
            form_id = conn.exec_driver_sql("SELECT form_id FROM form_instance WHERE id = ?", (instance_id,)).scalar()
            if form_id is None:
                raise StoreError(f"no form instance {instance_id}")
            chain = audit.Chain(session)
            sync_local.resolve(
                conn,
                chain,
                self.actor,
                instance_id,
                field_id,
                sync_local.value_json_for(self.study, form_id, field_id, value),
                reason,
            )
            chain.close()

    def sync_device(self) -> tuple[str, str, str]:
        """(device id, site code, device code) of this laptop, as enrolment tells the server."""
        with self.unit_of_work() as session:
            device = repository.this_device(session)
            return device.id, device.site_code, device.code
