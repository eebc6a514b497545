"""Queries opened in bulk from a CSV (all or none, each error as FILE:LINE), and a warning an
investigator marks for review: a query of kind review that the investigator, its opener, may close."""

from __future__ import annotations

from pathlib import Path

import pytest
from live_server import PASSWORD, LiveServer, laptop
from sync_fixtures import VITALS, save, sync

from cik_ecrf.cli import main
from cik_ecrf.store.errors import StoreError, ValidationFailed


def test_queries_open_in_bulk_from_a_csv_or_not_at_all(
    server: LiveServer, tmp_path: Path, study, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    nurse = laptop(tmp_path / "n", server.url, "nurse1", study)
    numbers = [nurse.add_subject() for _ in range(3)]
    for number in numbers:
        save(nurse, number, "D1", "vitals", VITALS)
    sync(nurse)
    monitor = laptop(tmp_path / "m", server.url, "mon1", study)
    sync(monitor)
    bad = tmp_path / "bad.csv"
    bad.write_text(
        "subject,visit,form,field,text\n"
        f"{numbers[0]},D1,vitals,HR,check HR\n"
        "NOBODY,D1,vitals,HR,who?\n"
        f"{numbers[1]},D1,vitals,NOSUCH,x\n"
        f"{numbers[1]},D1,vitals,HR,\n"
        f"{numbers[2]},D1,vitals\n",
        encoding="utf-8",
    )
    with pytest.raises(ValidationFailed) as refused:
        monitor.monitoring.import_queries(bad)
    assert [line.split(": ")[0] for line in refused.value.lines] == [f"{bad}:{n}" for n in (3, 4, 5, 6)]
    assert "no subject 'NOBODY'" in refused.value.lines[0] and "NOSUCH" in refused.value.lines[1]
    assert monitor.monitoring.queries() == []
    good = tmp_path / "good.csv"
    good.write_text(
        "\ufeffsubject,visit,form,field,text\n"
        + "".join(f"{n},D1,vitals,HR,HR against the chart\n" for n in numbers)
        + f"{numbers[0]},D1,,,visit missing a form?\n"
        + f"{numbers[1]},D1,vitals,,whole form\n",
        encoding="utf-8",
    )
    ids = monitor.monitoring.import_queries(good)
    assert len(ids) == 5
    scopes = sorted(q.scope for q in monitor.monitoring.queries(status="open"))
    assert scopes == ["field", "field", "field", "form", "visit"]
    assert monitor.monitoring.query_counts()[numbers[1]] == {"open": 2}
    assert monitor.monitoring.query_counts_by_visit(numbers[0]) == {(numbers[0], "D1"): {"open": 2}}
    everything = monitor.monitoring.queries()
    assert monitor.monitoring.queries(limit=2, offset=1) == everything[1:3]
    assert monitor.monitoring.count_queries(status="open") == 5 == monitor.monitoring.count_queries()
    assert monitor.monitoring.count_queries(numbers[1], form_id="vitals") == 2
    assert sync(monitor).ok
    sync(nurse)
    assert len(nurse.monitoring.queries(numbers[0])) == 2
    nurse.close(), monitor.close()
    monkeypatch.setenv("CIK_ECRF_PASSWORD", PASSWORD)
    capsys.readouterr()  # the loopback server's log lines so far (when an earlier test sent its log to stderr)
    code = main(["query", "import", str(bad), "--data-dir", str(tmp_path / "m"), "--user", "mon1"])
    err = capsys.readouterr().err
    assert code == 1 and len(err.splitlines()) == 4 and err.startswith(f"{bad}:3: ")


def test_a_warning_marked_for_review_is_a_query_its_opener_closes(server: LiveServer, tmp_path: Path, study) -> None:
    investigator = laptop(tmp_path / "i", server.url, "inv1", study)
    number = investigator.add_subject()
    instance = save(investigator, number, "D1", "vitals", {**VITALS, "HR": 30}, confirm_warnings=True)
    query = investigator.monitoring.mark_for_review(
        number, "D1", "vitals", "HR", "bradycardia confirmed, please review"
    )
    [row] = investigator.monitoring.queries_for_instance(instance)
    assert (row.kind, row.status, row.opened_by) == ("review", "open", "inv1")
    assert sync(investigator).ok
    monitor = laptop(tmp_path / "m", server.url, "mon1", study)
    sync(monitor)
    assert monitor.monitoring.query(query).kind == "review"
    investigator.monitoring.close_query(query, "reviewed with the monitor")
    assert sync(investigator).ok
    sync(monitor)
    assert monitor.monitoring.query(query).status == "closed"
    with pytest.raises(StoreError, match="no confirmed warning left"):
        investigator.monitoring.review_warnings(number, "D1", "vitals", "again?", "TEMP")
    [again] = investigator.monitoring.review_warnings(number, "D1", "vitals", "please review the HR again")
    assert "(confirmed: " in investigator.monitoring.query(again).text
    with pytest.raises(StoreError, match="no confirmed warning left"):  # one active review query per field
        investigator.monitoring.review_warnings(number, "D1", "vitals", "and again")
    investigator.close(), monitor.close()
