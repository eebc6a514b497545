"""Rules work per keystroke, incremental versus full re-evaluation, and `forms check` wall time.

Run: python bench/bench_rules.py [--keystrokes N]
Prints medians and ratios measured in this one run (no absolute target is asserted anywhere).
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from cik_ecrf.definitions.loader import load_study  # noqa: E402
from cik_ecrf.rules import Clock, FormSession, RulesEngine, SubjectData  # noqa: E402

CLOCK = Clock.fixed("2026-02-01T10:00+08:00")


def _label(text: str) -> dict[str, str]:
    return {"en": text, "zh": text}


def generate_study(directory: Path, n_fields: int = 1000, n_rules: int = 300, seed: int = 7) -> None:
    """A synthetic form: n_fields numeric/choice fields and n_rules show-ifs, derivations and checks."""
    rng = random.Random(seed)
    per_kind = n_rules // 3
    entered = n_fields - per_kind  # the derived fields make up the rest
    fields: list[dict] = []
    for i in range(entered):
        fid = f"F{i:04d}"
        if i % 10 == 9:
            fields.append({"id": fid, "type": "yesno", "label": _label(fid)})
        else:
            fields.append(
                {
                    "id": fid,
                    "type": "decimal",
                    "decimals": 1,
                    "label": _label(fid),
                    "range": {"min": 0, "max": 1000},
                    "soft_range": {"min": 1, "max": 900},
                }
            )
    numeric = [f["id"] for f in fields if f["type"] == "decimal"]
    flags = [f["id"] for f in fields if f["type"] == "yesno"]
    checks = []
    for target_id in numeric[-per_kind:]:  # show-ifs on fields near the end, driven by a flag
        fields[int(target_id[1:])]["show_if"] = f'{rng.choice(flags)} = "Y"'
    derived_count = 0
    for k in range(per_kind):  # derived fields appended
        a, b = rng.sample(numeric[: entered // 2], 2)
        fields.append(
            {
                "id": f"D{k:04d}",
                "type": "derived",
                "value_type": "decimal",
                "decimals": 2,
                "label": _label(f"D{k}"),
                "derive": f"round({a} * 2 + {b} / 3, 2)",
            }
        )
        derived_count += 1
    for k in range(n_rules - 2 * per_kind):  # cross-field checks
        a, b = rng.sample(numeric, 2)
        checks.append(
            {
                "id": f"C{k:04d}",
                "severity": "warning",
                "assert": f"{a} <= {b} + 500",
                "fields": [a],
                "message": _label("check"),
            }
        )
    form = {"id": "big", "version": "1", "title": _label("Big"), "fields": fields, "checks": checks}
    study = {
        "id": "BENCH",
        "version": "1",
        "title": _label("Bench"),
        "codelists": {"NY": {"codes": [{"code": "Y", "label": _label("Yes")}, {"code": "N", "label": _label("No")}]}},
        "visits": [{"id": "v1", "label": _label("Visit 1"), "forms": ["big"]}],
    }
    (directory / "study.json").write_text(json.dumps(study))
    (directory / "big.json").write_text(json.dumps(form))


def keystrokes(session: FormSession, count: int, seed: int = 11) -> tuple[list[float], list[float]]:
    """Time `set_value` (incremental) and a full re-evaluation after the same keystroke."""
    rng = random.Random(seed)
    editable = [f for f, spec in session.form.fields.items() if spec.definition.type in ("decimal", "integer", "yesno")]
    incremental: list[float] = []
    full: list[float] = []
    for _ in range(count):
        field = rng.choice(editable)
        kind = session.form.fields[field].definition.type
        value = (
            rng.choice(["Y", "N"])
            if kind == "yesno"
            else str(rng.randint(0, 1100))
            if kind == "integer"
            else f"{rng.uniform(0, 1100):.1f}"
        )
        started = time.perf_counter()
        session.set_value(field, value)
        incremental.append(time.perf_counter() - started)
        started = time.perf_counter()
        session.evaluate_all()
        full.append(time.perf_counter() - started)
    return incremental, full


def _ms(values: list[float]) -> str:
    qs = statistics.quantiles(values, n=20)
    return f"median {statistics.median(values) * 1000:.4f} ms, p95 {qs[18] * 1000:.4f} ms"


def report(name: str, session: FormSession, count: int) -> None:
    incremental, full = keystrokes(session, count)
    ratio = statistics.median(full) / statistics.median(incremental)
    print(f"{name}: {len(session.form.fields)} fields, {session.graph.size} graph nodes")
    print(f"  incremental: {_ms(incremental)}")
    print(f"  full:        {_ms(full)}")
    print(f"  full / incremental (median): {ratio:.1f}x")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--keystrokes", type=int, default=2000)
    args = parser.parse_args()

    started = time.perf_counter()
    study = load_study(ROOT / "forms")
    engine = RulesEngine(study)
    print(f"load shipped forms + build graphs (in process): {(time.perf_counter() - started) * 1000:.1f} ms")
    largest = max(study.forms.values(), key=lambda f: len(engine.graphs[f.id].nodes))
    subject = SubjectData.of(
        {
            ("screening", "demographics"): {"BRTHDAT": "2010-05-01", "SEX": "F", "CHILDPOT": "Y"},
            ("screening", "consent"): {"ICFDAT": "2026-01-10"},
        }
    )
    report(
        f"largest trial form ({largest.id})",
        engine.session(largest.id, "screening", {}, subject, CLOCK),
        args.keystrokes,
    )

    with tempfile.TemporaryDirectory() as tmp:
        generate_study(Path(tmp))
        started = time.perf_counter()
        big_study = load_study(tmp)
        big_engine = RulesEngine(big_study)
        print(
            f"generated form: load + compile + graph: {(time.perf_counter() - started) * 1000:.1f} ms, {big_study.rule_count()} rules"
        )
        report(
            "generated form (1,000 fields, 300 rules)",
            big_engine.session("big", "v1", {}, None, CLOCK),
            args.keystrokes,
        )

    def wall(argv: list[str], runs: int = 5) -> float:
        times = []
        for _ in range(runs):
            started = time.perf_counter()
            subprocess.run(argv, check=True, capture_output=True, cwd=ROOT)
            times.append(time.perf_counter() - started)
        return statistics.median(times)

    bare = wall([sys.executable, "-c", "import pydantic"])
    check = wall([sys.executable, "-m", "cik_ecrf", "forms", "check", "forms"])
    print(
        f"`cik-ecrf forms check forms/` wall time: median {check * 1000:.0f} ms; "
        f"a bare `python -c 'import pydantic'` {bare * 1000:.0f} ms; ratio {check / bare:.2f}x"
    )


if __name__ == "__main__":
    main()
