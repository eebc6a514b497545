"""Schemathesis against the live server's own /openapi.json (served because this server is started
with docs on): generated requests, valid and not, never get a 5xx, and every answer matches the
schema (status codes, content type, body). Then push and pull decoding fuzzed with hypothesis."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import schemathesis
from devices import client, enrol
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from live_server import LiveServer, open_server_db, site_with_users
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from cik_ecrf.server.settings import ServerSettings
from cik_ecrf.sync.protocol import Change


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


# ---------------------------------------------------------------- push and pull decoding, fuzzed

FIELDS = list(Change.model_fields)
JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=40),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=12), inner, max_size=4),
    max_leaves=12,
)
CHANGE_LIKE = st.dictionaries(st.sampled_from(FIELDS), JSON | st.text(min_size=1, max_size=36), max_size=len(FIELDS))
PUSH_BODIES = st.one_of(
    st.binary(max_size=600),  # not even text
    JSON.map(lambda v: json.dumps(v).encode()),  # JSON of any shape
    st.fixed_dictionaries({"changes": st.lists(CHANGE_LIKE, max_size=4)}, optional={"client_time_utc": JSON}).map(
        lambda v: json.dumps(v).encode()
    ),  # the protocol's shape, with any values
)
PULL_QUERIES = st.dictionaries(
    st.sampled_from(["cursor", "epoch", "cursor_id", "limit"]) | st.text(max_size=8),
    st.integers(min_value=-(2**70), max_value=2**70).map(str) | st.text(max_size=40),
    max_size=4,
)
MAX_REFUSAL = 16_000  # bytes: a refusal says where and what, never the body sent


def bounded(answer: httpx.Response) -> None:
    assert answer.status_code < 500, answer.text[:500]
    assert answer.headers["content-type"].startswith("application/json")
    if answer.status_code >= 400:
        assert len(answer.content) <= MAX_REFUSAL
        assert "detail" in answer.json()


def test_push_and_pull_decoding_never_fail(live: tuple[LiveServer, str]) -> None:
    """Random bytes and JSON shapes at /push, random queries at /pull, with a valid token: never a
    5xx, and every refusal a short JSON answer (bounded run: a few seconds)."""
    server, token = live
    http = client(server, token.removeprefix("Bearer "))

    @given(body=PUSH_BODIES)
    @settings(max_examples=120, deadline=None, database=None, suppress_health_check=list(HealthCheck))
    def push(body: bytes) -> None:
        bounded(http.post("/push", content=body, headers={"Content-Type": "application/json"}))

    @given(query=PULL_QUERIES)
    @settings(max_examples=60, deadline=None, database=None, suppress_health_check=list(HealthCheck))
    def pull(query: dict[str, str]) -> None:
        bounded(http.get("/pull", params=query))

    push()
    pull()
