"""Making an amendment the way a data manager does: copy the published definitions, edit a form (and
give it a new version), write a mapping, publish with the `server study` command."""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from live_server import LiveServer, laptop
from pypdf import PdfReader
from sqlalchemy import text

from cik_ecrf.cli import main
from cik_ecrf.definitions.loader import default_forms_dir
from cik_ecrf.store.api import Store

VITALS: dict[str, Any] = {
    "VSDAT": "2026-01-01T10:00+08:00",
    "TEMP": 36.5,
    "HR": 80,
    "RESP": 20,
    "SYSBP": 110,
    "DIABP": 70,
    "OXYSAT": 98,
    "O2SUPP": "NONE",
    "WEIGHT": 40.0,
}


def amended(
    tmp: Path,
    name: str,
    change: Callable[[dict[str, Any]], None],
    version: str = "1.1",
    study_change: Callable[[dict[str, Any]], None] | None = None,
) -> Path:
    """A copy of the shipped definitions with vitals.json changed by `change` and given `version`
    (and study.json, with its shared code lists, changed by `study_change`)."""
    target = tmp / name
    shutil.copytree(default_forms_dir(), target)
    if study_change is not None:
        study_path = target / "study.json"
        study = json.loads(study_path.read_text(encoding="utf-8"))
        study_change(study)
        study_path.write_text(json.dumps(study, ensure_ascii=False, indent=2), encoding="utf-8")
    path = target / "vitals.json"
    form = json.loads(path.read_text(encoding="utf-8"))
    change(form)
    form["version"] = version
    path.write_text(json.dumps(form, ensure_ascii=False, indent=2), encoding="utf-8")
    return target


def bump(path: Path, version: str) -> None:
    form = json.loads(path.read_text(encoding="utf-8"))
    form["version"] = version
    path.write_text(json.dumps(form, ensure_ascii=False, indent=2), encoding="utf-8")


def field(form: dict[str, Any], field_id: str) -> dict[str, Any]:
    return next(f for f in form["fields"] if f["id"] == field_id)


def mapping_file(tmp: Path, body: dict[str, Any]) -> Path:
    path = tmp / "mapping.json"
    path.write_text(json.dumps(body), encoding="utf-8")
    return path


def publish(capsys: pytest.CaptureFixture[str], url: str, directory: Path, *options: str) -> tuple[int, str, str]:
    """`cik-ecrf server study publish DIR ...`, run as a data manager runs it (in this process)."""
    capsys.readouterr()
    code = main(["server", "study", "publish", str(directory), "--database-url", url, *options])
    out, err = capsys.readouterr()
    return code, out, err


def instance_version(store: Store, instance_id: str) -> str:
    with store.unit_of_work() as session:
        return (
            session.connection()
            .exec_driver_sql("SELECT form_version FROM form_instance WHERE id = ?", (instance_id,))
            .scalar_one()
        )


def server_version(engine: Any, instance_id: str) -> str | None:
    """The form version the server holds an instance on (no row: version 1's form version)."""
    from cik_ecrf.server.study_versions.store import instance_versions, study_set

    with engine.connect() as conn:
        recorded = instance_versions(conn).get(instance_id)
        form_id = conn.execute(text("SELECT form_id FROM instance WHERE id = :i"), {"i": instance_id}).scalar()
        if recorded is None and form_id is not None:
            recorded = study_set(conn).study_for(1).forms[form_id].version
        return recorded


def server_fields(engine: Any, instance_id: str) -> dict[str, str | None]:
    with engine.connect() as conn:
        return dict(
            conn.execute(
                text("SELECT field_id, value_json FROM field_state WHERE instance_id = :i"), {"i": instance_id}
            ).all()
        )


def pdf_text(pdf: bytes, tmp: Path, name: str) -> str:
    """The printed pages as text (pypdf, a dependency: no system tool needed), to check what the paper
    says. The file is kept beside the test's data for a person to open."""
    path = tmp / f"{name}.pdf"
    path.write_bytes(pdf)
    return "\n".join(page.extract_text() for page in PdfReader(path).pages)


class Site:
    """A server (SQLite, or PostgreSQL when configured) with one site's nurses, and their laptops."""

    def __init__(self, tmp: Path, url: str, server: LiveServer) -> None:
        self.tmp, self.url, self.server, self.engine = tmp, url, server, server.engine
        self.laptops: list[Store] = []

    def laptop(self, name: str, user: str, study: Any) -> Store:
        store = laptop(self.tmp / name, self.server.url, user, study)
        self.laptops.append(store)
        return store
