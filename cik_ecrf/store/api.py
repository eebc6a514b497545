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
from ..core import numbers as subject_numbers
from ..core.content import Scope
from ..definitions.loader import load_study
from ..definitions.spec import StudyDefinition
from ..rules import Clock, EligibilityResult, RulesEngine
from . import (
    access,
    audit,
    authorship,
    health,
    repository,
    restore,  # a store.db put back from an older copy (store/restore.py)
    study_versions,  # study versions (amendments)
)
from . import signatures as esign
from .database import DB_FILE, open_engine, read_only
from .entry import SaveRequest, SaveResult, save_form
from .errors import AuthError, PermissionDenied, StoreError
from .files import STORE_FILES
from .models import AuditEvent, Device, Meta, Site, Subject, User
from .monitoring import Monitoring  # monitoring: queries, SDV, locks
from .randomization import RandomizationQueries
from .sync_port import StoreSync
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


class Store(StoreSync):
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
                    number = subject_numbers.number(device.site_code, device.code, device.next_subject)
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
