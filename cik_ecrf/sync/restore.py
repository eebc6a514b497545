"""At each sync, before pushing: the server's record of this device against the store (store/restore.py).

A laptop restored from an older copy finds out here: its numbering continues after what the server
holds, its lost changes come back with the pull, and the sync says so. Changes written after a restore
under device numbers the server already holds (the login itself is one) are declared to the server
(`POST /device/restored`), which then takes them once, in order, as this laptop's restored run.
"""

from __future__ import annotations

from ..store import restore, sync_local
from ..store.api import Store
from .device_protocol import DeviceState, RestoredRequest, RestoredRun
from .transport import SyncError, Transport


def check(transport: Transport, store: Store, cursor: dict[str, str | int] | None = None) -> list[str]:
    """What a restore check found (at login or now), as lines for the sync's report. `cursor`: the pull
    cursor as `Transport.pull` sends it, for the server's answer whether anything waits after it."""
    try:
        answer = transport._call("GET", "/device", params=cursor)  # one endpoint of its own (server/devices.py)
    except SyncError as exc:
        if "(404)" not in str(exc):
            raise
        answer = None  # a server from before device records: the login's check (marks file) is all there is
    state = DeviceState.model_validate_json(answer) if answer is not None else None
    with store.unit_of_work() as session:
        conn = session.connection()
        resumed = None
        if state is not None:
            resumed = restore.reconcile(conn, state.last_device_seq, state.last_change_id, state.subject_numbers)
        note = restore.take_restored_note(conn)
    if resumed is not None and resumed.window:  # written since the restore: the server takes them as a run
        try:
            run = RestoredRun.model_validate_json(
                transport._call(
                    "POST",
                    "/device/restored",
                    content=RestoredRequest(window=list(resumed.window)).model_dump_json(),
                    headers={"Content-Type": "application/json"},
                )
            )
        except SyncError as exc:
            raise SyncError(f"{resumed.describe()}; but the server did not take them: {exc}") from None
        with store.unit_of_work() as session:
            restore.run_declared(session.connection(), run.from_seq, run.to_seq, run.last_device_seq)
    return [note] if note else []


def record(store: Store, last_sync: str) -> None:
    """After a sync: its time, and how far the server has taken this device, beside store.db (a store.db
    put back is then caught at the next login). One transaction: it ends every sync."""
    with store.unit_of_work() as session:
        sync_local.put(session.connection(), sync_local.LAST_SYNC, last_sync)
        restore.write_marks(session.connection(), store.directory)
