"""Allocation lists: stratified permuted blocks, their canonical form and SHA-256, and verification.

A list derives from a seed drawn with `secrets` and recorded with it: each block's size (chosen among
the design's sizes) and its permutation come from HMAC-SHA256 of the seed, so `verify` can rebuild
the arms from the seed and the design, and nobody can predict them without the seed. The blinded
product codes are drawn with `secrets` on their own: they carry no trace of the arm, nor of the seed
(a blinded user sees many of them). Every stratum gets at least `oversupply` × the sample size, so no
stratum can run out even if every subject falls into it.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import secrets
import uuid
from dataclasses import dataclass
from typing import Any

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from ...definitions.randomization import Design
from ..database import ServerError, now
from ..models import SeqCounter
from .models import RandAllocation, RandAudit, RandList, RandSlot

#: product-code letters: no 0/O, 1/I/L (read aloud and copied onto bags)
CODE_CHARS = "ABCDEFGHJKMNPQRSTUVWXYZ23456789"
CODE_LENGTH = 8


@dataclass(frozen=True)
class Slot:
    stratum: str
    position: int
    block: int
    block_size: int
    arm: str
    randno: str
    prodid: str


class _Stream:
    """Uniform choices derived from the seed (HMAC-SHA256 in counter mode, rejection sampling)."""

    def __init__(self, seed: str, label: str) -> None:
        self.key = bytes.fromhex(seed)
        self.label = label
        self.counter = 0

    def below(self, n: int) -> int:
        limit = (2**64 // n) * n
        while True:
            self.counter += 1
            digest = hmac.new(self.key, f"{self.label}/{self.counter}".encode(), hashlib.sha256).digest()
            value = int.from_bytes(digest[:8], "big")
            if value < limit:
                return value % n

    def shuffled(self, items: list[str]) -> list[str]:
        out = list(items)
        for i in range(len(out) - 1, 0, -1):  # Fisher-Yates
            j = self.below(i + 1)
            out[i], out[j] = out[j], out[i]
        return out


def arms_from_seed(design: Design, seed: str) -> dict[str, list[tuple[int, int, str]]]:
    """(block, block size, arm) per position of every stratum: the same seed and design, the same list."""
    cycle = design.cycle()
    needed = design.slots_per_stratum()
    sizes = list(design.model.block_sizes)
    out: dict[str, list[tuple[int, int, str]]] = {}
    for stratum in design.strata():
        stream = _Stream(seed, stratum or "-")
        rows: list[tuple[int, int, str]] = []
        block = 0
        while len(rows) < needed:
            block += 1
            size = sizes[stream.below(len(sizes))]
            for arm in stream.shuffled(cycle * (size // len(cycle))):
                rows.append((block, size, arm))
        out[stratum] = rows  # whole blocks: the last one may go past `needed`
    return out


def _codes(count: int, taken: set[str]) -> list[str]:
    out: list[str] = []
    while len(out) < count:
        code = "".join(secrets.choice(CODE_CHARS) for _ in range(CODE_LENGTH))
        code = f"{code[:4]}-{code[4:]}"
        if code not in taken:
            taken.add(code)
            out.append(code)
    return out


def build(design: Design, seed: str) -> list[Slot]:
    """A new list's slots, in stratum order then position."""
    arms = arms_from_seed(design, seed)
    codes = _codes(sum(len(rows) for rows in arms.values()), set())
    slots = []
    for stratum, rows in arms.items():
        for position, (block, size, arm) in enumerate(rows, start=1):
            slots.append(Slot(stratum, position, block, size, arm, randno(stratum, position), codes[len(slots)]))
    return slots


def randno(stratum: str, position: int) -> str:
    return f"{stratum}-{position:04d}" if stratum else f"R-{position:04d}"


def canonical(list_id: str, seed: str, design_json: str, slots: list[Slot]) -> bytes:
    """The list as the bytes its SHA-256 is taken of: sorted keys, no spaces, slots in order."""
    ordered = sorted(slots, key=lambda s: (s.stratum, s.position))
    body = {
        "list": list_id,
        "seed": seed,
        "design": json.loads(design_json),
        "slots": [[s.stratum, s.position, s.block, s.block_size, s.arm, s.randno, s.prodid] for s in ordered],
    }
    return json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


GENESIS = "0" * 64


def _line_hash(previous: str, row: dict[str, Any]) -> str:
    body = json.dumps([previous, *(row[k] for k in AUDIT_FIELDS)], ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(body.encode("utf-8")).hexdigest()


AUDIT_FIELDS = ("at", "username", "role", "action", "subject_id", "list_id", "detail")


def audit(session: Session, username: str, role: str | None, action: str, **detail: Any) -> None:
    """One line of the randomization trail (never an arm), hash-chained to the line before it. The
    change sequence's row is locked first, so two writers never chain to the same line."""
    session.execute(select(SeqCounter.next_seq).where(SeqCounter.id == 1).with_for_update())
    previous = session.scalar(select(RandAudit.hash).order_by(RandAudit.seq.desc()).limit(1)) or GENESIS
    row = {
        "at": now(),
        "username": username,
        "role": role,
        "action": action,
        "subject_id": detail.pop("subject_id", None),
        "list_id": detail.pop("list_id", None),
        "detail": json.dumps(detail, sort_keys=True, ensure_ascii=False),
    }
    session.add(RandAudit(**row, prev_hash=previous, hash=_line_hash(previous, row)))
    session.flush()


def trail_problems(session: Session) -> list[str]:
    """Lines of the trail changed, removed or inserted since they were written."""
    previous = GENESIS
    for line in session.scalars(select(RandAudit).order_by(RandAudit.seq)):
        row = {k: getattr(line, k) for k in AUDIT_FIELDS}
        if line.prev_hash != previous or line.hash != _line_hash(previous, row):
            return [f"the randomization audit trail was changed at line {line.seq} ({line.action})"]
        previous = line.hash
    return []


def active(session: Session) -> RandList | None:
    return session.scalar(select(RandList).where(RandList.active.is_(True)))


def in_use(session: Session, list_id: str) -> int:
    return (
        session.scalar(select(func.count()).select_from(RandAllocation).where(RandAllocation.list_id == list_id)) or 0
    )


def generate(session: Session, design: Design, username: str, role: str | None = None) -> RandList:
    """Make the active list. A list already used by a randomization is never replaced (ServerError);
    an unused one is retired (its hash stays in the trail) and its slots go."""
    current = active(session)
    if current is not None:
        used = in_use(session, current.id)
        if used:
            raise ServerError(
                f"the allocation list {current.id} is in use ({used} randomization(s)): it cannot be replaced"
            )
        session.execute(delete(RandSlot).where(RandSlot.list_id == current.id))
        current.active, current.retired_at = False, now()
        session.flush()
    seed = secrets.token_hex(32)
    list_id = str(uuid.uuid4())
    design_json = design.model.model_dump_json()
    slots = build(design, seed)
    digest = hashlib.sha256(canonical(list_id, seed, design_json, slots)).hexdigest()
    made = RandList(
        id=list_id,
        created_at=now(),
        created_by=username,
        seed=seed,
        sha256=digest,
        design_json=design_json,
        slots=len(slots),
        active=True,
        retired_at=None,
    )
    session.add(made)
    session.flush()
    session.execute(
        RandSlot.__table__.insert(),
        [
            {
                "list_id": list_id,
                "stratum": s.stratum,
                "position": s.position,
                "block": s.block,
                "block_size": s.block_size,
                "arm": s.arm,
                "randno": s.randno,
                "prodid": s.prodid,
                "status": "free",
                "subject_id": None,
            }
            for s in slots
        ],
    )
    strata = {s.stratum for s in slots}
    audit(
        session,
        username,
        role,
        "list_generated",
        list_id=list_id,
        sha256=digest,
        slots=len(slots),
        strata=sorted(strata),
        replaced=current.id if current is not None else None,
    )
    return made


def stored_slots(session: Session, list_id: str) -> list[Slot]:
    rows = session.execute(
        select(
            RandSlot.stratum,
            RandSlot.position,
            RandSlot.block,
            RandSlot.block_size,
            RandSlot.arm,
            RandSlot.randno,
            RandSlot.prodid,
        ).where(RandSlot.list_id == list_id)
    )
    return [Slot(*row) for row in rows]


@dataclass(frozen=True)
class Verified:
    list_id: str
    sha256: str
    slots: int
    ok: bool
    problems: tuple[str, ...]


def _use_problems(session: Session, list_id: str) -> list[str]:
    """Each slot's state agrees with the randomizations: used ⇔ a standing one, void ⇔ a voided one."""
    made = {
        randno: voided is not None
        for randno, voided in session.execute(
            select(RandAllocation.randno, RandAllocation.voided_at).where(RandAllocation.list_id == list_id)
        )
    }
    expected = {True: "void", False: "used"}
    wrong = [
        randno
        for randno, status in session.execute(
            select(RandSlot.randno, RandSlot.status).where(RandSlot.list_id == list_id)
        )
        if status != (expected[made[randno]] if randno in made else "free")
    ]
    return [f"{len(wrong)} slot(s) disagree with the randomizations made (first: {wrong[0]})"] if wrong else []


def verify(session: Session, design: Design, username: str, role: str | None = None) -> Verified:
    """Re-check the active list: its SHA-256 against the one recorded at generation, its arms against
    those the recorded seed gives, each slot's use against the randomizations, and the audit trail's
    hash chain (audited either way)."""
    current = active(session)
    if current is None:
        raise ServerError("no allocation list: make one with `cik-ecrf server randomization generate`")
    slots = stored_slots(session, current.id)
    problems = []
    digest = hashlib.sha256(canonical(current.id, current.seed, current.design_json, slots)).hexdigest()
    if digest != current.sha256:
        problems.append(f"SHA-256 {digest} differs from the one recorded at generation ({current.sha256})")
    if len(slots) != current.slots:
        problems.append(f"{len(slots)} slots, {current.slots} at generation")
    from ...definitions.randomization import DesignModel

    recorded = Design(DesignModel.model_validate_json(current.design_json), design.factors, design.requirements)
    expected = arms_from_seed(recorded, current.seed)
    by_key = {(s.stratum, s.position): s for s in slots}
    wrong = [
        f"{stratum} {position}"
        for stratum, rows in expected.items()
        for position, (block, size, arm) in enumerate(rows, start=1)
        if (slot := by_key.get((stratum, position))) is None
        or (slot.block, slot.block_size, slot.arm) != (block, size, arm)
    ]
    if wrong:
        problems.append(f"{len(wrong)} slot(s) differ from what the seed gives (first: {wrong[0]})")
    problems += _use_problems(session, current.id)
    problems += trail_problems(session)
    result = Verified(current.id, current.sha256, len(slots), not problems, tuple(problems))
    audit(session, username, role, "list_verified", list_id=current.id, ok=result.ok, problems=list(problems))
    return result
