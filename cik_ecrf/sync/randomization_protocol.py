"""The randomization endpoints' requests and answers, shared by the laptop (sync/randomize.py) and
the server (server/randomization/routes.py). No answer has a field for an arm except the answer to
an investigator's emergency unblinding."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field

from ..events.change import Id, Model, Name

RANDOMIZE = "/randomization/randomize"
UNBLIND = "/randomization/unblind"
CODEBREAK = "/randomization/codebreak"
Password = Annotated[str, Field(min_length=1, max_length=200)]
Reason = Annotated[str, Field(min_length=3, max_length=500)]


class Refusal(Model):
    """A refused request: one line in English, and the same in Chinese."""

    detail: str
    detail_zh: str


class RandomizeRequest(Model):
    """The investigator proves their password again: randomizing is their act, not the laptop's."""

    subject_id: Id
    username: Name
    password: Password


class RandomizeAnswer(Model):
    subject_id: Id
    number: str  # the subject's number at its site
    RANDNO: str
    PRODID: str
    RANDDTC: str
    change_id: Id  # the `randomized` event the site's laptops pull
    again: bool = False  # True: the subject was randomized already (a retry); the same allocation


class UnblindRequest(Model):
    subject_id: Id
    username: Name
    password: Password
    reason: Reason


class UnblindAnswer(Model):
    """The one answer that names an arm: to an investigator, for one subject, audited."""

    subject_id: Id
    RANDNO: str
    arm: str
    label_en: str
    label_zh: str


class CodebreakRequest(Model):
    """The pharmacy's printed code-break sheet was opened while the server was out of reach."""

    subject_id: Id
    username: Name
    password: Password
    reason: Reason
    opened_at: Annotated[str, Field(min_length=10, max_length=40)]  # when the sheet was opened (ISO)


class CodebreakAnswer(Model):
    subject_id: Id
    recorded: Literal[True] = True
