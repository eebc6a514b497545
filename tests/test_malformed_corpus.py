"""The malformed-definition corpus: every mistake a definition author can make gets a clear, located message.

Each case in `tests/corpus/malformed/` is one shipped definition file with one mistake (or one added file);
`cases.json` says which file it becomes and which error line `forms check` must print for it. See the
`_format` entry there. A case marked `xfail` documents a loader bug: it asserts what the author should get.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from cik_ecrf.definitions.errors import DefinitionErrors
from cik_ecrf.definitions.loader import load_study

ROOT = Path(__file__).resolve().parents[1]
FORMS = ROOT / "forms"
CORPUS = Path(__file__).resolve().parent / "corpus" / "malformed"
_ALL = json.loads((CORPUS / "cases.json").read_text(encoding="utf-8"))
CASES: dict[str, dict[str, Any]] = {name: case for name, case in _ALL.items() if not name.startswith("_")}
CASE_KEYS = {"note", "target", "path", "expect", "forbid", "only_target", "cli", "xfail"}

# `FILE: $.path: message`, `FILE:LINE:COLUMN: message` or `FILE: message`
_LINE = re.compile(r"^(?P<file>[^:]+?)(?::(?P<lc>\d+:\d+))?: (?P<rest>.*)$")


@dataclass(frozen=True)
class ErrorLine:
    text: str
    file: str  # the file name only: the CLI prints it relative to the working directory
    path: str  # "$.fields[3].range", "LINE:COLUMN" or "" for a whole-file error
    message: str


@dataclass(frozen=True)
class Outcome:
    returncode: int
    stdout: str
    stderr: str

    def errors(self) -> list[ErrorLine]:
        out = []
        for text in self.stderr.splitlines():
            match = _LINE.match(text)
            if match is None:
                continue
            rest = match["rest"]
            if match["lc"]:
                path, message = match["lc"], rest
            elif rest.startswith("$"):
                path, _, message = rest.partition(": ")
            else:
                path, message = "", rest
            out.append(ErrorLine(text, Path(match["file"]).name, path, message))
        return out


def copy_forms(tmp_path: Path) -> Path:
    forms = tmp_path / "forms"
    shutil.copytree(FORMS, forms)
    return forms


def install(forms: Path, case_file: str) -> None:
    target = CASES[case_file]["target"]
    shutil.copyfile(CORPUS / case_file, forms / target)


def run_cli(forms: Path, cwd: Path) -> Outcome:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(ROOT), env.get("PYTHONPATH")) if p)
    result = subprocess.run(
        [sys.executable, "-m", "cik_ecrf", "forms", "check", str(forms)],
        capture_output=True,
        text=True,
        encoding="utf-8",
        cwd=cwd,
        env=env,
        timeout=120,
    )
    return Outcome(result.returncode, result.stdout, result.stderr)


def run_in_process(forms: Path) -> Outcome:
    """What the CLI would print, without the subprocess: only `DefinitionErrors` is an expected failure."""
    try:
        study = load_study(forms)
    except DefinitionErrors as exc:
        return Outcome(1, "", "\n".join(str(e) for e in exc.errors) + f"\n{len(exc.errors)} error(s) in {forms}\n")
    return Outcome(0, f"OK: {len(study.forms)} forms", "")


def assert_reported(outcome: Outcome, case_file: str) -> None:
    case = CASES[case_file]
    target, path = case["target"], case["path"]
    paths = None if path is None else [path] if isinstance(path, str) else path
    shown = outcome.stderr or "(nothing on stderr)"
    assert "Traceback" not in outcome.stderr, f"{case_file}: traceback instead of a message:\n{outcome.stderr}"
    assert outcome.returncode == 1, f"{case_file}: exit {outcome.returncode}, expected 1; stderr:\n{shown}"
    candidates = [e for e in outcome.errors() if e.file == target and (paths is None or e.path in paths)]
    assert candidates, f"{case_file}: no error for {target} at {path!r}; stderr:\n{shown}"
    matching = [e for e in candidates if all(s in e.text for s in case["expect"])]
    assert matching, f"{case_file}: no line for {target} at {path!r} with all of {case['expect']}; stderr:\n{shown}"
    for bad in case.get("forbid", []):
        assert bad not in outcome.stderr, f"{case_file}: {bad!r} should not be shown; stderr:\n{shown}"
    if case.get("only_target"):
        others = [e.text for e in outcome.errors() if e.file != target]
        assert not others, f"{case_file}: errors reported in other files because of {target}:\n" + "\n".join(others)


def _param(case_file: str) -> Any:
    reason = CASES[case_file].get("xfail")
    marks = [pytest.mark.xfail(strict=True, reason=reason)] if reason else []
    return pytest.param(case_file, id=case_file.removesuffix(".json"), marks=marks)


@pytest.mark.parametrize("case_file", [_param(name) for name in CASES])
def test_malformed_definition_is_reported(case_file: str, tmp_path: Path) -> None:
    forms = copy_forms(tmp_path)
    install(forms, case_file)
    if CASES[case_file].get("cli"):
        outcome = run_cli(forms, cwd=tmp_path)
    else:
        outcome = run_in_process(forms)
    assert_reported(outcome, case_file)


def test_corpus_is_complete_and_consistent() -> None:
    files = {p.name for p in CORPUS.glob("*.json")} - {"cases.json"}
    assert files - set(CASES) == set(), "case files without an entry in cases.json"
    assert set(CASES) - files == set(), "entries in cases.json without a case file"
    assert len(CASES) >= 24
    assert sum(bool(c.get("cli")) and not c.get("xfail") for c in CASES.values()) >= 5
    for name, case in CASES.items():
        assert re.fullmatch(r"\d\d_[a-z0-9_]+\.json", name), name
        assert set(case) <= CASE_KEYS, f"{name}: unknown keys {sorted(set(case) - CASE_KEYS)}"
        assert case["expect"] and all(isinstance(s, str) and s for s in case["expect"]), name
        path = case["path"]
        alternatives = path if isinstance(path, list) else [path]
        assert path is None or (alternatives and all(isinstance(p, str) for p in alternatives)), name
        shipped = FORMS / case["target"]
        if shipped.exists():  # a replacement must really differ from the shipped file
            assert (CORPUS / name).read_bytes() != shipped.read_bytes(), f"{name} is the shipped {case['target']}"


def test_shipped_forms_pass(tmp_path: Path) -> None:
    outcome = run_cli(FORMS, cwd=tmp_path)
    assert outcome.returncode == 0, outcome.stderr
    assert outcome.stdout.startswith("OK:"), outcome.stdout
    assert len(outcome.stdout.strip().splitlines()) == 1
    assert outcome.stderr == ""


# Several broken files, each a different target and a different stage of the loader (malformed JSON, shape,
# per-field semantics, expressions): one run must report every one of them.
SEVERAL = [
    "01_trailing_comma.json",  # survival.json: malformed JSON
    "07_range_min_gt_max.json",  # vitals.json: shape (pydantic)
    "08_soft_range_outside_hard.json",  # cart_persistence.json: field semantics
    "14_duplicate_choice_code.json",  # relapse.json: field semantics
    "20_code_not_in_codelist.json",  # diagnosis.json: expression type check
    "27_invalid_regex.json",  # conmeds.json: shape (validator)
    "12_choice_unknown_codelist.json",  # response.json: study-wide
]


def test_several_broken_files_are_all_reported_in_one_run(tmp_path: Path) -> None:
    assert len({CASES[c]["target"] for c in SEVERAL}) == len(SEVERAL)
    forms = copy_forms(tmp_path)
    for case_file in SEVERAL:
        install(forms, case_file)
    outcome = run_cli(forms, cwd=tmp_path)
    for case_file in SEVERAL:
        assert_reported(outcome, case_file)
    summary = outcome.stderr.strip().splitlines()[-1]
    count = int(summary.split()[0])
    assert summary.endswith(f"error(s) in {forms}") and count >= len(SEVERAL), summary


def test_missing_form_file_is_reported_alongside_a_broken_form(tmp_path: Path) -> None:
    forms = copy_forms(tmp_path)
    install(forms, "30_visit_form_without_file.json")  # study.json lists vital_signs, which has no file
    install(forms, "04_unknown_key_requried.json")  # survival.json fails shape validation
    outcome = run_cli(forms, cwd=tmp_path)
    assert_reported(outcome, "04_unknown_key_requried.json")
    assert_reported(outcome, "30_visit_form_without_file.json")
