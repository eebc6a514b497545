"""The per-form dependency graph, built once at load, that makes re-evaluation incremental.

Each rule becomes a node: a field's visibility, requiredness, derivation, value check, a form-level
check, or the eligibility criteria. A node reads *symbols* (field values) and some nodes produce one
(visibility and derivation change a field's effective value). Nodes are kept in topological order,
so re-evaluating the dirty ones in index order sees every input already up to date.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from ..definitions.expr.compiler import Compiled
from ..definitions.spec import CheckSpec, FieldSpec, FormSpec

VIS, REQ, DER, VAL, CHK, CRIT = "vis", "req", "der", "val", "chk", "crit"


@dataclass
class GraphNode:
    kind: str
    field: str | None  # the field it belongs to (vis/req/der/val), or the result field (crit)
    reads: frozenset[str]  # local symbols it reads
    produces: str | None = None  # the symbol whose effective value it sets
    issue_fields: tuple[str, ...] = ()  # fields whose issue list it contributes to
    check: CheckSpec | None = None
    compiled: Compiled | None = None
    external: bool = False  # reads other forms, the clock or the subject's dates
    index: int = -1


@dataclass
class FormGraph:
    form: FormSpec
    nodes: list[GraphNode]
    readers: dict[str, tuple[int, ...]]  # symbol -> nodes that read it (in topological order)
    val_node: dict[str, int]  # field -> its value-check node
    issue_nodes: dict[str, tuple[int, ...]] = field(default_factory=dict)  # field -> nodes with its issues

    @property
    def size(self) -> int:
        return len(self.nodes)


def _reads(*compiled: Compiled | None) -> tuple[frozenset[str], bool]:
    symbols: set[str] = set()
    external = False
    for c in compiled:
        if c is None:
            continue
        symbols |= c.local_fields
        external = external or bool(c.external) or c.uses_subject_dates or "today()" in c.source or "now()" in c.source
    return frozenset(symbols), external


def _field_nodes(spec: FieldSpec, form: FormSpec) -> list[GraphNode]:
    d = spec.definition
    nodes: list[GraphNode] = []
    if spec.show_if is not None or d.visits is not None:
        reads, ext = _reads(spec.show_if)
        nodes.append(GraphNode(VIS, spec.id, reads, produces=spec.id, external=ext))
    if spec.required_if is not None:
        reads, ext = _reads(spec.required_if)
        nodes.append(GraphNode(REQ, spec.id, reads, external=ext))
    if spec.derive is not None:
        reads, ext = _reads(spec.derive)
        nodes.append(GraphNode(DER, spec.id, reads, produces=spec.id, compiled=spec.derive, external=ext))
    if spec.id == form.result_field:
        reads, ext = _reads(*(c.compiled for c in form.criteria))
        nodes.append(GraphNode(CRIT, spec.id, reads, produces=spec.id, issue_fields=(spec.id,), external=ext))
    if d.type != "derived":
        row_reads, ext = _reads(*(c.compiled for c in spec.row_checks))
        ranged = any(r is not None and {r.min, r.max} & {"today", "now"} for r in (d.range, d.soft_range))
        nodes.append(
            GraphNode(VAL, spec.id, frozenset({spec.id}) | row_reads, issue_fields=(spec.id,), external=ext or ranged)
        )
    return nodes


def build_graph(form: FormSpec) -> FormGraph:
    nodes: list[GraphNode] = []
    for spec in form.fields.values():
        nodes += _field_nodes(spec, form)
    for check in form.checks:
        reads, ext = _reads(check.compiled)
        nodes.append(
            GraphNode(
                CHK,
                None,
                reads,
                issue_fields=tuple(check.definition.fields),
                check=check,
                compiled=check.compiled,
                external=ext,
            )
        )
    ordered = _topological(nodes)
    for i, node in enumerate(ordered):
        node.index = i
    readers: dict[str, list[int]] = {}
    val_node: dict[str, int] = {}
    issue_nodes: dict[str, list[int]] = {}
    for node in ordered:
        for symbol in node.reads:
            readers.setdefault(symbol, []).append(node.index)
        if node.kind == VAL and node.field:
            val_node[node.field] = node.index
        for fid in node.issue_fields:
            issue_nodes.setdefault(fid, []).append(node.index)
    return FormGraph(
        form,
        ordered,
        {k: tuple(v) for k, v in readers.items()},
        val_node,
        {k: tuple(v) for k, v in issue_nodes.items()},
    )


def _topological(nodes: list[GraphNode]) -> list[GraphNode]:
    """Producers of a symbol before its readers; a field's vis/req before its value check."""
    producers: dict[str, list[int]] = {}
    for i, node in enumerate(nodes):
        if node.produces:
            producers.setdefault(node.produces, []).append(i)
    guards: dict[str, list[int]] = {}
    for i, node in enumerate(nodes):
        if node.kind in (VIS, REQ) and node.field:
            guards.setdefault(node.field, []).append(i)
    preds: list[set[int]] = [set() for _ in nodes]
    for i, node in enumerate(nodes):
        for symbol in node.reads:
            preds[i].update(p for p in producers.get(symbol, ()) if p != i)
        if node.kind in (VAL, DER, CRIT) and node.field:
            preds[i].update(j for j in guards.get(node.field, ()) if j != i)
    succs: list[list[int]] = [[] for _ in nodes]
    waiting = [len(p) for p in preds]
    for i, p in enumerate(preds):
        for j in p:
            succs[j].append(i)
    ready = [i for i, n in enumerate(waiting) if n == 0]
    order: list[GraphNode] = []
    while ready:
        i = ready.pop(0)
        order.append(nodes[i])
        for k in succs[i]:
            waiting[k] -= 1
            if waiting[k] == 0:
                ready.append(k)
    if len(order) != len(nodes):  # cycles are refused at load; this guards against one slipping through
        raise ValueError("cycle among the rules of a form")
    return order
