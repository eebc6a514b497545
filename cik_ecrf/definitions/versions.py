"""Study versions (protocol amendments): published definition sets, looked up by number or by the form
version an instance records.

The trial runs for years and its forms change. Each published set of definitions is a study version
(1 is the shipped `forms/`); a form instance keeps the form version it was entered under, and is read,
checked and printed with the definitions of that version. Publishing refuses a form whose content
changed while its version string did not, so a (form id, form version) pair always names one content.

A *bundle* is a definitions directory as text (`{file name: JSON text}`): what the server stores and
sends to laptops, and what its SHA-256 is taken of. Loading a bundle goes through the same loader as
the shipped forms (`load_study`), and a loaded version is cached by its SHA-256 (immutable content).

A *mapping* says how an instance's values move from the previous version to this one, per form:
renamed fields, removed fields and recoded values (`{"forms": {"vitals": {"renamed": {"OLD": "NEW"},
"removed": ["X"], "recoded": {"FIELD": {"old": "new" | null}}}}}`; recoded keys are the new field ids,
old values are written as their JSON text without quotes, e.g. `"31.5"` or `"OTH"`).
"""

from __future__ import annotations

import hashlib
import json
import tempfile
import threading
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated

from pydantic import Field

from .errors import DefinitionError, DefinitionErrors
from .loader import STUDY_FILE, _validate, load_study, read_json
from .models import Strict
from .spec import StudyDefinition

MAX_BUNDLE_FILES = 200
MAX_BUNDLE_BYTES = 20_000_000

Value = str | int | None


class FormMapping(Strict):
    renamed: dict[str, str] = Field(default_factory=dict)  # old field id -> new field id
    removed: list[str] = Field(default_factory=list)  # old field ids whose values are not carried over
    recoded: dict[str, dict[str, Value]] = Field(
        default_factory=dict
    )  # new field id -> old value -> new (None: cleared)


class Mapping(Strict):
    note: Annotated[str, Field(max_length=2000)] | None = None
    forms: dict[str, FormMapping] = Field(default_factory=dict)


# ---------------------------------------------------------------------------------------------- bundles


def read_bundle(directory: Path | str) -> dict[str, str]:
    """The definition files of a directory as text (study.json and every form file), by name."""
    root = Path(directory)
    files = sorted(p for p in root.glob("*.json") if p.is_file())
    if len(files) > MAX_BUNDLE_FILES:
        raise DefinitionErrors([DefinitionError(str(root), "", f"more than {MAX_BUNDLE_FILES} definition files")])
    bundle = {p.name: p.read_text(encoding="utf-8") for p in files}
    if sum(len(t) for t in bundle.values()) > MAX_BUNDLE_BYTES:
        raise DefinitionErrors([DefinitionError(str(root), "", "the definitions are larger than 20 MB")])
    return bundle


def bundle_sha256(bundle: dict[str, str]) -> str:
    """The SHA-256 a version is published with: of the files' names and texts, in name order."""
    digest = hashlib.sha256()
    for name in sorted(bundle):
        for part in (name, bundle[name]):
            data = part.encode("utf-8")
            digest.update(len(data).to_bytes(8, "big"))
            digest.update(data)
    return digest.hexdigest()


_CACHE: dict[str, StudyDefinition] = {}
_CACHE_LOCK = threading.Lock()


def load_bundle(bundle: dict[str, str], sha256: str | None = None) -> StudyDefinition:
    """A bundle's StudyDefinition, loaded once per SHA-256 (raises `DefinitionErrors` like `load_study`)."""
    sha = sha256 or bundle_sha256(bundle)
    with _CACHE_LOCK:
        cached = _CACHE.get(sha)
    if cached is not None:
        return cached
    for name in bundle:
        if "/" in name or "\\" in name or not name.endswith(".json") or name.startswith("."):
            raise DefinitionErrors([DefinitionError(name, "", "not a definition file name")])
    with tempfile.TemporaryDirectory(prefix="cik-ecrf-study-") as tmp:
        for name, text in bundle.items():
            (Path(tmp) / name).write_text(text, encoding="utf-8")
        study = load_study(tmp)
    with _CACHE_LOCK:
        _CACHE[sha] = study
    return study


def remember(study: StudyDefinition, sha256: str) -> None:
    """A study loaded some other way (the shipped forms) is the one its bundle's SHA-256 names."""
    with _CACHE_LOCK:
        _CACHE.setdefault(sha256, study)


def shipped_bundle(directory: Path | str | None = None) -> dict[str, str]:
    from .loader import default_forms_dir

    return read_bundle(directory if directory is not None else default_forms_dir())


# ---------------------------------------------------------------------------------------------- versions


@dataclass(frozen=True)
class Version:
    number: int
    sha256: str
    study: StudyDefinition
    mapping: Mapping | None = None  # from the version before this one
    note: str = ""
    published_at: str = ""


@dataclass(frozen=True)
class StudySet:
    """The study versions known in one place (a laptop store, the server's database), oldest first."""

    versions: tuple[Version, ...]
    _by_form: dict[tuple[str, str], int] = field(default_factory=dict, compare=False, repr=False)

    def __post_init__(self) -> None:
        if not self.versions:
            raise ValueError("a study has at least version 1")
        for v in self.versions:  # newest wins: cross-form rules then read the newest forms around it
            for form_id, form in v.study.forms.items():
                self._by_form[(form_id, form.version)] = v.number

    @classmethod
    def single(cls, study: StudyDefinition, sha256: str = "") -> StudySet:
        return cls((Version(1, sha256, study),))

    def numbers(self) -> list[int]:
        return [v.number for v in self.versions]

    @property
    def latest(self) -> StudyDefinition:
        return self.versions[-1].study

    @property
    def latest_number(self) -> int:
        return self.versions[-1].number

    def get(self, number: int) -> Version:
        for v in self.versions:
            if v.number == number:
                return v
        raise KeyError(f"study version {number} is not known here (known: {', '.join(map(str, self.numbers()))})")

    def study_for(self, number: int) -> StudyDefinition:
        return self.get(number).study

    def sha256(self, number: int) -> str:
        return self.get(number).sha256

    def version_of(self, form_id: str, form_version: str) -> int | None:
        """The study version an instance's form version belongs to (the newest holding it), or None."""
        return self._by_form.get((form_id, form_version))

    def study_for_form(self, form_id: str, form_version: str | None) -> StudyDefinition | None:
        number = self.version_of(form_id, form_version or "")
        return None if number is None else self.study_for(number)

    def with_version(self, version: Version) -> StudySet:
        return StudySet((*self.versions, version))


# ---------------------------------------------------------------------------------------------- checks


def form_fingerprint(study: StudyDefinition, form_id: str) -> str:
    """What a form's content is, code lists resolved: the same version string must always mean this."""
    form = study.forms[form_id]
    codes = {
        spec.id: {
            "codes": [c.model_dump(mode="json") for c in spec.codes],
            "sub": {s.id: [c.model_dump(mode="json") for c in s.codes] for s in spec.sub_fields},
        }
        for spec in form.fields.values()
    }
    visits = sorted(v for v in study.visit_ids() if form_id in study.forms_at(v))
    body = {"form": form.definition.model_dump(mode="json", by_alias=True), "codes": codes, "visits": visits}
    return hashlib.sha256(json.dumps(body, sort_keys=True, ensure_ascii=False).encode()).hexdigest()


def version_problems(history: StudySet, new: StudyDefinition, display: str = "") -> list[DefinitionError]:
    """A form whose content changed must carry a new version string (and an old string never comes back
    with other content): instances name their definitions by it."""
    problems = []
    for form_id, form in new.forms.items():
        fingerprint = form_fingerprint(new, form_id)
        for old in reversed(history.versions):
            before = old.study.forms.get(form_id)
            if before is None or before.version != form.version:
                continue
            if form_fingerprint(old.study, form_id) != fingerprint:
                problems.append(
                    DefinitionError(
                        f"{display}{form_id}.json",
                        "$.version",
                        f"form {form_id} differs from study version {old.number} but its version is still "
                        f"{form.version}: give it a new version",
                    )
                )
            break
    return problems


def load_mapping(path: Path | str) -> Mapping:
    display = str(path)
    data, problems = read_json(Path(path), display)
    if not problems:
        mapping, problems = _validate(Mapping, data, display)
        if mapping is not None:
            return mapping
    raise DefinitionErrors(problems)


def read_mapping_text(text: str | None) -> Mapping | None:
    return None if not text else Mapping.model_validate_json(text)


def mapping_problems(
    old: StudyDefinition, new: StudyDefinition, mapping: Mapping, display: str
) -> list[DefinitionError]:
    """Every field a mapping names must be where it says (values of recoded fields are checked by the
    caller, with the field's own value checks)."""
    problems = []

    def bad(path: str, message: str) -> None:
        problems.append(DefinitionError(display, path, message))

    for form_id, fm in mapping.forms.items():
        where = f"$.forms.{form_id}"
        if form_id not in old.forms:
            bad(where, f"form {form_id} is not in the previous version")
            continue
        if form_id not in new.forms:
            bad(where, f"form {form_id} is not in the new version (a retired form keeps its instances as they are)")
            continue
        before, after = old.forms[form_id].fields, new.forms[form_id].fields
        if old.forms[form_id].version == new.forms[form_id].version:
            bad(where, f"form {form_id} keeps version {new.forms[form_id].version}: nothing to map")
        for source, target in fm.renamed.items():
            if source not in before:
                bad(f"{where}.renamed.{source}", f"form {form_id} had no field {source}")
            if target not in after:
                bad(f"{where}.renamed.{source}", f"form {form_id} has no field {target} in the new version")
        for gone in fm.removed:
            if gone not in before:
                bad(f"{where}.removed", f"form {form_id} had no field {gone}")
            elif gone in after:
                bad(f"{where}.removed", f"field {gone} is still in form {form_id}: it is not removed")
        for target in fm.recoded:
            if target not in after:
                bad(f"{where}.recoded.{target}", f"form {form_id} has no field {target} in the new version")
    return problems


def value_key(value_json: str) -> str:
    """How a mapping names an old value: its JSON text, without the quotes of a string."""
    raw = json.loads(value_json)
    return raw if isinstance(raw, str) else json.dumps(raw)


@dataclass
class Carried:
    values: dict[str, str]  # field id -> value JSON in the target version
    dropped: list[str]  # fields removed by a mapping (their values stay in the trail)
    unmapped: list[str]  # fields that left the form with no mapping saying so
    recoded: list[tuple[str, str, str | None]]  # (field, old JSON, new JSON or None)


def carry(
    versions: StudySet, form_id: str, from_version: int, values: dict[str, str], to: int | None = None
) -> Carried:
    """An instance's values moved version by version through each published mapping to `to` (the newest)."""
    target = versions.latest_number if to is None else to
    current = dict(values)
    result = Carried({}, [], [], [])
    for v in versions.versions:
        if v.number <= from_version or v.number > target:
            continue
        form = v.study.forms.get(form_id)
        if form is None:
            break
        fm = (v.mapping.forms.get(form_id) if v.mapping else None) or FormMapping()
        moved: dict[str, str] = {}
        for fid, text in current.items():
            if fid in fm.removed:
                result.dropped.append(fid)
                continue
            new_id = fm.renamed.get(fid, fid)
            recodes = fm.recoded.get(new_id)
            if recodes is not None:
                text_or_none = _recode(text, recodes)
                if text_or_none != text:
                    result.recoded.append((new_id, text, text_or_none))
                if text_or_none is None:
                    continue
                text = text_or_none
            if new_id not in form.fields:
                result.unmapped.append(fid)
                continue
            moved[new_id] = text
        current = moved
    result.values = current
    return result


def _recode(text: str, recodes: dict[str, Value]) -> str | None:
    raw = json.loads(text)
    if isinstance(raw, list):  # a multichoice: each code on its own
        out = []
        for item in raw:
            key = item if isinstance(item, str) else json.dumps(item)
            new = recodes.get(key, item) if key in recodes else item
            if new is not None:
                out.append(new)
        return json.dumps(out, ensure_ascii=False) if out else None
    key = raw if isinstance(raw, str) else json.dumps(raw)
    if key not in recodes:
        return text
    new = recodes[key]
    return None if new is None else json.dumps(new, ensure_ascii=False)


def describe(versions: Iterable[Version]) -> list[str]:
    return [
        f"{v.number}  {v.sha256[:16]}  {v.published_at[:19].replace('T', ' ') or '(shipped)'}  {v.note}".rstrip()
        for v in versions
    ]


__all__ = [
    "STUDY_FILE",
    "Carried",
    "FormMapping",
    "Mapping",
    "StudySet",
    "Version",
    "bundle_sha256",
    "carry",
    "form_fingerprint",
    "load_bundle",
    "load_mapping",
    "mapping_problems",
    "read_bundle",
    "remember",
    "shipped_bundle",
    "value_key",
    "version_problems",
]
