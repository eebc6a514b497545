"""The randomization design, as data in `forms/study.json` ("randomization"): arms and their ratio,
stratification factors with the rule that derives each level, what a subject needs before it can be
randomized, block sizes, sample size and oversupply.

It is read here (pydantic, every problem located by JSON path) and its rules are compiled with the
study's own expression language, as seen from the randomization form: the server evaluates them on
its copy of the synced data (`cik_ecrf.server.randomization.strata`). A design that cannot be read is
a `DefinitionErrors`, never a traceback.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from .errors import DefinitionError, DefinitionErrors, json_path
from .expr.compiler import Compiled, compile_expression
from .expr.syntax import ExprError
from .scope import FormIndex, Scope
from .spec import StudyDefinition

FILE = "study.json"
#: the form the design's rules are read from (its visit decides what `form.FIELD` means)
FORM = "randomization"
Code = Annotated[str, Field(pattern=r"^[A-Z][A-Z0-9_]{0,15}$")]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Label(_Strict):
    en: Annotated[str, Field(min_length=1, max_length=200)]
    zh: Annotated[str, Field(min_length=1, max_length=200)]


class Arm(_Strict):
    code: Code
    label: Label
    ratio: Annotated[int, Field(ge=1, le=10)] = 1


class Level(_Strict):
    code: Code
    label: Label
    when: Annotated[str, Field(min_length=1, max_length=500)]


class Factor(_Strict):
    id: Code
    label: Label
    levels: Annotated[list[Level], Field(min_length=2, max_length=10)]


class Requirement(_Strict):
    when: Annotated[str, Field(min_length=1, max_length=500)]
    message: Label


class DesignModel(_Strict):
    arms: Annotated[list[Arm], Field(min_length=2, max_length=10)]
    strata: Annotated[list[Factor], Field(max_length=4)] = []
    requires: list[Requirement] = []
    block_sizes: Annotated[list[Annotated[int, Field(ge=1, le=60)]], Field(min_length=1, max_length=5)]
    sample_size: Annotated[int, Field(ge=1, le=100_000)]
    oversupply: Annotated[Decimal, Field(ge=1, le=5)] = Decimal("1.2")

    @model_validator(mode="after")
    def _consistent(self) -> DesignModel:
        codes = [a.code for a in self.arms]
        if len(set(codes)) != len(codes):
            raise ValueError(f"arms: an arm code appears twice ({', '.join(codes)})")
        cycle = sum(a.ratio for a in self.arms)
        wrong = [b for b in self.block_sizes if b % cycle]
        if wrong:
            raise ValueError(
                f"block_sizes: {', '.join(map(str, wrong))} is not a multiple of the ratio's sum {cycle} "
                f"({':'.join(str(a.ratio) for a in self.arms)})"
            )
        for factor in self.strata:
            level_codes = [level.code for level in factor.levels]
            if len(set(level_codes)) != len(level_codes):
                raise ValueError(f"strata: factor {factor.id} names a level twice")
        return self


@dataclass(frozen=True)
class CompiledLevel:
    code: str
    label: Label
    rule: Compiled


@dataclass(frozen=True)
class CompiledFactor:
    id: str
    label: Label
    levels: tuple[CompiledLevel, ...]


@dataclass(frozen=True)
class CompiledRequirement:
    rule: Compiled
    message: Label

    @property
    def fields(self) -> tuple[str, ...]:
        """`form.FIELD` names the rule reads (what the refusal says is missing)."""
        return tuple(sorted(f"{r.form}.{r.field}" for r in self.rule.external))


@dataclass(frozen=True)
class Design:
    """The checked design, with its rules compiled; `model` is what study.json says."""

    model: DesignModel
    factors: tuple[CompiledFactor, ...]
    requirements: tuple[CompiledRequirement, ...]

    @property
    def arms(self) -> tuple[Arm, ...]:
        return tuple(self.model.arms)

    def arm(self, code: str) -> Arm:
        for arm in self.model.arms:
            if arm.code == code:
                return arm
        raise KeyError(code)

    def strata(self) -> list[str]:
        """Every stratum code: one level of each factor, joined with '-' ("LT18"; "" with no factors)."""
        codes = [""]
        for factor in self.factors:
            codes = [f"{c}-{level.code}" if c else level.code for c in codes for level in factor.levels]
        return codes

    def slots_per_stratum(self) -> int:
        """At least `oversupply` × the sample size in every stratum (no stratum can run out)."""
        return int(
            (Decimal(self.model.sample_size) * self.model.oversupply).to_integral_value(rounding="ROUND_CEILING")
        )

    def cycle(self) -> list[str]:
        """One arm code per ratio unit (1:1:1 → CONTROL, CIK, MRNA_CIK)."""
        return [a.code for a in self.model.arms for _ in range(a.ratio)]


def _compile(text: str, scope: Scope, where: str, errors: list[DefinitionError]) -> Compiled | None:
    try:
        compiled = compile_expression(text, scope)
    except ExprError as exc:
        errors.append(DefinitionError(FILE, where, f"{text!r}: {exc}"))
        return None
    if compiled.type.kind != "bool":
        errors.append(
            DefinitionError(FILE, where, f"{text!r}: must be a true/false condition, not {compiled.type.describe()}")
        )
        return None
    return compiled


def read_design(study: StudyDefinition) -> Design | None:
    """The study's design, or None when study.json has no "randomization" block; raises
    `DefinitionErrors` naming every problem (file, JSON path, what)."""
    raw = study.study.randomization
    if raw is None:
        return None
    try:
        model = DesignModel.model_validate(raw)
    except ValidationError as exc:
        raise DefinitionErrors(
            [
                DefinitionError(
                    FILE,
                    json_path(("randomization", *e["loc"])),
                    e["msg"].removeprefix("Value error, "),
                )
                for e in exc.errors(include_url=False)
            ]
        ) from None
    errors: list[DefinitionError] = []
    if FORM not in study.forms:
        raise DefinitionErrors([DefinitionError(FILE, "$.randomization", f"no form {FORM}: the design reads from it")])
    index = FormIndex(study.study, {fid: f.definition for fid, f in study.forms.items()})
    scope = Scope(index, study.forms[FORM].definition, set(study.forms[FORM].visits))
    factors = []
    for i, factor in enumerate(model.strata):
        levels = []
        for j, level in enumerate(factor.levels):
            rule = _compile(level.when, scope, f"$.randomization.strata[{i}].levels[{j}].when", errors)
            if rule is not None:
                levels.append(CompiledLevel(level.code, level.label, rule))
        factors.append(CompiledFactor(factor.id, factor.label, tuple(levels)))
    requirements = []
    for i, requirement in enumerate(model.requires):
        rule = _compile(requirement.when, scope, f"$.randomization.requires[{i}].when", errors)
        if rule is not None:
            requirements.append(CompiledRequirement(rule, requirement.message))
    if errors:
        raise DefinitionErrors(errors)
    return Design(model, tuple(factors), tuple(requirements))


_DESIGNS: dict[int, tuple[StudyDefinition, Design | None]] = {}


def design(study: StudyDefinition) -> Design | None:
    """`read_design`, once per loaded study."""
    cached = _DESIGNS.get(id(study))
    if cached is None or cached[0] is not study:
        cached = (study, read_design(study))
        _DESIGNS[id(study)] = cached
    return cached[1]


def arm_label(study: StudyDefinition, code: str, language: str = "en") -> str:
    """An arm's label for the one screen allowed to show it (emergency unblinding); the code if unknown."""
    found = design(study)
    try:
        label = found.arm(code).label if found else None
    except KeyError:
        label = None
    return code if label is None else (label.zh if language == "zh" else label.en)
