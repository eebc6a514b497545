"""Side by side: this product's sync against a PouchDB 9 laptop (LevelDB) replicating to pouchdb-server 4.2.

Run: python bench/bench_pouchdb.py [--forms 10000] [--rounds 3] [--pg URL] [--scratch DIR]
Needs Node.js and npm; PouchDB is installed from the npm registry into --scratch (default: a folder
in the user cache), never into the repository. Prints medians and ratios from this one run.

The same work on both sides: N completed vitals forms (one document per form for the peer, ~12
audited field changes per form for the product). Each round runs the product and the peer one after
the other on fresh servers and fresh copies of the same laptops, so the two share the machine's
state. Measured per round:
- push of every form of a laptop to an empty server;
- first sync: push, then pull back (the product's sync always does both);
- pull of everything into a fresh laptop;
- a sync with nothing to do (median of 7);
- 50 new forms entered, then one sync;
- peak resident memory of the laptop process and of the server process.
Then five laptops (N/5 forms each) make their first sync at once against one server.
The laptops' data entry is set-up, never timed. Each client phase runs in a child process of its
own, so its peak memory is its own.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests" / "server"))
os.environ.setdefault("CIK_ECRF_KDF_MEMORY_KIB", "8192")

PASSWORD = "Ward7night42"
PEER_PACKAGES = ("pouchdb-node@9.0.0", "pouchdb-server@4.2.0")
PEER_SCRIPT = Path(__file__).with_name("peer_pouchdb.js")
QUIET_REPEATS = 7
MORE_FORMS = 50


# ---------------------------------------------------------------- the peer (PouchDB)


def install_peer(scratch: Path) -> Path:
    """PouchDB and pouchdb-server in a scratch folder; npm runs only the first time."""
    modules = scratch / "node_modules"
    if not (modules / "pouchdb-node").is_dir() or not (modules / ".bin" / "pouchdb-server").exists():
        scratch.mkdir(parents=True, exist_ok=True)
        (scratch / "package.json").write_text('{"name": "cik-ecrf-bench-peer", "private": true}\n')
        print(f"installing {', '.join(PEER_PACKAGES)} into {scratch} (npm, once)...", flush=True)
        subprocess.run(
            ["npm", "install", "--no-audit", "--no-fund", "--prefix", str(scratch), *PEER_PACKAGES],
            check=True,
            stdout=subprocess.DEVNULL,
        )
    shutil.copy(PEER_SCRIPT, scratch / PEER_SCRIPT.name)
    return scratch


def peer(scratch: Path, *args: str) -> dict[str, Any]:
    done = subprocess.run(
        ["node", str(scratch / PEER_SCRIPT.name), *args], cwd=scratch, capture_output=True, text=True, check=False
    )
    if done.returncode != 0:
        raise SystemExit(f"peer {args[0]} failed:\n{done.stderr}")
    return json.loads(done.stdout.strip().splitlines()[-1])


class PeerServer:
    """pouchdb-server on a loopback port over a fresh LevelDB folder."""

    def __init__(self, scratch: Path, folder: Path) -> None:
        from live_server import free_port

        self.scratch, self.folder, self.port = scratch, folder, free_port()
        self.process: subprocess.Popen[bytes] | None = None

    def __enter__(self) -> PeerServer:
        import httpx

        self.folder.mkdir(parents=True)
        binary = self.scratch / "node_modules" / ".bin" / "pouchdb-server"
        self.process = subprocess.Popen(
            [str(binary), "--port", str(self.port), "--dir", str(self.folder), "--no-stdout-logs"],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            cwd=self.folder,
        )
        deadline = time.monotonic() + 60
        while True:  # wait until it answers (a condition, polled)
            try:
                if httpx.get(f"http://127.0.0.1:{self.port}/", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                if time.monotonic() > deadline or self.process.poll() is not None:
                    raise SystemExit("pouchdb-server did not start") from None
            time.sleep(0.05)
        return self

    def db(self, name: str) -> str:
        return f"http://127.0.0.1:{self.port}/{name}"

    def peak_rss_kib(self) -> int:
        assert self.process
        return peak_with_children(self.process.pid)

    def __exit__(self, *exc: object) -> None:
        assert self.process
        self.process.terminate()
        self.process.wait(30)


def peak_of(pid: int) -> int:
    """VmHWM (peak resident set, KiB) of a live process."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1])
    return 0


def peak_with_children(pid: int) -> int:
    """`peak_of` the process plus each of its live child processes' (the product server's seal worker):
    the sum of their peaks, an upper bound of what they held at once."""
    total = peak_of(pid)
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) == pid:
            continue
        try:
            parent = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
            if parent == pid:
                total += peak_of(int(entry.name))
        except (OSError, ValueError, IndexError):
            continue  # ended meanwhile
    return total


# ---------------------------------------------------------------- the product


def product_phase(phase: str, store_dir: Path, user: str, repeats: int, barrier: bool = False) -> None:
    """In a child process: one timed sync phase of the product's laptop; prints one JSON line."""
    from cik_ecrf.definitions.loader import load_study
    from cik_ecrf.store.api import Store
    from cik_ecrf.sync.client import SyncClient, SyncProgress

    study = load_study()
    store = Store.open(store_dir, user, PASSWORD, study=study)
    if phase == "more":
        fill(store, MORE_FORMS)
    if barrier:
        print("ready", flush=True)
        sys.stdin.readline()
    marks: dict[str, float] = {}

    def progress(p: SyncProgress) -> None:
        marks.setdefault(p.phase, time.perf_counter())

    times, pushed, pulled = [], 0, 0
    for _ in range(repeats):
        marks.clear()
        start = time.perf_counter()
        outcome = SyncClient(store).run(progress)
        times.append(time.perf_counter() - start)
        if outcome.error:
            raise SystemExit(f"product {phase}: {outcome.error}")
        pushed, pulled = pushed + outcome.pushed, pulled + outcome.pulled
    push_seconds = (marks.get("pull", start + times[-1]) - start) if "push" in marks else 0.0
    store.close()
    print(
        json.dumps(
            {
                "seconds": statistics.median(times),
                "push_seconds": push_seconds,
                "pushed": pushed,
                "pulled": pulled,
                "peak_rss_kib": peak_of(os.getpid()),  # not ru_maxrss: Linux carries the parent's across exec
            }
        )
    )


def product(phase: str, store_dir: Path, user: str, repeats: int = 1) -> dict[str, Any]:
    command = [sys.executable, __file__, "--phase", phase, "--store", str(store_dir), "--user", user]
    done = subprocess.run([*command, "--repeats", str(repeats)], capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise SystemExit(f"product {phase} failed:\n{done.stderr[-3000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def fill(store: Any, forms: int) -> None:
    from bench_sync import VISITS, vitals_at

    from cik_ecrf.store.entry import SaveRequest

    done = 0
    while done < forms:
        number = store.add_subject()
        for visit in VISITS:
            if done == forms:
                break
            store.save(SaveRequest(number, visit, "vitals", vitals_at(visit)))
            done += 1


class Templates:
    """A server with its users and enrolled laptops, and those laptops filled, made once and copied per round.

    Copies keep every key and token the originals hold, so a round starts from exactly the same state."""

    def __init__(self, root: Path, forms: int, laptops: int) -> None:
        from live_server import ServerProcess

        from cik_ecrf.definitions.loader import load_study
        from cik_ecrf.server import admin
        from cik_ecrf.server.database import open_database
        from cik_ecrf.store.api import Store
        from cik_ecrf.sync.enrol import enrol

        self.root = root
        self.server_db = root / "template-server.db"
        url = f"sqlite:///{self.server_db}"
        engine = open_database(url)
        admin.add_site(engine, "BJ01", "Bench site")
        admin.add_site(engine, "SH02", "Five laptops at once")
        self.users = {"a": "nurse0", "fresh": "nurse1"} | {f"m{i}": f"nurse{i + 2}" for i in range(laptops)}
        for name, user in self.users.items():
            admin.add_user(engine, user, "nurse", "SH02" if name.startswith("m") else "BJ01", PASSWORD)
        engine.dispose()
        study = load_study()
        started = time.perf_counter()
        with ServerProcess(url, root / "template-server.log") as server:
            for name, user in self.users.items():
                enrol(root / f"laptop-{name}", server.url, user, PASSWORD, study=study)
                with Store.open(root / f"laptop-{name}", user, PASSWORD, study=study) as store:
                    if name == "a":
                        fill(store, forms)
                    elif name.startswith("m"):
                        fill(store, max(1, forms // laptops))
        print(f"set-up: laptops entered through the save path in {time.perf_counter() - started:.0f} s", flush=True)

    def laptop(self, name: str, target: Path) -> Path:
        shutil.copytree(self.root / f"laptop-{name}", target)
        return target

    def server(self, kind: str, label: str, pg: str | None) -> tuple[str, Callable[[], None]]:
        if kind == "sqlite":
            target = self.root / f"{label}.db"
            with sqlite3.connect(self.server_db) as src, sqlite3.connect(target) as dst:
                src.backup(dst)  # the write-ahead log's pages included
            return f"sqlite:///{target}", lambda: target.unlink()
        assert pg
        return copy_to_postgres(self.server_db, pg, label)


def copy_to_postgres(source: Path, pg: str, label: str) -> tuple[str, Callable[[], None]]:
    """A fresh PostgreSQL schema holding exactly the template server's rows (sequences moved past them)."""
    from sqlalchemy import MetaData, create_engine, delete, func, insert, select, text

    from cik_ecrf.server.database import open_database

    schema = f"bench_{label}_{uuid.uuid4().hex[:8]}"
    root_engine = create_engine(pg)
    with root_engine.begin() as conn:
        conn.execute(text(f"CREATE SCHEMA {schema}"))
    url = f"{pg}{'&' if '?' in pg else '?'}options=-csearch_path%3D{schema}"
    target = open_database(url)
    source_engine = create_engine(f"sqlite:///{source}")
    tables = MetaData()
    tables.reflect(target)
    with source_engine.connect() as src, target.begin() as dst:
        ordered = [t for t in tables.sorted_tables if t.name != "alembic_version"]
        for table in reversed(ordered):
            dst.execute(delete(table))
        for table in ordered:
            rows = [dict(r._mapping) for r in src.execute(text(f'SELECT * FROM "{table.name}"'))]
            if rows:
                dst.execute(insert(table), rows)
            for column in table.primary_key.columns:
                if column.autoincrement is True or (column.type.python_type is int and len(table.primary_key) == 1):
                    sequence = dst.scalar(text(f"SELECT pg_get_serial_sequence('{table.name}', '{column.name}')"))
                    if sequence:
                        top = dst.scalar(select(func.max(column))) or 0
                        dst.execute(text(f"SELECT setval('{sequence}', {max(top, 1)})"))
    source_engine.dispose()
    target.dispose()

    def drop() -> None:
        with root_engine.begin() as conn:
            conn.execute(text(f"DROP SCHEMA {schema} CASCADE"))
        root_engine.dispose()

    return url, drop


# ---------------------------------------------------------------- one round of each


def product_round(templates: Templates, kind: str, pg: str | None, work: Path, n: int) -> dict[str, float]:
    from live_server import ServerProcess

    url, drop = templates.server(kind, f"round{n}", pg)
    try:
        with ServerProcess(url, work / f"server-{n}.log") as server:
            assert server.process
            a = templates.laptop("a", work / f"a-{n}")
            fresh = templates.laptop("fresh", work / f"fresh-{n}")
            for laptop, user in ((a, "nurse0"), (fresh, "nurse1")):
                point_at(laptop, user, server.url)
            first = product("sync", a, "nurse0")
            pull = product("sync", fresh, "nurse1")
            quiet = product("sync", a, "nurse0", repeats=QUIET_REPEATS)
            more = product("more", a, "nurse0")
            server_peak = peak_with_children(server.process.pid)  # with its seal worker
    finally:
        drop()
    return {
        "push": first["push_seconds"],
        "first sync": first["seconds"],
        "pull": pull["seconds"],
        "no-change sync": quiet["seconds"],
        f"{MORE_FORMS}-form sync": more["seconds"],
        "laptop peak MiB": max(r["peak_rss_kib"] for r in (first, pull, quiet, more)) / 1024,
        "server peak MiB": server_peak / 1024,
    }


def point_at(laptop: Path, user: str, url: str) -> None:
    """A copied laptop talks to this round's server (same database content, another port)."""
    from cik_ecrf.store.api import Store

    with Store.open(laptop, user, PASSWORD) as store:
        store.set_sync_settings(server_url=url)


def peer_round(scratch: Path, forms: int, work: Path, n: int) -> dict[str, float]:
    laptop = work / f"peer-a-{n}"
    peer(scratch, "fill", str(laptop), str(forms))
    pushed_copy = work / f"peer-push-{n}"
    shutil.copytree(laptop, pushed_copy)
    with PeerServer(scratch, work / f"peer-server-{n}") as server:
        push = peer(scratch, "push", str(pushed_copy), server.db("push"))
        first = peer(scratch, "sync", str(laptop), server.db("study"))
        pull = peer(scratch, "pull", str(work / f"peer-fresh-{n}"), server.db("study"))
        quiet = peer(scratch, "quiet", str(laptop), server.db("study"), str(QUIET_REPEATS))
        more = peer(scratch, "more", str(laptop), server.db("study"), str(MORE_FORMS))
        server_peak = server.peak_rss_kib()
    return {
        "push": push["seconds"],
        "first sync": first["seconds"],
        "pull": pull["seconds"],
        "no-change sync": quiet["seconds"],
        f"{MORE_FORMS}-form sync": more["seconds"],
        "laptop peak MiB": max(r["peak_rss_kib"] for r in (push, first, pull, quiet, more)) / 1024,
        "server peak MiB": server_peak / 1024,
    }


def release(children: list[subprocess.Popen[str]]) -> float:
    """Wait until every laptop process has started and opened its store, then let them all sync at once.

    Process start-up (interpreters, imports, the password's key derivation) is not part of the sync."""
    for child in children:
        assert child.stdout
        line = child.stdout.readline().strip()
        if line != "ready":
            raise SystemExit(f"a laptop process did not start: {line or child.wait()}")
    start = time.perf_counter()
    for child in children:
        assert child.stdin
        child.stdin.write("go\n")
        child.stdin.close()
    return start


def many_at_once(
    templates: Templates, kind: str, pg: str | None, scratch: Path, forms: int, laptops: int, work: Path
) -> tuple[float, float]:
    """Wall time of `laptops` first syncs at once, product then peer (each laptop a process of its own)."""
    from live_server import ServerProcess

    url, drop = templates.server(kind, "many", pg)
    try:
        with ServerProcess(url, work / "server-many.log") as server:
            dirs = [templates.laptop(f"m{i}", work / f"many-{i}") for i in range(laptops)]
            for i, d in enumerate(dirs):
                point_at(d, f"nurse{i + 2}", server.url)
            children = [
                subprocess.Popen(
                    [
                        sys.executable,
                        __file__,
                        "--phase",
                        "sync",
                        "--store",
                        str(d),
                        "--user",
                        f"nurse{i + 2}",
                        "--barrier",
                    ],
                    stdin=subprocess.PIPE,
                    stdout=subprocess.PIPE,
                    text=True,
                )
                for i, d in enumerate(dirs)
            ]
            start = release(children)
            if any(c.wait() for c in children):
                log = (work / "server-many.log").read_text(errors="replace")[-4000:]
                raise SystemExit(f"a product laptop failed in the five-at-once run; the server's log ends:\n{log}")
            ours = time.perf_counter() - start
    finally:
        drop()
    peer_dirs = [work / f"peer-many-{i}" for i in range(laptops)]
    for d in peer_dirs:
        peer(scratch, "fill", str(d), str(max(1, forms // laptops)))
    with PeerServer(scratch, work / "peer-server-many") as server:
        script = str(scratch / PEER_SCRIPT.name)
        children = [
            subprocess.Popen(
                ["node", script, "syncwait", str(d), server.db("study")],
                cwd=scratch,
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                text=True,
            )
            for d in peer_dirs
        ]
        start = release(children)
        if any(c.wait() for c in children):
            raise SystemExit("a peer laptop failed in the five-at-once run")
        theirs = time.perf_counter() - start
    return ours, theirs


# ---------------------------------------------------------------- report


TARGETS = {
    "push": 0.5,
    "first sync": 0.5,
    "pull": 0.5,
    "no-change sync": 0.5,
    "laptop peak MiB": 1.2,
    "server peak MiB": 1.2,
}


def report(kind: str, ours: list[dict[str, float]], theirs: list[dict[str, float]]) -> None:
    print(f"\n== {kind}: medians of {len(ours)} interleaved rounds ==")
    print(f"{'measure':<18} {'product':>10} {'PouchDB':>10} {'ratio':>7}  target")
    for key in ours[0]:
        a = statistics.median(r[key] for r in ours)
        b = statistics.median(r[key] for r in theirs)
        unit = "" if "MiB" in key else " s"
        target = TARGETS.get(key)
        verdict = "" if target is None else f"<= {target}x  {'met' if a / b <= target else 'NOT met'}"
        shown = (lambda v: f"{v:9.1f}") if "MiB" in key else (lambda v: f"{v:9.3f}")
        print(f"{key:<18} {shown(a)}{unit or ' '} {shown(b)}{unit or ' '} {a / b:6.2f}x  {verdict}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--forms", type=int, default=10_000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--laptops", type=int, default=5)
    parser.add_argument("--pg", default=os.environ.get("CIK_ECRF_TEST_DATABASE_URL"))
    parser.add_argument("--skip-sqlite", action="store_true")
    parser.add_argument(
        "--scratch",
        type=Path,
        default=Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "cik-ecrf-bench" / "pouchdb",
    )
    parser.add_argument("--phase", help=argparse.SUPPRESS)
    parser.add_argument("--store", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--user", help=argparse.SUPPRESS)
    parser.add_argument("--repeats", type=int, default=1, help=argparse.SUPPRESS)
    parser.add_argument("--barrier", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.phase:
        product_phase(args.phase, args.store, args.user, args.repeats, args.barrier)
        return
    scratch = install_peer(args.scratch)
    kinds = ([] if args.skip_sqlite else ["sqlite"]) + (["postgresql"] if args.pg else [])
    with tempfile.TemporaryDirectory(prefix="bench-pouchdb-") as tmp:
        root = Path(tmp)
        templates = Templates(root, args.forms, args.laptops)
        for kind in kinds:
            ours, theirs = [], []
            for n in range(args.rounds):
                work = root / f"{kind}-{n}"
                work.mkdir()
                ours.append(product_round(templates, kind, args.pg, work, n))
                theirs.append(peer_round(scratch, args.forms, work, n))
                print(f"{kind} round {n + 1}: product {ours[-1]}  PouchDB {theirs[-1]}", flush=True)
            report(kind, ours, theirs)
            work = root / f"{kind}-many"
            work.mkdir()
            a, b = many_at_once(templates, kind, args.pg, scratch, args.forms, args.laptops, work)
            print(
                f"{args.laptops} laptops at once (first sync, {args.forms // args.laptops} forms each): product {a:.2f} s, PouchDB {b:.2f} s, ratio {a / b:.2f}x"
            )
    if not args.pg:
        print("\n(PostgreSQL skipped: give --pg URL or set CIK_ECRF_TEST_DATABASE_URL)")


if __name__ == "__main__":
    main()
