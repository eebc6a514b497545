"""Subject numbers are unique per site: two sites that both number a subject SCR-001 (a paper
screening log) keep both; within one site the number stays unique. A database made before this
rule migrates with its subjects intact (SQLite, and PostgreSQL when configured)."""

from __future__ import annotations

from pathlib import Path

import pytest
from alembic import command
from devices import Device
from live_server import LiveServer, backends, database_url
from sqlalchemy import Engine, text
from sqlalchemy.exc import IntegrityError

from cik_ecrf.server.database import _config, make_engine, migrate


def subjects(engine: Engine) -> list[tuple[str, str]]:
    with engine.connect() as conn:
        return sorted(tuple(r) for r in conn.execute(text("SELECT site_code, number FROM subject")))


def test_two_sites_may_use_the_same_subject_number(server: LiveServer) -> None:
    beijing, shanghai = Device(server, "nurse1"), Device(server, "nurse9")
    _, _, at_beijing = beijing.new_form(number="SCR-001")
    _, _, at_shanghai = shanghai.new_form(number="SCR-001")
    assert [r["disposition"] for r in beijing.push(at_beijing)["results"]] == ["applied", "applied"]
    assert [r["disposition"] for r in shanghai.push(at_shanghai)["results"]] == ["applied", "applied"]
    assert subjects(server.engine) == [("BJ01", "SCR-001"), ("SH02", "SCR-001")]
    colleague = Device(server, "nurse2")
    _, _, again = colleague.new_form(number="SCR-001")  # another subject, same site, same number
    [result, _] = colleague.push(again)["results"]
    assert result["disposition"] == "rejected" and "SCR-001" in result["reason"]


@pytest.mark.parametrize("backend", backends())
def test_an_older_database_migrates_with_its_subjects(backend: str, tmp_path: Path) -> None:
    with database_url(tmp_path, backend) as url:
        engine = make_engine(url)
        with engine.begin() as conn:  # the schema as it was before numbers were per site
            config = _config()
            config.attributes["connection"] = conn
            command.upgrade(config, "s0002")
        with engine.begin() as conn:
            conn.execute(text("INSERT INTO site VALUES ('BJ01', 'Beijing', 'x'), ('SH02', 'Shanghai', 'x')"))
            conn.execute(text("INSERT INTO subject VALUES ('s1', 'SCR-001', 'BJ01'), ('s2', 'SCR-002', 'SH02')"))
        migrate(engine)
        assert subjects(engine) == [("BJ01", "SCR-001"), ("SH02", "SCR-002")]
        with engine.begin() as conn:
            conn.execute(text("INSERT INTO subject VALUES ('s3', 'SCR-001', 'SH02')"))
        with pytest.raises(IntegrityError), engine.begin() as conn:
            conn.execute(text("INSERT INTO subject VALUES ('s4', 'SCR-001', 'SH02')"))
        engine.dispose()
