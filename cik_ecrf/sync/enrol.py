"""Enrolling a laptop: the server checks the user, registers the device and hands back its token.

With no store in the directory yet, enrolment creates one for the user's site, with that user
(their central password, their role) and the device code the server chose; the token is kept
inside the encrypted store, never in a plain file.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..store.api import Store
from ..store.database import DB_FILE
from .protocol import EnrolRequest
from .transport import Transport


@dataclass(frozen=True)
class Enrolment:
    site: str
    device_code: str
    device_id: str
    created_store: bool


def enrol(
    directory: Path, server_url: str, username: str, password: str, study: Any = None, verify: bool | str = True
) -> Enrolment:
    if (directory / DB_FILE).exists():
        with Store.open(directory, username, password, study=study) as store:
            device_id, site, code = store.sync_device()
            held = store.sync_settings()["token"]
            # the token this laptop holds proves the device id is its own (a known id enrols again only with it)
            with Transport(server_url, held, verify=verify) as transport:
                answer = transport.enrol(
                    EnrolRequest(
                        username=username, password=password, device_id=device_id, device_code=code, site_code=site
                    )
                )
            store.set_sync_settings(server_url=server_url, token=answer.token)
        return Enrolment(answer.site_code, answer.device_code, device_id, False)
    with Transport(server_url, verify=verify) as transport:
        device_id = str(uuid.uuid4())
        answer = transport.enrol(EnrolRequest(username=username, password=password, device_id=device_id))
        Store.init(
            directory,
            answer.site_code,
            username,
            password,
            answer.user.full_name,
            answer.device_code,
            answer.site_name,
            role=answer.user.role,
            device_id=device_id,
            central=answer.user.model_dump(),  # authorship: the user's keys as the server holds them
        )
        with Store.open(directory, username, password, study=study) as store:
            store.set_sync_settings(server_url=server_url, token=answer.token)
        return Enrolment(answer.site_code, answer.device_code, device_id, True)
