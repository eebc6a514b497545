"""A sync conflict opens a query on the field (server-side, once); a script lists the conflict with every
candidate and resolves it from the command line; the resolution answers the query on every laptop.
`cik-ecrf show` marks each form: conflicts with candidates, open queries, SDV, lock and signatures."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from live_server import PASSWORD, LiveServer, laptop
from sync_fixtures import VITALS, save, sync, values

from cik_ecrf.cli import main
from cik_ecrf.store.api import Store


def cli(capsys: pytest.CaptureFixture[str], directory: Path, user: str, *args: str) -> tuple[int, str, str]:
    code = main([*args, "--data-dir", str(directory), "--user", user])
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture(autouse=True)
def _password(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CIK_ECRF_PASSWORD", PASSWORD)


def _conflict(server: LiveServer, tmp_path: Path, study: Any) -> tuple[Store, Store, str, str]:
    a = laptop(tmp_path / "a", server.url, "nurse1", study)
    b = laptop(tmp_path / "b", server.url, "nurse2", study)
    number = a.add_subject()
    instance = save(a, number, "D1", "vitals", VITALS)
    sync(a), sync(b)
    save(a, number, "D1", "vitals", {"TEMP": 37.1}, reason="re-measured")
    save(b, number, "D1", "vitals", {"TEMP": 38.2}, reason="re-measured")
    sync(a), sync(b), sync(a)
    return a, b, number, instance


def test_a_conflict_opens_a_query_and_is_resolved_from_the_command_line(
    server: LiveServer, tmp_path: Path, study, capsys: pytest.CaptureFixture[str]
) -> None:
    a, b, number, instance = _conflict(server, tmp_path, study)
    [query] = a.monitoring.queries(kind="conflict")
    assert (query.field_id, query.status, query.opened_by, query.instance_id) == ("TEMP", "open", "server", instance)
    save(b, number, "D1", "vitals", {"TEMP": 38.3}, reason="again")  # a third value: the same conflict, one query
    sync(b), sync(a)
    assert len(a.monitoring.queries(kind="conflict")) == 1
    a.close(), b.close()

    code, out, _ = cli(capsys, tmp_path / "b", "nurse2", "conflicts", number, "--json")
    [listed] = json.loads(out)
    assert code == 0 and (listed["field"], listed["instance"]) == ("TEMP", instance)
    assert {(c["value"], c["username"]) for c in listed["candidates"]} >= {(37.1, "nurse1"), (38.2, "nurse2")}
    assert all(c["device_id"] and c["at_utc"] for c in listed["candidates"])
    code, out, _ = cli(capsys, tmp_path / "b", "nurse2", "conflicts")
    assert "TEMP" in out and "by nurse1 on device" in out

    code, _, err = cli(
        capsys, tmp_path / "b", "nurse2", "resolve", instance, "TEMP", "--value", "{oops", "--reason", "x"
    )
    assert code == 1 and err.startswith("error: --value: not valid JSON") and len(err.splitlines()) == 1
    code, _, err = cli(
        capsys, tmp_path / "b", "nurse2", "resolve", instance, "TEMP", "--value", "38.2", "--reason", " "
    )
    assert code == 1 and "reason" in err and len(err.splitlines()) == 1
    code, out, _ = cli(
        capsys, tmp_path / "b", "nurse2", "resolve", instance, "TEMP", "--value", "38.2", "--reason", "chart: 38.2"
    )
    assert code == 0 and "resolved TEMP" in out

    b = Store.open(tmp_path / "b", "nurse2", PASSWORD, study=study)
    a = Store.open(tmp_path / "a", "nurse1", PASSWORD, study=study)
    assert sync(b).ok
    sync(a)
    assert a.conflicts() == [] and values(a, number)[("D1", "vitals")]["TEMP"] == 38.2
    [answered] = a.monitoring.queries(kind="conflict")
    assert answered.status == "answered"
    assert [m.transition for m in a.monitoring.thread(answered.id)] == ["conflict_open", "conflict_resolved"]
    a.close(), b.close()
    monitor = laptop(tmp_path / "m", server.url, "mon1", study)
    sync(monitor)
    monitor.close()
    code, out, _ = cli(capsys, tmp_path / "m", "mon1", "query", "close", answered.id)
    assert code == 0
    code, out, _ = cli(capsys, tmp_path / "m", "mon1", "query", "list", "--status", "closed", "--json")
    assert [q["id"] for q in json.loads(out)] == [answered.id]


def test_show_marks_conflicts_queries_sdv_locks_and_signatures(
    server: LiveServer, tmp_path: Path, study, capsys: pytest.CaptureFixture[str]
) -> None:
    investigator = laptop(tmp_path / "i", server.url, "inv1", study)
    number = investigator.add_subject()
    save(investigator, number, "D1", "vitals", VITALS)
    investigator.sign(number, "D1", "vitals", meaning="author", username="inv1", password=PASSWORD)
    sync(investigator)
    investigator.close()
    code, out, _ = cli(capsys, tmp_path / "i", "inv1", "show", number, "D1", "vitals")
    assert code == 0 and "signed by Inv1 (inv1, investigator) at" in out and "meaning: author" in out

    monitor = laptop(tmp_path / "m", server.url, "mon1", study)
    manager = laptop(tmp_path / "dm", server.url, "dm1", study)
    sync(monitor), sync(manager)
    query = monitor.monitoring.open_query(number, "D1", "vitals", "HR", text="HR against the chart?")
    monitor.monitoring.verify(number, "D1", "vitals", ["TEMP"])
    sync(monitor)
    manager.monitoring.lock(number, "D1")
    sync(manager)
    manager.monitoring.unlock(number, "D1", reason="query on HR")
    sync(manager)
    monitor.close(), manager.close()

    code, out, _ = cli(capsys, tmp_path / "m", "mon1", "sdv", number, "--progress")
    assert code == 0 and "D1: 0/1 forms verified" in out
    code, out, _ = cli(capsys, tmp_path / "m", "mon1", "query", "show", query)
    assert code == 0 and "mon1 open → open: HR against the chart?" in out
    code, _, err = cli(capsys, tmp_path / "m", "mon1", "lock", number)
    assert code == 1 and err == "error: lock rule: a monitor cannot lock (data managers only)\n"
    investigator = Store.open(tmp_path / "i", "inv1", PASSWORD, study=study)
    sync(investigator)
    investigator.close()
    code, out, _ = cli(capsys, tmp_path / "i", "inv1", "show", number, "D1", "vitals")
    assert code == 0
    assert "NEEDS SIGNING AGAIN" in out and "cleared at" in out and "unlocked by dm1" in out
    assert f"query [open] on HR: HR against the chart? ({query})" in out
    assert "SDV: fields verified: TEMP" in out and "LOCKED" not in out
    code, out, _ = cli(capsys, tmp_path / "i", "inv1", "show", number, "D1", "vitals", "--json")
    [form] = json.loads(out)["forms"]
    assert form["needs_signing_again"] and form["signatures"][0]["active"] is False
    assert [q["id"] for q in form["queries"]] == [query] and form["sdv"]["fields"] == {"TEMP": "verified"}
    assert form["lock"] is None and form["conflicts"] == []


def test_show_marks_a_conflict_and_a_lock(
    server: LiveServer, tmp_path: Path, study, capsys: pytest.CaptureFixture[str]
) -> None:
    a, b, number, instance = _conflict(server, tmp_path, study)
    manager = laptop(tmp_path / "dm", server.url, "dm1", study)
    sync(manager)
    manager.monitoring.lock(number, "D1", "vitals")
    sync(manager), sync(a)
    a.close(), b.close(), manager.close()
    code, out, _ = cli(capsys, tmp_path / "a", "nurse1", "show", number)
    assert code == 0 and "LOCKED (form lock) by dm1" in out
    [temp] = [line for line in out.splitlines() if line.strip().startswith("TEMP =")]
    assert "IN CONFLICT" in temp and "by nurse1" in temp and "by nurse2" in temp
    code, _, err = cli(
        capsys, tmp_path / "a", "nurse1", "resolve", instance, "TEMP", "--value", "37.1", "--reason", "chart"
    )
    assert code == 1 and err.startswith("error: lock rule:") and len(err.splitlines()) == 1
    code, out, _ = cli(capsys, tmp_path / "a", "nurse1", "show", number, "--json")
    [form] = json.loads(out)["forms"]
    assert form["lock"]["scope"] == "form" and form["conflicts"][0]["field"] == "TEMP"
