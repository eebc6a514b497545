"""Read `forms/` from disk: JSON with line and column on syntax errors, models with JSON paths."""

from __future__ import annotations

import json
import os
import sys
from decimal import Decimal
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ValidationError

from .errors import DefinitionError, DefinitionErrors, json_path
from .models import FormDef, Study
from .semantics import build_study
from .spec import StudyDefinition

STUDY_FILE = "study.json"


def default_forms_dir() -> Path:
    """The shipped definitions: a source checkout, a PyInstaller bundle or an installed wheel."""
    override = os.environ.get("CIK_ECRF_FORMS")
    if override:
        return Path(override)
    package = Path(__file__).resolve().parent.parent
    candidates = [package.parent / "forms", package / "forms"]
    bundle = getattr(sys, "_MEIPASS", None)
    if bundle:
        candidates.insert(0, Path(bundle) / "forms")
    for candidate in candidates:
        if (candidate / STUDY_FILE).is_file():
            return candidate
    return candidates[0]


def _display(path: Path) -> str:
    try:
        return str(path.relative_to(Path.cwd()))
    except ValueError:
        return str(path)


def read_json(path: Path, display: str) -> tuple[Any, list[DefinitionError]]:
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        return None, [DefinitionError(display, "", f"not UTF-8 text (byte {exc.start})")]
    except OSError as exc:
        return None, [DefinitionError(display, "", f"cannot read: {exc.strerror}")]
    duplicates: list[str] = []

    def pairs(items: list[tuple[str, Any]]) -> dict[str, Any]:
        seen: dict[str, Any] = {}
        for key, value in items:
            if key in seen:
                owner = next((v for k, v in items if k == "id" and isinstance(v, str)), None)
                duplicates.append(
                    f"key {key!r} appears twice in one object" + (f" (the one with id {owner})" if owner else "")
                )
            seen[key] = value
        return seen

    try:
        data = json.loads(text.removeprefix("\ufeff"), parse_float=Decimal, object_pairs_hook=pairs)
    except json.JSONDecodeError as exc:
        return None, [DefinitionError(display, f"{exc.lineno}:{exc.colno}", f"malformed JSON: {exc.msg}")]
    return data, [DefinitionError(display, "", d) for d in duplicates]


def _pydantic_errors(exc: ValidationError, display: str) -> list[DefinitionError]:
    """One line per problem; union members' type tags are dropped from the path."""
    merged: dict[str, list[str]] = {}
    for error in exc.errors(include_url=False):
        raw_loc = error["loc"]
        keep_last = error["type"] == "extra_forbidden"
        loc = tuple(
            p
            for i, p in enumerate(raw_loc)
            if isinstance(p, int) or (keep_last and i == len(raw_loc) - 1) or not _is_union_tag(p)
        )
        message = error["msg"].removeprefix("Value error, ")
        if error["type"] == "extra_forbidden":
            message = f"unknown key {loc[-1]!r}" if loc else "unknown key"
        elif error["type"] == "missing":
            message = f"{loc[-1]} is required" if loc else "required"
        messages = merged.setdefault(json_path(loc), [])
        if message not in messages:
            messages.append(message)
    return [DefinitionError(display, path, "; or ".join(msgs)) for path, msgs in merged.items()]


_TYPE_TAGS = {
    "str",
    "int",
    "decimal",
    "bool",
    "float",
    "list",
    "dict",
    "none",
    "I18n",
    "Code",
    "CodeList",
    "Range",
    "Length",
}
_JSON_TYPES = {
    "dict": "an object",
    "list": "an array",
    "str": "a string",
    "Decimal": "a number",
    "int": "a number",
    "bool": "true/false",
    "NoneType": "null",
}


def _is_union_tag(part: object) -> bool:
    """Pydantic names the member of a union it tried (`str`, `I18n`, `function-after[...]`)."""
    return isinstance(part, str) and (part in _TYPE_TAGS or "[" in part)


def _validate(model: type[BaseModel], data: Any, display: str) -> tuple[Any, list[DefinitionError]]:
    if not isinstance(data, dict):
        found = _JSON_TYPES.get(type(data).__name__, type(data).__name__)
        return None, [DefinitionError(display, "$", f"expected a JSON object, found {found}")]
    try:
        return model.model_validate(data), []
    except ValidationError as exc:
        return None, _pydantic_errors(exc, display)


def load_study(directory: Path | str | None = None) -> StudyDefinition:
    """Load and check every definition in `directory`; raises `DefinitionErrors` listing all problems."""
    root = Path(directory) if directory is not None else default_forms_dir()
    errors: list[DefinitionError] = []
    if not root.is_dir():
        raise DefinitionErrors([DefinitionError(_display(root), "", "no such directory")])
    study_path = root / STUDY_FILE
    study_display = _display(study_path)
    study = None
    if not study_path.is_file():
        errors.append(DefinitionError(study_display, "", "missing: every definition directory needs study.json"))
    else:
        data, problems = read_json(study_path, study_display)
        errors += problems
        if not problems:
            study, problems = _validate(Study, data, study_display)
            errors += problems
    forms: dict[str, FormDef] = {}
    files: dict[str, str] = {}
    broken: set[str] = set()  # stems of form files that did not load
    for path in sorted(root.glob("*.json")):
        if path.name == STUDY_FILE:
            continue
        display = _display(path)
        data, problems = read_json(path, display)
        if not problems:
            form, problems = _validate(FormDef, data, display)
            if form is not None:
                if form.id != path.stem:
                    problems = [
                        DefinitionError(
                            display, "$.id", f"form id {form.id!r} does not match the file name {path.name}"
                        )
                    ]
                elif form.id in forms:
                    problems = [DefinitionError(display, "$.id", f"form id {form.id} is defined twice")]
                else:
                    forms[form.id] = form
                    files[form.id] = display
        if problems:
            broken.add(path.stem)
        errors += problems
    if study is not None and not errors:
        spec, problems = build_study(study, forms, files, study_display, root)
        errors += problems
        if spec is not None and not errors:
            return spec
    elif study is not None and forms:
        # Report the semantic problems of the forms that did load, too: every error in one run, but
        # not the echoes of a broken file ("unknown form vitals" when vitals.json itself is broken).
        _, problems = build_study(study, forms, files, study_display, root)
        echoes = tuple(f"unknown form {stem}" for stem in broken) + tuple(
            f"no form definition {stem}.json" for stem in broken
        )
        errors += [p for p in problems if not any(echo in p.message for echo in echoes)]
    raise DefinitionErrors(errors)
