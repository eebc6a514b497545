"""The HTTP API: enrol, push, pull, site users. OpenAPI at /openapi.json.

(No `from __future__ import annotations` here: FastAPI reads the route signatures at run time.)

Each request is one transaction. Refusals are JSON `{"detail": ...}` with 401 (who are you), 403
(not yours), 409 (taken) or 410 (unknown cursor: pull everything again).
"""

import contextlib
import datetime as dt
import os
import threading
from collections.abc import Iterator
from typing import Annotated, Any

from fastapi import Depends, FastAPI, Header, Query, Request
from fastapi.responses import JSONResponse, Response
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from .. import __version__
from ..sync.protocol import (
    API,
    DATA_ACTIONS,
    PROTOCOL,
    SERVER_ACTIONS,
    EnrolRequest,
    EnrolResponse,
    ErrorBody,
    PullResponse,
    PushRequest,
    PushResponse,
    ServerInfo,
    SiteUsers,
)
from . import auth
from .apply import BatchApplier
from .database import epoch, make_engine, now, open_database
from .models import Change as ChangeRow
from .models import SeqCounter, User

SKEW_WARNING = dt.timedelta(minutes=5)
PULLED = tuple(sorted(DATA_ACTIONS | SERVER_ACTIONS))
ERRORS: dict[int | str, dict[str, Any]] = {code: {"model": ErrorBody} for code in (401, 403, 409, 410)}


def create_app(engine: Engine) -> FastAPI:
    app = FastAPI(title="CIK-eCRF central server", version=__version__)
    sqlite = engine.dialect.name == "sqlite"
    reader = make_engine(engine.url.render_as_string(hide_password=False), readonly=True) if sqlite else engine
    push_lock = threading.Lock() if sqlite else contextlib.nullcontext()  # SQLite: queue here, not in its busy handler
    app.state.reader = reader  # disposed by whoever disposes the engine

    def session() -> Iterator[Session]:
        with Session(engine) as s, s.begin():
            yield s

    def read_session() -> Iterator[Session]:
        with Session(reader) as s, s.begin():
            yield s

    def read_device(
        s: Annotated[Session, Depends(read_session)], authorization: Annotated[str | None, Header()] = None
    ) -> auth.DeviceContext:
        token = authorization[7:] if authorization and authorization.startswith("Bearer ") else None
        return auth.authenticate(s, token)

    @app.exception_handler(auth.Denied)
    def _denied(_request: Request, exc: auth.Denied) -> JSONResponse:
        return JSONResponse({"detail": str(exc)}, status_code=exc.status)

    @app.get(f"{API}/info", response_model=ServerInfo)
    def info(s: Annotated[Session, Depends(read_session)]) -> ServerInfo:
        return ServerInfo(protocol=PROTOCOL, epoch=epoch(s), server_time_utc=now())

    @app.post(f"{API}/enrol", response_model=EnrolResponse, responses=ERRORS)
    def enrol(body: EnrolRequest, s: Annotated[Session, Depends(session)]) -> EnrolResponse:
        return auth.enrol(s, body)

    @app.post(f"{API}/push", response_model=PushResponse, responses=ERRORS)
    def push(body: PushRequest, ctx: Annotated[auth.DeviceContext, Depends(read_device)]) -> Response:
        with push_lock, Session(engine) as s, s.begin():
            results = BatchApplier(s.connection(), ctx.site_code, ctx.device_id, body.changes).run()
        # built from validated models already: serialised once, not validated again against response_model
        return Response(
            PushResponse(results=results, warnings=_skew(body.client_time_utc)).model_dump_json(),
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
        current = epoch(s)
        high = int(s.scalar(select(SeqCounter.next_seq).where(SeqCounter.id == 1)) or 1) - 1  # all committed
        at_cursor = s.scalar(select(ChangeRow.id).where(ChangeRow.seq == cursor)) if cursor > 0 else None
        if cursor > 0 and (
            since_epoch != current or cursor > high or (cursor_id is not None and at_cursor != cursor_id)
        ):
            raise auth.Denied(
                410,
                f"cursor {cursor} is unknown to this server (restored from a backup, or another server): pull everything again",
            )
        rows = s.execute(
            select(ChangeRow.seq, ChangeRow.disposition, ChangeRow.body)
            .where(
                ChangeRow.site_code == ctx.site_code,
                ChangeRow.seq > cursor,
                ChangeRow.seq <= high,
                ChangeRow.disposition != "rejected",
                ChangeRow.action.in_(PULLED),
            )
            .order_by(ChangeRow.seq)
            .limit(limit)
        ).all()
        more = len(rows) == limit
        next_cursor = rows[-1][0] if more else high
        cursor_change = s.scalar(select(ChangeRow.id).where(ChangeRow.seq == next_cursor)) if next_cursor > 0 else None
        # The logged bodies are protocol JSON already (validated when pushed, or written by the server):
        # splicing them in spares parsing and re-serialising every change of a page.
        head = PullResponse(
            epoch=current, changes=[], next_cursor=next_cursor, cursor_id=cursor_change, more=more
        ).model_dump_json()
        changes = ",".join(
            f'{{"seq":{seq},"disposition":"{disposition}","change":{body}}}' for seq, disposition, body in rows
        )
        return Response(head.replace('"changes":[]', f'"changes":[{changes}]', 1), media_type="application/json")

    @app.get(f"{API}/users", response_model=SiteUsers, responses=ERRORS)
    def users(
        s: Annotated[Session, Depends(read_session)], ctx: Annotated[auth.DeviceContext, Depends(read_device)]
    ) -> SiteUsers:
        rows = s.scalars(select(User).where(User.site_code == ctx.site_code).order_by(User.username))
        return SiteUsers(users=[auth.user_record(u) for u in rows])

    return app


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
    """The factory uvicorn workers call: the database URL comes from the `server` command's environment."""
    return create_app(open_database(os.environ["CIK_ECRF_SERVER_DATABASE_URL"]))
