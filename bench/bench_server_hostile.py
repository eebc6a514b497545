"""Hostile clients against `cik-ecrf server`: sign-in timing for unknown and known users, and the
server's memory under oversized pushes.

Run: python bench/bench_server_hostile.py [--rounds 30]
Prints figures measured in this one run; nothing is asserted.

1. Enrolment answer times (median, p90 over interleaved rounds) for an unknown user, an inactive
   user, a known user with a wrong password and a known user with the right one; baselines from
   the same run: /info (a request with no work) and one bare argon2 verify in this process. Equal
   work means an unknown name cannot be told from a known one by time.
2. The server process's peak memory (VmHWM) after six 200 MB pushes at once without a token (with a
   Content-Length, then chunked), then six chunked 200 MB pushes with a valid token (the default
   32 MB limit), against the idle baseline.
"""

from __future__ import annotations

import argparse
import socket
import statistics
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests" / "server"))

import httpx  # noqa: E402
from argon2 import PasswordHasher  # noqa: E402
from live_server import PASSWORD, ServerProcess, group_members, open_server_db, site_with_users  # noqa: E402

from cik_ecrf.server import admin  # noqa: E402
from cik_ecrf.sync.protocol import API  # noqa: E402

MB = 1024 * 1024


def timed(call: object) -> float:
    start = time.perf_counter()
    call()  # type: ignore[operator]
    return (time.perf_counter() - start) * 1000


def summary(values: list[float]) -> str:
    ordered = sorted(values)
    return f"median {statistics.median(ordered):7.1f} ms   p90 {ordered[int(len(ordered) * 0.9)]:7.1f} ms"


def peak_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1])
    return 0


def flood(port: int, token: str | None, chunked: bool) -> str:
    """Send up to 200 MB of push body; stop as soon as the server answers. Returns its status line."""
    with socket.create_connection(("127.0.0.1", port), timeout=60) as sock:
        auth = f"Authorization: Bearer {token}\r\n" if token else ""
        length = "Transfer-Encoding: chunked\r\n" if chunked else f"Content-Length: {200 * MB}\r\n"
        sock.sendall(
            f"POST {API}/push HTTP/1.1\r\nHost: x\r\n{auth}Content-Type: application/json\r\n{length}\r\n".encode()
        )
        block = b"[" * MB
        chunk = b"%x\r\n%s\r\n" % (len(block), block) if chunked else block
        sock.settimeout(0.0)
        sent = 0
        while sent < 200:
            try:
                answer = sock.recv(200)
                if answer:
                    return answer.split(b"\r\n", 1)[0].decode() + f" after {sent} MB sent"
            except BlockingIOError:
                pass
            except OSError as exc:
                return f"closed ({exc.__class__.__name__}) after {sent} MB sent"
            try:
                sock.settimeout(60)
                sock.sendall(chunk)
                sock.settimeout(0.0)
                sent += 1
            except OSError as exc:
                return f"closed ({exc.__class__.__name__}) after {sent} MB sent"
        sock.settimeout(60)
        return sock.recv(200).split(b"\r\n", 1)[0].decode() + f" after {sent} MB sent"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=30)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as scratch:
        url = f"sqlite:///{Path(scratch) / 'server.db'}"
        engine = open_server_db(url)
        site_with_users(engine, "BJ01", (("nurse1", "nurse"), ("gone1", "nurse")))
        admin.set_active(engine, "gone1", False)
        engine.dispose()
        options = ("--login-failures", "100000", "--address-failures", "100000", "--log-level", "error")
        with ServerProcess(url, Path(scratch) / "server.log", options=options) as server, httpx.Client() as http:
            cases = {
                "unknown user": ("nobody", "Wrong-password9"),
                "inactive user": ("gone1", "Wrong-password9"),
                "known, wrong password": ("nurse1", "Wrong-password9"),
                "known, right password": ("nurse1", PASSWORD),
            }
            times: dict[str, list[float]] = {name: [] for name in [*cases, "/info (no work)"]}
            for _ in range(args.rounds):
                for name, (user, password) in cases.items():
                    body = {"username": user, "password": password, "device_id": str(uuid.uuid4())}
                    times[name].append(timed(lambda body=body: http.post(f"{server.url}{API}/enrol", json=body)))
                times["/info (no work)"].append(timed(lambda: http.get(f"{server.url}{API}/info")))
            stored = PasswordHasher().hash(PASSWORD)
            bare = [timed(lambda: PasswordHasher().verify(stored, PASSWORD)) for _ in range(args.rounds)]
            print(f"enrolment answer times, {args.rounds} interleaved rounds (SQLite server, one worker):")
            for name, values in times.items():
                print(f"  {name:24} {summary(values)}")
            print(f"  {'bare argon2 verify':24} {summary(bare)}   (in this process)")

            token = http.post(
                f"{server.url}{API}/enrol",
                json={"username": "nurse1", "password": PASSWORD, "device_id": str(uuid.uuid4())},
            ).json()["token"]
            assert server.process is not None
            pids = group_members(server.process.pid)
            idle = {pid: peak_kib(pid) for pid in pids}
            print(f"server peak memory (VmHWM) idle: {max(idle.values()) / 1024:.0f} MB")
            for label, with_token, chunked in (
                ("six 200 MB pushes, no token, Content-Length", None, False),
                ("six 200 MB pushes, no token, chunked", None, True),
                ("six 200 MB pushes, valid token, chunked", token, True),
            ):
                answers: list[str] = []
                threads = [
                    threading.Thread(target=lambda: answers.append(flood(server.port, with_token, chunked)))
                    for _ in range(6)
                ]
                for thread in threads:
                    thread.start()
                for thread in threads:
                    thread.join()
                peak = max(peak_kib(pid) for pid in pids)
                print(f"  {label}: peak {peak / 1024:.0f} MB; answers: {sorted(set(answers))}")


if __name__ == "__main__":
    main()
