"""The randomization endpoints: randomize, unblind (emergency) and record a code-break sheet's use.

(No `from __future__ import annotations` here: FastAPI reads the route signatures at run time.)

Each needs the laptop's device token (the app's token gate checks it before the body is read) AND the
acting user's name and password, checked by the server with the same throttle as enrolment. The
role is the server's record of that user, who must belong to the device's site; only an
investigator randomizes and unblinds. Refusals are 4xx with one line (`detail`, and `detail_zh`).
No answer names an arm, except the unblinding answer to that investigator.
"""

import functools
import logging
from collections.abc import Callable
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response
from sqlalchemy import Engine, select
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from ...core.roles import RANDOMIZER_ROLES
from ...definitions.errors import DefinitionErrors
from ...definitions.randomization import arm_label, design
from ...definitions.spec import StudyDefinition
from ...sync.protocol import API
from ...sync.randomization_protocol import (
    CODEBREAK,
    RANDOMIZE,
    UNBLIND,
    CodebreakAnswer,
    CodebreakRequest,
    RandomizeAnswer,
    RandomizeRequest,
    UnblindAnswer,
    UnblindRequest,
)
from ...sync.randomization_protocol import Refusal as RefusalBody
from .. import auth, logs, ratelimit
from ..models import User
from ..settings import ServerSettings
from . import assign

#: what each route may answer besides 200 and 422 (documented for clients, and for the schema fuzzer)
REFUSALS: dict[int | str, dict[str, Any]] = {code: {"model": RefusalBody} for code in (401, 403, 404, 409, 413, 429)}
ROLE_NAMES_ZH = {"nurse": "护士", "monitor": "监查员", "data_manager": "数据管理员", "admin": "管理员"}


@functools.cache
def _study() -> StudyDefinition:
    """The shipped study (as pushes are checked against it), with its randomization design."""
    from ...definitions.loader import load_study

    return load_study()


def _refused(status: int, en: str, zh: str | None = None) -> JSONResponse:
    return JSONResponse({"detail": en, "detail_zh": zh or en}, status_code=status)


def randomization_router(engine: Engine, reader: Engine, settings: ServerSettings) -> APIRouter:
    router = APIRouter(prefix=API)

    def who(request: Request, username: str, password: str, what: str, what_zh: str) -> assign.Who:
        device = getattr(request.state, "device", None)
        if not isinstance(device, auth.DeviceContext):  # the token gate sets it for every API route
            raise assign.Refusal(401, "no device token: enrol this laptop with `cik-ecrf enrol`")
        address = logs.client_address(request.scope)
        try:
            auth.check_password(engine, reader, settings.login, username, password, address)
        except auth.Denied as exc:
            raise assign.Refusal(exc.status, str(exc), "用户名或密码错误" if exc.status == 401 else None) from None
        with Session(engine) as session, session.begin():
            ratelimit.succeeded(session, username, address)
        with Session(reader) as session:
            user = session.scalar(select(User).where(User.username == username))
            assert user is not None  # the password check found them
            role, site = user.role, user.site_code
        if site != device.site_code:
            raise assign.Refusal(
                403,
                f"{username} works at site {site}, not at this laptop's site {device.site_code}",
                f"{username} 属于中心 {site}，不属于本机所在中心 {device.site_code}",
            )
        if role not in RANDOMIZER_ROLES:
            raise assign.Refusal(
                403,
                f"{_a(role)} cannot {what}: only an investigator can ({username} is {_a(role)} on the server)",
                f"{ROLE_NAMES_ZH.get(role, role)}不能{what_zh}：只有研究者可以",
            )
        return assign.Who(username, role, site, device.device_id)

    def answer(act: Callable[[], Any], event: str, **fields: Any) -> Response:
        try:
            result = act()
        except assign.Refusal as exc:
            logs.event(f"{event}_refused", status=exc.status, reason=str(exc), **fields)
            return _refused(exc.status, str(exc), exc.zh)
        except SQLAlchemyError as exc:  # a lock timeout or a lost race: nothing was committed
            logs.event(
                f"{event}_busy", logging.WARNING, error=type(getattr(exc, "orig", exc) or exc).__name__, **fields
            )
            return _refused(409, "the server is busy: try again in a moment", "服务器繁忙：请稍后再试")
        return Response(result.model_dump_json(), media_type="application/json")

    @router.post(RANDOMIZE, response_model=RandomizeAnswer, responses=REFUSALS)
    def randomize(body: RandomizeRequest, request: Request) -> Response:
        def act() -> RandomizeAnswer:
            person = who(request, body.username, body.password, "randomize", "随机化")
            study = _study()
            try:
                plan = design(study)
            except DefinitionErrors as exc:  # a broken design: the administrator's mistake, never a 5xx
                raise assign.Refusal(409, f"the randomization design cannot be read: {exc.errors[0]}") from None
            if plan is None:
                raise assign.Refusal(409, "this study has no randomization design (forms/study.json)")
            done = assign.randomize(engine, study, plan, person, body.subject_id)
            logs.event(
                "randomized", user=person.username, device=person.device_id, subject=body.subject_id, again=done.again
            )
            return RandomizeAnswer(
                subject_id=done.subject_id,
                number=done.number,
                RANDNO=done.randno,
                PRODID=done.prodid,
                RANDDTC=done.randdtc,
                change_id=done.change_id,
                again=done.again,
            )

        return answer(act, "randomize", user=body.username, subject=body.subject_id)

    @router.post(UNBLIND, response_model=UnblindAnswer, responses=REFUSALS)
    def unblind(body: UnblindRequest, request: Request) -> Response:
        def act() -> UnblindAnswer:
            person = who(request, body.username, body.password, "unblind", "揭盲")
            randno, arm = assign.unblind(engine, person, body.subject_id, body.reason)
            # a warning: the security log's readers are told of every unblinding (never its arm)
            logs.event(
                "unblinded", logging.WARNING, user=person.username, device=person.device_id, subject=body.subject_id
            )
            study = _study()
            return UnblindAnswer(
                subject_id=body.subject_id,
                RANDNO=randno,
                arm=arm,
                label_en=arm_label(study, arm, "en"),
                label_zh=arm_label(study, arm, "zh"),
            )

        return answer(act, "unblind", user=body.username, subject=body.subject_id)

    @router.post(CODEBREAK, response_model=CodebreakAnswer, responses=REFUSALS)
    def codebreak(body: CodebreakRequest, request: Request) -> Response:
        def act() -> CodebreakAnswer:
            person = who(request, body.username, body.password, "record a code-break sheet", "登记紧急揭盲信封")
            assign.unblind(engine, person, body.subject_id, body.reason, "codebreak_sheet", body.opened_at)
            logs.event(
                "codebreak_recorded",
                logging.WARNING,
                user=person.username,
                device=person.device_id,
                subject=body.subject_id,
            )
            return CodebreakAnswer(subject_id=body.subject_id)

        return answer(act, "codebreak", user=body.username, subject=body.subject_id)

    return router


def _a(role: str) -> str:
    """ "a nurse", "an investigator", "an admin" (refusals read as sentences)."""
    return f"{'an' if role[:1] in 'aeiou' else 'a'} {role.replace('_', ' ')}"
