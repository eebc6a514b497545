"""Desktop client: process start to a first painted window, opening a form, keystroke-to-feedback latency.

Run: python bench/bench_ui.py [--runs N] [--opens N] [--keystrokes N]
Runs offscreen (QT_QPA_PLATFORM=offscreen unless set). Prints medians, p95 and ratios measured in this one
run against a bare PySide6 window and a hand-built QFormLayout of the same widgets; asserts nothing.
Issue 4 targets: start < 2x the bare window; a rendered form < 1.5x the hand-built one; feedback < 16 ms.
"""

from __future__ import annotations

import argparse
import cProfile
import gc
import json
import os
import pstats
import random
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from PySide6.QtCore import QEvent, QObject, Qt, qInstallMessageHandler
from PySide6.QtTest import QTest
from PySide6.QtWidgets import (
    QApplication,
    QButtonGroup,
    QComboBox,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QRadioButton,
    QScrollArea,
    QVBoxLayout,
    QWidget,
)

from cik_ecrf.definitions.loader import load_study
from cik_ecrf.rules import Clock, FormSession, RulesEngine, SubjectData
from cik_ecrf.ui.fields import RADIO_LIMIT, LineField
from cik_ecrf.ui.form_view import FormView

CLOCK = Clock.fixed("2026-02-01T10:00+08:00")
SUBJECT = SubjectData.of(
    {
        ("screening", "demographics"): {"BRTHDAT": "2010-05-01", "SEX": "F", "CHILDPOT": "Y"},
        ("screening", "consent"): {"ICFDAT": "2026-01-10"},
    }
)
WINDOW = (1000, 800)
PAINT_TIMEOUT = 5.0


def _quiet(mode: Any, context: Any, message: str) -> None:
    if "propagateSizeHints" not in message:  # the offscreen platform says it on every top-level resize
        sys.stderr.write(message + "\n")


# ---------------------------------------------------------------------------- figures


def _q(values: list[float], p: float) -> float:
    ordered = sorted(values)
    k = (len(ordered) - 1) * p
    lo, hi = int(k), min(int(k) + 1, len(ordered) - 1)
    return ordered[lo] + (ordered[hi] - ordered[lo]) * (k - lo)


def _ms(values: list[float], digits: int = 1) -> str:
    return f"median {statistics.median(values) * 1000:.{digits}f} ms, p95 {_q(values, 0.95) * 1000:.{digits}f} ms (n={len(values)})"


def _ratio(a: list[float], b: list[float]) -> float:
    return statistics.median(a) / statistics.median(b)


# ---------------------------------------------------------------------------- 1. process start

# The child records CLOCK_MONOTONIC (shared by all processes) at milestones; the parent notes it just before
# spawning. "painted" is taken in a zero-timer queued from the window's first paintEvent, i.e. after the whole
# backing-store flush that painted the window and its children.
_CHILD_HEAD = """
import json, sys, time
marks = {"python": time.monotonic()}
"""
_CHILD_WINDOW = """
from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QApplication, QWidget
marks["imported"] = time.monotonic()
app = QApplication(sys.argv)
marks["qapplication"] = time.monotonic()
state = {"done": False}
def finish():
    marks["painted"] = time.monotonic()
    print(json.dumps(marks), flush=True)
    app.quit()
class Window(QWidget):
    def paintEvent(self, event):
        super().paintEvent(event)
        if not state["done"]:
            state["done"] = True
            QTimer.singleShot(0, finish)
@SETUP@
window = Window()
window.setWindowTitle("Sign in")
@BUILD@
window.resize(360, 160)
window.show()
marks["shown"] = time.monotonic()
app.exec()
"""


def _child(setup: str = "", build: str = "", before: str = "") -> str:
    return _CHILD_HEAD + before + _CHILD_WINDOW.replace("@SETUP@", setup).replace("@BUILD@", build)


_BARE = _child()
_LOGIN_BUILD = """
from PySide6.QtWidgets import QFormLayout, QLineEdit, QPushButton
form = QFormLayout(window)
user = QLineEdit(); user.setObjectName("loginUser")
password = QLineEdit(); password.setObjectName("loginPassword"); password.setEchoMode(QLineEdit.EchoMode.Password)
button = QPushButton("Sign in"); button.setObjectName("loginButton")
form.addRow("User name", user)
form.addRow("Password", password)
form.addRow(button)
"""
_LOGIN = _child(build=_LOGIN_BUILD, before="import cik_ecrf.ui.form_view\n")
# The client's own sign-in window, as `cik-ecrf` starts it: the console script's module, fonts, the laptop's
# settings and language, then `prepare_login` (the store, forms and rules load on the worker after first paint).
_CLIENT = (
    _CHILD_HEAD
    + """
import cik_ecrf.cli
from PySide6.QtCore import QEvent, QObject, QTimer
from PySide6.QtWidgets import QApplication
from cik_ecrf.client_settings import load_settings
from cik_ecrf.ui.launch import prepare_login
from cik_ecrf.ui.resources import install_fonts
from cik_ecrf.ui.texts import install_language
from cik_ecrf.ui.worker import StoreWorker
marks["imported"] = time.monotonic()
app = QApplication(sys.argv)
marks["qapplication"] = time.monotonic()
install_fonts(app)
data_dir = __import__("pathlib").Path(sys.argv[1])
install_language(app, load_settings(data_dir).settings.language)
marks["fonts"] = time.monotonic()
worker = StoreWorker()
login = prepare_login(data_dir, worker, "en")
def finish():
    marks["painted"] = time.monotonic()
    print(json.dumps(marks), flush=True)
    app.quit()
class Painted(QObject):
    def eventFilter(self, watched, event):
        if event.type() == QEvent.Type.Paint:
            watched.removeEventFilter(self)
            QTimer.singleShot(0, finish)
        return False
painted = Painted()
login.installEventFilter(painted)
login.show()
marks["shown"] = time.monotonic()
app.exec()
worker.shutdown()
"""
)


def _child_env() -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT), env.get("PYTHONPATH", "")]).rstrip(os.pathsep)
    env["QT_QPA_PLATFORM"] = os.environ["QT_QPA_PLATFORM"]
    return env


ABNORMAL_EXITS: list[str] = []  # children that painted but then did not exit cleanly


def spawn(code: str, *args: str) -> tuple[float, float, dict[str, float]]:
    """(spawn to first paint, spawn to exit, milestones relative to spawn) of `python -c code args`."""
    started = time.monotonic()
    proc = subprocess.run(
        [sys.executable, "-c", code, *args],
        check=False,
        capture_output=True,
        text=True,
        cwd=ROOT,
        env=_child_env(),
        timeout=60,
    )
    ended = time.monotonic()
    lines = [line for line in proc.stdout.splitlines() if line.startswith("{")]
    if not lines:
        raise RuntimeError(f"child failed ({proc.returncode}):\n{proc.stderr}")
    if proc.returncode != 0:
        ABNORMAL_EXITS.append(
            f"exit {proc.returncode}: {proc.stderr.strip().splitlines()[0] if proc.stderr.strip() else ''}"
        )
    marks = {k: v - started for k, v in json.loads(lines[-1]).items()}
    return marks["painted"], ended - started, marks


def wall(code: str) -> float:
    started = time.monotonic()
    subprocess.run(
        [sys.executable, "-c", code], check=True, capture_output=True, cwd=ROOT, env=_child_env(), timeout=60
    )
    return time.monotonic() - started


def bench_start(runs: int) -> None:
    print("1. Process start to a first painted window (subprocesses, offscreen)")
    samples: dict[str, list[tuple[float, float, dict[str, float]]]] = {"bare": [], "login": [], "client": []}
    imports: dict[str, list[float]] = {"python": [], "qtwidgets": [], "launch": []}
    with tempfile.TemporaryDirectory() as tmp:
        from cik_ecrf.store.api import Store

        store = Path(tmp) / "store"
        Store.init(store, "BJ01", "admin", "Kettle-9-lantern")
        spawn(_BARE)  # warm the file cache once
        spawn(_CLIENT, str(store))
        for _ in range(runs):  # interleaved so drift hits every variant alike
            samples["bare"].append(spawn(_BARE))
            samples["login"].append(spawn(_LOGIN))
            samples["client"].append(spawn(_CLIENT, str(store)))
            imports["python"].append(wall("pass"))
            imports["qtwidgets"].append(wall("import PySide6.QtWidgets"))
            imports["launch"].append(wall("import cik_ecrf.cli, cik_ecrf.ui.launch"))

    def paint(name: str) -> list[float]:
        return [s[0] for s in samples[name]]

    def exit_(name: str) -> list[float]:
        return [s[1] for s in samples[name]]

    def mark(name: str, key: str) -> float:
        return statistics.median(s[2][key] for s in samples[name]) * 1000

    bare, login, client = paint("bare"), paint("login"), paint("client")
    print(
        f"   bare PySide6 window (QApplication + empty QWidget):      to first paint {_ms(bare)}; to exit {_ms(exit_('bare'))}"
    )
    print(
        f"   the client's sign-in window (cik_ecrf.cli, fonts, settings, prepare_login): to first paint {_ms(client)}; "
        f"to exit {_ms(exit_('client'))} (exit waits for the background warm-up)"
    )
    print(
        f"   for comparison, a login-like QFormLayout after `import cik_ecrf.ui.form_view` (everything eager): {_ms(login)}"
    )
    print(f"   sign-in window / bare (median, to first paint): {_ratio(client, bare):.2f}x   (target < 2x)")
    print(f"   eager login-like / bare:                        {_ratio(login, bare):.2f}x")
    for name, label in (("bare", "bare"), ("client", "sign-in")):
        keys = ["python", "imported", "qapplication"] + (["fonts"] if name == "client" else []) + ["shown", "painted"]
        print(
            f"   milestones from spawn, {label:>8} (median ms): " + ", ".join(f"{k} {mark(name, k):.0f}" for k in keys)
        )
    print(f"   `python -c pass`:                                   {_ms(imports['python'])}")
    print(f"   `python -c 'import PySide6.QtWidgets'`:              {_ms(imports['qtwidgets'])}")
    print(f"   `python -c 'import cik_ecrf.cli, cik_ecrf.ui.launch'`: {_ms(imports['launch'])}")
    if ABNORMAL_EXITS:
        print(f"   {len(ABNORMAL_EXITS)} children painted but did not exit cleanly, e.g. {ABNORMAL_EXITS[0]}")


# ---------------------------------------------------------------------------- 2. opening a form


def _label(text: str) -> dict[str, str]:
    return {"en": text, "zh": text}


def generate_study(directory: Path, n_fields: int = 200, seed: int = 7) -> None:
    """A synthetic 200-field form: decimal, integer, choice (radios and drop-downs), yesno, text and date fields
    with ranges, a few show-ifs (hidden until their flag is Y) and cross-field checks."""
    rng = random.Random(seed)
    pattern = [
        "decimal",
        "decimal",
        "integer",
        "choice_small",
        "decimal",
        "yesno",
        "integer",
        "choice_large",
        "text",
        "date",
    ]
    fields: list[dict[str, Any]] = []
    for i in range(n_fields):
        fid = f"F{i:03d}"
        kind = pattern[i % len(pattern)]
        label = _label(f"Field {i} ({kind})")
        if kind == "decimal":
            field = {
                "id": fid,
                "type": "decimal",
                "decimals": 1,
                "label": label,
                "units": "mmol/L",
                "range": {"min": 0, "max": 1000},
                "soft_range": {"min": 1, "max": 900},
            }
        elif kind == "integer":
            field = {"id": fid, "type": "integer", "label": label, "units": "U/L", "range": {"min": 0, "max": 5000}}
        elif kind == "choice_small":
            field = {"id": fid, "type": "choice", "label": label, "codelist": "POSNEG"}
        elif kind == "choice_large":
            field = {"id": fid, "type": "choice", "label": label, "codelist": "GRADE"}
        elif kind == "yesno":
            field = {"id": fid, "type": "yesno", "label": label}
        elif kind == "text":
            field = {"id": fid, "type": "text", "label": label, "length": {"max": 60}}
        else:
            field = {"id": fid, "type": "date", "label": label, "range": {"min": "2020-01-01", "max": "today"}}
        if i % 7 == 0:
            field["required"] = True
        fields.append(field)
    flags = [f["id"] for f in fields if f["type"] == "yesno"]
    numeric = [f["id"] for f in fields if f["type"] == "decimal"]
    for f in fields[20::20]:  # ten show-ifs, each on an earlier flag
        earlier = [x for x in flags if x < f["id"]]
        f["show_if"] = f'{rng.choice(earlier)} = "Y"'
    shown_numeric = [n for n in numeric if "show_if" not in fields[int(n[1:])]]
    checks = []
    for k in range(10):
        a, b = rng.sample(shown_numeric, 2)
        checks.append(
            {
                "id": f"C{k:02d}",
                "severity": "warning",
                "assert": f"{a} <= {b} + 500",
                "fields": [a],
                "message": _label(f"{a} more than 500 above {b}"),
            }
        )
    grades = [{"code": str(g), "label": _label(f"Grade {g}")} for g in range(8)]
    study = {
        "id": "BENCH",
        "version": "1",
        "title": _label("Bench"),
        "codelists": {
            "NY": {"codes": [{"code": "Y", "label": _label("Yes")}, {"code": "N", "label": _label("No")}]},
            "POSNEG": {
                "codes": [
                    {"code": "POS", "label": _label("Positive")},
                    {"code": "NEG", "label": _label("Negative")},
                    {"code": "ND", "label": _label("Not done")},
                ]
            },
            "GRADE": {"codes": grades},
        },
        "visits": [{"id": "v1", "label": _label("Visit 1"), "forms": ["big"]}],
    }
    form = {"id": "big", "version": "1", "title": _label("Generated, 200 fields"), "fields": fields, "checks": checks}
    (directory / "study.json").write_text(json.dumps(study))
    (directory / "big.json").write_text(json.dumps(form))


class PaintProbe(QObject):
    def __init__(self) -> None:
        super().__init__()
        self.painted = False

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if event.type() == QEvent.Type.Paint:
            self.painted = True
        return False


def until_painted(
    app: QApplication, widget: QWidget, action: Callable[[], None], timeout: float = PAINT_TIMEOUT
) -> bool:
    """Run `action`, then process events until `widget` has had a paint event (the whole flush it belongs to done)."""
    probe = PaintProbe()
    widget.installEventFilter(probe)
    action()
    deadline = time.perf_counter() + timeout
    while not probe.painted and time.perf_counter() < deadline:
        app.processEvents()
    widget.removeEventFilter(probe)
    return probe.painted


def hand_built(session: FormSession, language: str = "en", wrappers: bool = False, rich: bool = False) -> QWidget:
    """The same form written by hand: one QFormLayout row per field, a QLineEdit (placeholder, units) per typed
    field, radios in a QButtonGroup up to RADIO_LIMIT codes and a QComboBox above, a hidden message label per
    field, rows hidden and labels marked required (plain "Label *") as the rules say at opening; in a
    QScrollArea with a title and the two buttons. Nested layouts instead of the renderer's wrapper widgets; no
    rules engine. For the analysis, `wrappers` adds the renderer's two wrapper QWidgets per row (the field
    widget and the cell holding it and its message) and `rich` marks required labels in rich text as it does."""
    top = QWidget()
    outer = QVBoxLayout(top)
    outer.addWidget(QLabel(f"<b>{session.form.definition.title.get(language)}</b>  v{session.form.version}"))
    body = QWidget()
    layout = QFormLayout(body)
    layout.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.AllNonFixedFieldsGrow)
    for field_id, spec in session.form.fields.items():
        definition = spec.definition
        holder = QWidget() if wrappers else None
        row = QHBoxLayout(holder) if holder is not None else QHBoxLayout()
        if holder is not None:
            row.setContentsMargins(0, 0, 0, 0)
        if definition.type in ("choice", "yesno"):
            if len(spec.codes) <= RADIO_LIMIT:
                group = QButtonGroup(top)
                for index, code in enumerate(spec.codes):
                    button = QRadioButton(code.label.get(language))
                    button.setObjectName(f"{field_id}_{code.code}")
                    group.addButton(button, index)
                    row.addWidget(button)
                row.addStretch(1)
            else:
                combo = QComboBox()
                combo.setObjectName(f"{field_id}_combo")
                combo.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
                combo.setMinimumContentsLength(16)
                combo.addItem("", None)
                for code in spec.codes:
                    combo.addItem(code.label.get(language), code.code)
                row.addWidget(combo, 1)
        else:
            edit = QLineEdit()
            edit.setObjectName(f"{field_id}_edit")
            edit.setPlaceholderText("YYYY-MM-DD" if definition.type == "date" else "")
            row.addWidget(edit, 1)
        if definition.units:
            row.addWidget(
                QLabel(definition.units if isinstance(definition.units, str) else definition.units.get(language))
            )
        message = QLabel("")
        message.setWordWrap(True)
        message.setVisible(False)
        cell = QWidget() if wrappers else None
        column = QVBoxLayout(cell) if cell is not None else QVBoxLayout()
        if cell is not None:
            column.setContentsMargins(0, 0, 0, 0)
        if holder is not None:
            column.addWidget(holder)
        else:
            column.addLayout(row)
        column.addWidget(message)
        text = definition.label.get(language)
        if session.required.get(field_id) and session.visible[field_id]:
            text = f"{text} <span style='color:#b00020'>*</span>" if rich else f"{text} *"
        label = QLabel(text)
        if not rich:
            label.setTextFormat(Qt.TextFormat.PlainText)
        if cell is not None:
            layout.addRow(label, cell)
        else:
            layout.addRow(label, column)
        if not session.visible[field_id]:
            layout.setRowVisible(label, False)
    scroll = QScrollArea()
    scroll.setWidgetResizable(True)
    scroll.setWidget(body)
    outer.addWidget(scroll, 1)
    buttons = QHBoxLayout()
    buttons.addStretch(1)
    buttons.addWidget(QPushButton("Save draft"))
    buttons.addWidget(QPushButton("Mark complete"))
    outer.addLayout(buttons)
    return top


def _dispose(app: QApplication, widget: QWidget) -> None:
    widget.close()
    widget.deleteLater()
    app.sendPostedEvents(None, QEvent.Type.DeferredDelete)
    app.processEvents()
    gc.collect()


def open_once(app: QApplication, build: Callable[[], QWidget]) -> tuple[float, float]:
    """(build, show to first paint) in seconds; the window is disposed of afterwards, untimed."""
    started = time.perf_counter()
    widget = build()
    widget.resize(*WINDOW)
    built = time.perf_counter()
    if not until_painted(app, widget, widget.show):
        raise RuntimeError("no paint event within the timeout")
    painted = time.perf_counter()
    _dispose(app, widget)
    return built - started, painted - built


def bench_open(
    app: QApplication, name: str, engine: RulesEngine, form_id: str, visit: str, subject: SubjectData | None, opens: int
) -> None:
    reference = FormSession(engine, form_id, visit, {}, subject or SubjectData(), CLOCK)
    fields = reference.form.fields
    kinds: dict[str, int] = {}
    for spec in fields.values():
        kinds[spec.definition.type] = kinds.get(spec.definition.type, 0) + 1
    hidden = sum(1 for f in fields if not reference.visible[f])
    print(
        f"   {name}: {len(fields)} fields ("
        + ", ".join(f"{k} {v}" for k, v in sorted(kinds.items()))
        + f"), {hidden} hidden at opening"
    )

    def rendered() -> QWidget:
        return FormView(engine, form_id, visit, {}, subject, CLOCK, "en")

    variants: dict[str, Callable[[], QWidget]] = {
        "rendered": rendered,
        "manual": lambda: hand_built(reference),
        "wrappers": lambda: hand_built(reference, wrappers=True),
        "rich": lambda: hand_built(reference, rich=True),
    }
    for build in variants.values():  # warm-up (first use of each widget class, style, fonts)
        open_once(app, build)
    built: dict[str, list[float]] = {name: [] for name in variants}
    painted: dict[str, list[float]] = {name: [] for name in variants}
    session: list[float] = []
    names = list(variants)
    for i in range(opens):
        for variant in names[i % len(names) :] + names[: i % len(names)]:  # rotated so no variant always runs first
            gc.collect()
            b, p = open_once(app, variants[variant])
            built[variant].append(b)
            painted[variant].append(p)
        started = time.perf_counter()
        FormSession(engine, form_id, visit, {}, subject or SubjectData(), CLOCK)
        session.append(time.perf_counter() - started)
    total = {name: [b + p for b, p in zip(built[name], painted[name])] for name in variants}
    r_total, m_total = total["rendered"], total["manual"]
    print(f"     rendered FormView, create to first paint: {_ms(r_total)}")
    print(f"       of which FormView(...) {_ms(built['rendered'])}; show to painted {_ms(painted['rendered'])}")
    print(f"       of which FormSession(...) alone (the rules' full first evaluation): {_ms(session, 2)}")
    print(f"     hand-built QFormLayout, create to first paint: {_ms(m_total)}")
    print(f"       of which building {_ms(built['manual'])}; show to painted {_ms(painted['manual'])}")
    print(
        f"     rendered / hand-built (median, create to first paint): {_ratio(r_total, m_total):.2f}x   (target < 1.5x);"
        f" build only {_ratio(built['rendered'], built['manual']):.2f}x, show to paint {_ratio(painted['rendered'], painted['manual']):.2f}x"
    )
    for variant, what in (
        ("wrappers", "with the renderer's two wrapper QWidgets per row"),
        ("rich", "with rich-text required markers as the renderer"),
    ):
        print(
            f"     analysis: hand-built {what}: create to first paint median {statistics.median(total[variant]) * 1000:.1f} ms"
            f" ({_ratio(total[variant], m_total):.2f}x hand-built; build {statistics.median(built[variant]) * 1000:.1f}, show to paint {statistics.median(painted[variant]) * 1000:.1f})"
        )


def profile_open(app: QApplication, engine: RulesEngine, form_id: str, visit: str, top: int = 8) -> None:
    profile = cProfile.Profile()
    profile.enable()
    widget = FormView(engine, form_id, visit, {}, None, CLOCK, "en")
    profile.disable()
    _dispose(app, widget)
    stats = pstats.Stats(profile)
    rows = sorted(stats.stats.items(), key=lambda kv: -kv[1][2])[:top]  # type: ignore[attr-defined]
    total = sum(v[2] for v in stats.stats.values())  # type: ignore[attr-defined]
    print(
        f"     where FormView({form_id!r}) construction goes (cProfile self time, {total * 1000:.0f} ms profiled; profiling inflates Python calls):"
    )
    for (filename, line, func), (_cc, calls, tottime, _ct, _callers) in rows:
        where = func if filename == "~" else f"{Path(filename).name}:{line} {func}"
        print(f"       {tottime * 1000:7.1f} ms  {calls:6d} calls  {where}")


# ---------------------------------------------------------------------------- 3. keystrokes


def _text_for(kind: str, rng: random.Random) -> str:
    if kind == "decimal":
        return rng.choice(
            [f"{rng.uniform(0, 1200):.1f}", f"{rng.uniform(0, 50):.2f}", "1.2.3", f"-{rng.randint(1, 9)}"]
        )
    if kind == "integer":
        return rng.choice([str(rng.randint(0, 6000)), str(rng.randint(0, 300)), "12a"])
    if kind in ("date", "partial_date"):
        return rng.choice(["2026-01-15", "2027-03-01", "2019-12-31", "2026-13-40", "2025-06"])
    if kind == "datetime":
        return "2026-01-31 08:30"
    return rng.choice(["ok", "a note typed at the bedside", "x" * 70])


def bench_keys(
    app: QApplication,
    name: str,
    engine: RulesEngine,
    form_id: str,
    visit: str,
    subject: SubjectData | None,
    count: int,
    seed: int = 5,
) -> None:
    rng = random.Random(seed)
    view = FormView(engine, form_id, visit, {}, subject, CLOCK, "en")
    view.resize(*WINDOW)
    until_painted(app, view, view.show)
    scroll = view.findChild(QScrollArea)
    typed = [f for f, w in view.widgets.items() if isinstance(w, LineField) and view.session.visible[f]]

    # Split each keystroke: rules (session.set_value) and the view's update of the changed fields (apply).
    split = {"rules": 0.0, "apply": 0.0}
    set_value, apply = view.session.set_value, view.apply

    def timed_set_value(field_id: str, raw: Any) -> Any:
        started = time.perf_counter()
        try:
            return set_value(field_id, raw)
        finally:
            split["rules"] += time.perf_counter() - started

    def timed_apply(delta: Any) -> None:
        started = time.perf_counter()
        try:
            apply(delta)
        finally:
            split["apply"] += time.perf_counter() - started

    view.session.set_value = timed_set_value  # type: ignore[method-assign]
    view.apply = timed_apply  # type: ignore[method-assign]

    feedback: list[float] = []  # key event to the call returning: message label already updated
    repaint: list[float] = []  # key event to the field's next paint (the flush that also paints its message)
    repaint_flip: list[float] = []  # ... where the message appeared or disappeared (the form's layout changes)
    rules: list[float] = []
    applied: list[float] = []
    mismatches = shown = no_paint = 0
    while len(feedback) < count:
        field = rng.choice(typed)
        edit = view.findChild(QLineEdit, f"{field}_edit")
        message = view.findChild(QLabel, f"{field}_message")
        if scroll is not None:
            until_painted(app, view, lambda target=edit: scroll.ensureWidgetVisible(target), timeout=0.05)
        edit.setFocus()
        QTest.keyClick(edit, Qt.Key.Key_A, Qt.KeyboardModifier.ControlModifier)  # select all: the next key replaces it
        keys: list[Any] = [Qt.Key.Key_Backspace] if edit.text() else []
        keys += list(_text_for(view.form.fields[field].kind, rng))
        for key in keys:
            app.processEvents()
            split["rules"] = split["apply"] = 0.0
            probe = PaintProbe()
            edit.installEventFilter(probe)
            was_shown = bool(message.text())  # the message line is reserved: shown means it has text
            started = time.perf_counter()
            QTest.keyClick(edit, key)
            returned = time.perf_counter()
            deadline = returned + 0.5
            while not probe.painted and time.perf_counter() < deadline:
                app.processEvents()
            painted = time.perf_counter()
            edit.removeEventFilter(probe)
            feedback.append(returned - started)
            rules.append(split["rules"])
            applied.append(split["apply"])
            if probe.painted:
                (repaint_flip if bool(message.text()) != was_shown else repaint).append(painted - started)
            else:
                no_paint += 1
            issues = view.session.issues_for(field)
            if bool(message.text()) != bool(issues):
                mismatches += 1
            shown += bool(issues)
            if len(feedback) >= count:
                break
    _dispose(app, view)
    qt_rest = [f - r - a for f, r, a in zip(feedback, rules, applied)]
    print(
        f"   {name}: {len(feedback)} keystrokes into {len(typed)} visible typed fields; message shown after {shown} of them, "
        f"label out of step with the rules after {mismatches}"
    )
    print(f"     key event -> message label updated (QTest.keyClick returns): {_ms(feedback, 3)}   (target < 16 ms)")
    print(
        f"       of which rules (FormSession.set_value) {_ms(rules, 3)}; view.apply {_ms(applied, 3)}; "
        f"key delivery, QLineEdit, signal, raw() {_ms(qt_rest, 3)}"
    )
    print(
        f"     key event -> field repainted (processEvents until its paint): {_ms(repaint + repaint_flip, 3)}"
        + (f"; {no_paint} keystrokes without a paint in 0.5 s" if no_paint else "")
    )
    if repaint and repaint_flip:
        print(
            f"       message unchanged in visibility {_ms(repaint, 3)}; message appeared or disappeared (relayout) {_ms(repaint_flip, 3)}"
        )


# ---------------------------------------------------------------------------- main


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=7, help="process starts per variant (default 7)")
    parser.add_argument("--opens", type=int, default=15, help="form openings per variant and form (default 15)")
    parser.add_argument("--keystrokes", type=int, default=300, help="keystrokes per form (default 300)")
    args = parser.parse_args()
    began = time.perf_counter()
    print(
        f"PySide6 {__import__('PySide6').__version__}, Python {sys.version.split()[0]}, QT_QPA_PLATFORM={os.environ['QT_QPA_PLATFORM']}, window {WINDOW[0]}x{WINDOW[1]}"
    )

    bench_start(args.runs)

    qInstallMessageHandler(_quiet)
    app = QApplication.instance() or QApplication(sys.argv)
    study = load_study()
    engine = RulesEngine(study)
    largest = max(study.forms.values(), key=lambda f: len(f.fields))
    visit = "screening" if "screening" in largest.visits else min(largest.visits)
    with tempfile.TemporaryDirectory() as tmp:
        generate_study(Path(tmp))
        big_engine = RulesEngine(load_study(tmp))

    print("2. Opening a form: widget creation to first paint (in process; each window closed and deleted between runs)")
    bench_open(app, f"largest trial form ({largest.id}, visit {visit})", engine, largest.id, visit, SUBJECT, args.opens)
    bench_open(app, "generated form (big, visit v1)", big_engine, "big", "v1", None, args.opens)
    profile_open(app, big_engine, "big", "v1")

    print("3. Keystroke to feedback (QTest.keyClick on <FIELD>_edit; message in <FIELD>_message)")
    bench_keys(app, f"{largest.id}", engine, largest.id, visit, SUBJECT, args.keystrokes)
    bench_keys(app, "generated form (big)", big_engine, "big", "v1", None, args.keystrokes)
    print(f"whole benchmark: {time.perf_counter() - began:.0f} s")


if __name__ == "__main__":
    main()
