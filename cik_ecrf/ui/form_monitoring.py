"""Monitoring on a form page: query badges on fields, form and visit queries and SDV in the header, the
lock banner (and the form read-only under a lock), and the monitor's and data manager's actions.

Everything is read in one job on the page's worker after the form has loaded (and again after a
save, a move on a query, a verification or a lock), so the UI thread never reads the database. The
page calls `refresh()`, `decorate(view)` when it builds a view, and `extend_menu()` for a field's
context menu; the rest is here.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import QObject, Signal
from PySide6.QtWidgets import QHBoxLayout, QLabel, QMenu, QPushButton, QVBoxLayout, QWidget
from shiboken6 import isValid

from ..core.queries import LOCK_ROLES, SDV_ROLES
from ..store.monitoring import LockInfo, QueryRow, SdvState
from .monitoring_actions import Target, ask_new_query, ask_unlock_reason
from .monitoring_texts import local_time, mtext
from .query_badge import FieldMarks, QueryBadge
from .query_thread import QueryThreadDialog

if TYPE_CHECKING:
    from .form_page import FormPage
    from .form_view import FormView


@dataclass(frozen=True)
class FormMonitoringData:
    queries: list[QueryRow]  # field and form queries of this form
    visit_queries: list[QueryRow]
    sdv: SdvState | None
    lock: LockInfo | None
    open_refusal: str | None


class FormMonitoring(QObject):
    sig_loaded = Signal()
    """Badges, SDV marks and the lock are shown as the store has them now."""

    sig_changed = Signal()
    """A monitoring action went through (query opened or moved, verified, locked, unlocked)."""

    def __init__(self, page: FormPage) -> None:
        super().__init__(page)
        self.page = page
        self.language = page.language
        self.data: FormMonitoringData | None = None
        self._prefetched: FormMonitoringData | None = None
        self.marks: dict[str, FieldMarks] = {}
        self._decorated: FormView | None = None
        self._pending: tuple[str | None, str | None] | None = None
        self.thread_dialog: QueryThreadDialog | None = None
        self.ask_query: Callable[[list[Target], int], tuple[str | None, str | None, str] | None] = (
            lambda targets, chosen: ask_new_query(self.page, targets, chosen, self.language)
        )
        self.ask_unlock: Callable[[], str | None] = lambda: ask_unlock_reason(self.page, self.language)
        self.bar = QWidget()
        self.bar.setObjectName("monitoringBar")
        outer = QVBoxLayout(self.bar)
        outer.setContentsMargins(0, 0, 0, 0)
        outer.setSpacing(2)
        self.lock_banner = QLabel("")
        self.lock_banner.setObjectName("lockBanner")
        self.lock_banner.setWordWrap(True)
        self.lock_banner.setStyleSheet(
            "background: #e2e3e5; color: #41464b; border: 1px solid #adb5bd; padding: 4px 8px; font-weight: 600;"
        )
        self.lock_banner.setVisible(False)
        outer.addWidget(self.lock_banner)
        row = QHBoxLayout()
        self.form_badge = QueryBadge(self.language)
        self.form_badge.setObjectName("formQueryBadge")
        self.visit_badge = QueryBadge(self.language)
        self.visit_badge.setObjectName("visitQueryBadge")
        for badge in (self.form_badge, self.visit_badge):
            badge.sig_open.connect(self.open_thread)
            row.addWidget(badge)
        self.sdv_label = QLabel("")
        self.sdv_label.setObjectName("formSdv")
        row.addWidget(self.sdv_label)
        row.addStretch(1)
        self.buttons: dict[str, QPushButton] = {}
        for name, slot in (
            ("open_query", lambda: self.open_query(None)),
            ("verify_form", lambda: self.verify(())),
            ("lock", self.lock),
            ("unlock", self.unlock),
        ):
            button = QPushButton(mtext(name, self.language))
            button.setObjectName(f"mon_{name}")
            button.clicked.connect(slot)
            button.setEnabled(False)
            row.addWidget(button)
            self.buttons[name] = button
        outer.addLayout(row)

    # ------------------------------------------------------------------ reading

    def read(self, instance: str | None) -> FormMonitoringData:
        """Worker side: the form's queries, the visit's, SDV, the lock and whether this user may raise a query."""
        page = self.page
        m, subject, visit = page.store.monitoring, page.subject, page.visit
        return FormMonitoringData(
            m.queries_for_instance(instance) if instance else [],
            [q for q in m.queries(subject, visit_id=visit) if q.scope == "visit"],
            m.sdv_state(instance) if instance else None,
            m.lock_of(subject, visit, page.form),
            m.refusal("open"),
        )

    def prefetch(self, instance: str | None) -> None:
        """Worker side, inside the page's own load: kept for `show_prefetched` (the job's outcome orders the two)."""
        self._prefetched = self.read(instance)

    def show_prefetched(self) -> None:
        data, self._prefetched = self._prefetched, None
        if data is not None:
            self._loaded(data)
        else:
            self.refresh()

    def refresh(self) -> None:
        instance = self.page.instance
        self.page.worker.submit(lambda: self.read(instance), self._loaded, self.page._show_refusal)

    def _loaded(self, data: FormMonitoringData) -> None:
        if not isValid(self.bar):
            return  # the page was closed before its read came back
        self.data = data
        self._show_header()
        if self.page.view is not None:
            self.decorate(self.page.view)
        self._go_pending()
        self.sig_loaded.emit()

    @property
    def locked(self) -> bool:
        return self.data is not None and self.data.lock is not None

    # ------------------------------------------------------------------ showing

    def _show_header(self) -> None:
        data, language = self.data, self.language
        assert data is not None
        self.form_badge.show_queries([q for q in data.queries if q.scope == "form"], mtext("form_queries", language))
        self.visit_badge.show_queries(data.visit_queries, mtext("visit_queries", language))
        sdv = data.sdv
        if sdv is not None and sdv.form == "verified":
            when = local_time(sdv.verified_at_utc or "")
            self.sdv_label.setText("✓ " + mtext("sdv_form_verified", language).format(user=sdv.verified_by, when=when))
            self.sdv_label.setStyleSheet("color: #198754")
        elif sdv is not None and sdv.form == "dropped":
            self.sdv_label.setText("⚠ " + mtext("sdv_form_dropped", language))
            self.sdv_label.setStyleSheet("color: #b35c00; font-weight: 600")
        elif sdv is not None and sdv.fields:
            verified = sum(1 for s in sdv.fields.values() if s == "verified")
            dropped = len(sdv.fields) - verified
            text = mtext("sdv_fields", language).format(n=verified)
            if dropped:
                text += " · ⚠ " + mtext("sdv_fields_dropped", language).format(n=dropped)
            self.sdv_label.setText(text)
            self.sdv_label.setStyleSheet("color: #b35c00" if dropped else "color: #495057")
        else:
            self.sdv_label.setText("")
        self.sdv_label.setProperty("state", sdv.form if sdv is not None else "none")
        lock = data.lock
        if lock is not None:
            scope = mtext(f"scope_{lock.scope}", language)
            self.lock_banner.setText(
                mtext("locked_by", language).format(
                    user=lock.locked_by, when=local_time(lock.locked_at_utc), scope=scope
                )
            )
        self.lock_banner.setVisible(lock is not None)
        self._enable()

    def _enable(self) -> None:
        data, role, instance = self.data, self.page.store.actor.role, self.page.instance
        if data is None:
            return
        rules = {
            "open_query": data.open_refusal,
            "verify_form": None
            if role in SDV_ROLES and instance
            else mtext("only_monitor_verifies" if role not in SDV_ROLES else "not_entered", self.language),
            "lock": None if role in LOCK_ROLES else mtext("only_dm_locks", self.language),
            "unlock": None if role in LOCK_ROLES else mtext("only_dm_locks", self.language),
        }
        for name, button in self.buttons.items():
            why = rules[name]
            button.setEnabled(why is None)
            button.setToolTip(why or "")
        self.buttons["lock"].setVisible(not self.locked)
        self.buttons["unlock"].setVisible(self.locked)
        if self.locked and data.lock is not None and data.lock.scope != "form" and rules["unlock"] is None:
            self.buttons["unlock"].setToolTip(mtext(f"scope_{data.lock.scope}", self.language))

    def decorate(self, view: FormView) -> None:
        """The badges and SDV marks on `view`'s fields, and the form read-only under a lock."""
        if self.data is None:
            return
        if self._decorated is not view:
            self.marks, self._decorated = {}, view
        by_field: dict[str, list[QueryRow]] = {}
        for query in self.data.queries:
            if query.scope == "field" and query.field_id:
                by_field.setdefault(query.field_id, []).append(query)
        sdv_fields = self.data.sdv.fields if self.data.sdv is not None else {}
        for field_id in set(by_field) | set(sdv_fields) | set(self.marks):
            widget = view.widgets.get(field_id)
            if widget is None:
                continue
            marks = self.marks.get(field_id)
            if marks is None:
                marks = FieldMarks(field_id, self.language)
                marks.badge.sig_open.connect(self.open_thread)
                widget.layout_.addWidget(marks)
                self.marks[field_id] = marks
            marks.show_marks(by_field.get(field_id, []), sdv_fields.get(field_id))
        if self.locked:
            self._read_only(view)

    def _read_only(self, view: FormView) -> None:
        """Under a lock nothing on the form is changed (the store refuses it too); the badges still open."""
        why = self.lock_banner.text()
        keep = set(self.marks.values())
        for widget in view.widgets.values():
            for child in widget.findChildren(QWidget):
                if child not in keep and not any(m.isAncestorOf(child) for m in keep):
                    child.setEnabled(False)
            widget.setToolTip(why)
        for button in (view.draft_button, view.complete_button):
            button.setEnabled(False)
            button.setToolTip(why)

    def set_language(self, language: str) -> None:
        self.language = language
        for name, button in self.buttons.items():
            button.setText(mtext(name, language))
        self.form_badge.language = self.visit_badge.language = language
        self.marks, self._decorated = {}, None
        if self.data is not None:
            self._show_header()

    # ------------------------------------------------------------------ threads

    def label_of(self, query: QueryRow) -> str:
        view = self.page.view
        if query.scope == "field" and query.field_id and view is not None:
            return f"{mtext('scope_field', self.language)}: {view._label(query.field_id)}"
        if query.scope == "form" and view is not None:
            return view.form.definition.title.get(self.language)
        try:
            return self.page.store.study.visit(query.visit_id).label.get(self.language)
        except KeyError:
            return query.visit_id

    def open_thread(self, queries: list[QueryRow], chosen: str | None = None) -> QueryThreadDialog:
        view = self.page.view
        if chosen is not None:
            queries = sorted(queries, key=lambda q: q.id != chosen)
        dialog = QueryThreadDialog(
            lambda: self.page.store,
            self.page.worker,
            queries,
            self.language,
            self.label_of,
            lambda q: view.form.fields.get(q.field_id) if view is not None and q.field_id else None,
            self.page,
        )
        dialog.sig_changed.connect(lambda _id: self._changed())
        if self.thread_dialog is not None:
            self.thread_dialog.close()
        self.thread_dialog = dialog
        dialog.open()
        return dialog

    def go_to(self, field_id: str | None, query_id: str | None = None) -> None:
        """Once loaded: the cursor in `field_id` and, with `query_id`, that query's thread open."""
        self._pending = (field_id, query_id)
        if self.data is not None and self.page.view is not None:
            self._go_pending()

    def _go_pending(self) -> None:
        if self._pending is None or self.page.view is None or self.data is None:
            return
        field_id, query_id = self._pending
        self._pending = None
        if field_id:
            self.page.view.go_to(field_id)
        every = self.data.queries + self.data.visit_queries
        if query_id and any(q.id == query_id for q in every):
            self.open_thread(every, query_id)

    def _changed(self) -> None:
        """After a move: values may have changed (a correction), so the form is read again unless input is unsaved."""
        self.sig_changed.emit()
        page = self.page
        if page.has_unsaved_changes():
            self.refresh()
        else:
            self.data = None  # the new view waits for the new marks (an old lock must not make it read-only)
            page.worker.submit(page._load, page._loaded, page._show_refusal)  # page._loaded refreshes us

    # ------------------------------------------------------------------ actions

    def targets(self) -> list[Target]:
        view, language = self.page.view, self.language
        visit = self.page.store.study.visit(self.page.visit).label.get(language)
        out: list[Target] = [(f"{mtext('whole_visit', language)} ({visit})", None, None)]
        if self.page.instance and view is not None:
            out.append((mtext("whole_form", language), self.page.form, None))
            out += [(view._label(f), self.page.form, f) for f in view.form.fields]
        return out

    def open_query(self, field_id: str | None) -> bool:
        targets = self.targets()
        chosen = next((i for i, t in enumerate(targets) if t[2] == field_id and field_id), min(1, len(targets) - 1))
        answer = self.ask_query(targets, chosen)
        if answer is None:
            return False
        form, field, text = answer
        page = self.page
        monitoring, subject, visit, instance = page.store.monitoring, page.subject, page.visit, page.instance
        self.page.worker.submit(
            lambda: monitoring.open_query(subject, visit, form, field, text=text, instance=instance if form else None),
            lambda _id: self._after_action(),
            page._show_refusal,
        )
        return True

    def verify(self, fields: tuple[str, ...]) -> None:
        page = self.page
        monitoring, subject, visit, form = page.store.monitoring, page.subject, page.visit, page.form
        page.worker.submit(
            lambda: monitoring.verify(subject, visit, form, fields), lambda _n: self._after_action(), page._show_refusal
        )

    def lock(self) -> None:
        page = self.page
        monitoring, subject, visit, form = page.store.monitoring, page.subject, page.visit, page.form
        page.worker.submit(
            lambda: monitoring.lock(subject, visit, form), lambda _r: self._after_action(), page._show_refusal
        )

    def unlock(self, reason: str | None = None) -> bool:
        lock = self.data.lock if self.data is not None else None
        if lock is None:
            return False
        reason = reason if reason is not None else self.ask_unlock()
        if not reason:
            return False
        page = self.page
        monitoring, subject = page.store.monitoring, page.subject
        page.worker.submit(
            lambda: monitoring.unlock(subject, lock.visit_id, lock.form_id, reason=reason),
            lambda _voided: self._changed(),  # the fields come back changeable: the form is built again
            page._show_refusal,
        )
        return True

    def _after_action(self) -> None:
        self.sig_changed.emit()
        self.refresh()

    def extend_menu(self, menu: QMenu, field_id: str) -> None:
        """A field's right-click: its queries, a new query on it, verifying it."""
        if self.data is None:
            return
        mine = [q for q in self.data.queries if q.field_id == field_id]
        if mine:
            menu.addAction(f"{mtext('queries', self.language)} ({len(mine)})…").triggered.connect(
                lambda: self.open_thread(mine)
            )
        ask = menu.addAction(mtext("open_query_field", self.language))
        ask.setEnabled(self.data.open_refusal is None and self.page.instance is not None)
        ask.triggered.connect(lambda: self.open_query(field_id))
        verify = menu.addAction(mtext("verify_field", self.language))
        verify.setEnabled(self.page.store.actor.role in SDV_ROLES and self.page.instance is not None)
        verify.triggered.connect(lambda: self.verify((field_id,)))


def attach(page: Any) -> FormMonitoring:
    """The page's monitoring, its bar placed under the page's top row."""
    monitoring = FormMonitoring(page)
    page.layout_.addWidget(monitoring.bar)
    return monitoring
