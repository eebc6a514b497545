"""What an expression can see while it runs: this form's values, a row, the subject's other forms, a clock."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from ..definitions.expr.types import ExternalRef, RowsRef
from ..definitions.expr.values import PartialDate
from ..definitions.spec import SUBJECT_VISIT


@dataclass(frozen=True)
class Clock:
    """The evaluation's notion of now; injected so that rules are reproducible and testable."""

    now: dt.datetime

    @property
    def today(self) -> dt.date:
        return self.now.date()

    @classmethod
    def system(cls) -> Clock:
        return cls(dt.datetime.now().astimezone())

    @classmethod
    def fixed(cls, text: str) -> Clock:
        value = dt.datetime.fromisoformat(text)
        return cls(value if value.tzinfo else value.replace(tzinfo=dt.UTC))


@dataclass(frozen=True)
class SubjectData:
    """The raw values of a subject's form instances: (visit, form) -> one dict per instance."""

    forms: Mapping[tuple[str, str], tuple[Mapping[str, Any], ...]] = field(default_factory=dict)

    @classmethod
    def of(cls, forms: Mapping[tuple[str, str], Mapping[str, Any] | list[Mapping[str, Any]]]) -> SubjectData:
        normalised = {key: tuple(v) if isinstance(v, (list, tuple)) else (v,) for key, v in forms.items()}
        return cls(normalised)

    def instances(self, visit: str, form: str) -> tuple[Mapping[str, Any], ...]:
        return self.forms.get((visit, form), ())


# Computes a form instance's effective values (derived included, hidden fields missing).
Evaluator = Callable[[str, str, Mapping[str, Any], "Resolver"], Any]


class Resolver:
    """Reads other forms of one subject, evaluating each instance once and caching the result."""

    def __init__(self, subject: SubjectData, clock: Clock, evaluator: Evaluator) -> None:
        self.subject = subject
        self.clock = clock
        self.evaluator = evaluator
        self._cache: dict[tuple[str, str], list[Any]] = {}

    def instances(self, visit: str, form: str) -> list[Any]:
        """Each instance as a mapping-like object with `get` (see `rules.session.LazyValues`)."""
        key = (visit, form)
        cached = self._cache.get(key)
        if cached is None:
            cached = [self.evaluator(form, visit, raw, self) for raw in self.subject.instances(visit, form)]
            self._cache[key] = cached
        return cached

    def read(self, ref: ExternalRef, reader_visit: str) -> Any:
        visit = ref.visit or reader_visit
        rows = self.instances(visit, ref.form)
        if ref.many:
            return [row.get(ref.field) for row in rows] if rows else None
        return rows[0].get(ref.field) if rows else None

    def rows(self, ref: RowsRef, reader_visit: str) -> list[Any]:
        return self.instances(ref.visit or reader_visit, ref.form or "")

    def latest_date(self, exclude_form: str) -> dt.date | None:
        latest: dt.date | None = None
        for visit, form in self.subject.forms:
            if form == exclude_form:
                continue
            for values in self.instances(visit, form):
                for value in _dates(values.all().values()):
                    latest = value if latest is None or value > latest else latest
        return latest


def _dates(values: Any) -> Any:
    for value in values:
        if isinstance(value, dt.datetime):
            yield value.date()
        elif isinstance(value, dt.date):
            yield value
        elif isinstance(value, PartialDate):
            yield value.lower
        elif isinstance(value, list):
            for row in value:
                if isinstance(row, dict):
                    yield from _dates(row.values())


class Env:
    """The object compiled expressions read through (see `definitions.expr.compiler`)."""

    __slots__ = ("local", "row", "visit", "form", "clock", "resolver")

    def __init__(
        self,
        local: dict[str, Any],
        visit: str,
        form: str,
        clock: Clock,
        resolver: Resolver,
        row: Mapping[str, Any] | None = None,
    ) -> None:
        self.local = local
        self.row = row
        self.visit = visit
        self.form = form
        self.clock = clock
        self.resolver = resolver

    def read(self, ref: ExternalRef) -> Any:
        return self.resolver.read(ref, self.visit)

    def rows(self, ref: RowsRef) -> list[Any]:
        return self.resolver.rows(ref, self.visit if ref.visit != SUBJECT_VISIT else SUBJECT_VISIT)

    def latest_subject_date(self) -> dt.date | None:
        return self.resolver.latest_date(self.form)

    def with_row(self, row: Mapping[str, Any]) -> Env:
        return Env(self.local, self.visit, self.form, self.clock, self.resolver, row)
