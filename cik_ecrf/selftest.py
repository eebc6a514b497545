"""`cik-ecrf --self-test`: proof, on a laptop where the client was just installed, that it is whole.

Hospital IT runs it after installing (and the installer test runs it from the freshly built bundle).
Each step exercises something a bundle can silently lack: the version stamp, the form definitions,
the SQLCipher native module and the alembic migrations (read as files), Qt's offscreen platform
plugin with the bundled font and translations, and ReportLab with its font data. Steps run in order
and stop at the first failure, because each later step needs what the earlier ones made; everything
happens in a temporary directory that is removed afterwards, so a real store is never touched.

This module imports no Qt itself: the drawing half of "render form" is `cik_ecrf.ui.offscreen`.
"""

from __future__ import annotations

import json
import re
import secrets
import sys
import tempfile
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from . import __version__

BUILD_INFO = "build-info.json"
RENDERED_FORM = "eligibility"  # the richest page: cross-form criteria table, every widget type near it
RENDER_LANGUAGE = "zh"  # Chinese needs the bundled CJK font and the translations
USER = "selftest"


@dataclass(frozen=True)
class BuildInfo:
    """What `build_installer.py` stamped into a bundle; for a source checkout, the package version only."""

    version: str
    commit: str | None = None
    built_at: str | None = None
    frozen: bool = False

    def line(self) -> str:
        parts = [f"commit {self.commit}"] if self.commit else []
        if self.built_at:
            parts.append(f"built {self.built_at}")
        parts.append("bundle" if self.frozen else "source")
        return f"cik-ecrf {self.version} ({', '.join(parts)})"


def build_info() -> BuildInfo:
    """The stamp of a PyInstaller bundle (sys._MEIPASS/build-info.json), or the package version."""
    bundle = getattr(sys, "_MEIPASS", None)
    if bundle is None:
        return BuildInfo(__version__)
    data = json.loads((Path(bundle) / BUILD_INFO).read_text(encoding="utf-8"))
    return BuildInfo(data["version"], data.get("commit"), data.get("built_at"), frozen=True)


def version_text() -> str:
    """`cik-ecrf --version`: from a bundle with its commit and build date too, for IT's tickets."""
    try:
        info = build_info()
    except (OSError, ValueError, KeyError):
        return f"cik-ecrf {__version__} (bundle without a readable {BUILD_INFO})"
    return info.line() if info.frozen else f"cik-ecrf {info.version}"


@dataclass(frozen=True)
class StepResult:
    name: str
    seconds: float
    detail: str  # what was checked, with the figures; the error in one line when it failed
    ok: bool

    def line(self) -> str:
        return f"{'ok' if self.ok else 'FAIL':<4} {self.name:<12} {self.seconds:6.2f} s  {self.detail}"


@dataclass(frozen=True)
class SelfTestReport:
    steps: tuple[StepResult, ...]
    seconds: float

    @property
    def failed(self) -> StepResult | None:
        return next((s for s in self.steps if not s.ok), None)


class StepFailed(Exception):
    """A check inside a step did not hold (as opposed to an exception raised by the code under test)."""


def _check(condition: bool, message: str) -> None:
    if not condition:
        raise StepFailed(message)


class _Context:
    """What the steps hand on to each other."""

    def __init__(self, workdir: Path) -> None:
        self.workdir = workdir
        self.study: Any = None


def _step_version(ctx: _Context) -> str:
    info = build_info()
    _check(info.version == __version__, f"the bundle is stamped {info.version} but holds cik_ecrf {__version__}")
    return f"{info.line()}; Python {sys.version.split()[0]} on {sys.platform}"


def _step_forms(ctx: _Context) -> str:
    from .definitions.loader import default_forms_dir, load_study

    ctx.study = load_study()
    study = ctx.study
    _check(RENDERED_FORM in study.forms, f"no form {RENDERED_FORM} in {default_forms_dir()}")
    return (
        f"{len(study.forms)} forms, {study.field_count()} fields, {study.rule_count()} rules, "
        f"{len(study.study.visits)} visits from {study.directory}"
    )


def _step_store(ctx: _Context) -> str:
    from .store.api import Store
    from .store.database import current_revision, head_revision, known_revisions

    directory = ctx.workdir / "store"
    password = f"Chk{secrets.token_hex(8)}7q"  # letters and digits, never containing the user name
    Store.init(directory, "SELFTEST", USER, password, device_code="TEST")
    with Store.open(directory, USER, password, ctx.study) as store:
        with store.engine.connect() as conn:
            cipher = conn.exec_driver_sql("PRAGMA cipher_version").scalar()
        revision = current_revision(store.engine)
        chain = store.verify_audit()
    _check(bool(cipher), "store.db is plain SQLite: the SQLCipher module is missing")
    _check(revision == head_revision(), f"schema at {revision}, expected {head_revision()} after the migrations")
    _check(chain.ok, f"audit chain broken: {chain.problem}")
    return (
        f"SQLCipher {cipher}, migrated to {revision} ({len(known_revisions())} revisions), "
        f"audit chain of {chain.events} events verified"
    )


def _visit_of(study: Any, form_id: str) -> str:
    return next(v.id for v in study.study.visits if form_id in v.forms)


def _step_render(ctx: _Context) -> str:
    from .ui.offscreen import render_form

    png = ctx.workdir / f"{RENDERED_FORM}.png"
    shown = render_form(ctx.study, RENDERED_FORM, _visit_of(ctx.study, RENDERED_FORM), RENDER_LANGUAGE, png)
    expected = len(ctx.study.forms[RENDERED_FORM].fields)
    _check(shown.fields == expected, f"{shown.fields} of {expected} field widgets built")
    _check(shown.width > 0 and shown.height > 0 and png.stat().st_size > 0, "nothing was drawn")
    _check(shown.font_family is not None, "the bundled CJK font did not load (resources/fonts)")
    _check(shown.catalogue, "the Chinese translations did not load (resources/translations)")
    _check(shown.qt_catalogue, "Qt's own Chinese translations did not load (qtbase_zh_CN.qm)")
    return (
        f"{shown.form_id} ({shown.language}) on Qt '{shown.platform}': {shown.fields} fields, "
        f"{shown.width}x{shown.height} px, {shown.colours} colours, font {shown.font_family}"
    )


def _step_pdf(ctx: _Context) -> str:
    from .pdf import blank_crf_pdf

    data = blank_crf_pdf(ctx.study)
    path = ctx.workdir / "blank-crf.pdf"
    path.write_bytes(data)
    _check(data.startswith(b"%PDF-") and data.rstrip().endswith(b"%%EOF"), "the blank CRF is not a complete PDF")
    pages = len(re.findall(rb"/Type\s*/Page(?![s\w])", data))
    return f"blank CRF: {pages} pages, {len(data)} bytes"


STEPS: tuple[tuple[str, Callable[[_Context], str]], ...] = (
    ("version", _step_version),
    ("load forms", _step_forms),
    ("open store", _step_store),
    ("render form", _step_render),
    ("write PDF", _step_pdf),
)


def run_self_test(report: Callable[[StepResult], None] = lambda _: None) -> SelfTestReport:
    """Run the steps in a temporary directory; `report` sees each result as it comes."""
    started = time.perf_counter()
    results: list[StepResult] = []
    with tempfile.TemporaryDirectory(prefix="cik-ecrf-selftest-") as temp:
        ctx = _Context(Path(temp))
        for name, step in STEPS:
            began = time.perf_counter()
            try:
                detail, ok = step(ctx), True
            except StepFailed as exc:
                detail, ok = str(exc), False
            except Exception as exc:  # noqa: BLE001 - a self-test reports any failure; the traceback goes to stderr
                traceback.print_exc(file=sys.stderr)
                detail, ok = f"{type(exc).__name__}: {exc}", False
            result = StepResult(name, time.perf_counter() - began, detail, ok)
            results.append(result)
            report(result)
            if not ok:
                break
    return SelfTestReport(tuple(results), time.perf_counter() - started)


def main() -> int:
    """The `--self-test` option: one line per step, then the verdict; exit 1 naming the failed step."""
    result = run_self_test(lambda step: print(step.line(), flush=True))
    failed = result.failed
    if failed is not None:
        print(f"self-test FAILED at step '{failed.name}': {failed.detail}", file=sys.stderr)
        return 1
    print(f"self-test passed: {len(result.steps)} steps in {result.seconds:.2f} s")
    return 0
