"""Test harness: a real server (uvicorn on a loopback port) over a real database, and laptops enrolled with it.

The database is an SQLite file, or, when CIK_ECRF_TEST_DATABASE_URL is set, a fresh PostgreSQL
schema of that database (dropped afterwards).
"""

from __future__ import annotations

import contextlib
import os
import select
import signal
import socket
import ssl
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import httpx
import uvicorn
from sqlalchemy import Engine, create_engine, text

from cik_ecrf.server import admin
from cik_ecrf.server.app import create_app
from cik_ecrf.server.database import open_database
from cik_ecrf.server.settings import ServerSettings
from cik_ecrf.store.api import Store
from cik_ecrf.sync.enrol import enrol

PG_URL = os.environ.get("CIK_ECRF_TEST_DATABASE_URL")
PASSWORD = "Ward7night42"


@contextlib.contextmanager
def database_url(tmp_path: Path, backend: str = "sqlite") -> Iterator[str]:
    if backend == "sqlite":
        yield f"sqlite:///{tmp_path / 'server.db'}"
        return
    assert PG_URL, "PostgreSQL tests need CIK_ECRF_TEST_DATABASE_URL"
    schema = f"t_{uuid.uuid4().hex[:12]}"
    root = create_engine(PG_URL)
    with root.begin() as conn:
        conn.execute(text(f"CREATE SCHEMA {schema}"))
    separator = "&" if "?" in PG_URL else "?"
    try:
        yield f"{PG_URL}{separator}options=-csearch_path%3D{schema}"
    finally:
        with root.begin() as conn:
            conn.execute(text(f"DROP SCHEMA {schema} CASCADE"))
        root.dispose()


def backends() -> list[str]:
    return ["sqlite", "postgresql"] if PG_URL else ["sqlite"]


class _SignallingServer(uvicorn.Server):
    """uvicorn that sets `ready` once it listens (or gave up starting), so tests wait on an event."""

    def __init__(self, config: uvicorn.Config) -> None:
        super().__init__(config)
        self.ready = threading.Event()

    async def startup(self, sockets: list[socket.socket] | None = None) -> None:
        try:
            await super().startup(sockets=sockets)
        finally:
            self.ready.set()

    def run(self, sockets: list[socket.socket] | None = None) -> None:
        try:
            super().run(sockets=sockets)
        finally:
            self.ready.set()  # a server that died before starting does not leave the test waiting


class LiveServer:
    """uvicorn serving the app in a thread, on a port the OS picked."""

    def __init__(self, engine: Engine, port: int = 0, settings: ServerSettings | None = None) -> None:
        self.engine = engine
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind(("127.0.0.1", port))
        self.port = self.sock.getsockname()[1]
        self.url = f"http://127.0.0.1:{self.port}"
        self.app = create_app(engine, settings)
        config = uvicorn.Config(self.app, log_level="warning", lifespan="off", access_log=False)
        self.server = _SignallingServer(config)
        self.thread = threading.Thread(target=self.server.run, kwargs={"sockets": [self.sock]}, daemon=True)

    def __enter__(self) -> LiveServer:
        self.thread.start()
        if not self.server.ready.wait(timeout=20) or not self.server.started:
            raise RuntimeError("uvicorn did not start")
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=20)
        self.sock.close()
        if self.app.state.reader is not self.engine:
            self.app.state.reader.dispose()


def site_with_users(
    engine: Engine,
    site: str = "BJ01",
    users: tuple[tuple[str, str], ...] = (("nurse1", "nurse"), ("nurse2", "nurse"), ("nurse3", "nurse")),
) -> None:
    admin.add_site(engine, site, f"Site {site}")
    for name, role in users:
        admin.add_user(engine, name, role, site, PASSWORD, full_name=name.title())


def laptop(directory: Path, url: str, user: str, study: Any) -> Store:
    """A laptop enrolled by `user` (its store created by enrolment), opened as that user."""
    enrol(directory, url, user, PASSWORD, study=study)
    return Store.open(directory, user, PASSWORD, study=study)


def open_server_db(url: str) -> Engine:
    return open_database(url)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_env() -> dict[str, str]:
    return {
        **os.environ,
        "CIK_ECRF_PASSWORD": PASSWORD,
        "CIK_ECRF_KDF_MEMORY_KIB": os.environ.get("CIK_ECRF_KDF_MEMORY_KIB", "8192"),
    }


def group_members(group: int) -> list[int]:
    """The live (not zombie) processes of a process group (Linux: read from /proc)."""
    members = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:  # ended meanwhile
            continue
        state, _ppid, pgrp = stat[stat.rindex(")") + 2 :].split()[:3]
        if int(pgrp) == group and state != "Z":
            members.append(int(entry.name))
    return members


class ServerProcess:
    """`cik-ecrf server` in a child process, so that a test can SIGKILL it and start it again.

    It leads a process group of its own: `kill` stops the whole group (uvicorn's worker processes
    and multiprocessing's resource tracker too) and waits until every one of them has ended.
    """

    def __init__(
        self,
        database_url: str,
        log: Path,
        port: int | None = None,
        tls: tuple[Path, Path] | None = None,
        workers: int = 1,
        options: Sequence[str] = (),
    ) -> None:
        self.database_url = database_url
        self.options = tuple(options)  # more `cik-ecrf server` options
        self.workers = workers
        self.log = log
        self.port = port or free_port()
        self.tls = tls  # (certificate, key)
        self.url = f"{'https' if tls else 'http'}://127.0.0.1:{self.port}"
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> ServerProcess:
        command = [
            sys.executable,
            "-c",
            "from cik_ecrf.cli import main; raise SystemExit(main())",
            "server",
            "--database-url",
            self.database_url,
            "--port",
            str(self.port),
            "--workers",
            str(self.workers),
        ]
        if self.tls:
            command += ["--cert", str(self.tls[0]), "--key", str(self.tls[1])]
        command += self.options
        with open(self.log, "ab") as log:
            self.process = subprocess.Popen(
                command, env=test_env(), stdout=subprocess.DEVNULL, stderr=log, start_new_session=True
            )
        deadline = time.monotonic() + 60
        while not self._ready():
            if time.monotonic() > deadline:
                raise TimeoutError("the server process did not answer within 60 s")
            with contextlib.suppress(subprocess.TimeoutExpired):  # between attempts, wait on the process itself
                self.process.wait(timeout=0.05)  # returns at once if it died; `_ready` then says why
        return self

    def _ready(self) -> bool:
        assert self.process is not None
        if self.process.poll() is not None:
            raise RuntimeError(f"server process ended: {self.log.read_text(errors='replace')[-2000:]}")
        try:
            verify = ssl.create_default_context(cafile=str(self.tls[0])) if self.tls else True
            return httpx.get(f"{self.url}/api/v1/info", timeout=2, verify=verify).status_code == 200
        except httpx.TransportError:
            return False

    def kill(self) -> None:
        """SIGKILL the server's whole process group, and wait until none of its processes is left."""
        if self.process is None:
            return
        if not hasattr(os, "killpg"):  # Windows: no process groups to signal
            self.process.kill()
            self.process.wait(timeout=30)
            return
        group = self.process.pid
        handles = []
        for pid in group_members(group):  # a pidfd becomes readable when its process ends
            with contextlib.suppress(ProcessLookupError):
                handles.append(os.pidfd_open(pid))
        try:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(group, signal.SIGKILL)
            self.process.wait(timeout=30)
            for handle in handles:
                if not select.select([handle], [], [], 30)[0]:
                    raise TimeoutError(f"a process of server group {group} outlived SIGKILL by 30 s")
        finally:
            for handle in handles:
                os.close(handle)

    def __enter__(self) -> ServerProcess:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.kill()


def sync_process(directory: Path, user: str, *extra: str) -> subprocess.Popen[bytes]:
    command = [
        sys.executable,
        "-c",
        "from cik_ecrf.cli import main; raise SystemExit(main())",
        "sync",
        "--data-dir",
        str(directory),
        "--user",
        user,
        *extra,
    ]
    return subprocess.Popen(command, env=test_env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE)
