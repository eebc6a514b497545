"""Schemathesis against the live server's own /openapi.json: generated requests, valid and not,
never get a 5xx, and every answer matches the schema (status codes, content type, body)."""

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


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[LiveServer, str]]:
    root: Path = tmp_path_factory.mktemp("fuzz")
    engine = open_server_db(f"sqlite:///{root / 'server.db'}")
    site_with_users(engine)
    with LiveServer(engine, settings=ServerSettings(docs=True)) as server:  # /openapi.json is served with --docs only
        client, _ = enrol(server, "nurse1")
        yield server, client.headers["Authorization"]
        client.close()
    engine.dispose()


CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]


def test_api_never_fails_and_follows_its_schema(live: tuple[LiveServer, str]) -> None:
    server, token = live
    schema = schemathesis.openapi.from_url(f"{server.url}/openapi.json")
    operations = [result.ok() for result in schema.get_all_operations()]
    assert {op.path for op in operations} >= {
        "/api/v1/push",
        "/api/v1/pull",
        "/api/v1/enrol",
        "/api/v1/users",
        "/api/v1/info",
    }
    statuses: list[int] = []
    for operation in operations:

        @given(case=operation.as_strategy())
        @settings(max_examples=25, deadline=None, database=None, suppress_health_check=list(HealthCheck))
        def call(case: schemathesis.Case) -> None:
            statuses.append(case.call_and_validate(headers={"Authorization": token}, checks=CHECKS).status_code)

        call()
    assert len(statuses) >= 2 * len(operations) and 200 in statuses  # it did call, and some calls went through
