"""Randomization and emergency unblinding from a laptop: online only, always the server's decision.

`randomize` first syncs (so the server judges eligibility on this laptop's latest screening data),
asks the server, keeps its answer at once and pulls the `randomized` event, so that
`store.randomization.allocation(subject)` holds as soon as it returns. A lost reply is asked again
once: the server answers a retry with the same allocation. `unblind` returns the arm's code for the
caller to show; nothing here stores or logs it. Every refusal is a `RandomizationError`: one line in
English (`str`) and in Chinese (`.zh`), e.g. when the laptop is offline.
"""

from __future__ import annotations

from typing import Any

import httpx
from pydantic import BaseModel, ValidationError

from ..core.errors import UserError
from ..store.api import Store
from ..store.randomization import Allocation
from .client import SyncClient
from .randomization_protocol import (
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
from .transport import Transport

OFFLINE_EN = "randomization needs a connection to the server"
OFFLINE_ZH = "随机化需要连接中心服务器"


class RandomizationError(UserError):
    """A randomization or unblinding that did not happen, with the same line in Chinese (`zh`)."""

    def __init__(self, en: str, zh: str | None = None) -> None:
        super().__init__(en)
        self.zh = zh or en


class Offline(RandomizationError):
    """The server could not be reached (or this laptop is not enrolled): nothing was randomized."""


def _line(text: str, limit: int = 300) -> str:
    line = " ".join(str(text).split())
    return line if len(line) <= limit else line[: limit - 1] + "…"


class _Calls(Transport):
    """The randomization endpoints over the laptop's usual transport (token, TLS trust, timeouts)."""

    def post(self, path: str, body: BaseModel, answer: type[Any], *, retries: int = 1) -> Any:
        for attempt in range(retries + 1):
            try:
                response = self.client.post(
                    path, content=body.model_dump_json(), headers={"Content-Type": "application/json"}
                )
                break
            except httpx.TransportError as exc:
                if attempt == retries:  # the answer may have been lost: the server answers a retry the same way
                    raise Offline(
                        f"{OFFLINE_EN}: {self.url} did not answer ({type(exc).__name__})",
                        f"{OFFLINE_ZH}：{self.url} 无应答（{type(exc).__name__}）",
                    ) from None
        if response.status_code >= 400:
            raise RandomizationError(_refusal(response), _refusal(response, "zh"))
        try:
            return answer.model_validate_json(response.content)
        except ValidationError:
            raise RandomizationError(
                "the server's answer does not follow the protocol (update this laptop's software)",
                "服务器的应答不符合协议（请更新本机软件）",
            ) from None


def _refusal(response: httpx.Response, language: str = "en") -> str:
    """The server's one line (`detail`, and `detail_zh` when it sent one)."""
    try:
        body = response.json()
    except ValueError:
        body = {}
    detail = body.get("detail") if isinstance(body, dict) else None
    if language == "zh" and isinstance(body, dict) and isinstance(body.get("detail_zh"), str):
        detail = body["detail_zh"]
    if not isinstance(detail, str):
        detail = f"the server refused ({response.status_code})"
    return _line(detail)


def _connection(store: Store, verify: bool | str) -> _Calls:
    settings = store.sync_settings()
    if not settings.get("server_url") or not settings.get("token"):
        raise Offline(
            f"{OFFLINE_EN}: this laptop is not enrolled with a server (cik-ecrf enrol)",
            f"{OFFLINE_ZH}：本机尚未在服务器登记（cik-ecrf enrol）",
        )
    return _Calls(settings["server_url"] or "", settings["token"], verify=verify)


def _subject_id(store: Store, subject: str) -> str:
    found = store.randomization.subject_id(subject)
    if found is None:
        raise RandomizationError(f"no subject {subject} on this laptop", f"本机没有受试者 {subject}")
    return found


def _sync(store: Store, verify: bool | str, *, required: bool) -> None:
    outcome = SyncClient(store, verify=verify).run()
    if outcome.error and required:
        raise Offline(f"{OFFLINE_EN}: {_line(outcome.error, 200)}", f"{OFFLINE_ZH}：{_line(outcome.error, 200)}")


def randomize(store: Store, subject: str, username: str, password: str, *, verify: bool | str = True) -> Allocation:
    """Randomize `subject` (id or number) as `username` (an investigator, password checked by the
    server); returns the allocation now on this laptop. Raises `RandomizationError`."""
    subject_id = _subject_id(store, subject)
    _sync(store, verify, required=True)  # the server decides on the screening data it holds: send ours first
    with _connection(store, verify) as calls:
        answer: RandomizeAnswer = calls.post(
            RANDOMIZE,
            _build(RandomizeRequest, subject_id=subject_id, username=username, password=password),
            RandomizeAnswer,
        )
    store.randomization.record_answer(subject_id, answer.RANDNO, answer.PRODID, answer.RANDDTC, answer.change_id)
    _sync(store, verify, required=False)  # the `randomized` event: the form's values (later if offline now)
    allocation = store.randomization.allocation(subject_id)
    assert allocation is not None
    return allocation


def unblind(store: Store, subject: str, username: str, password: str, reason: str, *, verify: bool | str = True) -> str:
    """Emergency unblinding of one subject by an investigator (password and reason checked by the
    server, which audits it and tells every laptop of the site that the subject is unblinded).
    Returns the arm's code, for display only: never store, print or log it. Label:
    `cik_ecrf.definitions.randomization.arm_label(store.study, code, language)`."""
    subject_id = _subject_id(store, subject)
    with _connection(store, verify) as calls:
        answer: UnblindAnswer = calls.post(
            UNBLIND,
            _build(UnblindRequest, subject_id=subject_id, username=username, password=password, reason=reason),
            UnblindAnswer,
            retries=0,
        )
    _sync(store, verify, required=False)
    return answer.arm


def record_codebreak(
    store: Store,
    subject: str,
    username: str,
    password: str,
    reason: str,
    opened_at: str,
    *,
    verify: bool | str = True,
) -> None:
    """Record that the pharmacy's printed code-break sheet of `subject` was opened (at `opened_at`,
    ISO time) while the server was out of reach: audited on the server, the subject marked unblinded
    on every laptop. Returns nothing: the sheet already told the arm."""
    subject_id = _subject_id(store, subject)
    with _connection(store, verify) as calls:
        calls.post(
            CODEBREAK,
            _build(
                CodebreakRequest,
                subject_id=subject_id,
                username=username,
                password=password,
                reason=reason,
                opened_at=opened_at,
            ),
            CodebreakAnswer,
        )
    _sync(store, verify, required=False)


def _build(model: type[BaseModel], **values: Any) -> Any:
    """A request, or the one line saying which part this laptop could not send (an empty reason)."""
    try:
        return model(**values)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first.get("loc", ())) or "request"
        raise RandomizationError(
            f"{where}: {first.get('msg', 'invalid')}", f"{where}：{first.get('msg', '无效')}"
        ) from None
