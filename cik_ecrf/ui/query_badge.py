"""A field's query badge: how many queries, coloured by the one that most needs someone; a click opens
the thread. Also the field's source-data verification mark, beside it.

The badge sits in the field's own row (after the input), so the form's layout does not move when a
query arrives; it is a small flat button, reachable with the keyboard and read by screen readers.
"""

from __future__ import annotations

from collections.abc import Sequence

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QHBoxLayout, QLabel, QToolButton, QWidget

from ..store.monitoring import QueryRow
from .monitoring_texts import STATUS_COLOURS, mtext, worst_status


class QueryBadge(QToolButton):
    """`n` on the colour of the most urgent status; `sig_clicked` carries the queries it stands for."""

    sig_open = Signal(list)
    """The badge's `QueryRow`s (the thread dialog shows them, the first selected)."""

    def __init__(self, language: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.language = language
        self.queries: list[QueryRow] = []
        self.status = ""
        self.setCursor(Qt.CursorShape.PointingHandCursor)
        self.setFocusPolicy(Qt.FocusPolicy.TabFocus)
        self.clicked.connect(lambda: self.sig_open.emit(list(self.queries)))
        self.setVisible(False)

    def show_queries(self, queries: Sequence[QueryRow], label: str = "") -> None:
        self.queries = list(queries)
        if not self.queries:
            self.setVisible(False)
            return
        self.status = worst_status([q.status for q in self.queries])
        background, text = STATUS_COLOURS[self.status]
        self.setText(f"{label}: {len(self.queries)}" if label else f"? {len(self.queries)}")
        self.setStyleSheet(
            f"QToolButton {{ background: {background}; color: {text}; border-radius: 8px; padding: 1px 7px;"
            " font-weight: 600; border: none; }"
        )
        counts: dict[str, int] = {}
        for query in self.queries:
            counts[query.status] = counts.get(query.status, 0) + 1
        statuses = ", ".join(f"{n} {mtext(s, self.language)}" for s, n in counts.items())
        tip = mtext("badge_tip", self.language).format(n=len(self.queries), statuses=statuses)
        self.setToolTip(tip)
        self.setAccessibleName(tip)
        self.setVisible(True)


class FieldMarks(QWidget):
    """What a field carries beside its input: the query badge and the SDV mark ("verified", "dropped")."""

    def __init__(self, field_id: str, language: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName(f"{field_id}_marks")
        self.language = language
        layout = QHBoxLayout(self)
        layout.setContentsMargins(4, 0, 0, 0)
        layout.setSpacing(4)
        self.badge = QueryBadge(language)
        self.badge.setObjectName(f"{field_id}_queryBadge")
        self.sdv = QLabel("")
        self.sdv.setObjectName(f"{field_id}_sdv")
        self.sdv.setVisible(False)
        layout.addWidget(self.badge)
        layout.addWidget(self.sdv)
        self.setVisible(False)

    def show_marks(self, queries: Sequence[QueryRow], sdv: str | None) -> None:
        self.badge.show_queries(queries)
        if sdv in ("verified", "dropped"):
            word = mtext(f"sdv_{sdv}", self.language)
            colour = "#198754" if sdv == "verified" else "#b35c00"
            self.sdv.setText(f"✓ {word}" if sdv == "verified" else f"⚠ {word}")
            self.sdv.setStyleSheet(f"color: {colour}; font-size: 9pt;")
            self.sdv.setToolTip(mtext("sdv_field_tip", self.language).format(state=word))
            self.sdv.setProperty("state", sdv)
            self.sdv.setVisible(True)
        else:
            self.sdv.setProperty("state", None)
            self.sdv.setVisible(False)
        self.setVisible(bool(queries) or sdv in ("verified", "dropped"))
