"""Allocation lists: block structure, balance per stratum over 213 subjects, the hash, replacement."""

from __future__ import annotations

import hashlib
from collections import Counter

import pytest
from sqlalchemy import select, update
from sqlalchemy.orm import Session
from trial import ARMS, Trial, clone_subjects, enter_subject, subject_id

from cik_ecrf.server.database import ServerError
from cik_ecrf.server.randomization import assign, lists
from cik_ecrf.server.randomization.models import RandAllocation, RandAudit, RandList, RandSlot


def _slots(trial: Trial) -> dict[str, list[RandSlot]]:
    with Session(trial.engine) as session:
        rows = list(session.scalars(select(RandSlot).order_by(RandSlot.stratum, RandSlot.position)))
        session.expunge_all()
    out: dict[str, list[RandSlot]] = {}
    for row in rows:
        out.setdefault(row.stratum, []).append(row)
    return out


def test_every_stratum_has_whole_permuted_blocks_of_3_or_6_and_enough_slots(trial: Trial) -> None:
    strata = _slots(trial)
    assert set(strata) == {"LT18", "GE18"}
    codes = set()
    for stratum, slots in strata.items():
        assert len(slots) >= 256  # 120 % of 213
        assert [s.position for s in slots] == list(range(1, len(slots) + 1))
        blocks: dict[int, list[RandSlot]] = {}
        for slot in slots:
            blocks.setdefault(slot.block, []).append(slot)
        sizes = Counter()
        for members in blocks.values():
            size = members[0].block_size
            sizes[size] += 1
            assert size in (3, 6) and len(members) == size
            assert Counter(s.arm for s in members) == {arm: size // 3 for arm in ARMS}
        assert sizes[3] and sizes[6], f"{stratum}: both block sizes are drawn ({dict(sizes)})"
        for slot in slots:
            assert slot.randno.startswith(stratum + "-")
            assert len(slot.prodid) == 9 and not any(word in slot.prodid for word in ("CIK", "CON", "MRNA"))
            codes.add(slot.prodid)
    assert len(codes) == sum(len(s) for s in strata.values())  # every product code is unique


def test_213_subjects_are_balanced_in_each_stratum_and_take_slots_in_order(trial: Trial) -> None:
    store = trial.laptop("inv1")
    young = subject_id(store, enter_subject(store, age=12))
    adult = subject_id(store, enter_subject(store, age=30))
    subjects = clone_subjects(trial.engine, young, 80) + clone_subjects(trial.engine, adult, 133)
    who = assign.Who("inv1", "investigator", "BJ01", "test-device")
    for subject in subjects:
        assign.randomize(trial.engine, trial.study, trial.design, who, subject)
    with Session(trial.engine) as session:
        rows = session.execute(
            select(RandAllocation.stratum, RandAllocation.position, RandSlot.arm, RandSlot.block)
            .join(RandSlot, RandSlot.randno == RandAllocation.randno)
            .order_by(RandAllocation.change_seq)
        ).all()
    assert len(rows) == 213
    for stratum, count in (("LT18", 80), ("GE18", 133)):
        used = [r for r in rows if r.stratum == stratum]
        assert [r.position for r in used] == list(range(1, count + 1))  # in order, none skipped
        arms = Counter(r.arm for r in used)
        assert max(arms.values()) - min(arms.values()) <= 2  # at most one open block of 6
        for block in {r.block for r in used[:-6]}:  # every block closed before the last six is balanced
            members = [r.arm for r in used if r.block == block]
            if len(members) in (3, 6):
                assert Counter(members) == {arm: len(members) // 3 for arm in ARMS}


def test_verify_detects_a_changed_slot_and_the_hash_was_audited(trial: Trial) -> None:
    with Session(trial.engine) as session, session.begin():
        result = lists.verify(session, trial.design, "stat1", "statistician")
        assert result.ok, result.problems
        current = lists.active(session)
        assert current is not None
        canonical = lists.canonical(
            current.id, current.seed, current.design_json, lists.stored_slots(session, current.id)
        )
        assert hashlib.sha256(canonical).hexdigest() == current.sha256
        generated = session.scalar(select(RandAudit.detail).where(RandAudit.action == "list_generated"))
        assert current.sha256 in (generated or "")
        slot = session.scalar(select(RandSlot).where(RandSlot.stratum == "GE18", RandSlot.position == 1))
        other = next(a for a in ARMS if a != slot.arm)
        session.execute(update(RandSlot).where(RandSlot.randno == slot.randno).values(arm=other))
    with Session(trial.engine) as session, session.begin():
        broken = lists.verify(session, trial.design, "stat1", "statistician")
    assert not broken.ok
    assert any("SHA-256" in p for p in broken.problems) and any("seed" in p for p in broken.problems)


def test_the_audit_trail_is_hash_chained(trial: Trial) -> None:
    with Session(trial.engine) as session, session.begin():
        assert lists.verify(session, trial.design, "stat1", "statistician").ok
        first = session.scalar(select(RandAudit).order_by(RandAudit.seq).limit(1))
        first.detail = first.detail.replace('"slots"', '"slots_"')  # someone edits a line of the trail
    with Session(trial.engine) as session, session.begin():
        result = lists.verify(session, trial.design, "stat1", "statistician")
    assert not result.ok and any("audit trail was changed at line" in p for p in result.problems)


def test_a_list_in_use_is_never_replaced_and_an_unused_one_is_retired(trial: Trial) -> None:
    first = trial.generate()  # the fixture's list was unused: replaced
    with Session(trial.engine) as session:
        assert session.scalar(select(RandList.active).where(RandList.id == first.id))
        assert len(list(session.scalars(select(RandList)))) == 2
    store = trial.laptop("inv1")
    number = enter_subject(store)
    assign.randomize(
        trial.engine,
        trial.study,
        trial.design,
        assign.Who("inv1", "investigator", "BJ01", "d"),
        subject_id(store, number),
    )
    with pytest.raises(ServerError, match="in use"):
        trial.generate()
