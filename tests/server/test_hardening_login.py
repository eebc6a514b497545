"""Password guessing against a live server: lockouts per user name and per address, kept in the
database (a restarted server still refuses), lifted by an administrator; unknown users cost the same
argon2 check as known ones; parallel guesses get no more tries than the limit."""

from __future__ import annotations

import datetime as dt
import re
import threading
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from argon2 import PasswordHasher
from live_server import PASSWORD, LiveServer, backends, database_url, open_server_db, site_with_users

from cik_ecrf.cli import main
from cik_ecrf.server import admin
from cik_ecrf.server.ratelimit import Limits
from cik_ecrf.server.settings import ServerSettings
from cik_ecrf.sync.protocol import API

LIMITS = Limits(user_failures=3, address_failures=8, lockout=dt.timedelta(minutes=15))


@pytest.fixture(params=backends())
def url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    with database_url(tmp_path, request.param) as url:
        engine = open_server_db(url)
        site_with_users(engine, "BJ01", (("nurse1", "nurse"), ("nurse2", "nurse"), ("gone1", "nurse")))
        admin.set_active(engine, "gone1", False)
        engine.dispose()
        yield url


@pytest.fixture
def live(url: str) -> Iterator[LiveServer]:
    engine = open_server_db(url)
    with LiveServer(engine, settings=ServerSettings(login=LIMITS)) as server:
        yield server
    engine.dispose()


def enrol(server: LiveServer, user: str, password: str) -> httpx.Response:
    body = {"username": user, "password": password, "device_id": str(uuid.uuid4())}
    return httpx.post(f"{server.url}{API}/enrol", json=body, timeout=60)


@pytest.fixture
def verifies(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Every argon2 verification the server runs (argon2's own call, watched, not replaced)."""
    calls: list[str] = []
    original = PasswordHasher.verify

    def watched(self: PasswordHasher, hash: str | bytes, password: str | bytes) -> bool:
        calls.append(str(password))
        return original(self, hash, password)

    monkeypatch.setattr(PasswordHasher, "verify", watched)
    return calls


def test_wrong_passwords_lock_the_user_until_an_administrator_unlocks(
    live: LiveServer, url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    for _ in range(LIMITS.user_failures):
        assert enrol(live, "nurse1", "Wrong-password9").status_code == 401
    locked = enrol(live, "nurse1", PASSWORD)  # the right password, while locked
    assert locked.status_code == 429
    assert "cik-ecrf server user unlock nurse1" in locked.json()["detail"]
    assert enrol(live, "nurse2", PASSWORD).status_code == 200  # another user of the same address is not locked
    assert main(["server", "lockouts", "--database-url", url]) == 0
    assert "user nurse1 until" in capsys.readouterr().out
    assert main(["server", "user", "unlock", "nurse1", "--database-url", url]) == 0
    assert "unlocked nurse1" in capsys.readouterr().out
    assert enrol(live, "nurse1", PASSWORD).status_code == 200
    assert main(["server", "user", "unlock", "nurse1", "--database-url", url]) == 0
    assert "nurse1 was not locked out" in capsys.readouterr().out
    assert main(["server", "user", "unlock", "nobody", "--database-url", url]) == 1
    assert "no user nobody" in capsys.readouterr().err


def test_a_lockout_holds_across_a_restart(url: str) -> None:
    engine = open_server_db(url)
    with LiveServer(engine, settings=ServerSettings(login=LIMITS)) as first:
        for _ in range(LIMITS.user_failures):
            assert enrol(first, "nurse1", "Wrong-password9").status_code == 401
    with LiveServer(engine, settings=ServerSettings(login=LIMITS)) as second:
        assert enrol(second, "nurse1", PASSWORD).status_code == 429
    engine.dispose()


def test_a_success_forgets_the_failures_before_it(live: LiveServer) -> None:
    for _ in range(3):
        for _ in range(LIMITS.user_failures - 1):
            assert enrol(live, "nurse1", "Wrong-password9").status_code == 401
        assert enrol(live, "nurse1", PASSWORD).status_code == 200


def test_unknown_names_are_locked_like_known_ones(live: LiveServer) -> None:
    answers = [enrol(live, name, "Wrong-password9") for name in ("ghost", "nurse2") for _ in range(4)]
    assert [a.status_code for a in answers] == [401, 401, 401, 429] * 2
    assert answers[0].json() == answers[4].json()  # nothing tells which of the two exists
    # the same words but for the name and the unlock time (a minute may turn between the two lockouts)
    until = re.compile(r"\d{4}-\d\d-\d\d \d\d:\d\d UTC")
    first, second = (until.sub("TIME", answers[i].json()["detail"]) for i in (3, 7))
    assert until.search(answers[3].json()["detail"]) and first.replace("ghost", "NAME") == second.replace(
        "nurse2", "NAME"
    )


def test_one_address_trying_many_names_is_locked(live: LiveServer, url: str, capsys: pytest.CaptureFixture) -> None:
    for i in range(LIMITS.address_failures):
        assert enrol(live, f"guess{i}", "Wrong-password9").status_code == 401
    refused = enrol(live, "nurse1", PASSWORD)
    assert refused.status_code == 429 and "server address unlock 127.0.0.1" in refused.json()["detail"]
    assert main(["server", "address", "unlock", "127.0.0.1", "--database-url", url]) == 0
    assert "unlocked 127.0.0.1" in capsys.readouterr().out
    assert enrol(live, "nurse1", PASSWORD).status_code == 200


def test_unknown_inactive_and_known_users_cost_one_argon2_check_each(live: LiveServer, verifies: list[str]) -> None:
    """Equal work, so equal time (measured in bench/server_login_timing.py, not asserted here)."""
    for name, password, status in (
        ("nobody", "Wrong-password1", 401),
        ("gone1", "Wrong-password2", 401),
        ("gone1", PASSWORD, 401),
        ("nurse1", "Wrong-password3", 401),
        ("nurse2", PASSWORD, 200),
    ):
        before = len(verifies)
        assert enrol(live, name, password).status_code == status
        assert verifies[before:] == [password], name


def test_parallel_guesses_get_no_more_tries_than_the_limit(live: LiveServer, verifies: list[str]) -> None:
    statuses: list[int] = []
    start = threading.Barrier(10)

    def guess() -> None:
        start.wait()
        statuses.append(enrol(live, "nurse1", "Wrong-password9").status_code)

    threads = [threading.Thread(target=guess) for _ in range(10)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(statuses) == [401] * LIMITS.user_failures + [429] * (10 - LIMITS.user_failures)
    assert len(verifies) == LIMITS.user_failures  # the locked-out ones were refused before any check
