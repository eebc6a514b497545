"""Export speed: ODM written and validated for a generated 213-subject study with the whole schedule
entered (target < 10 s), and all three exports (ODM, CSV, endpoints) at 1×, 2× and 4× the size, to
show they scale linearly (time per subject stays flat).

    .venv/bin/python bench/bench_export.py [--subjects 213] [--scale 1 2 4]

Needs the test extras (odmlib, lxml). Prints medians of --repeat runs.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests" / "export"))

import odmlib
from lxml import etree
from synthetic import generate

from cik_ecrf.definitions.loader import load_study
from cik_ecrf.reporting.export.csv_export import write_endpoints, write_forms
from cik_ecrf.reporting.export.endpoints import derive
from cik_ecrf.reporting.export.odm import write_odm
from cik_ecrf.rules import RulesEngine

XSD = Path(odmlib.__file__).parent / "schemas" / "odm" / "1.3.2" / "ODM1-3-2.xsd"


CPU: list[float] = []  # process CPU seconds of the last _time() (wall time suffers on a shared machine)


def _time(fn, repeat: int) -> float:
    runs, cpu = [], []
    for _ in range(repeat):
        started, started_cpu = time.perf_counter(), time.process_time()
        fn()
        runs.append(time.perf_counter() - started)
        cpu.append(time.process_time() - started_cpu)
    CPU.append(statistics.median(cpu))
    return statistics.median(runs)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--subjects", type=int, default=213)
    parser.add_argument("--scale", type=int, nargs="+", default=[1, 2, 4])
    parser.add_argument("--repeat", type=int, default=1)
    args = parser.parse_args()
    study = load_study()
    engine = RulesEngine(study)
    schema = etree.XMLSchema(etree.parse(str(XSD)))
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp)
        base = None
        print("seconds: wall (CPU of this process); ms/subject: CPU of odm + csv + endpoints per subject")
        print(
            f"{'subjects':>8} {'instances':>9} {'audit':>8} {'odm s':>13} {'MB':>6} {'valid s':>13} "
            f"{'csv s':>13} {'endpoints s':>13} ms/subject"
        )
        for scale in args.scale:
            n = args.subjects * scale
            dataset = generate(study, n)
            odm_path = out / "study.xml"

            def odm() -> None:
                with odm_path.open("w", encoding="utf-8") as handle:
                    write_odm(dataset, study, handle, engine=engine)

            def validate() -> None:
                assert schema.validate(etree.parse(str(odm_path))), schema.error_log

            CPU.clear()
            odm_s = _time(odm, args.repeat)
            valid_s = _time(validate, args.repeat) if scale == args.scale[0] else float("nan")
            if scale != args.scale[0]:
                CPU.append(float("nan"))  # the schema check is timed at the first size only (memory)
            csv_s = _time(lambda: write_forms(out / "csv", dataset, study, engine=engine), args.repeat)
            endp_s = _time(
                lambda: write_endpoints(out / "adtte.csv", derive(dataset, study, engine=engine)), args.repeat
            )
            odm_cpu, valid_cpu, csv_cpu, endp_cpu = CPU
            per = (odm_cpu + csv_cpu + endp_cpu) / n * 1000
            base = base or per
            print(
                f"{n:>8} {len(dataset.instances):>9} {len(dataset.audit):>8} {odm_s:>6.2f} ({odm_cpu:>4.1f}) "
                f"{odm_path.stat().st_size / 1e6:>6.1f} {valid_s:>6.2f} ({valid_cpu:>4.1f}) {csv_s:>6.2f} ({csv_cpu:>4.1f}) "
                f"{endp_s:>6.2f} ({endp_cpu:>4.1f}) {per:>6.1f} ({per / base:.2f}× the 1× figure)"
            )
            if scale == 1:
                print(
                    f"         ODM export + validation at {n} subjects: {odm_s + valid_s:.2f} s wall, "
                    f"{odm_cpu + valid_cpu:.2f} s CPU (target < 10 s)"
                )


if __name__ == "__main__":
    main()
