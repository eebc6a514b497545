"""Two small charts drawn with QPainter: horizontal bars and a monthly cumulative line.

QtCharts is not in PySide6-Essentials (it comes with the ~200 MB PySide6-Addons wheel) and matplotlib
would add ~40 MB and a second rendering stack to the installer, for four simple charts. Plain
QPainter draws them in the client's own fonts (Chinese included), costs nothing to ship, and the same
numbers are drawn with ReportLab for `cik-ecrf report`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from PySide6.QtCore import QPointF, QRectF, QSize, Qt
from PySide6.QtGui import QColor, QFontMetrics, QPainter, QPaintEvent, QPen
from PySide6.QtWidgets import QSizePolicy, QWidget

AXIS = QColor("#6c757d")
GRID = QColor("#dee2e6")
TEXT = QColor("#212529")


@dataclass(frozen=True)
class Bar:
    label: str
    value: int
    colour: str
    tip: str = ""


@dataclass(frozen=True)
class Series:
    name: str
    colour: str
    values: tuple[int, ...]


class BarChart(QWidget):
    """Labelled horizontal bars, one line each, the value written at the bar's end."""

    ROW = 22

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.bars: tuple[Bar, ...] = ()
        self.empty_text = ""
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed)

    def set_bars(self, bars: Sequence[Bar], empty_text: str = "") -> None:
        self.bars, self.empty_text = tuple(bars), empty_text
        self.setToolTip("\n".join(b.tip or f"{b.label}: {b.value}" for b in self.bars))
        self.setFixedHeight(max(1, len(self.bars)) * self.ROW + 8)
        self.update()

    def sizeHint(self) -> QSize:
        return QSize(320, max(1, len(self.bars)) * self.ROW + 8)

    def paintEvent(self, event: QPaintEvent) -> None:
        painter = QPainter(self)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        metrics = QFontMetrics(self.font())
        if not self.bars:
            painter.setPen(AXIS)
            painter.drawText(self.rect(), Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter, self.empty_text)
            return
        label_width = min(max(metrics.horizontalAdvance(b.label) for b in self.bars) + 10, self.width() // 2)
        value_width = max(metrics.horizontalAdvance(str(b.value)) for b in self.bars) + 8
        room = max(10, self.width() - label_width - value_width - 4)
        top = max(1, max(b.value for b in self.bars))
        for n, bar in enumerate(self.bars):
            y = 4 + n * self.ROW
            label = metrics.elidedText(bar.label, Qt.TextElideMode.ElideRight, label_width - 8)
            painter.setPen(TEXT)
            painter.drawText(
                QRectF(0, y, label_width - 8, self.ROW),
                Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter,
                label,
            )
            length = room * bar.value / top
            painter.setPen(Qt.PenStyle.NoPen)
            painter.setBrush(QColor(bar.colour))
            painter.drawRoundedRect(QRectF(label_width, y + 4, max(length, 2 if bar.value else 0), self.ROW - 8), 2, 2)
            painter.setPen(TEXT)
            painter.drawText(
                QRectF(label_width + length + 4, y, value_width, self.ROW),
                Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter,
                str(bar.value),
            )


class LineChart(QWidget):
    """Cumulative counts by month: one line per series, month ticks below, a light grid."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.months: tuple[str, ...] = ()
        self.series: tuple[Series, ...] = ()
        self.empty_text = ""
        self.setMinimumHeight(190)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)

    def set_data(self, months: Sequence[str], series: Sequence[Series], empty_text: str = "") -> None:
        self.months, self.series, self.empty_text = tuple(months), tuple(series), empty_text
        last = [f"{s.name}: {s.values[-1]}" for s in self.series if s.values]
        self.setToolTip(f"{self.months[-1]} — " + ", ".join(last) if self.months and last else "")
        self.update()

    def sizeHint(self) -> QSize:
        return QSize(480, 220)

    def paintEvent(self, event: QPaintEvent) -> None:
        painter = QPainter(self)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        metrics = QFontMetrics(self.font())
        if not self.months:
            painter.setPen(AXIS)
            painter.drawText(self.rect(), Qt.AlignmentFlag.AlignCenter, self.empty_text)
            return
        top_value = max([1, *(v for s in self.series for v in s.values)])
        step = _nice_step(top_value)
        top_value = step * -(-top_value // step)
        half_tick = metrics.horizontalAdvance("2026-01") / 2 + 2  # month labels are centred under their point
        left = max(metrics.horizontalAdvance(str(top_value)) + 10, half_tick)
        legend_h = metrics.height() + 6
        plot = QRectF(
            left, legend_h + 4, self.width() - left - half_tick, self.height() - legend_h - metrics.height() - 16
        )
        painter.setPen(QPen(GRID, 1))
        for tick in range(0, top_value + 1, step):
            y = plot.bottom() - plot.height() * tick / top_value
            painter.setPen(QPen(GRID, 1))
            painter.drawLine(QPointF(plot.left(), y), QPointF(plot.right(), y))
            painter.setPen(AXIS)
            painter.drawText(
                QRectF(0, y - 8, left - 6, 16), Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter, str(tick)
            )
        count = len(self.months)

        def x_of(index: int) -> float:
            return plot.left() + (plot.width() * index / (count - 1) if count > 1 else plot.width() / 2)

        every = max(1, -(-count * (metrics.horizontalAdvance("2026-01") + 12) // max(1, int(plot.width()))))
        painter.setPen(AXIS)
        labelled = list(range(0, count, every))
        if count and labelled[-1] != count - 1:  # the latest month is always named, never on top of another
            labelled[-1 if count - 1 - labelled[-1] < every and len(labelled) > 1 else len(labelled) :] = [count - 1]
        for index, month in enumerate(self.months):
            if index in labelled:
                painter.drawText(
                    QRectF(x_of(index) - 40, plot.bottom() + 4, 80, metrics.height()),
                    Qt.AlignmentFlag.AlignHCenter,
                    month,
                )
        x = left
        for series in self.series:
            colour = QColor(series.colour)
            painter.setPen(QPen(colour, 2.4))
            points = [
                QPointF(x_of(i), plot.bottom() - plot.height() * v / top_value) for i, v in enumerate(series.values)
            ]
            for a, b in zip(points, points[1:], strict=False):
                painter.drawLine(a, b)
            painter.setBrush(colour)
            for point in points[-1:]:
                painter.drawEllipse(point, 3.5, 3.5)
            painter.drawLine(QPointF(x, legend_h / 2), QPointF(x + 18, legend_h / 2))
            painter.setPen(TEXT)
            text = f"{series.name} ({series.values[-1] if series.values else 0})"
            painter.drawText(QPointF(x + 24, legend_h / 2 + metrics.ascent() / 2 - 1), text)
            x += 24 + metrics.horizontalAdvance(text) + 22


def _nice_step(top: int) -> int:
    for step in (1, 2, 5, 10, 20, 25, 50, 100):
        if top / step <= 6:
            return step
    return 100 * -(-top // 600)
