"""Bounded requests: a body is counted as it streams in and refused (413) past its limit, and a
request to a token-protected route is authenticated before a single body byte is read.

Both happen in a pure ASGI middleware, below FastAPI: its routes read and parse the whole body
before any dependency (the token check included) runs, so without this a client with no token
could make the server hold any number of bytes. A declared Content-Length past the limit is
refused before reading; a chunked body (no length) is counted chunk by chunk.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable

from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from . import logs

MB = 1024 * 1024
OPEN_ROUTE_MAX_BODY = 64 * 1024  # routes that need no token (enrolment): small bodies only
# a declared body over the limit is read off (and dropped) before the 413 when it is at most this many
# times the limit, and at most DRAIN_MAX bytes over it; anything larger is answered at once, unread
DRAIN_FACTOR = 16
DRAIN_MAX = 64 * MB

#: returns None to let the request through, or (status, message) to refuse it before its body is read
Gate = Callable[[Scope], Awaitable[tuple[int, str] | None]]


class BodyTooLarge(HTTPException):
    """Raised from `receive` once a body passes its limit; FastAPI passes HTTPExceptions through."""

    def __init__(self, limit: int) -> None:
        super().__init__(413, too_large(limit))


def too_large(limit: int) -> str:
    size = f"{limit // MB} MB" if limit >= MB else f"{limit // 1024} KB"
    return f"request body larger than this server accepts ({size}): send fewer changes per request"


class BodyLimit:
    """ASGI middleware. `limit_for(scope)` gives a route's byte limit; `gate` may refuse first."""

    def __init__(self, app: ASGIApp, limit_for: Callable[[Scope], int], gate: Gate | None = None) -> None:
        self.app = app
        self.limit_for = limit_for
        self.gate = gate

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = self.limit_for(scope)
        declared = _content_length(scope)
        if declared == -1:
            await answer(send, 400, "Content-Length is not a number")
            return
        if declared is not None and declared > limit:
            _log_too_large(scope, declared)
            if declared <= min(DRAIN_FACTOR * limit, limit + DRAIN_MAX):
                await _drain(receive)
            await answer(send, 413, too_large(limit))
            return
        if self.gate is not None:
            refused = await self.gate(scope)
            if refused is not None:
                await answer(send, *refused)
                return
        received = 0
        started = False

        async def counted() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    _log_too_large(scope, received)
                    raise BodyTooLarge(limit)
            return message

        async def watched(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, counted, watched)
        except BodyTooLarge as exc:
            if started:
                raise
            await answer(send, 413, str(exc.detail))


async def _drain(receive: Receive) -> None:
    """Read a refused body off the connection, keeping none of it.

    A laptop sending a batch a little over the limit is still writing when the refusal is ready; closing
    on unread bytes makes the kernel reset the connection, and the laptop would see "no answer" instead
    of the 413 that tells it to send smaller batches. Far larger bodies are refused at once, unread."""
    while True:
        message = await receive()
        if message["type"] != "http.request" or not message.get("more_body", False):
            return


def _content_length(scope: Scope) -> int | None:
    """The declared length; None when absent (chunked), -1 when not a number."""
    for name, value in scope.get("headers", []):
        if name == b"content-length":
            return int(value) if value.isdigit() and len(value) < 19 else -1
    return None


def _log_too_large(scope: Scope, size: int) -> None:
    logs.event(
        "body_too_large",
        path=scope.get("path"),
        address=logs.client_address(scope),
        bytes_seen=size,
    )


async def answer(send: Send, status: int, message: str) -> None:
    """A JSON refusal `{"detail": ...}`; the connection closes after it (a refused body is not read on)."""
    body = json.dumps({"detail": message}).encode("utf-8")
    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
    if status == 413:
        headers.append((b"connection", b"close"))
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})
