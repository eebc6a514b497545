"""Sync: push and pull of N completed vitals forms, a no-change sync, and 5 laptops syncing at once.

Run: python bench/bench_sync.py [--forms 10000] [--pg URL] [--skip-sqlite]
(--pg defaults to $CIK_ECRF_TEST_DATABASE_URL; each run uses a fresh schema and drops it.)
Prints times and ratios measured in this one run; nothing is asserted.

The server runs as `cik-ecrf server` in its own process on loopback. The laptop's forms are entered
through the real save path (that set-up is not timed). Measured:
1. push of every change of a fresh laptop (N forms, ~12 changes each) to an empty server;
2. pull of all of them into a second, fresh laptop;
3. the baseline: a bare bulk insert of exactly the rows the push wrote (change log, instances,
   subjects, field state) into an empty database of the same kind, in one transaction;
4. a sync with nothing to do (median of 7);
5. five fresh laptops of another site, N/20 forms each, syncing at once (threads) against the same
   server: each pushes its own changes and pulls the four others'.
Targets of the issue: push within 3x the bare insert and under 5 s; a no-change sync under 50 ms.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests" / "server"))
os.environ.setdefault("CIK_ECRF_KDF_MEMORY_KIB", "8192")

from live_server import ServerProcess  # noqa: E402
from sqlalchemy import create_engine, insert, select, text  # noqa: E402

from cik_ecrf.definitions.loader import load_study  # noqa: E402
from cik_ecrf.server import admin  # noqa: E402
from cik_ecrf.server.database import open_database  # noqa: E402
from cik_ecrf.server.models import Change, FieldState, Instance, Subject  # noqa: E402
from cik_ecrf.store.api import Store  # noqa: E402
from cik_ecrf.store.entry import SaveRequest  # noqa: E402
from cik_ecrf.sync.client import SyncClient, SyncProgress  # noqa: E402
from cik_ecrf.sync.enrol import enrol  # noqa: E402

PASSWORD = "Ward7night42"
VISITS = ["screening", "baseline", "D0", "D1", "D2", "D3", "D4", "D5", "D6", "D7", "D14", "D28"]
VITALS = {
    "VSDAT": "2026-01-01T10:00+08:00",
    "TEMP": 36.5,
    "HR": 80,
    "RESP": 20,
    "SYSBP": 110,
    "DIABP": 70,
    "OXYSAT": 98,
    "O2SUPP": "NONE",
    "WEIGHT": 40.0,
    "HEIGHT": 150.0,
    "ECOG": 0,
}


def database(kind: str, root: Path, pg: str | None, label: str) -> tuple[str, Any]:
    if kind == "sqlite":
        return f"sqlite:///{root / f'{label}.db'}", None
    assert pg
    schema = f"bench_{label}_{uuid.uuid4().hex[:8]}"
    engine = create_engine(pg)
    with engine.begin() as conn:
        conn.execute(text(f"CREATE SCHEMA {schema}"))
    url = f"{pg}{'&' if '?' in pg else '?'}options=-csearch_path%3D{schema}"
    return url, (engine, schema)


def drop(handle: Any) -> None:
    if handle is not None:
        engine, schema = handle
        with engine.begin() as conn:
            conn.execute(text(f"DROP SCHEMA {schema} CASCADE"))
        engine.dispose()


def vitals_at(visit: str) -> dict[str, Any]:
    """The vitals form's values at a visit: height is measured at screening, ECOG at screening and baseline."""
    skip = ({"HEIGHT"} if visit != "screening" else set()) | (
        {"ECOG"} if visit not in ("screening", "baseline") else set()
    )
    return {k: v for k, v in VITALS.items() if k not in skip}


def fill(store: Store, forms: int) -> None:
    done = 0
    while done < forms:
        number = store.add_subject()
        for visit in VISITS:
            if done == forms:
                break
            store.save(SaveRequest(number, visit, "vitals", vitals_at(visit)))
            done += 1


def timed_sync(store: Store) -> tuple[float, float, Any]:
    """(push seconds, total seconds, outcome): the push ends at the first pull progress report."""
    marks: dict[str, float] = {}

    def progress(p: SyncProgress) -> None:
        marks.setdefault(p.phase, time.perf_counter())

    start = time.perf_counter()
    outcome = SyncClient(store).run(progress)
    total = time.perf_counter() - start
    push = (marks.get("pull", start + total) - start) if "push" in marks else 0.0
    assert outcome.error is None, outcome.error
    return push, total, outcome


def bare_insert(source_url: str, target_url: str) -> tuple[float, int]:
    """Copy the rows the push wrote into an empty database of the same kind, as one bulk insert."""
    source = create_engine(source_url)
    tables = (Subject, Instance, Change, FieldState)
    with source.connect() as conn:
        rows = {t: [dict(r._mapping) for r in conn.execute(select(t))] for t in tables}
    source.dispose()
    target = open_database(target_url)
    admin.add_site(target, "BJ01", "Bench site")
    start = time.perf_counter()
    with target.begin() as conn:
        for table in tables:
            if rows[table]:
                conn.execute(insert(table), rows[table])
    elapsed = time.perf_counter() - start
    target.dispose()
    return elapsed, sum(len(v) for v in rows.values())


def run(kind: str, forms: int, pg: str | None, root: Path, study: Any) -> None:
    print(f"\n== {kind}: {forms} completed vitals forms ==")
    url, handle = database(kind, root, pg, "server")
    bare_url, bare_handle = database(kind, root, pg, "bare")
    engine = open_database(url)
    admin.add_site(engine, "BJ01", "Bench site")
    admin.add_site(engine, "SH02", "Second bench site (the five laptops: they pull only each other's changes)")
    for i in range(7):
        admin.add_user(engine, f"nurse{i}", "nurse", "BJ01" if i < 2 else "SH02", PASSWORD)
    engine.dispose()
    try:
        with ServerProcess(url, root / f"{kind}-server.log") as server:
            enrol(root / f"{kind}-a", server.url, "nurse0", PASSWORD, study=study)
            a = Store.open(root / f"{kind}-a", "nurse0", PASSWORD, study=study)
            started = time.perf_counter()
            fill(a, forms)
            waiting = a.sync_status().waiting
            print(
                f"set-up: {forms} forms entered through the save path in {time.perf_counter() - started:.0f} s ({waiting} changes waiting)"
            )
            push, total, outcome = timed_sync(a)
            print(f"push:  {push:7.2f} s  ({outcome.pushed} changes, {outcome.pushed / push:,.0f}/s)")
            enrol(root / f"{kind}-b", server.url, "nurse1", PASSWORD, study=study)
            b = Store.open(root / f"{kind}-b", "nurse1", PASSWORD, study=study)
            _, pull, pulled = timed_sync(b)
            print(f"pull:  {pull:7.2f} s  ({pulled.pulled} changes into a fresh laptop, {pulled.pulled / pull:,.0f}/s)")
            bare, rows = bare_insert(url, bare_url)
            print(f"bare bulk insert of the same {rows} rows: {bare:.2f} s")
            print(f"push / bare insert = {push / bare:.1f}x (target <= 3x, and push < 5 s)")
            quiet = sorted(timed_sync(a)[1] for _ in range(7))
            print(
                f"no-change sync: median {statistics.median(quiet) * 1000:.1f} ms, max {quiet[-1] * 1000:.1f} ms (target < 50 ms)"
            )
            a.close(), b.close()
            many = []
            for i in range(5):
                enrol(root / f"{kind}-m{i}", server.url, f"nurse{i + 2}", PASSWORD, study=study)
                store = Store.open(root / f"{kind}-m{i}", f"nurse{i + 2}", PASSWORD, study=study)
                fill(store, max(1, forms // 20))
                many.append(store)
            results: list[Any] = [None] * 5
            threads = [
                threading.Thread(target=lambda i=i: results.__setitem__(i, timed_sync(many[i]))) for i in range(5)
            ]
            start = time.perf_counter()
            for t in threads:
                t.start()
            for t in threads:
                t.join()
            wall = time.perf_counter() - start
            changes = sum(r[2].pushed for r in results if r)
            pulled_total = sum(r[2].pulled for r in results if r)
            print(
                f"5 laptops at once ({max(1, forms // 20)} forms each): {wall:.2f} s wall, {changes} changes pushed and {pulled_total} pulled, slowest laptop {max(r[1] for r in results if r):.2f} s"
            )
            for store in many:
                store.close()
    finally:
        drop(handle), drop(bare_handle)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--forms", type=int, default=10_000)
    parser.add_argument("--pg", default=os.environ.get("CIK_ECRF_TEST_DATABASE_URL"))
    parser.add_argument("--skip-sqlite", action="store_true")
    args = parser.parse_args()
    study = load_study()
    with tempfile.TemporaryDirectory() as scratch:
        if not args.skip_sqlite:
            run("sqlite", args.forms, None, Path(scratch), study)
        if args.pg:
            run("postgresql", args.forms, args.pg, Path(scratch), study)
        else:
            print("\n(PostgreSQL skipped: give --pg URL or set CIK_ECRF_TEST_DATABASE_URL)")


if __name__ == "__main__":
    main()
