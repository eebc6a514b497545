"""Name resolution for the expression language: what `FIELD`, `GROUP.COL`, `form.FIELD` and
`form@visit.FIELD` mean from a given place in a given form, with their static types."""

from __future__ import annotations

from .expr.syntax import ExprError, Name
from .expr.types import (
    DATE,
    DATETIME,
    NUMBER,
    PARTIAL_DATE,
    TEXT,
    TIME,
    YESNO,
    ColumnRef,
    ExternalRef,
    LocalRef,
    Ref,
    RowRef,
    RowsRef,
    Type,
)
from .models import Code, FieldDef, FormDef, Study
from .spec import SUBJECT_VISIT

SIMPLE_TYPES = {
    "text": TEXT,
    "integer": NUMBER,
    "decimal": NUMBER,
    "date": DATE,
    "partial_date": PARTIAL_DATE,
    "datetime": DATETIME,
    "time": TIME,
}


class FormIndex:
    """What every form looks like before compilation: field types, visits, code lists."""

    def __init__(self, study: Study, forms: dict[str, FormDef]) -> None:
        self.study = study
        self.forms = forms
        self.visit_ids = {v.id for v in study.visits}
        self.form_visits: dict[str, set[str]] = {f: set() for f in forms}
        for visit in study.visits:
            for form_id in visit.forms:
                if form_id in self.form_visits:
                    self.form_visits[form_id].add(visit.id)
        self.types: dict[tuple[str, str], Type] = {}
        self.codes: dict[tuple[str, str], tuple[Code, ...]] = {}
        for form in forms.values():
            for f in form.fields:
                self._index(form.id, f, "")

    def _index(self, form_id: str, f: FieldDef, prefix: str) -> None:
        codes = self.codes_of(f)
        self.codes[(form_id, prefix + f.id)] = codes
        self.types[(form_id, prefix + f.id)] = field_type(f, codes)
        for sub in f.fields or []:
            self._index(form_id, sub, f.id + ".")

    def codes_of(self, f: FieldDef) -> tuple[Code, ...]:
        if f.type == "yesno" or (f.type == "derived" and f.value_type == "yesno"):
            ny = self.study.codelists.get("NY")
            return tuple(ny.codes) if ny else ()
        if f.choices:
            return tuple(f.choices)
        if f.codelist and f.codelist in self.study.codelists:
            return tuple(self.study.codelists[f.codelist].codes)
        return ()

    def home_visit(self, form_id: str, reader_visits: set[str], pos: int) -> str | None:
        """Which visit `form.FIELD` means for a reader present at `reader_visits` (None: the same)."""
        visits = self.form_visits.get(form_id, set())
        if SUBJECT_VISIT in visits:
            return SUBJECT_VISIT
        if len(visits) == 1:
            return next(iter(visits))
        if reader_visits and reader_visits <= visits:
            return None
        listed = ", ".join(sorted(visits)) or "none"
        raise ExprError(
            pos,
            f"form {form_id} is at several visits ({listed}), not at every visit of this rule; name one as {form_id}@VISIT.FIELD",
        )


def field_type(f: FieldDef, codes: tuple[Code, ...]) -> Type:
    kind = f.value_type if f.type == "derived" else f.type
    code_set = frozenset(c.code for c in codes) or None
    if kind == "yesno":
        return YESNO
    if kind == "choice":
        numeric = bool(codes) and all(isinstance(c.code, int) for c in codes)
        return Type("number" if numeric else "text", codes=code_set)
    if kind == "multichoice":
        return Type("codes", codes=code_set)
    if kind == "group":
        return Type("rows")
    return SIMPLE_TYPES.get(kind or "text", TEXT)


class Scope:
    """Names as seen from one form (and optionally one row of a group or repeating form)."""

    def __init__(
        self,
        index: FormIndex,
        form: FormDef,
        visits: set[str],
        row_form: str | None = None,
        row_prefix: str = "",
        parent: Scope | None = None,
    ) -> None:
        self.index = index
        self.form = form
        self.visits = visits
        self.row_form = row_form  # the form whose fields a row holds
        self.row_prefix = row_prefix  # "GROUP." for a group's rows
        self.parent = parent

    def _local_type(self, name: str) -> Type | None:
        return self.index.types.get((self.form.id, name))

    def resolve(self, name: Name) -> tuple[Type, Ref]:
        if self.row_form is not None and name.second is None and name.visit is None:
            row_type = self.index.types.get((self.row_form, self.row_prefix + name.first))
            if row_type is not None:
                return row_type, RowRef(name.first)
            if self.parent is not None:
                return self.parent.resolve(name)
        if name.second is None:
            if name.first in self.index.forms:
                raise ExprError(name.pos, f"{name.first} is a form; name a field as {name.first}.FIELD")
            type_ = self._local_type(name.first)
            if type_ is None:
                raise ExprError(name.pos, f"unknown field {name.first} in form {self.form.id}")
            return type_, LocalRef(name.first)
        if name.visit is None:
            group_type = self._local_type(name.first)
            if group_type is not None:
                if group_type.kind != "rows":
                    raise ExprError(name.pos, f"{name.first} is not a group; '.' after it names nothing")
                column = self.index.types.get((self.form.id, f"{name.first}.{name.second}"))
                if column is None:
                    raise ExprError(name.pos, f"group {name.first} has no column {name.second}")
                return Type("list", elem=column), ColumnRef(name.first, name.second)
        form_id, field_id = name.first, name.second
        if form_id not in self.index.forms:
            raise ExprError(name.pos, f"unknown form {form_id}")
        type_ = self.index.types.get((form_id, field_id))
        if type_ is None or "." in field_id:
            raise ExprError(name.pos, f"unknown field {field_id} in form {form_id}")
        if name.visit is not None:
            if name.visit not in self.index.visit_ids:
                raise ExprError(name.pos, f"unknown visit {name.visit}")
            if name.visit not in self.index.form_visits[form_id]:
                raise ExprError(name.pos, f"form {form_id} is not collected at visit {name.visit}")
            visit: str | None = name.visit
        else:
            visit = self.index.home_visit(form_id, self.visits, name.pos)
        many = self.index.forms[form_id].repeating and form_id != self.form.id
        if many:
            type_ = Type("list", elem=type_)
        return type_, ExternalRef(form_id, visit, field_id, many)

    def rows(self, name: Name) -> tuple[RowsRef, Scope]:
        if name.visit is None and self._local_type(name.first) is not None:
            if self._local_type(name.first) != Type("rows"):
                raise ExprError(name.pos, f"{name.first} is not a group field")
            return RowsRef(group=name.first), Scope(
                self.index, self.form, self.visits, self.form.id, name.first + ".", self
            )
        form = self.index.forms.get(name.first)
        if form is None or not form.repeating:
            raise ExprError(name.pos, f"{name.first} is neither a group field of {self.form.id} nor a repeating form")
        visit = self.index.home_visit(form.id, self.visits, name.pos)
        return RowsRef(form=form.id, visit=visit), Scope(self.index, self.form, self.visits, form.id, "", self)
