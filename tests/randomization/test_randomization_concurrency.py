"""Fifty randomizations at once from several laptops and threads, with lost replies and retries:
exactly one allocation per subject, no slot used twice, none skipped, one event per subject."""

from __future__ import annotations

import threading
from collections import defaultdict

import httpx
import pytest
from devices import enrol
from proxy import Proxy
from sqlalchemy import func, select
from sqlalchemy.orm import Session
from trial import PW, Trial, clone_subjects, enter_subject, subject_id

from cik_ecrf.server.models import Change as ChangeRow
from cik_ecrf.server.randomization.models import RandAllocation, RandSlot
from cik_ecrf.sync.protocol import API
from cik_ecrf.sync.randomization_protocol import RANDOMIZE

THREADS = 8


@pytest.mark.slow
def test_fifty_concurrent_randomizations_with_dropped_replies(trial: Trial) -> None:
    store = trial.laptop("inv1")
    young = subject_id(store, enter_subject(store, age=12))
    adult = subject_id(store, enter_subject(store, age=30))
    subjects = [young, adult] + clone_subjects(trial.engine, young, 24) + clone_subjects(trial.engine, adult, 24)
    assert len(subjects) == 50
    with Proxy(trial.live.port) as proxy:
        devices = []
        for n, user in enumerate(("inv1", "inv2", "inv1", "inv2")):
            http, _ = enrol(trial.live, user)
            token = http.headers["Authorization"]
            base = (proxy.url if n % 2 else trial.live.url) + API
            devices.append((user, base, token))
        for subject in subjects[::5]:  # ten replies lost once: the server committed, the laptop never heard
            proxy.drop_reply(subject.encode(), 1)
        answers: dict[str, list[dict]] = defaultdict(list)
        errors: list[str] = []
        lock = threading.Lock()

        def worker(index: int) -> None:
            user, base, token = devices[index % len(devices)]
            with httpx.Client(base_url=base, headers={"Authorization": token}, timeout=60) as http:
                # every subject is asked for by two threads (two laptops at once), in different orders
                mine = subjects[index % 2 :: 2] if index < 4 else list(reversed(subjects[(index + 1) % 2 :: 2]))
                for subject in mine:
                    for _attempt in range(4):
                        try:
                            reply = http.post(RANDOMIZE, json={"subject_id": subject, "username": user, "password": PW})
                        except httpx.TransportError:
                            continue  # a lost reply: ask again
                        with lock:
                            if reply.status_code == 200:
                                answers[subject].append(reply.json())
                            else:
                                errors.append(f"{subject}: {reply.status_code} {reply.text}")
                        break
                    else:
                        with lock:
                            errors.append(f"{subject}: no answer after 4 attempts")

        threads = [threading.Thread(target=worker, args=(i,)) for i in range(THREADS)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert proxy.dropped >= 1
    assert not errors, errors[:3]
    assert set(answers) == set(subjects)
    for given in answers.values():
        assert len({(a["RANDNO"], a["PRODID"], a["change_id"]) for a in given}) == 1, given  # retries: the same
        assert sum(not a["again"] for a in given) <= 1
    with Session(trial.engine) as session:
        rows = session.execute(select(RandAllocation.subject_id, RandAllocation.stratum, RandAllocation.position)).all()
        used = session.execute(select(RandSlot.stratum, RandSlot.position).where(RandSlot.status == "used")).all()
        events = session.scalar(select(func.count()).select_from(ChangeRow).where(ChangeRow.action == "randomized"))
    assert len(rows) == 50 and len({r.subject_id for r in rows}) == 50  # one allocation per subject
    assert events == 50  # one `randomized` event per subject, whatever the retries
    for stratum, count in (("LT18", 25), ("GE18", 25)):
        positions = sorted(r.position for r in rows if r.stratum == stratum)
        assert positions == list(range(1, count + 1))  # no slot twice, none skipped
        assert sorted(p for s, p in used if s == stratum) == positions
