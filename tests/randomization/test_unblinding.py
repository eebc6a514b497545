"""Emergency unblinding, the code-break sheet, corrections: audited, listed, marked on every laptop
without the arm."""

from __future__ import annotations

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session
from trial import ARMS, PW, Trial, enter_subject, sync, values

from cik_ecrf.server.randomization import assign, lists, queries
from cik_ecrf.server.randomization.models import RandAudit, RandSlot
from cik_ecrf.sync.randomize import RandomizationError, randomize, record_codebreak, unblind


def test_unblinding_is_audited_listed_and_marked_on_every_laptop(trial: Trial) -> None:
    first = trial.laptop("inv1")
    second = trial.laptop("nurse1")
    number = enter_subject(first)
    allocation = randomize(first, number, "inv1", PW)
    sync(second)
    with pytest.raises(RandomizationError, match="a nurse cannot unblind"):
        unblind(second, number, "nurse1", PW, "allergic reaction")
    arm = unblind(first, number, "inv1", PW, "grade 4 CRS, treating physician must know")
    with Session(trial.engine) as session:
        truth = session.scalar(select(RandSlot.arm).where(RandSlot.randno == allocation.randno))
        listed = queries.unblindings(session)
        trail = [(a.action, a.username, a.detail) for a in session.scalars(select(RandAudit).order_by(RandAudit.seq))]
    assert arm == truth and arm in ARMS
    assert [(r.subject, r.randno, r.kind, r.username) for r in listed] == [
        (number, allocation.randno, "emergency", "inv1")
    ]
    assert listed[0].reason == "grade 4 CRS, treating physician must know"
    assert ("unblinded", "inv1") in [(a, u) for a, u, _ in trail]
    assert all(arm not in detail for _, _, detail in trail)  # the trail never names the arm
    sync(second)
    assert first.randomization.allocation(number).unblinded
    assert second.randomization.allocation(number).unblinded
    record_codebreak(first, number, "inv1", PW, "server down at night, sheet opened", "2026-03-01T02:10+08:00")
    with Session(trial.engine) as session:
        kinds = [r.kind for r in queries.unblindings(session)]
    assert kinds == ["emergency", "codebreak_sheet"]


def test_a_randomization_made_in_error_frees_nothing_and_needs_a_decision_to_randomize_again(trial: Trial) -> None:
    store = trial.laptop("inv1")
    number = enter_subject(store)
    allocation = randomize(store, number, "inv1", PW)
    dm = assign.Who("dm1", "data_manager", "", "server")
    assign.void(trial.engine, dm, allocation.randno, "randomized the wrong subject", allow_again=False)
    sync(store)
    voided = store.randomization.allocation(number)
    assert voided.voided and voided.randno == allocation.randno
    assert not {"RANDNO", "PRODID", "RANDDTC"} & set(values(store, number, "randomization", "randomization"))
    with pytest.raises(RandomizationError, match="needs a data manager's decision"):
        randomize(store, number, "inv1", PW)
    assign.allow_again(trial.engine, dm, allocation.randno, "eligibility re-confirmed by the PI")
    again = randomize(store, number, "inv1", PW)
    assert again.randno != allocation.randno and not again.voided
    position = lambda randno: int(randno.rsplit("-", 1)[1])  # noqa: E731
    assert position(again.randno) == position(allocation.randno) + 1  # the voided slot is never used again
    with Session(trial.engine) as session, session.begin():
        assert session.scalar(select(RandSlot.status).where(RandSlot.randno == allocation.randno)) == "void"
        assert lists.verify(session, trial.design, "stat1", "statistician").ok  # slots agree with the randomizations
        actions = [a for a in session.scalars(select(RandAudit.action).order_by(RandAudit.seq)) if a != "list_verified"]
    assert actions[-4:] == ["randomized", "voided", "rerandomization_allowed", "randomized"]
