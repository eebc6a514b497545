"""Monitoring lists on a laptop: a site with 5,000 queries, read the way the monitor's worklist and the
per-site list read them, against a bare sqlite3 read of the same rows from an unencrypted copy.

Run: python bench/bench_monitoring.py [--queries N] [--subjects N] [--repeats N]
About 40 s on a 2-core laptop with the defaults. Prints medians and ratios measured in this one run
(no absolute target is asserted anywhere; the issue's bar is a 5,000-query list in under 200 ms).

The store is a real one: a nurse enters N subjects' D1 vitals through `Store.save`, a monitor opens the
queries through `store.monitoring.import_queries` (one CSV, one transaction), and a third of them are
answered and a tenth closed through the store's own writes. Then, each `--repeats` times:
- `queries()` of every query, `queries(status=open)`, `queries(subject=…)`, `queries(form_id, older_than_days)`;
- `query_counts()` (the per-site list), `queries_for_instance()` (one form's badges), `thread()`;
- the same full list as a bare `sqlite3` SELECT of the copied tables (no encryption, no dataclasses).
"""

from __future__ import annotations

import argparse
import os
import sqlite3
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("CIK_ECRF_KDF_MEMORY_KIB", "8192")

from cik_ecrf.definitions.loader import load_study  # noqa: E402
from cik_ecrf.store.api import Store  # noqa: E402
from cik_ecrf.store.entry import SaveRequest  # noqa: E402

PW = "Bench-pass-2026a"
VITALS: dict[str, Any] = {
    "VSDAT": "2026-01-01T10:00+08:00",
    "TEMP": 36.5,
    "HR": 80,
    "RESP": 20,
    "SYSBP": 110,
    "DIABP": 70,
    "OXYSAT": 98,
    "O2SUPP": "NONE",
    "WEIGHT": 40.0,
}
FIELDS = ("TEMP", "HR", "RESP", "SYSBP", "DIABP", "OXYSAT", "WEIGHT")


def _timed(action: Callable[[], Any], repeats: int) -> tuple[float, Any]:
    times, result = [], None
    for _ in range(repeats):
        started = time.perf_counter()
        result = action()
        times.append((time.perf_counter() - started) * 1000)
    return statistics.median(times), result


def build(directory: Path, queries: int, subjects: int) -> list[str]:
    study = load_study()
    Store.init(directory, "BJ01", "admin", PW)
    with Store.open(directory, "admin", PW, study=study) as admin:
        for name, role in (("nurse", "nurse"), ("mon", "monitor")):
            admin.add_user(name, role, PW + "x")
    for name in ("nurse", "mon"):
        with Store.open(directory, name, PW + "x", study=study) as user:
            user.change_password(PW + "x", PW)
    with Store.open(directory, "nurse", PW, study=study) as nurse:
        numbers = [nurse.add_subject() for _ in range(subjects)]
        for number in numbers:
            nurse.save(SaveRequest(number, "D1", "vitals", VITALS))
    csv_file = directory.parent / "queries.csv"
    lines = ["subject,visit,form,field,text"]
    for index in range(queries):
        number = numbers[index % subjects]
        lines.append(f"{number},D1,vitals,{FIELDS[index % len(FIELDS)]},check against the source #{index}")
    csv_file.write_text("\n".join(lines) + "\n", encoding="utf-8")
    with Store.open(directory, "mon", PW, study=study) as monitor:
        started = time.perf_counter()
        ids = monitor.monitoring.import_queries(csv_file)
        print(f"   import of {len(ids)} queries from a CSV (one transaction): {time.perf_counter() - started:.2f} s")
    with Store.open(directory, "nurse", PW, study=study) as nurse:
        for query_id in ids[: queries // 3]:
            nurse.monitoring.answer_query(query_id, "checked: the chart agrees")
    with Store.open(directory, "mon", PW, study=study) as monitor:
        for query_id in ids[: queries // 10]:
            monitor.monitoring.close_query(query_id)
    return numbers


def bare_copy(store: Store, target: Path) -> None:
    """The monitoring tables and subjects, copied unencrypted for the bare sqlite3 baseline."""
    with store.unit_of_work() as session:
        conn = session.connection()
        tables = {
            name: (conn.exec_driver_sql(f"SELECT sql FROM sqlite_master WHERE name = '{name}'").scalar(), rows)
            for name in ("subject", "monitoring_query")
            for rows in [conn.exec_driver_sql(f"SELECT * FROM {name}").all()]
        }
    bare = sqlite3.connect(target)
    for name, (create, rows) in tables.items():
        bare.execute(create)
        if rows:
            bare.executemany(f"INSERT INTO {name} VALUES ({', '.join('?' * len(rows[0]))})", rows)
    bare.commit()
    bare.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--queries", type=int, default=5000)
    parser.add_argument("--subjects", type=int, default=100)
    parser.add_argument("--repeats", type=int, default=15)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        directory = Path(tmp) / "store"
        print(f"Monitoring lists: {args.queries} queries over {args.subjects} subjects, {args.repeats} runs each")
        numbers = build(directory, args.queries, args.subjects)
        with Store.open(directory, "mon", PW) as store:
            m = store.monitoring
            bare_copy(store, Path(tmp) / "bare.db")
            bare = sqlite3.connect(Path(tmp) / "bare.db")
            one = m.queries(numbers[0])[0]
            cases: list[tuple[str, Callable[[], Any]]] = [
                ("queries() — every query (the site's list)", lambda: m.queries()),
                ("queries(limit=100) — the first screen", lambda: m.queries(limit=100)),
                ("count_queries() — for the pager", lambda: m.count_queries()),
                ("queries(status=open)", lambda: m.queries(status="open")),
                ("queries(subject=…)", lambda: m.queries(numbers[0])),
                ("queries(form_id=vitals, older_than_days=0)", lambda: m.queries(form_id="vitals", older_than_days=0)),
                ("query_counts() (per-subject counts)", lambda: m.query_counts()),
                ("queries_for_instance() (one form's badges)", lambda: m.queries_for_instance(one.instance_id)),
                ("thread() of one query", lambda: m.thread(one.id)),
            ]
            baseline, rows = _timed(
                lambda: bare.execute(
                    "SELECT q.*, s.number FROM monitoring_query q JOIN subject s ON s.id = q.subject_id "
                    "ORDER BY q.opened_at_utc, q.id"
                ).fetchall(),
                args.repeats,
            )
            print(
                f"   bare sqlite3 SELECT of every query (unencrypted copy, tuples): {baseline:.1f} ms ({len(rows)} rows)"
            )
            for name, action in cases:
                median, result = _timed(action, args.repeats)
                size = len(result) if hasattr(result, "__len__") else "-"
                print(f"   {name}: {median:.1f} ms median ({size} rows), {median / baseline:.2f}x the bare SELECT")
            bare.close()


if __name__ == "__main__":
    main()
