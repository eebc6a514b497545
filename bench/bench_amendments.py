"""Study versions: what an amendment costs a push, and how long publishing takes with data to check.

Run: python bench/bench_amendments.py [--forms 600] [--rounds 3]
Prints medians and ratios measured in this one run (SQLite, in-process loopback server); nothing is asserted.

1. push of N new vitals forms (a fresh laptop, ~12 changes each) to a server with nothing published
   (the baseline) and to one where version 2 is published and the forms are entered on it (each
   change checked under its instance's version, each new instance's version recorded); interleaved.
2. `server study publish` of an amendment that changes vitals, with the N forms on the server (every
   value carried through the mapping and checked), against the baseline of loading the definitions.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests" / "server"))
os.environ.setdefault("CIK_ECRF_KDF_MEMORY_KIB", "8192")

from live_server import PASSWORD, LiveServer, site_with_users  # noqa: E402

from cik_ecrf.definitions.loader import default_forms_dir, load_study  # noqa: E402
from cik_ecrf.server.database import open_database  # noqa: E402
from cik_ecrf.server.study_versions.store import publish  # noqa: E402
from cik_ecrf.store.api import Store  # noqa: E402
from cik_ecrf.store.entry import SaveRequest  # noqa: E402
from cik_ecrf.sync.client import SyncClient  # noqa: E402
from cik_ecrf.sync.enrol import enrol  # noqa: E402

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
    "ECOG": 1,
}


def amendment(tmp: Path, name: str, hr_max: int) -> Path:
    target = tmp / name
    shutil.copytree(default_forms_dir(), target)
    path = target / "vitals.json"
    form = json.loads(path.read_text(encoding="utf-8"))
    next(f for f in form["fields"] if f["id"] == "HR")["range"]["max"] = hr_max
    form["version"] = f"1.{hr_max}"
    path.write_text(json.dumps(form, ensure_ascii=False, indent=2), encoding="utf-8")
    return target


def one_push(tmp: Path, forms: int, amended: bool, study) -> tuple[float, float | None]:
    """(push seconds, publish seconds of a further amendment over the pushed forms, or None)."""
    url = f"sqlite:///{tmp / 'server.db'}"
    engine = open_database(url)
    site_with_users(engine)
    with LiveServer(engine) as server:
        if amended:
            publish(engine, amendment(tmp, "v2", 290), "bench")
        enrol(tmp / "laptop", server.url, "nurse1", PASSWORD, study=study)
        store = Store.open(tmp / "laptop", "nurse1", PASSWORD, study=study)
        SyncClient(store).run()  # takes version 2 when there is one
        entered = 0
        while entered < forms:
            subject = store.add_subject()
            for visit in VISITS[: forms - entered]:
                values = {k: v for k, v in VITALS.items() if k not in ("HEIGHT", "ECOG") or visit == "screening"}
                if visit == "baseline":
                    values["ECOG"] = 1
                store.save(SaveRequest(subject, visit, "vitals", values, confirm_warnings=True))
                entered += 1
        started = time.perf_counter()
        outcome = SyncClient(store).run()
        pushed = time.perf_counter() - started
        assert outcome.ok, outcome
        published = None
        if amended:
            started = time.perf_counter()
            publish(engine, amendment(tmp, "v3", 280), "bench")
            published = time.perf_counter() - started
        store.close()
    engine.dispose()
    return pushed, published


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--forms", type=int, default=600)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    study = load_study()
    plain, amended, publishing = [], [], []
    for _ in range(args.rounds):
        with tempfile.TemporaryDirectory() as a, tempfile.TemporaryDirectory() as b:
            plain.append(one_push(Path(a), args.forms, False, study)[0])
            pushed, published = one_push(Path(b), args.forms, True, study)
            amended.append(pushed)
            publishing.append(published or 0.0)
    loads = []
    for _ in range(5):
        started = time.perf_counter()
        load_study(default_forms_dir())
        loads.append(time.perf_counter() - started)
    p, q, r, load = (statistics.median(x) for x in (plain, amended, publishing, loads))
    print(f"push of {args.forms} vitals forms, nothing published:        median {p:.2f} s  {plain}")
    print(f"push of {args.forms} vitals forms on version 2 (published):  median {q:.2f} s  ratio {q / p:.2f}")
    print(f"publish an amendment over {args.forms} forms on the server:  median {r:.2f} s")
    print(f"load and check the definitions (baseline of a publish):  median {load:.3f} s  ratio {r / load:.1f}")


if __name__ == "__main__":
    main()
