"""Schemathesis against the randomization endpoints of the live server's /openapi.json: generated
requests, valid and not, never get a 5xx, and every answer matches the documented schema."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import schemathesis
from devices import enrol
from hypothesis import HealthCheck, given, settings
from live_server import LiveServer, open_server_db, site_with_users
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from cik_ecrf.server.settings import ServerSettings

CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[LiveServer, str]]:
    root: Path = tmp_path_factory.mktemp("fuzz")
    engine = open_server_db(f"sqlite:///{root / 'server.db'}")
    site_with_users(engine, "BJ01", (("inv1", "investigator"), ("nurse1", "nurse")))
    with LiveServer(engine, settings=ServerSettings(docs=True)) as server:
        client, _ = enrol(server, "inv1")
        yield server, client.headers["Authorization"]
        client.close()
    engine.dispose()


def test_randomization_endpoints_never_fail_and_follow_their_schema(live: tuple[LiveServer, str]) -> None:
    server, token = live
    schema = schemathesis.openapi.from_url(f"{server.url}/openapi.json")
    operations = [r.ok() for r in schema.get_all_operations() if "/randomization/" in r.ok().path]
    assert len(operations) == 3
    statuses: list[int] = []
    for operation in operations:

        @given(case=operation.as_strategy())
        @settings(max_examples=15, deadline=None, database=None, suppress_health_check=list(HealthCheck))
        def call(case: schemathesis.Case) -> None:
            statuses.append(case.call_and_validate(headers={"Authorization": token}, checks=CHECKS).status_code)

        call()
    assert len(statuses) >= 2 * len(operations) and all(400 <= s < 500 for s in statuses)
