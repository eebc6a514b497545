"""The randomization design in study.json: the shipped one, and located errors for broken ones."""

from __future__ import annotations

import copy
import dataclasses

import pytest

from cik_ecrf.definitions.errors import DefinitionErrors
from cik_ecrf.definitions.randomization import arm_label, design, read_design


def _with(study, change):
    raw = copy.deepcopy(study.study.randomization)
    change(raw)
    return dataclasses.replace(study, study=study.study.model_copy(update={"randomization": raw}))


def test_the_shipped_design(study) -> None:
    found = design(study)
    assert [a.code for a in found.arms] == ["CONTROL", "CIK", "MRNA_CIK"]
    assert found.strata() == ["LT18", "GE18"]
    assert found.slots_per_stratum() == 256  # ceil(213 × 1.2)
    assert [r.fields for r in found.requirements] == [("eligibility.ELIGIBLE",), ("eligibility.IECONF",)]
    assert arm_label(study, "MRNA_CIK", "zh") == "mRNA-CIK细胞"


@pytest.mark.parametrize(
    ("change", "where", "what"),
    [
        (lambda r: r.update(block_sizes=[3, 4]), "$.randomization", "not a multiple of the ratio's sum 3"),
        (
            lambda r: r["strata"][0]["levels"][0].update(when="demographics.AGEE < 18"),
            "$.randomization.strata[0].levels[0].when",
            "AGEE",
        ),
        (
            lambda r: r["requires"][1].update(when="eligibility.IECONF"),
            "$.randomization.requires[1].when",
            "true/false",
        ),
        (lambda r: r.update(colour="red"), "$.randomization.colour", "xtra"),
        (lambda r: r["arms"][1].update(code="control"), "$.randomization.arms[1].code", "pattern"),
    ],
)
def test_a_broken_design_is_reported_where_it_is_wrong(study, change, where, what) -> None:
    with pytest.raises(DefinitionErrors) as caught:
        read_design(_with(study, change))
    lines = [str(e) for e in caught.value.errors]
    assert any(where in line and what in line for line in lines), lines
