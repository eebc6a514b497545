"""A laptop restored from an older copy of its store: found out, and numbering continued after the server.

The server knows the highest device sequence it accepted from this laptop, and every subject number
of the site. A store put back from an older copy is behind both: its next device sequence would reuse
numbers the server already holds (so its new changes would be held forever) and its subject counter
would hand out numbers already taken. Two things find it out:

- after each sync, MARKS_FILE beside store.db records how far the server had taken this device: a
  store.db put back alone is caught at the next login, before anything is entered;
- at each sync, before pushing, the server's own record (`GET /device`) is compared (the whole data
  folder put back). Sign-ins and other non-data records written since stay local; data written since is declared to the server as a
  restored run of device numbers, which it takes once (server/devices.py).

Either way the device's numbering continues after the server's, the pushed mark moves to what the
server holds (the pull then brings this laptop's lost changes back as they were), and the next sync
says what happened.
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import Connection

from ..core import numbers as subject_numbers
from .sync_local import DATA_ACTIONS, PUSHED, RUN_END, device_id, get, pushed_mark, put

MARKS_FILE = "store.device"
RESTORED = "sync_restored"  # what the last restore check found, for the next sync to report


@dataclass(frozen=True)
class Resumed:
    """What a restore check did: the server holds this laptop's changes up to `server_seq`; the laptop
    had sent up to `pushed`; it now numbers its changes from `next_seq` and its subjects from `next_subject`."""

    server_seq: int
    pushed: int
    next_seq: int
    next_subject: int
    held_here: int = 0  # changes entered since the restore whose device numbers the server already holds
    window: tuple[tuple[int, str], ...] = ()  # those changes: (device_seq, id), declared to the server

    def describe(self) -> str:
        text = (
            f"this laptop was restored from an older copy: the server holds its changes up to {self.server_seq}, "
            f"this copy had sent only up to {self.pushed}. Its own lost changes come back with the pull; new "
            f"changes are numbered from {self.next_seq}, new subjects from number {self.next_subject}"
        )
        if self.held_here:
            text += (
                f". {self.held_here} change(s) written here since the restore reuse device numbers the server "
                "already holds: they are sent as this laptop's restored run (recorded on the server)"
            )
        return text


def _device_row(conn: Connection) -> tuple[str, str, str, int, int]:
    row = conn.exec_driver_sql(
        "SELECT id, site_code, code, next_seq, next_subject FROM device WHERE id = ?", (device_id(conn),)
    ).one()
    return row[0], row[1], row[2], int(row[3]), int(row[4])


def write_marks(conn: Connection, directory: Path) -> None:
    """After a sync: how far the server has taken this device, kept beside store.db but outside it. Best
    effort: a file that cannot be written leaves the check to the server's own record at the next sync.

    Not kept outside the data folder: a copy there would also judge a folder cloned or put back together
    with its server (the same device id in two histories) and push this laptop's numbering past a server
    that never had those changes, leaving a gap it would hold forever."""
    device, _, _, _, next_subject = _device_row(conn)
    record = json.dumps({"device_id": device, "pushed": pushed_mark(conn), "next_subject": next_subject})
    path = directory / MARKS_FILE
    with contextlib.suppress(OSError):
        # unchanged after most syncs: reading it costs ~20 us, rewriting it (ext4 flushes a truncated
        # file on close) ~1.5 ms, a tenth of a sync that has nothing to do
        if path.read_text(encoding="utf-8") == record:
            return
    with contextlib.suppress(OSError):
        path.write_text(record, encoding="utf-8")


def _read_marks(directory: Path, device: str) -> tuple[int, int] | None:
    try:
        record = json.loads((directory / MARKS_FILE).read_text(encoding="utf-8"))
        if record.get("device_id") != device:  # left by another store in this folder
            return None
        return int(record["pushed"]), int(record["next_subject"])
    except (OSError, ValueError, TypeError, KeyError, AttributeError):
        return None


def resume_after_restore(conn: Connection, directory: Path) -> Resumed | None:
    """At login: a store.db behind the marks beside it was put back from an older copy. Its numbering
    continues after what the server holds, before anything new is entered."""
    device, _, _, next_seq, next_subject = _device_row(conn)
    marks = _read_marks(directory, device)
    if marks is None:
        return None
    server_seq, subjects = marks
    if next_seq > server_seq and next_subject >= subjects:
        return None
    return _resume(conn, server_seq, subjects, pushed_mark(conn))


def _resume(conn: Connection, server_seq: int, next_subject: int, pushed: int) -> Resumed:
    device, _, _, next_seq, current_subject = _device_row(conn)
    resumed = Resumed(server_seq, pushed, max(next_seq, server_seq + 1), max(current_subject, next_subject))
    conn.exec_driver_sql(
        "UPDATE device SET next_seq = ?, next_subject = ? WHERE id = ?",
        (resumed.next_seq, resumed.next_subject, device),
    )
    if server_seq > pushed:  # what this copy had not sent is on the server: the pull brings it back
        put(conn, PUSHED, str(server_seq))
    put(conn, RESTORED, resumed.describe())
    return resumed


def reconcile(conn: Connection, server_seq: int, last_id: str | None, numbers: Sequence[str]) -> Resumed | None:
    """At sync, before pushing: the server's record of this device against this store. Subject numbers
    the site has taken in this laptop's pattern move its counter past them; a server ahead of this copy
    (its last accepted change unknown here) means a restore, and numbering continues after it."""
    device, site, code, next_seq, next_subject = _device_row(conn)
    prefix = subject_numbers.own_pattern(site, code)
    pushed = pushed_mark(conn)
    known = (
        last_id is None
        or conn.exec_driver_sql("SELECT 1 FROM audit_event WHERE id = ?", (last_id,)).first() is not None
    )
    restored = server_seq > pushed and not known  # else at most an acknowledgement lost: sent again as duplicates
    moved = _renumber_unpushed(conn, device, prefix, pushed, numbers) if restored else {}
    past = subject_numbers.highest(prefix, [*numbers, *moved.values()]) + 1
    resumed = _reconcile(conn, server_seq, restored, pushed, past)
    if moved:
        said = "; ".join(f"{old} is now {new}" for old, new in moved.items())
        put(
            conn,
            RESTORED,
            f"{get(conn, RESTORED) or 'this laptop was restored from an older copy'}. "
            f"Subjects entered here since the restore had numbers the server already holds: {said}",
        )
    return resumed


def _reconcile(conn: Connection, server_seq: int, restored: bool, pushed: int, past: int) -> Resumed | None:
    device, _, _, next_seq, next_subject = _device_row(conn)
    if not restored:
        if past > next_subject:
            conn.exec_driver_sql("UPDATE device SET next_subject = ? WHERE id = ?", (past, device))
        return None
    window = [
        (int(seq), cid)
        for seq, cid in conn.exec_driver_sql(
            "SELECT device_seq, id FROM audit_event WHERE device_id = ? AND device_seq > ? AND device_seq <= ? "
            "ORDER BY device_seq",
            (device, pushed, server_seq),
        )
    ]
    data = conn.exec_driver_sql(
        f"SELECT count(*) FROM audit_event WHERE device_id = ? AND device_seq > ? AND device_seq <= ? "
        f"AND action IN ({', '.join('?' * len(DATA_ACTIONS))})",
        (device, pushed, server_seq, *DATA_ACTIONS),
    ).scalar_one()
    if window and not data:  # no data since the restore (sign-ins and the like): those stay in this laptop's trail
        resumed = _resume(conn, server_seq, past, pushed)
        note = f"{resumed.describe()}. {len(window)} record(s) of sign-ins and the like made here since stay on this laptop"
        put(conn, RESTORED, note)
        return resumed
    if window:  # written since the restore under numbers the server holds: the server takes them as a run
        resumed = Resumed(server_seq, pushed, max(next_seq, server_seq + 1), max(next_subject, past), len(window))
        conn.exec_driver_sql(
            "UPDATE device SET next_seq = ?, next_subject = ? WHERE id = ?",
            (resumed.next_seq, resumed.next_subject, device),
        )
        put(conn, RESTORED, resumed.describe())
        return dataclasses.replace(resumed, window=tuple(window))
    return _resume(conn, server_seq, past, pushed)


def _renumber_unpushed(
    conn: Connection, device: str, prefix: str, pushed: int, numbers: Sequence[str]
) -> dict[str, str]:
    """Found restored: subjects entered here since the restore under numbers the server holds (the
    counter went back with the copy) move to the numbers the server will register them under: in device order, each to
    1 + the highest of the pattern taken so far (server/renumber.py, the same rule). Their signed
    `subject_add` is sent as it was; the server's `subject_renumbered` confirms the number.
    Returns {old number: new number}, for the restore's note."""
    taken = set(numbers)
    moves: dict[str, tuple[str, str]] = {}  # subject id -> (old, new)
    for subject_id, given in conn.exec_driver_sql(
        "SELECT e.subject_id, s.number FROM audit_event e JOIN subject s ON s.id = e.subject_id "
        "WHERE e.device_id = ? AND e.device_seq > ? AND e.action = 'subject_add' ORDER BY e.device_seq",
        (device, pushed),
    ):
        if given in taken and subject_numbers.counter_of(prefix, given) is not None:
            moves[subject_id] = (given, subject_numbers.next_in_pattern(prefix, taken))
            taken.add(moves[subject_id][1])
        else:
            taken.add(given)
    for subject_id in moves:  # two steps: a new number may be another moving subject's old one
        conn.exec_driver_sql("UPDATE subject SET number = ? WHERE id = ?", (f"~{subject_id}", subject_id))
    for subject_id, (_, new) in moves.items():
        conn.exec_driver_sql("UPDATE subject SET number = ? WHERE id = ?", (new, subject_id))
    return dict(moves.values())


def run_declared(conn: Connection, from_seq: int | None, to_seq: int | None, server_seq: int) -> None:
    """The server takes this laptop's changes `from_seq`..`to_seq` as its restored run: the ones before it
    are on the server already (the pull brings back the rest of what the restore lost). Once the push
    has taken the run, this laptop has sent everything up to `server_seq` (RUN_END): the server's
    changes numbered after the run that the pull brings back are the lost ones, not changes to send."""
    if from_seq is None or to_seq is None:  # the server holds every change of the window already
        put(conn, PUSHED, str(max(pushed_mark(conn), server_seq)))
        return
    if from_seq - 1 > pushed_mark(conn):
        put(conn, PUSHED, str(from_seq - 1))
    put(conn, RUN_END, json.dumps([to_seq, server_seq]))


def take_restored_note(conn: Connection) -> str | None:
    """What a restore check found since the last sync reported it (handed over once)."""
    note = get(conn, RESTORED)
    if note is not None:
        put(conn, RESTORED, None)
    return note
