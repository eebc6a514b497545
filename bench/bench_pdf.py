"""Signed CRF PDFs: one signed visit, a 40-form casebook, and every casebook of a generated study.

Run: python bench/bench_pdf.py [--subjects N] [--repeats N]
Prints medians, p95s and ratios measured in this one run (no absolute target is asserted anywhere).
The baseline is a bare ReportLab document of the same number of pages and table rows in the
standard Helvetica (no TrueType embedding, no store, no rules): what layout alone costs here.

1. `Store.pdf` of one signed visit (D1: vitals, labs, CRS/ICANS), repeated; split into the store
   read + rules evaluation (`pdf.casebook.gather`) and the rest (layout, font subsetting, writing).
2. A subject with the first 40 forms of the schedule entered and the casebook signed: `Store.pdf`.
3. A study of N subjects with the whole schedule entered (bench_store's generator), every casebook
   printed in turn: time and pages per casebook, ms per page (is it linear in pages?), and memory
   (peak RSS of the process; Python heap peak of the largest casebook with tracemalloc).
"""

from __future__ import annotations

import argparse
import datetime as dt
import io
import itertools
import os
import resource
import statistics
import sys
import tempfile
import time
import tracemalloc
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("CIK_ECRF_KDF_MEMORY_KIB", "8192")  # logins are not what is measured here

import bench_store  # noqa: E402
from pypdf import PdfReader  # noqa: E402
from reportlab.lib.pagesizes import A4  # noqa: E402
from reportlab.lib.styles import getSampleStyleSheet  # noqa: E402
from reportlab.platypus import PageBreak, Paragraph, SimpleDocTemplate, Table  # noqa: E402

from cik_ecrf.core.content import Scope  # noqa: E402
from cik_ecrf.definitions.loader import load_study  # noqa: E402
from cik_ecrf.definitions.spec import StudyDefinition  # noqa: E402
from cik_ecrf.pdf import casebook, record_pdf  # noqa: E402
from cik_ecrf.store.api import Store  # noqa: E402

ADMIN_PW, PI_PW0, PI_PW = "Bench-pass-2026a", "Sign-first-2026", "Sign-pass-2026a"
AT = dt.datetime(2026, 11, 24, 14, 30, tzinfo=dt.timezone(dt.timedelta(hours=8)))


def _ms(values: list[float]) -> str:
    ordered = sorted(values)
    p95 = ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]
    return f"median {statistics.median(values) * 1000:.1f} ms, p95 {p95 * 1000:.1f} ms"


def pages_of(data: bytes) -> int:
    return len(PdfReader(io.BytesIO(data)).pages)


def bare(pages: int, rows_per_page: int) -> bytes:
    """The baseline: the same page and row count with ReportLab's standard font and nothing else."""
    out = io.BytesIO()
    style = getSampleStyleSheet()["BodyText"]
    story: list[Any] = []
    for page in range(pages):
        story.append(
            Table(
                [
                    [Paragraph(f"Item {page}.{row}", style), Paragraph("value", style), "unit", "code"]
                    for row in range(rows_per_page)
                ]
            )
        )
        story.append(PageBreak())
    SimpleDocTemplate(out, pagesize=A4, invariant=1).build(story)
    return out.getvalue()


def timed(fn: Any, repeats: int) -> tuple[list[float], Any]:
    times, result = [], None
    for _ in range(repeats):
        started = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - started)
    return times, result


def make_store(directory: Path) -> None:
    Store.init(directory, "BENCH", "site.admin", ADMIN_PW, device_code="WARD")
    with Store.open(directory, "site.admin", ADMIN_PW) as admin:
        admin.add_user("dr.pi", "investigator", PI_PW0, full_name="Dr. Li Ming 李明")
    with Store.open(directory, "dr.pi", PI_PW0) as pi:
        pi.change_password(PI_PW0, PI_PW)


def rows_per_page(study: StudyDefinition) -> int:
    return max(1, round(statistics.mean(len(f.fields) for f in study.forms.values())))


def bench_visit(tmp: Path, study: StudyDefinition, repeats: int) -> tuple[int, float]:
    directory = tmp / "visit"
    make_store(directory)
    with Store.open(directory, "dr.pi", PI_PW, study) as pi:
        bench_store.generate(pi, study, 1)
        number = pi.subject_numbers()[0]
        pi.sign(number, "D1", meaning="approve", username="dr.pi", password=PI_PW)
        record_pdf(pi, number, "D1", generated_at=AT)  # warm: fonts parsed and registered once per process
        times, data = timed(lambda: record_pdf(pi, number, "D1", generated_at=AT), repeats)

        def gather_only() -> Any:
            with pi.unit_of_work() as session:
                return casebook.gather(session, study, pi.rules, Scope(number, "D1"), False, AT)

        gather_times, _ = timed(gather_only, repeats)
    pages = pages_of(data)
    base, _ = timed(lambda: bare(pages, rows_per_page(study)), repeats)
    print(
        f"1. one signed visit PDF (D1: vitals, labs, crs_icans; {pages} pages, {len(data) / 1024:.0f} KiB), {repeats} runs: {_ms(times)}"
    )
    print(
        f"   of which store read + rules (gather): {_ms(gather_times)}; layout + fonts + writing: ~{(statistics.median(times) - statistics.median(gather_times)) * 1000:.1f} ms"
    )
    print(
        f"   baseline, bare ReportLab with the same pages and rows: {_ms(base)}; ratio {statistics.median(times) / statistics.median(base):.2f}x"
    )
    return pages, statistics.median(times)


def bench_forty(tmp: Path, study: StudyDefinition, repeats: int) -> tuple[int, float]:
    directory = tmp / "forty"
    make_store(directory)
    full = bench_store.schedule
    bench_store.schedule = lambda s, p: itertools.islice(full(s, p), 40)  # the first 40 forms of the schedule
    try:
        with Store.open(directory, "dr.pi", PI_PW, study) as pi:
            bench_store.generate(pi, study, 1)
    finally:
        bench_store.schedule = full
    with Store.open(directory, "dr.pi", PI_PW, study) as pi:
        number = pi.subject_numbers()[0]
        forms = len(pi.subject_values(number)[1])
        pi.sign(number, meaning="approve", username="dr.pi", password=PI_PW)
        times, data = timed(lambda: record_pdf(pi, number, generated_at=AT), max(3, repeats // 5))
    pages = pages_of(data)
    base, _ = timed(lambda: bare(pages, rows_per_page(study)), max(3, repeats // 5))
    print(
        f"2. a signed {forms}-form casebook ({pages} pages, {len(data) / 1024:.0f} KiB): {_ms(times)}, {statistics.median(times) * 1000 / pages:.1f} ms/page"
    )
    print(
        f"   baseline, bare ReportLab with the same pages and rows: {_ms(base)}; ratio {statistics.median(times) / statistics.median(base):.2f}x"
    )
    return pages, statistics.median(times)


def _rss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def bench_study(tmp: Path, study: StudyDefinition, subjects: int) -> list[tuple[int, float]]:
    directory = tmp / "study"
    make_store(directory)
    with Store.open(directory, "dr.pi", PI_PW, study) as pi:
        started = time.perf_counter()
        instances, values, _ = bench_store.generate(pi, study, subjects)
        generated = time.perf_counter() - started
    print(
        f"3. a study of {subjects} subjects, whole schedule entered: {instances} form instances, {values} values ({generated:.0f} s to generate)"
    )
    rss_before = _rss_mib()
    samples: list[tuple[int, float, int]] = []  # pages, seconds, bytes
    with Store.open(directory, "dr.pi", PI_PW, study) as pi:
        numbers = pi.subject_numbers()
        started = time.perf_counter()
        for number in numbers:
            t0 = time.perf_counter()
            data = record_pdf(pi, number, generated_at=AT)
            samples.append((pages_of(data), time.perf_counter() - t0, len(data)))
        total = time.perf_counter() - started
        largest = numbers[max(range(len(samples)), key=lambda i: samples[i][0])]
        tracemalloc.start()
        record_pdf(pi, largest, generated_at=AT)
        heap_peak = tracemalloc.get_traced_memory()[1] / 2**20
        tracemalloc.stop()
    pages = [p for p, _, _ in samples]
    seconds = [s for _, s, _ in samples]
    per_page = [s / p for p, s, _ in samples]
    print(
        f"   all {len(samples)} casebooks in {total:.1f} s: {sum(pages)} pages, {sum(b for _, _, b in samples) / 2**20:.1f} MiB of PDF; "
        f"per casebook {_ms(seconds)}, {min(pages)}–{max(pages)} pages"
    )
    print(
        f"   time per page: median {statistics.median(per_page) * 1000:.1f} ms (min {min(per_page) * 1000:.1f}, max {max(per_page) * 1000:.1f}); "
        f"the whole study: {total / sum(pages) * 1000:.1f} ms/page"
    )
    halves = sorted(samples)
    small, big = halves[: len(halves) // 2] or halves, halves[len(halves) // 2 :]
    print(
        f"   linearity: smaller half {statistics.mean(p for p, _, _ in small):.0f} pages at {statistics.mean(s / p for p, s, _ in small) * 1000:.1f} ms/page, "
        f"larger half {statistics.mean(p for p, _, _ in big):.0f} pages at {statistics.mean(s / p for p, s, _ in big) * 1000:.1f} ms/page"
    )
    print(
        f"   memory: peak RSS {rss_before:.0f} MiB before the casebooks, {_rss_mib():.0f} MiB after all of them; "
        f"Python heap peak while printing the largest casebook ({max(pages)} pages): {heap_peak:.0f} MiB"
    )
    return [(p, s) for p, s, _ in samples]


def fit(points: list[tuple[int, float]]) -> tuple[float, float]:
    """Least squares seconds = fixed + per_page * pages."""
    mean_p = statistics.mean(p for p, _ in points)
    mean_s = statistics.mean(s for _, s in points)
    var = sum((p - mean_p) ** 2 for p, _ in points)
    per_page = sum((p - mean_p) * (s - mean_s) for p, s in points) / var
    return mean_s - per_page * mean_p, per_page


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--subjects", type=int, default=213)
    parser.add_argument("--repeats", type=int, default=30)
    args = parser.parse_args()
    started = time.perf_counter()
    study = load_study(ROOT / "forms")
    with tempfile.TemporaryDirectory(prefix="cik-bench-pdf-") as tmp:
        visit = bench_visit(Path(tmp), study, max(3, args.repeats))
        forty = bench_forty(Path(tmp), study, max(3, args.repeats))
        casebooks = bench_study(Path(tmp), study, max(1, args.subjects))
    points = [visit, forty, *casebooks]
    fixed, per_page = fit(points)
    deviations = sorted(abs(s - (fixed + per_page * p)) / s for p, s in points)
    print(
        f"4. linear in pages? over the visit ({visit[0]} pages), the 40-form casebook ({forty[0]}) and the study's casebooks ({min(p for p, _ in casebooks)}–{max(p for p, _ in casebooks)}): "
        f"time = {fixed * 1000:.0f} ms + {per_page * 1000:.2f} ms/page; deviation from that line: median {statistics.median(deviations) * 100:.0f} %, "
        f"largest {deviations[-1] * 100:.0f} % (a busy machine shows up here)"
    )
    print(f"total wall time {time.perf_counter() - started:.0f} s")


if __name__ == "__main__":
    main()
