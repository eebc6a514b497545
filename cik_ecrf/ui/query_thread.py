"""A query's thread, and the moves the signed-in user may make on it (answer, close, reopen).

Every step shows who, in which role, when (in the time of the place it was done, with its UTC
offset), what was written, and whether an answer came with a correction of the value. The buttons
are enabled by the store's own rule check (`store.monitoring.refusal`), read on the worker; a
disabled one says why in its tooltip. An answer with a correction puts the field's own input
widget in the dialog, so the new value is typed as on the form, and the text is its reason.
"""

from __future__ import annotations

import html
from collections.abc import Callable, Sequence
from typing import Any

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QCheckBox,
    QDialog,
    QHBoxLayout,
    QLabel,
    QListWidget,
    QListWidgetItem,
    QPlainTextEdit,
    QPushButton,
    QTextBrowser,
    QVBoxLayout,
    QWidget,
)

from ..store.api import Store
from ..store.monitoring import QueryMessage, QueryRow
from .fields import FieldWidget, make_field_widget
from .group_table import GroupField
from .monitoring_texts import STATUS_COLOURS, local_time, mtext, role_text
from .worker import StoreWorker

MOVES = ("answer", "close", "reopen")


def step_html(message: QueryMessage, language: str) -> str:
    """One step of the thread as a short block of HTML (texts escaped)."""
    key = f"step_{message.transition}"
    what = mtext(key, language) if key in _KNOWN_STEPS else message.transition
    role = f" ({role_text(message.role, language)})" if message.role else ""
    head = f"<b>{html.escape(message.username)}</b>{html.escape(role)} · {local_time(message.at_utc, message.utc_offset_min)}"
    head += f" · {html.escape(what)}"
    if message.correction:
        head += f" · <span style='color:#6f42c1'>✎ {html.escape(mtext('correction', language))}</span>"
    body = f"<div style='margin-left:12px'>{html.escape(message.text)}</div>" if message.text else ""
    colour = STATUS_COLOURS.get(message.status_after, ("#6c757d", ""))[0]
    status = f"<span style='color:{colour}'>→ {html.escape(mtext(message.status_after, language))}</span>"
    return f"<p>{head} {status}{body}</p>"


_KNOWN_STEPS = {
    f"step_{t}"
    for t in ("open", "open_review", "conflict_open", "answer", "close", "reopen", "conflict_resolved", "modified")
}


class QueryThreadDialog(QDialog):
    sig_changed = Signal(str)
    """The id of a query a move went through on (the form reads its badges again)."""

    sig_loaded = Signal(str)
    """The id of the query whose thread and allowed moves are now shown."""

    def __init__(
        self,
        store: Callable[[], Store],
        worker: StoreWorker,
        queries: Sequence[QueryRow],
        language: str = "en",
        labels: Callable[[QueryRow], str] | None = None,
        field_spec: Callable[[QueryRow], Any] | None = None,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.setObjectName("queryThread")
        self.setWindowTitle(mtext("thread_title", language))
        self.store, self.worker, self.language = store, worker, language
        self.queries = list(queries)
        self.labels = labels or (lambda q: q.field_id or q.form_id or q.visit_id)
        self.field_spec = field_spec or (lambda q: None)
        self.current: QueryRow | None = None
        self.messages: list[QueryMessage] = []
        self.refusals: dict[str, str | None] = {}
        self.correction: FieldWidget | None = None
        layout = QVBoxLayout(self)
        self.chooser = QListWidget()
        self.chooser.setObjectName("queryChooser")
        self.chooser.setMaximumHeight(90)
        for query in self.queries:
            item = QListWidgetItem(f"{self.labels(query)} · {mtext(query.status, language)} · {query.text}")
            item.setData(Qt.ItemDataRole.UserRole, query.id)
            self.chooser.addItem(item)
        self.chooser.setVisible(len(self.queries) > 1)
        self.chooser.currentRowChanged.connect(self._choose)
        layout.addWidget(self.chooser)
        self.about = QLabel("")
        self.about.setObjectName("queryAbout")
        self.about.setWordWrap(True)
        layout.addWidget(self.about)
        self.thread = QTextBrowser()
        self.thread.setObjectName("threadSteps")
        self.thread.setOpenLinks(False)
        layout.addWidget(self.thread, 1)
        self.correction_box = QCheckBox(mtext("with_correction", language))
        self.correction_box.setObjectName("withCorrection")
        self.correction_row = QHBoxLayout()
        self.correction_row.addWidget(self.correction_box)
        layout.addLayout(self.correction_row)
        text_label = QLabel(mtext("your_text", language))
        text_label.setWordWrap(True)
        layout.addWidget(text_label)
        self.text = QPlainTextEdit()
        self.text.setObjectName("queryText")
        self.text.setMaximumHeight(80)
        text_label.setBuddy(self.text)
        layout.addWidget(self.text)
        self.notice = QLabel("")
        self.notice.setObjectName("threadNotice")
        self.notice.setWordWrap(True)
        self.notice.setStyleSheet("color: #b00020")
        layout.addWidget(self.notice)
        buttons = QHBoxLayout()
        self.buttons: dict[str, QPushButton] = {}
        for move in MOVES:
            button = QPushButton(mtext(move, language))
            button.setObjectName(f"query_{move}")
            button.setEnabled(False)
            button.clicked.connect(lambda _c=False, m=move: self.make(m))
            buttons.addWidget(button)
            self.buttons[move] = button
        buttons.addStretch(1)
        done = QPushButton(mtext("done", language))
        done.setObjectName("threadDone")
        done.clicked.connect(self.accept)
        buttons.addWidget(done)
        layout.addLayout(buttons)
        self.resize(620, 520)
        if self.queries:
            self.chooser.setCurrentRow(0)

    # ------------------------------------------------------------------ loading

    def _choose(self, row: int) -> None:
        if 0 <= row < len(self.queries):
            self.show_query(self.queries[row])

    def show_query(self, query: QueryRow) -> None:
        self.current = query
        self._show_about(query)
        self._set_correction(query)
        for button in self.buttons.values():
            button.setEnabled(False)
        self.thread.setHtml(f"<i>{html.escape(mtext('loading', self.language))}</i>")
        query_id, store = query.id, self.store()
        self.worker.submit(
            lambda: (store.monitoring.query(query_id), store.monitoring.thread(query_id), _refusals(store, query_id)),
            self._loaded,
            self._refused,
        )

    def _show_about(self, query: QueryRow) -> None:
        about = mtext("about", self.language).format(
            scope=self.labels(query), status=mtext(query.status, self.language), kind=mtext(query.kind, self.language)
        )
        self.about.setText(f"<b>{html.escape(about)}</b>")

    def _set_correction(self, query: QueryRow) -> None:
        if self.correction is not None:
            self.correction_row.removeWidget(self.correction)
            self.correction.deleteLater()
            self.correction = None
        spec = self.field_spec(query) if query.scope == "field" else None
        if spec is not None and not spec.read_only:
            widget = make_field_widget(spec, self.language)
            if not isinstance(widget, GroupField):
                widget.setObjectName("correctionValue")
                self.correction = widget
                self.correction_row.addWidget(widget, 1)
                widget.edited.connect(lambda _raw: self.correction_box.setChecked(True))
            else:
                widget.deleteLater()
        self.correction_box.setChecked(False)
        self.correction_box.setVisible(self.correction is not None)

    def _loaded(self, result: tuple[QueryRow, list[QueryMessage], dict[str, str | None]]) -> None:
        query, self.messages, self.refusals = result
        if self.current is None or query.id != self.current.id:
            return  # another query was chosen meanwhile
        self.current = query
        self.queries = [query if q.id == query.id else q for q in self.queries]
        self._show_about(query)
        self.thread.setHtml("".join(step_html(m, self.language) for m in self.messages))
        for move, button in self.buttons.items():
            why = self.refusals.get(move)
            button.setEnabled(why is None)
            button.setToolTip(why or "")
        answerable = self.refusals.get("answer") is None and self.correction is not None
        self.correction_box.setEnabled(answerable)
        if self.correction is not None:
            self.correction.setEnabled(answerable)
        self.sig_loaded.emit(query.id)

    def _refused(self, message: str) -> None:
        self.notice.setText(message)

    # ------------------------------------------------------------------ moves

    def make(self, move: str) -> bool:
        """Answer, close or reopen the shown query with the typed text; False when nothing was sent."""
        query = self.current
        if query is None or self.refusals.get(move) is not None:
            return False
        text = self.text.toPlainText().strip()
        if move in ("answer", "reopen") and not text:
            self.notice.setText(mtext("needs_text", self.language))
            return False
        correction = None
        if move == "answer" and self.correction_box.isChecked() and self.correction is not None:
            correction = {self.correction.spec.id: self.correction.raw()}
        monitoring, query_id = self.store().monitoring, query.id
        calls = {
            "answer": lambda: monitoring.answer_query(query_id, text, correction),
            "close": lambda: monitoring.close_query(query_id, text or None),
            "reopen": lambda: monitoring.reopen_query(query_id, text),
        }
        for button in self.buttons.values():
            button.setEnabled(False)
        self.notice.setText("")
        self.worker.submit(calls[move], lambda _r: self._made(query_id), self._move_refused)
        return True

    def _made(self, query_id: str) -> None:
        self.text.clear()
        self.sig_changed.emit(query_id)
        if self.current is not None and self.current.id == query_id:
            self.show_query(self.current)

    def _move_refused(self, message: str) -> None:
        self.notice.setText(message)
        if self.current is not None:
            self.show_query(self.current)


def _refusals(store: Store, query_id: str) -> dict[str, str | None]:
    """Worker side: why each move is refused to the signed-in user (None: allowed)."""
    return {move: store.monitoring.refusal(move, query_id) for move in MOVES}
