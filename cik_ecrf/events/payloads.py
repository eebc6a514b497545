"""The typed payloads that travel as JSON text inside a change (`new_json` / `old_json`).

The protocol keeps them as text so that a laptop's audit trail hashes exactly what it sent; reading
them through these models gives every event type the same strict shape on laptop and server
(unknown keys refused, lengths bounded) and one kind of refusal naming where the payload is wrong.
"""

from __future__ import annotations

import functools
from typing import Annotated, Literal, TypeVar

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from .base import Refused
from .change import Id, Name, Short

Sha256 = Annotated[str, Field(pattern=r"^[0-9a-f]{64}$")]
P = TypeVar("P", bound="Payload")


class Payload(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class FormCreated(Payload):
    status: Literal["draft", "complete"] = "draft"
    version: Annotated[str, Field(max_length=20)] = ""


class SignatureMade(Payload):
    signature: Id
    scope: Literal["form", "visit", "casebook"]
    meaning: Literal["author", "review", "approve"]
    full_name: Annotated[str, Field(max_length=200)] = ""
    content_sha256: Sha256
    instances: Annotated[list[Id], Field(min_length=1, max_length=1000)]
    # the signer's Ed25519 signature over the content hash (`core.keys.esign_message`); the server requires it
    key_id: Annotated[str, Field(max_length=32)] | None = None
    sig: Annotated[str, Field(max_length=100)] | None = None


class SignatureCleared(Payload):
    """What the clearing laptop knew of the signature it cleared (only its id is needed)."""

    signature: Id
    scope: Literal["form", "visit", "casebook"] | None = None
    meaning: Literal["author", "review", "approve"] | None = None
    signed_by: Name | None = None
    signed_at_utc: Short | None = None
    content_sha256: Sha256 | None = None


class Candidate(Payload):
    """One competing value of a field in conflict, with who entered it, where and when."""

    value_json: Annotated[str, Field(max_length=100_000)] | None
    seq: int | None = None
    username: Name | None = None
    device_id: Id | None = None
    at_utc: Short | None = None
    utc_offset_min: int | None = None
    change_id: Id | None = None


class ConflictOpened(Payload):
    current: Annotated[str, Field(max_length=100_000)] | None
    candidates: Annotated[list[Candidate], Field(min_length=1, max_length=10)]


def read(model: type[P], text: str | None, what: str) -> P:
    """A payload, or a refusal saying where it is wrong (never the whole text echoed back)."""
    try:
        return _parsed(model, text or "{}")  # type: ignore[return-value]
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first.get("loc", ())) or "payload"
        raise Refused(f"{what}: {where}: {first.get('msg', 'invalid')}"[:300]) from None


@functools.lru_cache(maxsize=4096)
def _parsed(model: type[Payload], text: str) -> Payload:
    """Payloads repeat (every form started as complete, version 1.0): parsed once. They are frozen, so
    one instance can serve every change that carries the same text."""
    return model.model_validate_json(text)
