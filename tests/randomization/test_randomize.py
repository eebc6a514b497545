"""Randomizing from a laptop: the allocation reaches the laptop, a retry gets the same one, refusals."""

from __future__ import annotations

import pytest
from trial import PW, Trial, enter_subject, values

from cik_ecrf.sync.randomize import Offline, RandomizationError, randomize


def test_an_eligible_subject_is_randomized_and_the_laptop_holds_the_allocation(trial: Trial) -> None:
    store = trial.laptop("inv1")
    number = enter_subject(store, age=25)
    allocation = randomize(store, number, "inv1", PW)
    assert allocation.randno.startswith("GE18-")
    assert not allocation.unblinded and not allocation.voided
    assert store.randomization.allocation(number) == allocation
    form = values(store, number, "randomization", "randomization")
    assert form["RANDNO"] == allocation.randno and form["PRODID"] == allocation.prodid
    assert form["RANDDTC"] == allocation.randdtc
    again = randomize(store, number, "inv1", PW)
    assert again == allocation


def test_refusals_say_what_is_missing(trial: Trial) -> None:
    store = trial.laptop("inv1")
    ineligible = enter_subject(store, eligible=False)
    with pytest.raises(RandomizationError, match="not eligible"):
        randomize(store, ineligible, "inv1", PW)
    unconfirmed = enter_subject(store, confirmed=False)
    with pytest.raises(RandomizationError, match="eligibility.IECONF missing"):
        randomize(store, unconfirmed, "inv1", PW)
    with pytest.raises(RandomizationError, match="a nurse cannot randomize"):
        randomize(store, unconfirmed, "nurse1", PW)
    with pytest.raises(RandomizationError, match="works at site SH02"):
        randomize(store, unconfirmed, "inv9", PW)
    with pytest.raises(RandomizationError, match="wrong password"):
        randomize(store, unconfirmed, "inv1", "Wrong" + PW)
    assert store.randomization.allocation(ineligible) is None


def test_offline_randomization_says_it_needs_the_server(trial: Trial) -> None:
    store = trial.laptop("inv1")
    number = enter_subject(store)
    store.set_sync_settings(server_url="http://127.0.0.1:9")
    with pytest.raises(Offline, match="randomization needs a connection to the server") as caught:
        randomize(store, number, "inv1", PW)
    assert "随机化需要连接中心服务器" in caught.value.zh
    assert store.randomization.allocation(number) is None
