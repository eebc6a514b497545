"""The export commands end to end: a real laptop store (`cik-ecrf export`) and a real server database
fed by that laptop's own trail (`cik-ecrf server export`, SQLite and PostgreSQL), each printing the
files and their SHA-256 and leaving an audit record."""

from __future__ import annotations

import hashlib
import json
import sys
from pathlib import Path

import pytest
from sqlalchemy import select

from cik_ecrf.cli import main
from cik_ecrf.definitions.spec import StudyDefinition
from cik_ecrf.store.api import Store
from cik_ecrf.store.entry import SaveRequest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "server"))
from live_server import PASSWORD, LiveServer, backends, database_url, laptop, open_server_db  # noqa: E402

from cik_ecrf.server import admin  # noqa: E402
from cik_ecrf.server.models import Change as ChangeRow  # noqa: E402
from cik_ecrf.sync.client import SyncClient  # noqa: E402

ADMIN, ADMIN_PW = "admin1", "Admin-pass-2026"
DM = "dm1"


def _store(directory: Path, study: StudyDefinition) -> str:
    """A site laptop with a data manager who entered one subject, not (yet) infused: an infusion needs a
    randomization from the server, which the randomization tests cover; the endpoint rows themselves are
    tested on hand-made subjects (test_endpoints.py)."""
    Store.init(directory, "BJ01", ADMIN, ADMIN_PW, device_code="L1")
    with Store.open(directory, ADMIN, ADMIN_PW, study=study) as store:
        store.add_user(DM, "data_manager", PASSWORD + "x", full_name="Data Manager 数据管理员")
    with Store.open(directory, DM, PASSWORD + "x", study=study) as store:
        store.change_password(PASSWORD + "x", PASSWORD)
    with Store.open(directory, DM, PASSWORD, study=study) as store:
        number = store.add_subject()
        store.save(SaveRequest(number, "screening", "demographics", {"SUBJINIT": "ZL", "SEX": "M"}, draft=True))
        store.save(SaveRequest(number, "D28", "response", {"RSDAT": "2025-02-07", "OVRLRESP": "NR"}, draft=True))
    return number


def _printed(out: str) -> dict[str, str]:
    lines = [line.split() for line in out.splitlines() if line.startswith("wrote ")]
    return {Path(parts[1]).name: parts[-1] for parts in lines}


def test_laptop_export_prints_hashes_and_is_on_the_trail(
    study: StudyDefinition, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    directory = tmp_path / "store"
    number = _store(directory, study)
    monkeypatch.setenv("CIK_ECRF_PASSWORD", PASSWORD)
    base = ["--data-dir", str(directory), "--user", DM]
    assert main(["export", "odm", *base, "-o", str(tmp_path / "study.xml")]) == 0
    assert main(["export", "csv", *base, "-o", str(tmp_path / "csv")]) == 0
    first = capsys.readouterr()
    assert main(["export", "endpoints", *base, "-o", str(tmp_path / "adtte.csv"), "--json"]) == 0
    out = capsys.readouterr()
    printed = _printed(first.out + out.out + out.err)
    for name in ("study.xml", "adtte.csv", "vitals.csv", "dictionary.csv"):
        path = next(tmp_path.rglob(name))
        assert printed[name] == hashlib.sha256(path.read_bytes()).hexdigest()
    assert json.loads(out.out) == []  # --json: stdout is the rows, nothing else (no one infused yet)
    side = (tmp_path / "adtte_excluded.csv").read_text(encoding="utf-8-sig")
    assert number in side and "infusion.INFSTDTC" in side
    with Store.open(directory, DM, PASSWORD, study=study) as store:
        exports = [e for e in store.audit_events() if e.action == "data_export"]
    assert [json.loads(e.new_json)["format"] for e in exports] == ["odm", "csv", "endpoints"]
    assert json.loads(exports[0].new_json)["files"][0]["sha256"] == printed["study.xml"]


def test_laptop_identifiers_need_a_data_manager(
    study: StudyDefinition, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    directory = tmp_path / "store"
    _store(directory, study)
    with Store.open(directory, ADMIN, ADMIN_PW, study=study) as store:
        store.add_user("mon1", "monitor", PASSWORD + "x")
    with Store.open(directory, "mon1", PASSWORD + "x", study=study) as store:
        store.change_password(PASSWORD + "x", PASSWORD)
    monkeypatch.setenv("CIK_ECRF_PASSWORD", PASSWORD)
    out = tmp_path / "x.xml"
    assert main(["export", "odm", "--data-dir", str(directory), "--user", "mon1", "-o", str(out), "--identified"]) == 1
    assert "only a data manager" in capsys.readouterr().err and not out.exists()
    assert main(["export", "odm", "--data-dir", str(directory), "--user", DM, "-o", str(out), "--identified"]) == 0
    assert 'Value="ZL"' in out.read_text(encoding="utf-8")


@pytest.mark.parametrize("backend", backends())
def test_server_export_of_what_a_laptop_synced(
    backend: str,
    study: StudyDefinition,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    with database_url(tmp_path, backend) as url:
        engine = open_server_db(url)
        try:
            admin.add_site(engine, "BJ01", "Site BJ01")
            admin.add_user(engine, DM, "data_manager", "BJ01", PASSWORD, full_name="Data Manager")
            with LiveServer(engine) as server:
                with laptop(tmp_path / "store", server.url, DM, study) as store:
                    number = store.add_subject()
                    store.save(
                        SaveRequest(number, "screening", "demographics", {"SUBJINIT": "ZL", "SEX": "M"}, draft=True)
                    )
                    store.save(
                        SaveRequest(number, "D28", "response", {"RSDAT": "2025-02-07", "OVRLRESP": "NR"}, draft=True)
                    )
                    assert SyncClient(store, verify=False).run().error is None
            monkeypatch.setenv("CIK_ECRF_PASSWORD", PASSWORD)
            base = ["server", "--database-url", url, "export"]
            assert main([*base, "odm", "-o", str(tmp_path / "s.xml")]) == 0
            assert "sha256" in capsys.readouterr().out
            assert main([*base, "endpoints", "-o", str(tmp_path / "s.csv"), "--json"]) == 0
            out = capsys.readouterr()
            assert json.loads(out.out) == [] and number in (tmp_path / "s_excluded.csv").read_text(encoding="utf-8-sig")
            assert "ARM" not in (tmp_path / "s.csv").read_text(encoding="utf-8-sig")
            xml = (tmp_path / "s.xml").read_text(encoding="utf-8")
            assert f'SubjectKey="{number}"' in xml and 'Value="NR"' in xml and 'SUBJINIT" Value' not in xml
            assert '"action":"value_set"' in xml  # the trail came with the data
            assert main([*base, "odm", "-o", str(tmp_path / "i.xml"), "--identified"]) == 1
            assert "data_manager" in capsys.readouterr().err
            assert main([*base, "odm", "-o", str(tmp_path / "i.xml"), "--identified", "--user", DM]) == 0
            assert 'Value="ZL"' in (tmp_path / "i.xml").read_text(encoding="utf-8")
            assert main([*base, "endpoints", "-o", str(tmp_path / "u.csv"), "--unblinded", "--user", DM]) == 1
            with engine.connect() as conn:
                logged = [
                    json.loads(b) for b in conn.scalars(select(ChangeRow.body).where(ChangeRow.action == "data_export"))
                ]
            assert [json.loads(c["new_json"])["format"] for c in logged] == ["odm", "endpoints", "odm"]
            assert logged[-1]["username"] == DM and json.loads(logged[-1]["new_json"])["identified"] is True
        finally:
            engine.dispose()
