"""Arms in exports: randomized through the real server (the randomization tests' harness), infused,
synced; `server export endpoints --unblinded` by a statistician carries each subject's arm as the
randomization module holds it, with per-arm curves and a log-rank test; every blinded export (server
or laptop, ODM, CSV, endpoints) names no arm."""

from __future__ import annotations

import csv
import datetime as dt
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy.orm import Session

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "server"))
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "randomization"))

from devices import close_clients  # noqa: E402
from live_server import LiveServer, backends, database_url, open_server_db, site_with_users  # noqa: E402
from trial import ARM_WORDS, PW, Trial, enter_subject, sync  # noqa: E402

from cik_ecrf.cli import main  # noqa: E402
from cik_ecrf.server.randomization.queries import arms_by_subject  # noqa: E402
from cik_ecrf.store.entry import SaveRequest  # noqa: E402
from cik_ecrf.sync.randomize import randomize  # noqa: E402

USERS = (("inv1", "investigator"), ("dm1", "data_manager"), ("stat1", "statistician"), ("pharm1", "pharmacist"))


def arm_names(study) -> list[str]:
    """Every arm code and label, less those the study's own title contains ("CIK cell therapy": the CIK
    arm's code and Chinese label), which every ODM file carries; the endpoint file has no title and is
    searched for all of the randomization tests' arm words."""
    title = study.study.title.en + study.study.title.zh
    names = [
        w for arm in study.study.randomization["arms"] for w in (arm["code"], arm["label"]["en"], arm["label"]["zh"])
    ]
    return [w for w in names if w not in title]


@pytest.fixture(params=backends())
def trial(request: pytest.FixtureRequest, tmp_path: Path, study) -> Iterator[Trial]:
    with database_url(tmp_path, request.param) as url:
        engine = open_server_db(url)
        site_with_users(engine, "BJ01", USERS)
        with LiveServer(engine) as live:
            made = Trial(live, engine, url, tmp_path, study)
            made.generate()
            yield made
            made.close()
        engine.dispose()
    close_clients()


def _read(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8-sig", newline="") as handle:
        return list(csv.DictReader(handle))


def test_unblinded_endpoints_carry_the_arm_and_blinded_exports_name_none(
    trial: Trial, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    store = trial.laptop("inv1")
    numbers = []
    for _ in range(4):
        number = enter_subject(store)
        allocation = randomize(store, number, "inv1", PW)
        start = dt.datetime.fromisoformat(allocation.randdtc) + dt.timedelta(hours=2)
        store.save(
            SaveRequest(
                number,
                "D0",
                "infusion",
                {"PRODID": allocation.prodid, "INFSTDTC": start.isoformat(timespec="minutes")},
                draft=True,
            )
        )
        numbers.append(number)
    sync(store)
    with Session(trial.engine) as session:
        arms = arms_by_subject(session)
    assert len(arms) == 4
    monkeypatch.setenv("CIK_ECRF_PASSWORD", PW)
    base = ["server", "--database-url", trial.url, "export"]
    unblinded = tmp_path / "unblinded.csv"
    assert (
        main(
            [
                *base,
                "endpoints",
                "-o",
                str(unblinded),
                "--unblinded",
                "--user",
                "stat1",
                "--km",
                str(tmp_path / "km.pdf"),
            ]
        )
        == 0
    )
    rows = _read(unblinded)
    assert {r["PARAMCD"] for r in rows} == {"EFS", "PFS", "OS"} and len(rows) == 12
    by_number = {s.split("-", 1)[1]: a for s, a in ((r["USUBJID"], r["ARM"]) for r in rows)}
    with Session(trial.engine) as session:
        from cik_ecrf.server.models import Subject

        numbers_of = {s.id: s.number for s in session.query(Subject).all()}
    assert by_number == {numbers_of[subject]: arm for subject, arm in arms.items()}
    assert (tmp_path / "km_EFS_en.png").is_file() and (tmp_path / "km_OS_zh.png").is_file()
    capsys.readouterr()
    # a statistician is needed: a data manager may not unblind an export
    assert main([*base, "endpoints", "-o", str(tmp_path / "x.csv"), "--unblinded", "--user", "dm1"]) == 1
    assert "unblinded role" in capsys.readouterr().err
    blinded = tmp_path / "blinded"
    assert main([*base, "endpoints", "-o", str(blinded / "adtte.csv"), "--km", str(blinded / "km.pdf")]) == 0
    assert main([*base, "odm", "-o", str(blinded / "study.xml")]) == 0
    assert main([*base, "csv", "-o", str(blinded / "csv")]) == 0
    laptop = tmp_path / "laptop"
    assert (
        main(["export", "odm", "--data-dir", str(store.directory), "--user", "inv1", "-o", str(laptop / "study.xml")])
        == 0
    )
    assert main(["export", "csv", "--data-dir", str(store.directory), "--user", "inv1", "-o", str(laptop / "csv")]) == 0
    endpoints = (blinded / "adtte.csv").read_text(encoding="utf-8-sig")
    assert "ARM" not in endpoints.splitlines()[0] and not any(word in endpoints for word in ARM_WORDS)
    names = arm_names(trial.study)
    assert "CONTROL" in names and "mRNA-CIK细胞" in names
    for path in [*blinded.rglob("*.xml"), *blinded.rglob("*.csv"), *laptop.rglob("*")]:
        if path.is_file():
            content = path.read_text(encoding="utf-8-sig")
            assert not any(name in content for name in names), path
