"""The HTTP API: enrol, push, pull, site users. OpenAPI at /openapi.json (and /docs) with --docs only.

(No `from __future__ import annotations` here: FastAPI reads the route signatures at run time.)

Each request is one transaction. Refusals are JSON `{"detail": ...}` with 401 (who are you), 403
(not yours), 409 (taken), 410 (unknown cursor: pull everything again), 413 (body too large), 422
(not the protocol: where and what, never the body sent) or 429 (locked out after failed passwords).
Token-protected routes check the token before reading the body (limits.py).
"""

import contextlib
import datetime as dt
import gc
import os
import threading
from collections.abc import Iterator
from typing import Annotated, Any

from fastapi import Depends, FastAPI, Query, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool
from starlette.types import Scope

from .. import __version__
from ..sync.device_protocol import USERS_ETAG
from ..sync.protocol import (
    API,
    PROTOCOL,
    ChangeResult,
    EnrolRequest,
    EnrolResponse,
    ErrorBody,
    PullResponse,
    PushRequest,
    PushResponse,
    ServerInfo,
    SiteUsers,
)
from . import auth, authorship, devices, logs, pull_pages
from .apply import BatchApplier, SignaturesDiffer
from .database import epoch, make_engine, now, open_database, quick_reads
from .limits import OPEN_ROUTE_MAX_BODY, BodyLimit
from .models import User
from .randomization.routes import randomization_router
from .settings import ServerSettings
from .study_versions import routes as study_routes

SKEW_WARNING = dt.timedelta(minutes=5)
ERRORS: dict[int | str, dict[str, Any]] = {code: {"model": ErrorBody} for code in (401, 403, 409, 410, 413)}
OPEN_ROUTES = frozenset({f"{API}/info", f"{API}/enrol"})  # no token needed (every other API route needs one)
MAX_ERRORS = 20  # validation errors listed in a 422
MAX_TEXT = 200  # characters of any one location part or message in a 422


def create_app(engine: Engine, settings: ServerSettings | None = None) -> FastAPI:
    settings = settings or ServerSettings()
    docs = settings.docs
    app = FastAPI(
        title="CIK-eCRF central server",
        version=__version__,
        docs_url="/docs" if docs else None,
        redoc_url="/redoc" if docs else None,
        openapi_url="/openapi.json" if docs else None,
    )
    sqlite = engine.dialect.name == "sqlite"
    reader = make_engine(engine.url.render_as_string(hide_password=False), readonly=True) if sqlite else engine
    push_lock = threading.Lock() if sqlite else contextlib.nullcontext()  # SQLite: queue here, not in its busy handler
    app.state.reader = reader  # disposed by whoever disposes the engine
    auth.dummy_hash()  # computed now, not during the first unknown user's enrolment

    def authenticate(token: str | None) -> auth.DeviceContext:
        with quick_reads(reader) as conn:  # every request's first read: one statement, no ORM session
            return auth.authenticate(conn, token)

    async def token_gate(scope: Scope) -> tuple[int, str] | None:
        """Before any body byte is read: a protected route needs a live device token."""
        path = scope.get("path", "")
        if not path.startswith(API) or path in OPEN_ROUTES:
            return None
        token = _bearer(scope)
        try:
            scope.setdefault("state", {})["device"] = await run_in_threadpool(authenticate, token)
        except auth.Denied as exc:
            logs.event(
                "auth_failed",
                path=path,
                address=logs.client_address(scope),
                token=auth.token_hash(token)[:12] if token else None,
                reason=str(exc),
            )
            return exc.status, str(exc)
        return None

    def limit_for(scope: Scope) -> int:
        return min(settings.max_body, OPEN_ROUTE_MAX_BODY) if scope.get("path") in OPEN_ROUTES else settings.max_body

    app.add_middleware(BodyLimit, limit_for=limit_for, gate=token_gate)
    app.add_middleware(logs.RequestIds)  # outermost: every answer, refusals included, carries its id

    def read_session() -> Iterator[Session]:
        with Session(reader) as s, s.begin():
            yield s

    def read_device(request: Request) -> auth.DeviceContext:
        device = getattr(request.state, "device", None)  # the token gate authenticated it
        return device if isinstance(device, auth.DeviceContext) else authenticate(_bearer(request.scope))

    @app.exception_handler(auth.Denied)
    def _denied(_request: Request, exc: auth.Denied) -> JSONResponse:
        return JSONResponse({"detail": str(exc)}, status_code=exc.status)

    @app.exception_handler(RequestValidationError)
    def _invalid(request: Request, exc: RequestValidationError) -> JSONResponse:
        """Where and what, bounded: never the input (FastAPI's default echoes it, a whole body if need be)."""
        errors = exc.errors()
        device = getattr(request.state, "device", None)
        logs.event(
            "request_invalid",
            path=request.url.path,
            user=getattr(device, "user_id", None),
            device=getattr(device, "device_id", None),
            address=logs.client_address(request.scope),
            errors=len(errors),
            first=_error_text(errors[0]) if errors else None,
        )
        detail = [
            {
                "loc": [_bounded(part) for part in error.get("loc", ())][:10],
                "msg": _bounded(str(error.get("msg", ""))),
                "type": _bounded(str(error.get("type", ""))),
            }
            for error in errors[:MAX_ERRORS]
        ]
        return JSONResponse({"detail": detail}, status_code=422)

    @app.get(f"{API}/info", response_model=ServerInfo)
    def info(s: Annotated[Session, Depends(read_session)]) -> ServerInfo:
        return ServerInfo(protocol=PROTOCOL, epoch=epoch(s), server_time_utc=now())

    @app.post(f"{API}/enrol", response_model=EnrolResponse, responses={**ERRORS, 429: {"model": ErrorBody}})
    def enrol(body: EnrolRequest, request: Request) -> EnrolResponse:
        return auth.enrol(
            engine, reader, settings.login, body, logs.client_address(request.scope), _bearer(request.scope)
        )

    def _apply_push(
        body: PushRequest, ctx: auth.DeviceContext, signed: list[bool] | None = None
    ) -> tuple[list[ChangeResult], list[str]]:
        """One push in one transaction; (each change's answer, the seals' warnings)."""
        with push_lock, Session(engine) as s, s.begin():
            applier = BatchApplier(s.connection(), ctx.site_code, ctx.device_id, body.changes, body.seals, signed)
            try:
                return applier.run(), applier.seals.warnings
            finally:
                applier.close()  # the batch freed now, not at the collector's next full pass

    @app.post(f"{API}/push", response_model=PushResponse, responses=ERRORS)
    def push(
        body: PushRequest,
        ctx: Annotated[auth.DeviceContext, Depends(read_device)],
    ) -> Response:
        try:
            results, seal_warnings = _apply_push(body, ctx)
        except SignaturesDiffer as differ:  # rolled back: applied again, knowing which seals are not signed
            results, seal_warnings = _apply_push(body, ctx, differ.signed)
        rejected = [r for r in results if r.disposition == "rejected"]
        if rejected:
            logs.event(
                "push_refused",
                user=ctx.user_id,
                device=ctx.device_id,
                site=ctx.site_code,
                rejected=len(rejected),
                of=len(results),
                first=f"{rejected[0].id}: {rejected[0].reason}",
            )
        # built from validated models already: serialised once, not validated again against response_model
        return Response(
            PushResponse(results=results, warnings=_skew(body.client_time_utc) + seal_warnings).model_dump_json(),
            media_type="application/json",
        )

    @app.get(f"{API}/pull", response_model=PullResponse, responses=ERRORS)
    def pull(
        s: Annotated[Session, Depends(read_session)],
        ctx: Annotated[auth.DeviceContext, Depends(read_device)],
        cursor: Annotated[int, Query(ge=0, le=2**62)] = 0,
        since_epoch: Annotated[str | None, Query(alias="epoch", max_length=36)] = None,
        cursor_id: Annotated[str | None, Query(max_length=36)] = None,
        limit: Annotated[int, Query(ge=1, le=10_000)] = 5000,
    ) -> Response:
        try:
            at = pull_pages.window(s, cursor, since_epoch, cursor_id)
        except pull_pages.UnknownCursor as exc:
            raise auth.Denied(410, str(exc)) from None
        rows = pull_pages.rows(s, ctx.site_code, at, limit)
        more = len(rows) == limit
        next_cursor = rows[-1][0] if more else at.high
        cursor_change = pull_pages.at_seq(s, next_cursor)
        # The logged bodies are protocol JSON already (validated when pushed, or written by the server):
        # splicing them in spares parsing and re-serialising every change of a page.
        head = PullResponse(
            epoch=at.epoch, changes=[], next_cursor=next_cursor, cursor_id=cursor_change, more=more
        ).model_dump_json()
        changes = ",".join(
            f'{{"seq":{seq},"disposition":"{disposition}","change":{body}}}' for seq, disposition, body in rows
        )
        return Response(head.replace('"changes":[]', f'"changes":[{changes}]', 1), media_type="application/json")

    app.include_router(devices.router(engine, reader))  # GET /device: what the server holds of this laptop
    app.include_router(study_routes.router)  # GET /study/versions: published study versions (amendments)

    app.include_router(authorship.router)  # GET /anchor: this device's chain head as the server keeps it

    app.include_router(randomization_router(engine, reader, settings))  # POST /randomization/*: randomize, unblind

    @app.get(f"{API}/users", response_model=SiteUsers, responses=ERRORS)
    def users(
        s: Annotated[Session, Depends(read_session)],
        ctx: Annotated[auth.DeviceContext, Depends(read_device)],
        response: Response,
    ) -> SiteUsers:
        response.headers[USERS_ETAG] = authorship.users_etag(s, ctx.site_code)  # first: see users_etag
        rows = s.scalars(select(User).where(User.site_code == ctx.site_code).order_by(User.username))
        return SiteUsers(users=[auth.user_record(s, u) for u in rows])

    return app


def _bearer(scope: Scope) -> str | None:
    for name, value in scope.get("headers", []):
        if name == b"authorization":
            text = value.decode("latin-1")
            return text[7:] if text.startswith("Bearer ") and len(text) > 7 else None
    return None


def _bounded(value: Any) -> Any:
    if isinstance(value, str) and len(value) > MAX_TEXT:
        return value[:MAX_TEXT] + "…"
    return value if isinstance(value, str | int) else _bounded(str(value))


def _error_text(error: Any) -> str:
    return f"{'.'.join(str(_bounded(p)) for p in error.get('loc', ()))}: {_bounded(str(error.get('msg', '')))}"


def _skew(client_time: str | None) -> list[str]:
    if not client_time:
        return []
    try:
        then = dt.datetime.fromisoformat(client_time)
    except ValueError:
        return [f"client time {client_time!r} is not an ISO time"]
    if then.tzinfo is None:
        then = then.replace(tzinfo=dt.UTC)
    skew = then - dt.datetime.now(dt.UTC)
    if abs(skew) > SKEW_WARNING:
        hours = skew.total_seconds() / 3600
        return [
            f"this laptop's clock is {abs(hours):.1f} hours {'ahead of' if hours > 0 else 'behind'} the server's: set it right (times of new changes are recorded as the laptop says)"
        ]
    return []


def app_from_environment() -> FastAPI:
    """The factory uvicorn workers call: the database URL and settings come from the `server` command's environment."""
    logs.configure()
    app = create_app(open_database(os.environ["CIK_ECRF_SERVER_DATABASE_URL"]), ServerSettings.from_env())
    # A push makes hundreds of thousands of short-lived objects and no cycles worth chasing: the long-lived
    # ones (modules, the study, the app) are moved out of the collector's way, and young collections run
    # ten times less often (the profile showed a fifth of the server's time in the collector). Cyclic garbage
    # then waits long for a full pass: a push frees its batch by hand (`BatchApplier.close`), or the server
    # held several 5,000-change batches at once (peak memory 2.5x pouchdb-server's for 10,000 forms).
    gc.collect()
    gc.freeze()
    gc.set_threshold(7_000, 10, 10)
    return app
