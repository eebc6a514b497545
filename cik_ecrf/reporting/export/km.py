"""Kaplan–Meier curves of EFS and OS from the endpoint dataset, with lifelines (the optional `km` extra:
the server's and the statistician's, never the ward laptop's bundle, so it is imported by name at run
time and its absence is one clear line).

Each curve has its 95 % confidence band (lifelines' default: exponential Greenwood, log(-log)), the
numbers at risk under the axis and the 2-year (730-day) rate with its interval; overall when blinded,
per arm with a log-rank test when unblinded. One PDF page and one PNG per parameter and language.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .endpoints import EndpointData

PARAMETERS = ("EFS", "OS")
TWO_YEARS = 730  # days: the M24 visit's target day
TEXT = {
    "en": {
        "EFS": "Event-free survival",
        "OS": "Overall survival",
        "days": "Days from first infusion",
        "survival": "Probability",
        "at_risk": "At risk",
        "all": "All subjects",
        "rate": "2-year rate",
        "logrank": "Log-rank p",
        "blinded": "blinded: all arms together",
        "subjects": "n",
        "events": "events",
    },
    "zh": {
        "EFS": "无事件生存",
        "OS": "总生存",
        "days": "自首次回输起的天数",
        "survival": "概率",
        "at_risk": "风险人数",
        "all": "全部受试者",
        "rate": "2年率",
        "logrank": "对数秩检验 p",
        "blinded": "盲态：各组合并",
        "subjects": "例数",
        "events": "事件",
    },
}
FONTS = ("DejaVuSans.ttf", "DroidSansFallbackFull.ttf")


class MissingExtra(Exception):
    """lifelines (and matplotlib, which it brings) is not installed."""


@dataclass(frozen=True)
class Estimate:
    group: str
    subjects: int
    events: int
    rate: float | None  # S(730)
    lower: float | None
    upper: float | None


def _lib(name: str) -> Any:
    try:
        return importlib.import_module(name)
    except ImportError:
        raise MissingExtra(
            "--km needs lifelines: pip install 'cik-ecrf[km]' (the server and statistician extra)"
        ) from None


def fit(durations: list[int], events: list[int], label: str) -> Any:
    lifelines = _lib("lifelines")
    return lifelines.KaplanMeierFitter().fit(durations, events, label=label)


def rate_at(fitter: Any, days: int = TWO_YEARS) -> tuple[float | None, float | None, float | None]:
    """S(days) and its 95 % interval, read off the step function (None when follow-up is shorter)."""
    timeline = fitter.survival_function_.index
    if len(timeline) == 0 or timeline.max() < days and fitter.survival_function_.iloc[-1, 0] > 0:
        return None, None, None
    survival = float(fitter.survival_function_.loc[:days].iloc[-1, 0])
    band = fitter.confidence_interval_survival_function_.loc[:days].iloc[-1]
    return survival, float(band.iloc[0]), float(band.iloc[1])


def groups(data: EndpointData, paramcd: str) -> dict[str, tuple[list[int], list[int]]]:
    out: dict[str, tuple[list[int], list[int]]] = {}
    for row in data.rows:
        if row.paramcd != paramcd:
            continue
        key = (row.arm or "") if data.unblinded else ""
        durations, events = out.setdefault(key, ([], []))
        durations.append(row.aval)
        events.append(1 - row.cnsr)
    return dict(sorted(out.items()))


def estimates(data: EndpointData, paramcd: str) -> tuple[list[Estimate], float | None]:
    """Per group (one, blinded) the 2-year rate; with two or more arms the log-rank p."""
    found = groups(data, paramcd)
    out = []
    for name, (durations, events) in found.items():
        rate, lower, upper = rate_at(fit(durations, events, name or "all"))
        out.append(Estimate(name, len(durations), sum(events), rate, lower, upper))
    p_value = None
    if len(found) >= 2:
        statistics = _lib("lifelines.statistics")
        names = list(found)
        durations = [d for n in names for d in found[n][0]]
        events = [e for n in names for e in found[n][1]]
        labels = [n for n in names for _ in found[n][0]]
        p_value = float(statistics.multivariate_logrank_test(durations, labels, events).p_value)
    return out, p_value


def _figure(data: EndpointData, paramcd: str, language: str, arm_labels: dict[str, str] | None) -> Any:
    plt = _lib("matplotlib.pyplot")
    plotting = _lib("lifelines.plotting")
    text = TEXT[language]
    figure, axis = plt.subplots(figsize=(8.27, 5.8))
    fitters = []
    found = groups(data, paramcd)
    for name, (durations, events) in found.items():
        label = (arm_labels or {}).get(name, name) if name else text["all"]
        fitter = fit(durations, events, label)
        fitter.plot_survival_function(ax=axis, ci_show=True, show_censors=True, censor_styles={"ms": 5, "marker": "|"})
        fitters.append(fitter)
    found_estimates, p_value = estimates(data, paramcd)
    lines = []
    for estimate, fitter in zip(found_estimates, fitters):
        if estimate.rate is None:
            shown = "—"
        else:
            shown = f"{estimate.rate:.1%} (95% CI {estimate.lower:.1%}–{estimate.upper:.1%})"
        lines.append(
            f"{fitter._label}: {text['rate']} {shown}; {text['subjects']}={estimate.subjects}, {text['events']}={estimate.events}"
        )
    if p_value is not None:
        lines.append(f"{text['logrank']} = {p_value:.3g}")
    elif not data.unblinded:
        lines.append(text["blinded"])
    axis.set_title(f"{text[paramcd]} ({paramcd})")
    axis.set_xlabel(text["days"])
    axis.set_ylabel(text["survival"])
    axis.set_ylim(0, 1.05)
    axis.axvline(TWO_YEARS, color="grey", lw=0.6, ls=":")
    axis.text(
        0.98,
        0.97,
        "\n".join(lines),
        transform=axis.transAxes,
        ha="right",
        va="top",
        fontsize=8,
        bbox={"facecolor": "white", "alpha": 0.85, "edgecolor": "grey"},
    )
    if fitters:
        plotting.add_at_risk_counts(*fitters, ax=axis, rows_to_show=["At risk"])
        table = figure.axes[-1]  # the twin axis lifelines adds for the table
        figure.canvas.draw()  # the table's labels exist once drawn: then its heading is translated
        limits, ticks = table.get_xlim(), table.get_xticks()
        translated = [label.get_text().replace("At risk", text["at_risk"]) for label in table.get_xticklabels()]
        table.set_xticks(ticks, translated, ha="right")
        table.set_xlim(limits)
    figure.tight_layout()
    return figure


def _fonts(fonts_dir: Path | None) -> None:
    if fonts_dir is None:
        return
    manager = _lib("matplotlib.font_manager")
    matplotlib = _lib("matplotlib")
    names = []
    for filename in FONTS:
        path = fonts_dir / filename
        if path.is_file():
            manager.fontManager.addfont(str(path))
            names.append(manager.FontProperties(fname=str(path)).get_name())
    matplotlib.rcParams["font.family"] = names or ["sans-serif"]


def write_km(
    data: EndpointData, pdf_path: Path, fonts_dir: Path | None = None, arm_labels: dict[str, str] | None = None
) -> list[Path]:
    """`pdf_path` (a page per parameter and language) and beside it `<stem>_<PARAM>_<lang>.png`."""
    matplotlib = _lib("matplotlib")
    matplotlib.use("Agg")
    _lib("lifelines")
    backend = _lib("matplotlib.backends.backend_pdf")
    plt = _lib("matplotlib.pyplot")
    _fonts(fonts_dir)
    pdf_path.parent.mkdir(parents=True, exist_ok=True)
    written = [pdf_path]
    with backend.PdfPages(pdf_path, metadata={"Title": "Kaplan–Meier: EFS, OS", "Creator": "CIK-eCRF"}) as pages:
        for language in ("en", "zh"):
            for paramcd in PARAMETERS:
                figure = _figure(data, paramcd, language, arm_labels)
                pages.savefig(figure)
                png = pdf_path.with_name(f"{pdf_path.stem}_{paramcd}_{language}.png")
                figure.savefig(png, dpi=110)
                written.append(png)
                plt.close(figure)
    return written
