"""The store's sync side, as cik_ecrf.sync.client uses it: thin wrappers over store/sync_local.py, pull.py
and authorship.py, each one transaction. A mixin of `Store`, kept apart because it is the client's port."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from contextlib import AbstractContextManager
from pathlib import Path
from typing import Any

from sqlalchemy.orm import Session

from ..definitions.spec import StudyDefinition
from . import access, audit, authorship, health, pull, pushed_versions, repository, sync_local
from .errors import StoreError


def _now() -> str:
    return audit.now_with_offset()[0]


class StoreSync:
    """Provided by `Store`: the unit of work, the role check, the acting user, the definitions, the keys."""

    directory: Path
    actor: Any
    study: StudyDefinition
    study_versions: Any
    unit_of_work: Callable[[], AbstractContextManager[Session]]
    _require: Callable[..., None]
    _data_key: Callable[[], bytes]

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
            "users_etag": sync_local.USERS_ETAG,
            "users_at": sync_local.USERS_AT,
        }
        with self.unit_of_work() as session:
            held = sync_local.get_many(session.connection(), list(keys.values()))
            return {name: held[key] for name, key in keys.items()}

    def set_sync_settings(self, **values: str | None) -> None:
        """Server URL, device token (kept inside the encrypted store), epoch: set at enrolment."""
        names = {
            "server_url": sync_local.SERVER_URL,
            "token": sync_local.TOKEN,
            "epoch": sync_local.EPOCH,
            "users_etag": sync_local.USERS_ETAG,
            "users_at": sync_local.USERS_AT,
        }  # last_sync is written with the restore marks that end each sync (`sync.restore.record`)
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

    def sync_record_push(
        self,
        last_seq: int,
        rejected: list[tuple[str, int, str]],
        versions: Sequence[tuple[int, dict[str, Any]]] = (),
    ) -> None:
        """`versions`: (server seq, event) of the answered value changes the server applied or merged: their
        fields take that version now, so the pull need not write them again (`pushed_versions.py`)."""
        with self.unit_of_work() as session:
            sync_local.record_push(session.connection(), last_seq, rejected, _now())
            pushed_versions.record(session.connection(), versions)

    def sync_heal(self) -> list[str]:
        """Repair (audited) what an older server let through; once per store. Returns what was repaired."""
        with self.unit_of_work() as session:
            if not health.needed(session.connection()):
                return []
            chain = audit.Chain(session)
            repairs = health.heal(session.connection(), chain, self.actor, self.study, self.study_versions)
            chain.close()
        return [f"repaired {r.describe()}" for r in repairs]

    def sync_rewind_push(self, last_seq: int) -> None:
        with self.unit_of_work() as session:
            sync_local.rewind_push(session.connection(), last_seq)

    def sync_apply_pull(
        self, changes: list[tuple[int, str, dict[str, Any]]], cursor: int, epoch: str, cursor_id: str | None = None
    ) -> pull.PullApplied:
        """One pulled page, applied with its cursor: what was new here, and how many of this laptop's own
        changes came back already held (`PullApplied.held`)."""
        with self.unit_of_work() as session:
            applied = pull.apply_pulled(
                session.connection(), changes, cursor, epoch, cursor_id, self.study, versions=self.study_versions
            )
            chain = audit.Chain(session)
            pull.clear_signatures_under_pulled(session.connection(), chain, self.actor, applied.touched)
            chain.close()
            return applied

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
