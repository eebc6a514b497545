"""Randomization round trip with 213 subjects already randomized on the server.

Run: python bench/bench_randomize.py [--rounds 21] [--pg URL] [--skip-sqlite]
(--pg defaults to $CIK_ECRF_TEST_DATABASE_URL; each run uses a fresh schema and drops it.)
Prints medians measured in this one run; nothing is asserted. Target of the issue: a randomization
round trip under 200 ms at the median.

The server runs as `cik-ecrf server` in its own process on loopback. Set-up (not timed): a laptop
enters two eligible subjects (one per stratum) through the real save path and syncs; their synced
screening data is copied on the server to 213 + ROUNDS more subjects; an allocation list is made and
213 of them are randomized. Measured:
1. the round trip: POST /randomization/randomize for a new subject (device token + the user's
   password, argon2 checked by the server, eligibility and stratum evaluated, slot taken, event
   logged), by HTTP from this process, median of ROUNDS;
2. its parts, in this process: one argon2 password check (the server's verify), and the assignment
   transaction alone (assign.randomize against the same database);
3. the laptop call `cik_ecrf.sync.randomize.randomize` (sync, server call, sync), median of 5.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests" / "server"))
sys.path.insert(0, str(ROOT / "tests" / "randomization"))
os.environ.setdefault("CIK_ECRF_KDF_MEMORY_KIB", "8192")

import httpx  # noqa: E402
from live_server import PASSWORD, ServerProcess  # noqa: E402
from sqlalchemy import create_engine, text  # noqa: E402
from sqlalchemy.orm import Session  # noqa: E402
from trial import clone_subjects, enter_subject  # noqa: E402

from cik_ecrf.core.passwords import hash_password, verify_password  # noqa: E402
from cik_ecrf.definitions.loader import load_study  # noqa: E402
from cik_ecrf.definitions.randomization import design  # noqa: E402
from cik_ecrf.server import admin  # noqa: E402
from cik_ecrf.server.database import open_database  # noqa: E402
from cik_ecrf.server.randomization import assign, lists  # noqa: E402
from cik_ecrf.store.api import Store  # noqa: E402
from cik_ecrf.sync.enrol import enrol  # noqa: E402
from cik_ecrf.sync.protocol import API  # noqa: E402
from cik_ecrf.sync.randomization_protocol import RANDOMIZE  # noqa: E402
from cik_ecrf.sync.randomize import randomize  # noqa: E402

ALREADY = 213


def _ms(values: list[float]) -> str:
    return f"{statistics.median(values) * 1000:.0f} ms (min {min(values) * 1000:.0f}, max {max(values) * 1000:.0f})"


def run(url: str, label: str, rounds: int, work: Path) -> None:
    study = load_study()
    plan = design(study)
    engine = open_database(url)
    admin.add_site(engine, "BJ01", "Site BJ01")
    for name, role in (("inv1", "investigator"), ("stat1", "statistician")):
        admin.add_user(engine, name, role, "BJ01", PASSWORD)
    with Session(engine) as session, session.begin():
        lists.generate(session, plan, "stat1", "statistician")
    with ServerProcess(url, work / f"{label}.log") as server:
        enrol(work / f"{label}-laptop", server.url, "inv1", PASSWORD, study=study)
        store = Store.open(work / f"{label}-laptop", "inv1", PASSWORD, study=study)
        try:
            young = store.randomization.subject_id(enter_subject(store, age=12))
            adult = store.randomization.subject_id(enter_subject(store, age=30))
            filled = clone_subjects(engine, young, 80) + clone_subjects(engine, adult, ALREADY - 80)
            fresh = clone_subjects(engine, young, rounds // 2) + clone_subjects(engine, adult, rounds - rounds // 2)
            extra = clone_subjects(engine, adult, rounds)
            who = assign.Who("inv1", "investigator", "BJ01", "bench")
            started = time.perf_counter()
            for subject in filled:
                assign.randomize(engine, study, plan, who, subject)
            fill = time.perf_counter() - started
            token = store.sync_settings()["token"]
            trips = []
            with httpx.Client(base_url=server.url + API, headers={"Authorization": f"Bearer {token}"}) as http:
                http.get("/info")
                for subject in fresh:
                    started = time.perf_counter()
                    reply = http.post(RANDOMIZE, json={"subject_id": subject, "username": "inv1", "password": PASSWORD})
                    trips.append(time.perf_counter() - started)
                    assert reply.status_code == 200, reply.text
            stored = hash_password(PASSWORD)
            checks = []
            for _ in range(rounds):
                started = time.perf_counter()
                verify_password(stored, PASSWORD)
                checks.append(time.perf_counter() - started)
            assigns = []
            for subject in extra:
                started = time.perf_counter()
                assign.randomize(engine, study, plan, who, subject)
                assigns.append(time.perf_counter() - started)
            laptop = []
            for age in (12, 30, 12, 30, 25):
                number = enter_subject(store, age=age)
                started = time.perf_counter()
                randomize(store, number, "inv1", PASSWORD)
                laptop.append(time.perf_counter() - started)
        finally:
            store.close()
    engine.dispose()
    print(f"[{label}] {ALREADY} subjects randomized before measuring (set-up: {fill:.1f} s in process)")
    print(f"[{label}] randomization round trip (HTTP, password checked): median {_ms(trips)} over {rounds}")
    print(f"[{label}]   of which an argon2 password check: median {_ms(checks)}")
    print(f"[{label}]   and the assignment transaction alone: median {_ms(assigns)}")
    print(f"[{label}] laptop randomize() with its two syncs: median {_ms(laptop)} over {len(laptop)}")
    verdict = "met" if statistics.median(trips) < 0.2 else "NOT met on this machine"
    load = ", ".join(f"{x:.1f}" for x in os.getloadavg())
    print(f"[{label}] target < 200 ms median round trip: {verdict}; cores: {os.cpu_count()}, load average {load}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=21)
    parser.add_argument("--pg", default=os.environ.get("CIK_ECRF_TEST_DATABASE_URL"))
    parser.add_argument("--skip-sqlite", action="store_true")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        if not args.skip_sqlite:
            run(f"sqlite:///{work / 'server.db'}", "sqlite", args.rounds, work)
        if args.pg:
            schema = f"bench_{uuid.uuid4().hex[:10]}"
            root = create_engine(args.pg)
            with root.begin() as conn:
                conn.execute(text(f"CREATE SCHEMA {schema}"))
            separator = "&" if "?" in args.pg else "?"
            try:
                run(f"{args.pg}{separator}options=-csearch_path%3D{schema}", "postgresql", args.rounds, work)
            finally:
                with root.begin() as conn:
                    conn.execute(text(f"DROP SCHEMA {schema} CASCADE"))
                root.dispose()


if __name__ == "__main__":
    main()
