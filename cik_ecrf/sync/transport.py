"""HTTP to the central server (httpx): one method per endpoint, the protocol models in and out.

Every failure becomes a `SyncError` with one line saying what went wrong (unreachable, refused,
token revoked...); `UnknownCursor` is the one the client acts on (a full re-pull).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import email.utils
import functools
import ssl
from typing import Any

import httpx
from pydantic import ValidationError

from ..store.errors import StoreError
from .device_protocol import HINTS
from .protocol import API, EnrolRequest, EnrolResponse, PullResponse, PushRequest, PushResponse, ServerInfo, SiteUsers

TIMEOUT = httpx.Timeout(60.0, connect=10.0)


class SyncError(StoreError):
    """Sync could not finish; nothing local was lost (what was not acknowledged is sent again)."""


class Unreachable(SyncError):
    """No answer from the server: the laptop is offline, or the server is down."""


class TooLarge(SyncError):
    """The server refused a request body as too large (413): the client sends smaller batches."""


class UnknownCursor(SyncError):
    """The server does not know this laptop's cursor (restored from a backup): pull everything again."""


class Transport:
    def __init__(
        self, server_url: str, token: str | None = None, verify: bool | str = True, timeout: httpx.Timeout = TIMEOUT
    ) -> None:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        self.url = server_url.rstrip("/")
        self.client = httpx.Client(base_url=self.url + API, headers=headers, verify=_tls(verify), timeout=timeout)
        self.server_date: dt.datetime | None = None  # from the last answer's Date header (clock-skew warning)
        self.hints: dict[str, str] = {}  # what the server said may be skipped (device_protocol.HINTS), newest

    def close(self) -> None:
        self.client.close()

    def __enter__(self) -> Transport:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _call(self, method: str, path: str, **kwargs: Any) -> Any:
        try:
            response = self.client.request(method, path, **kwargs)
        except httpx.TransportError as exc:
            raise Unreachable(f"{self.url}: no answer from the server ({type(exc).__name__}: {exc})") from None
        with contextlib.suppress(TypeError, ValueError):
            self.server_date = email.utils.parsedate_to_datetime(response.headers.get("date", ""))
        self.hints.update((name, response.headers[name]) for name in HINTS if name in response.headers)
        if response.status_code == 410:
            raise UnknownCursor(_detail(response))
        if response.status_code == 413:
            raise TooLarge(f"{self.url}: the server refused a request as too large: {_detail(response)}")
        if response.status_code >= 400:
            raise SyncError(f"{self.url}: the server refused ({response.status_code}): {_detail(response)}")
        content = response.content
        # httpx leaves a read response in a cycle with its stream: each page's body lived until the collector's
        # rare full pass, and a fresh laptop's pull held every page at once (60 MB for 10,000 forms). Read and
        # closed, the response needs its stream no more: dropped here, the body goes with the page.
        response.stream = httpx.ByteStream(b"")
        return content

    def info(self) -> ServerInfo:
        return _parse(ServerInfo, self._call("GET", "/info"))

    def enrol(self, request: EnrolRequest) -> EnrolResponse:
        return _parse(
            EnrolResponse,
            self._call(
                "POST", "/enrol", content=request.model_dump_json(), headers={"Content-Type": "application/json"}
            ),
        )

    def push(self, request: PushRequest) -> PushResponse:
        # JSON bytes straight from pydantic: a text body would be copied once more into bytes by httpx,
        # a batch of 5,000 changes twice in memory while the next one is prepared
        body = PushRequest.__pydantic_serializer__.to_json(request)
        return _parse(
            PushResponse, self._call("POST", "/push", content=body, headers={"Content-Type": "application/json"})
        )

    def pull(self, cursor: int, epoch: str | None, limit: int, cursor_id: str | None = None) -> PullResponse:
        return _parse(
            PullResponse, self._call("GET", "/pull", params={**cursor_params(cursor, epoch, cursor_id), "limit": limit})
        )

    def users(self) -> SiteUsers:
        return _parse(SiteUsers, self._call("GET", "/users"))


def cursor_params(cursor: int, epoch: str | None, cursor_id: str | None) -> dict[str, Any]:
    """A pull cursor as query parameters (`GET /pull`, and `GET /device` asking whether anything waits)."""
    params: dict[str, Any] = {"cursor": cursor}
    if epoch:
        params["epoch"] = epoch
    if cursor_id:
        params["cursor_id"] = cursor_id
    return params


@functools.cache
def _tls(verify: bool | str) -> ssl.SSLContext | bool:
    """One TLS context per trust setting: building one reads the CA bundle (~80 ms), too slow per sync."""
    if verify is False:
        return False
    return ssl.create_default_context(cafile=None if verify is True else str(verify))


def _detail(response: httpx.Response) -> str:
    try:
        detail = response.json().get("detail")
    except ValueError:
        detail = None
    return str(detail) if detail else response.text[:200]


def _parse(model: Any, content: bytes) -> Any:
    try:
        return model.model_validate_json(content)
    except ValidationError as exc:
        raise SyncError(f"the server's answer does not follow the protocol: {exc.errors()[0]['msg']}") from None


def utc_now() -> str:
    return dt.datetime.now(dt.UTC).isoformat(timespec="seconds")
