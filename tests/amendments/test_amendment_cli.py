"""The laptop commands: `cik-ecrf versions` lists the versions and the forms on an older one,
`cik-ecrf upgrade SUBJECT VISIT FORM --reason TEXT` moves one."""

from __future__ import annotations

import pytest
from amend import VITALS, Site, amended, field, instance_version, publish
from live_server import PASSWORD
from sync_fixtures import save, sync

from cik_ecrf.cli import main


def test_versions_and_upgrade_commands(site: Site, study, capsys, monkeypatch: pytest.MonkeyPatch) -> None:
    a = site.laptop("a", "nurse1", study)
    number = a.add_subject()
    old = save(a, number, "D1", "vitals", VITALS)
    sync(a)
    assert publish(capsys, site.url, amended(site.tmp, "v2", lambda f: field(f, "HR")["range"].update(max=250)))[0] == 0
    sync(a)
    monkeypatch.setenv("CIK_ECRF_PASSWORD", PASSWORD)
    where = ["--data-dir", str(site.tmp / "a"), "--user", "nurse1"]

    capsys.readouterr()
    assert main(["versions", *where]) == 0
    out = capsys.readouterr().out
    assert "study version 2" in out and f"{number} D1 vitals ({old}): version 1.0, newest 1.1" in out

    assert main(["upgrade", number, "D1", "vitals", "--reason", " ", *where]) == 1
    assert "needs a reason" in capsys.readouterr().err
    assert main(["upgrade", number, "D9", "vitals", "--reason", "amendment 2", *where]) == 1
    assert "has no vitals form at D9" in capsys.readouterr().err
    assert main(["upgrade", number, "D1", "vitals", "--reason", "amendment 2", *where]) == 0
    assert "moved from version 1.0 to 1.1" in capsys.readouterr().out
    assert main(["upgrade", number, "D1", "vitals", "--reason", "again", *where]) == 1
    assert "newest version (1.1) already" in capsys.readouterr().err
    assert instance_version(a, old) == "1.1"
