"""The crash test: a child process saving forms in a loop is killed with SIGKILL at random moments.

After every kill the store must open, pass `PRAGMA integrity_check`, hold every save the child
reported as committed, hold no half-saved form (values and their audit events are one transaction),
and pass the audit-chain check. The child is crash_child.py; the parent synchronises on its output
lines only (no sleeps). Set CIK_ECRF_CRASH_SEED to replay a run.
"""

from __future__ import annotations

import importlib.util
import json
import os
import random
import re
import signal
import subprocess
import sys
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from stores import store_with_nurse

from cik_ecrf.store.api import Store
from cik_ecrf.store.errors import AuthError

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
CHILD = HERE / "crash_child.py"

_spec = importlib.util.spec_from_file_location("cik_ecrf_crash_child", CHILD)
assert _spec is not None and _spec.loader is not None
child = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(child)

ADMIN, ADMIN_PW = "admin1", "Admin2024pass"
NURSE, NURSE_FIRST_PW, NURSE_PW = "nurse1", "Welcome2024x", "Ward7night42"
ROUNDS = 24
MAX_LINES = 400  # lines read after READY before a kill: 0..MAX_LINES (a save prints ~75 SQL lines)
WATCHDOG_S = 60  # a child that stops talking is killed and the round fails


def make_store(directory: Path, study: Any) -> str:
    store_with_nurse(directory, study, "CR01", (ADMIN, ADMIN_PW), (NURSE, NURSE_FIRST_PW, NURSE_PW))
    with Store.open(directory, NURSE, NURSE_PW, study=study) as nurse:
        return nurse.add_subject()


def spawn(directory: Path, *extra: str) -> subprocess.Popen[str]:
    env = dict(os.environ)  # carries CIK_ECRF_KDF_MEMORY_KIB from conftest
    env["CIK_ECRF_PASSWORD"] = NURSE_PW
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(ROOT), env.get("PYTHONPATH")) if p)
    return subprocess.Popen(
        [sys.executable, str(CHILD), str(directory), *extra],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=ROOT,
        env=env,
    )


@dataclass
class Reported:
    """What the children said was done: instance id → fields written, and the corrected ones."""

    committed: dict[str, int] = field(default_factory=dict)
    revised: set[str] = field(default_factory=set)

    def take(self, line: str) -> None:
        parts = line.split()
        if parts and parts[0] == "COMMITTED":
            self.committed[parts[1]] = int(parts[2])
        elif parts and parts[0] == "REVISED":
            self.revised.add(parts[1])


def read_line(proc: subprocess.Popen[str], reported: Reported, context: str) -> str:
    assert proc.stdout is not None
    line = proc.stdout.readline()
    if not line:  # the child ended on its own: it crashed, which is a failure of its own
        proc.wait()
        assert proc.stderr is not None
        pytest.fail(f"{context}: the child exited ({proc.returncode}) before it was killed:\n{proc.stderr.read()}")
    reported.take(line)
    return line.strip()


def kill_and_drain(proc: subprocess.Popen[str], reported: Reported) -> None:
    """SIGKILL, then collect the lines already in the pipe: those saves were reported too."""
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert proc.returncode == -signal.SIGKILL
    assert proc.stdout is not None and proc.stderr is not None and proc.stdin is not None
    for line in proc.stdout.read().splitlines():
        reported.take(line)
    proc.stdout.close()
    proc.stderr.close()
    proc.stdin.close()


@dataclass(frozen=True)
class StoreState:
    instances: int
    events: int


def check_store(directory: Path, study: Any, reported: Reported, context: str) -> StoreState:
    store = Store.open(directory, NURSE, NURSE_PW, study=study)  # also brings the schema to head
    try:
        with store.engine.connect() as conn:
            assert conn.exec_driver_sql("PRAGMA integrity_check").scalars().all() == ["ok"], context
            assert conn.exec_driver_sql("PRAGMA foreign_key_check").all() == [], context
            instances = {
                row.id: row
                for row in conn.exec_driver_sql(
                    "SELECT fi.id, fi.form_id, fi.status, v.visit_id FROM form_instance fi JOIN visit v ON v.id = fi.visit_pk"
                )
            }
            values: dict[str, dict[str, str]] = {i: {} for i in instances}
            for instance_id, field_id, value_json in conn.exec_driver_sql(
                "SELECT instance_id, field_id, value_json FROM field_value"
            ):
                values[instance_id][field_id] = value_json
            trail = conn.exec_driver_sql(
                "SELECT seq, action, instance_id, field_id, new_json FROM audit_event WHERE instance_id IS NOT NULL ORDER BY seq"
            ).all()

        # every save the child reported is there, whole
        missing = sorted(set(reported.committed) - set(instances))
        assert not missing, f"{context}: reported committed but not in the store: {missing}"
        for instance_id, n_fields in reported.committed.items():
            assert n_fields == len(child.FIELDS), f"{context}: the child reported {n_fields} fields for {instance_id}"
        for instance_id in reported.revised:
            assert json.loads(values[instance_id]["AETERM"]).endswith(child.REVISED_SUFFIX), (
                f"{context}: correction of {instance_id} lost"
            )

        # no half-saved form: each one has all its fields, and a correction is both fields or neither
        for instance_id, row in instances.items():
            where = f"{context}: instance {instance_id}"
            assert (row.visit_id, row.form_id, row.status) == (child.VISIT, child.FORM, "complete"), where
            assert set(values[instance_id]) == child.FIELDS, f"{where} has fields {sorted(values[instance_id])}"
            term = json.loads(values[instance_id]["AETERM"])
            assert re.fullmatch(r"AE \d+-\d+( \(revised\))?", term), f"{where}: AETERM {term!r}"
            assert term.endswith(child.REVISED_SUFFIX) == (
                json.loads(values[instance_id]["AEOUT"]) == child.REVISED_OUTCOME
            ), f"{where}: half a correction: {values[instance_id]}"

        # values and their audit events were written together: replaying the trail gives the values
        replayed: dict[str, dict[str, str]] = {}
        created: Counter[str] = Counter()
        for _seq, action, instance_id, field_id, new_json in trail:
            assert instance_id in instances, (
                f"{context}: audit event {action} for instance {instance_id}, which is not in the store"
            )
            if action == "form_create":
                created[instance_id] += 1
            elif action == "value_set":
                replayed.setdefault(instance_id, {})[field_id] = new_json
            elif action == "value_clear":
                replayed.setdefault(instance_id, {}).pop(field_id, None)
        assert all(created[i] == 1 for i in instances), f"{context}: form_create events {created}"
        assert replayed == values, f"{context}: the audit trail does not replay to the stored values"

        check = store.verify_audit()
        assert check.ok, f"{context}: {check.problem}"
        return StoreState(len(instances), check.events)
    finally:
        store.close()


@pytest.mark.slow
def test_sigkill_during_saves_loses_nothing_acknowledged(tmp_path: Path, study: Any) -> None:
    started = time.monotonic()
    seed = int(os.environ.get("CIK_ECRF_CRASH_SEED") or random.SystemRandom().randrange(2**32))
    rng = random.Random(seed)
    directory = tmp_path / "ward-laptop"
    make_store(directory, study)

    # where each kill lands: right after spawn (during start-up), right after "OPENING" (during the
    # login: keyring, SQLCipher key, migration check, login event), or after 0..MAX_LINES lines
    # following READY: the child prints a line before every SQL statement and commit, so the kill
    # lands between the statements of a save (validation reads, inserts, audit appends, the commit)
    modes = ["spawn"] * 3 + ["opening"] * 3 + ["lines"] * (ROUNDS - 6)
    rng.shuffle(modes)
    reported = Reported()
    kills: Counter[str] = Counter()
    landed: Counter[str] = Counter()  # the last line read before each "lines" kill
    state = StoreState(0, 0)
    for number, mode in enumerate(modes, 1):
        context = f"round {number} ({mode}, seed {seed})"
        proc = spawn(directory)
        watchdog = threading.Timer(WATCHDOG_S, proc.kill)
        watchdog.start()
        try:
            if mode == "opening":
                assert read_line(proc, reported, context) == "OPENING"
            elif mode == "lines":
                while read_line(proc, reported, context) != "READY":
                    pass
                last = "READY"
                for _ in range(rng.randint(0, MAX_LINES)):
                    last = read_line(proc, reported, context)
                landed[" ".join(last.split()[:2]) if last.startswith("SQL") else last.split()[0]] += 1
            kill_and_drain(proc, reported)
        finally:
            watchdog.cancel()
        kills[mode] += 1
        state = check_store(directory, study, reported, context)

    assert sum(kills.values()) >= 20
    assert len(reported.committed) >= 10, f"too few saves reached the check (seed {seed}): {len(reported.committed)}"

    env = {**os.environ, "CIK_ECRF_PASSWORD": NURSE_PW}
    cli = subprocess.run(
        [sys.executable, "-m", "cik_ecrf", "audit", "verify", "--data-dir", str(directory), "--user", NURSE],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env=env,
        timeout=120,
    )
    assert cli.returncode == 0, cli.stderr
    assert "audit trail intact" in cli.stdout

    unreported = state.instances - len(reported.committed)
    print(
        f"\ncrash test (seed {seed}): {sum(kills.values())} kills {dict(kills)}, {len(reported.committed)} reported saves "
        f"and {len(reported.revised)} corrections verified after every kill, {unreported} saves committed but killed "
        f"before reporting, {state.instances} forms and {state.events} audit events at the end, "
        f"kills after {dict(landed)}, "
        f"{time.monotonic() - started:.1f} s"
    )


@pytest.mark.parametrize(
    "point",
    [
        "open_engine",  # the keyring was read and rewritten, nothing is in the database yet
        "forget_pending",  # the login transaction committed, the keyring still lists the failures
    ],
)
def test_failed_logins_are_audited_once_after_a_kill_during_the_next_login(
    tmp_path: Path, study: Any, point: str
) -> None:
    """A failed login waits in keyring.json until a successful login copies it into the audit trail;
    a kill anywhere in that login must neither lose it nor copy it twice."""
    directory = tmp_path / "ward-laptop"
    make_store(directory, study)
    with pytest.raises(AuthError):
        Store.open(directory, NURSE, "Wrong2024pass", study=study)
    with pytest.raises(AuthError):
        Store.open(directory, "nobody", "Wrong2024pass", study=study)

    proc = spawn(directory, "--pause-at", point)
    reported = Reported()
    watchdog = threading.Timer(WATCHDOG_S, proc.kill)
    watchdog.start()
    try:
        while read_line(proc, reported, f"login paused at {point}") != "PAUSED":
            pass
        kill_and_drain(proc, reported)
    finally:
        watchdog.cancel()

    for _ in range(2):  # the login after the kill, and one more
        with Store.open(directory, NURSE, NURSE_PW, study=study) as store:
            assert store.verify_audit().ok
            failed = sorted((e.username, e.reason) for e in store.audit_events() if e.action == "login_failed")
            assert failed == [("nobody", "unknown user"), (NURSE, "wrong password")], failed
    assert json.loads((directory / "keyring.json").read_text())["pending_events"] == []
