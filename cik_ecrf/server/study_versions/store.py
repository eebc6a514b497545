"""The server's study versions: which exist, which form version each instance is on, and publishing one.

Publishing checks the new definitions with the same loader as the shipped forms (every error located),
refuses a form changed without a new version string, checks the mapping, then carries every instance
on the server through the mapping to the new version and checks each value with the field's own
checks: a version under which existing data could not be upgraded is refused, naming the data
(subject, form, field, value). Nothing of the old data changes: instances stay on their version.
"""

from __future__ import annotations

import functools
import json
import threading
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, Engine, func, select
from sqlalchemy.exc import IntegrityError

from ...definitions import versions as dv
from ...definitions.errors import DefinitionError, DefinitionErrors
from ...definitions.spec import StudyDefinition
from ...events.base import Refused
from ...events.values import check_value_json
from ..database import ServerError, now
from ..models import FieldState, Instance, Subject
from .models import InstanceFormVersion, StudyVersionRow

MAX_LISTED = 50  # problems named in one refusal


@functools.cache
def _shipped() -> tuple[StudyDefinition, str, dict[str, str]]:
    from ...definitions.loader import load_study

    bundle = dv.shipped_bundle()
    sha = dv.bundle_sha256(bundle)
    study = load_study()
    dv.remember(study, sha)
    return study, sha, bundle


_SETS: dict[tuple[tuple[int, str], ...], dv.StudySet] = {}
_LOCK = threading.Lock()


def study_set(conn: Connection) -> dv.StudySet:
    """Every version published on this server (one small query; bundles are read once per process)."""
    heads = tuple(
        (int(n), str(s))
        for n, s in conn.execute(
            select(StudyVersionRow.number, StudyVersionRow.sha256).order_by(StudyVersionRow.number)
        )
    )
    if not heads:
        study, sha, _ = _shipped()
        return dv.StudySet.single(study, sha)
    with _LOCK:
        cached = _SETS.get(heads)
    if cached is not None:
        return cached
    rows = conn.execute(select(StudyVersionRow.__table__).order_by(StudyVersionRow.number)).all()
    found = dv.StudySet(tuple(_version(r) for r in rows))
    with _LOCK:
        _SETS[heads] = found
    return found


def _version(row: Any) -> dv.Version:
    study = dv.load_bundle(json.loads(row.bundle), row.sha256)
    return dv.Version(row.number, row.sha256, study, dv.read_mapping_text(row.mapping), row.note, row.published_at)


def instance_versions(conn: Connection) -> dict[str, str]:
    """instance id -> form version, for the instances that have one recorded (the others: version 1's)."""
    return dict(conn.execute(select(InstanceFormVersion.instance_id, InstanceFormVersion.form_version)).all())


LATEST = select(func.max(StudyVersionRow.number))  # built once: asked at every sync


def latest_study_version(conn: Any) -> int:
    """The newest published study version's number (0: only the shipped definitions)."""
    return int(conn.scalar(LATEST) or 0)


def bundles_after(conn: Connection, after: int) -> list[Any]:
    return list(
        conn.execute(
            select(StudyVersionRow.__table__).where(StudyVersionRow.number > after).order_by(StudyVersionRow.number)
        ).all()
    )


@dataclass(frozen=True)
class Published:
    number: int
    sha256: str
    forms: list[str]  # forms whose version changed


def publish(engine: Engine, directory: Path, note: str = "", mapping_path: Path | None = None) -> Published:
    """Check a definitions directory (and its mapping) and record it as the next study version."""
    display = f"{directory}/"
    bundle = dv.read_bundle(directory)
    from ...definitions.loader import load_study

    new = load_study(directory)  # raises DefinitionErrors, every problem located
    sha = dv.bundle_sha256(bundle)
    dv.remember(new, sha)
    mapping = dv.load_mapping(mapping_path) if mapping_path is not None else None
    try:
        with engine.begin() as conn:
            versions = study_set(conn)
            if any(v.sha256 == sha for v in versions.versions):
                same = next(v.number for v in versions.versions if v.sha256 == sha)
                raise ServerError(
                    f"{directory}: these definitions are study version {same} already (SHA-256 {sha[:16]}…)"
                )
            previous = versions.latest
            problems = dv.version_problems(versions, new, display)
            if mapping is not None:
                problems += dv.mapping_problems(previous, new, mapping, str(mapping_path))
                problems += _recode_problems(new, mapping, str(mapping_path))
            if problems:
                raise DefinitionErrors(problems)
            number = versions.latest_number + 1
            candidate = versions.with_version(dv.Version(number, sha, new, mapping, note))
            refused = data_problems(conn, versions, candidate)
            if refused:
                more = f" (and {len(refused) - MAX_LISTED} more)" if len(refused) > MAX_LISTED else ""
                raise ServerError(
                    "existing data would not be valid under the new version without a mapping"
                    + more
                    + ":\n  "
                    + "\n  ".join(refused[:MAX_LISTED])
                )
            at = now()
            if not conn.execute(select(StudyVersionRow.number)).first():
                _, shipped_sha, shipped_bundle = _shipped()  # version 1, recorded at the first publication
                conn.execute(
                    StudyVersionRow.__table__.insert().values(
                        number=1,
                        sha256=shipped_sha,
                        note="shipped definitions",
                        published_at=at,
                        bundle=json.dumps(shipped_bundle, ensure_ascii=False),
                        mapping=None,
                    )
                )
            conn.execute(
                StudyVersionRow.__table__.insert().values(
                    number=number,
                    sha256=sha,
                    note=note,
                    published_at=at,
                    bundle=json.dumps(bundle, ensure_ascii=False),
                    mapping=mapping.model_dump_json() if mapping is not None else None,
                )
            )
    except IntegrityError:
        raise ServerError(
            "another study version was published at the same time: see `server study list`, then publish again"
        ) from None
    changed = sorted(
        f for f, spec in new.forms.items() if f not in previous.forms or previous.forms[f].version != spec.version
    )
    return Published(number, sha, changed)


def _recode_problems(new: StudyDefinition, mapping: dv.Mapping, display: str) -> list[DefinitionError]:
    problems = []
    for form_id, fm in mapping.forms.items():
        form = new.forms.get(form_id)
        for field_id, codes in fm.recoded.items():
            spec = form.fields.get(field_id) if form else None
            if spec is None:
                continue
            for old, value in codes.items():
                if value is None:
                    continue
                try:
                    check_value_json(spec, json.dumps([value] if spec.kind == "multichoice" else value))
                except Refused as exc:
                    problems.append(DefinitionError(display, f"$.forms.{form_id}.recoded.{field_id}.{old}", str(exc)))
    return problems


def data_problems(conn: Connection, before: dv.StudySet, after: dv.StudySet) -> list[str]:
    """Each value on the server that could not be carried to the newest version of `after`, named."""
    new = after.latest
    changed = {
        f
        for f, spec in new.forms.items()
        if f in before.latest.forms and before.latest.forms[f].version != spec.version
    }
    if not changed:
        return []
    first = before.study_for(1)
    recorded = instance_versions(conn)
    instances = conn.execute(
        select(Instance.id, Instance.form_id, Instance.visit_id, Subject.number)
        .join(Subject, Subject.id == Instance.subject_id)
        .where(Instance.form_id.in_(sorted(changed)))
        .order_by(Subject.number, Instance.visit_id, Instance.form_id)
    ).all()
    values: dict[str, dict[str, str]] = defaultdict(dict)
    ids = [i.id for i in instances]
    for start in range(0, len(ids), 500):
        part = ids[start : start + 500]
        for instance_id, field_id, value_json in conn.execute(
            select(FieldState.instance_id, FieldState.field_id, FieldState.value_json).where(
                FieldState.instance_id.in_(part), FieldState.value_json.is_not(None)
            )
        ):
            values[instance_id][field_id] = value_json
    problems = []
    for instance_id, form_id, visit_id, number in instances:
        held = values.get(instance_id)
        if not held:
            continue
        form_version = recorded.get(instance_id) or (first.forms[form_id].version if form_id in first.forms else "")
        start_at = after.version_of(form_id, form_version)
        if start_at is None or form_version == new.forms[form_id].version:
            continue
        carried = dv.carry(after, form_id, start_at, held)
        where = f"subject {number}, form {form_id} at {visit_id} (version {form_version})"
        for field_id in carried.unmapped:
            problems.append(
                f"{where}, field {field_id}, value {held[field_id]}: the field is not in version "
                f"{new.forms[form_id].version}; say in the mapping that it is removed or renamed"
            )
        for field_id, text in carried.values.items():
            try:
                check_value_json(new.forms[form_id].fields[field_id], text)
            except Refused as exc:
                problems.append(f"{where}, field {field_id}, value {text}: {exc}; recode it in the mapping")
    return problems


def list_versions(engine: Engine) -> list[str]:
    with engine.connect() as conn:
        versions = study_set(conn)
    lines = dv.describe(versions.versions)
    if len(versions.versions) == 1 and not versions.versions[0].published_at:
        lines = [lines[0] + "  (nothing published: the shipped forms)"]
    return lines
