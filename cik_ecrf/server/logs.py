"""Structured server logs: one JSON object per line, each with the request it belongs to.

Security events (authentication failures, lockouts, enrolments, revocations, refused pushes) are
what an administrator searches after an incident, so they are machine-readable lines rather than
prose. Every request gets a fresh id, returned as X-Request-ID, so a laptop's error report and the
server's line can be matched. Values are JSON-escaped: a user name cannot forge a second line.
"""

from __future__ import annotations

import contextvars
import datetime as dt
import json
import logging
import os
import sys
import uuid
from pathlib import Path
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from .defaults import LOG_LEVELS as LEVELS

LOGGER = "cik_ecrf.server"
LEVEL_ENV = "CIK_ECRF_SERVER_LOG_LEVEL"
FILE_ENV = "CIK_ECRF_SERVER_LOG_FILE"
MAX_VALUE = 300  # characters kept of any one logged value

request_id: contextvars.ContextVar[str | None] = contextvars.ContextVar("request_id", default=None)
log = logging.getLogger(LOGGER)


class JsonLines(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, Any] = {
            "time": dt.datetime.fromtimestamp(record.created, dt.UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "event": record.getMessage(),
            "request_id": getattr(record, "request_id", None),
        }
        line.update(getattr(record, "fields", {}))
        return json.dumps(line, ensure_ascii=False, default=str)


def event(name: str, level: int = logging.INFO, **fields: Any) -> None:
    """Log one security event; `fields` (user, device, address, detail...) are cut to a bounded length."""
    if not log.isEnabledFor(level):
        return
    bounded = {k: _bounded(v) for k, v in fields.items()}
    log.log(level, name, extra={"fields": bounded, "request_id": request_id.get()})


def _bounded(value: Any) -> Any:
    if isinstance(value, str) and len(value) > MAX_VALUE:
        return value[:MAX_VALUE] + f"…(+{len(value) - MAX_VALUE})"
    return value


def configure(level: str | None = None, path: str | os.PathLike[str] | None = None) -> None:
    """Send the server's events to `path` (appended; one line per event) or stderr, at `level`.

    Called in each server process (uvicorn workers are separate processes): arguments default to
    the environment the `server` command sets for them.
    """
    level = (level or os.environ.get(LEVEL_ENV) or "info").lower()
    if level not in LEVELS:
        raise ValueError(f"log level {level!r}: one of {', '.join(LEVELS)}")
    path = path or os.environ.get(FILE_ENV) or None
    for old in list(log.handlers):
        log.removeHandler(old)
        old.close()
    if path:
        Path(path).parent.mkdir(parents=True, exist_ok=True)
        handler: logging.Handler = logging.FileHandler(path, mode="a", encoding="utf-8")
    else:
        handler = _Stderr()
    handler.setFormatter(JsonLines())
    log.addHandler(handler)
    log.setLevel(level.upper())
    log.propagate = False


class _Stderr(logging.StreamHandler):  # type: ignore[type-arg]
    """Whatever sys.stderr is when a line is written (the command line, or a test capturing it)."""

    @property  # type: ignore[override]
    def stream(self) -> Any:
        return sys.stderr

    @stream.setter
    def stream(self, _value: Any) -> None:
        pass


class RequestIds:
    """ASGI middleware: a fresh id per request, in the log context and the X-Request-ID header."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        rid = uuid.uuid4().hex
        scope.setdefault("state", {})["request_id"] = rid
        token = request_id.set(rid)

        async def send_with_id(message: Message) -> None:
            if message["type"] == "http.response.start":
                message = {**message, "headers": [*message.get("headers", []), (b"x-request-id", rid.encode())]}
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        finally:
            request_id.reset(token)


def client_address(scope: Scope) -> str:
    client = scope.get("client")
    return str(client[0]) if client else "unknown"
