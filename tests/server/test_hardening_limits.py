"""Hostile requests against a live server: bodies past the limit (declared or chunked), bodies sent
without a token, error answers that would echo what was sent, the API documentation, request ids."""

from __future__ import annotations

import json
import socket
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from devices import Device, client
from live_server import LiveServer, open_server_db, site_with_users

from cik_ecrf.server.limits import MB
from cik_ecrf.server.settings import ServerSettings
from cik_ecrf.sync.protocol import API

HANG_GUARD = 20  # seconds: only so that a broken server fails the test instead of hanging it


@pytest.fixture
def small(tmp_path: Path) -> Iterator[LiveServer]:
    """A server that accepts bodies of 1 MB at most."""
    engine = open_server_db(f"sqlite:///{tmp_path / 'server.db'}")
    site_with_users(engine)
    with LiveServer(engine, settings=ServerSettings(max_body_mb=1)) as live:
        yield live
    engine.dispose()


def raw(server: LiveServer, head: str, body: bytes = b"") -> tuple[int, dict[str, str], bytes]:
    """Send a request byte for byte and read the answer; the connection closes after it."""
    with socket.create_connection(("127.0.0.1", server.port), timeout=HANG_GUARD) as sock:
        sock.sendall(head.replace("\n", "\r\n").encode() + b"\r\n" + body)
        answer = b""
        while b"\r\n\r\n" not in answer:
            answer += sock.recv(65536)
        header_block, rest = answer.split(b"\r\n\r\n", 1)
        lines = header_block.decode("latin-1").split("\r\n")
        headers = {k.lower(): v.strip() for k, v in (line.split(":", 1) for line in lines[1:])}
        while len(rest) < int(headers.get("content-length", "0")):
            rest += sock.recv(65536)
    return int(lines[0].split()[1]), headers, rest


def test_a_declared_length_past_the_limit_is_refused_before_the_body_is_sent(small: LiveServer) -> None:
    device = Device(small, "nurse1")
    token = device.http.headers["Authorization"]
    status, headers, body = raw(
        small,
        f"POST {API}/push HTTP/1.1\nHost: x\nAuthorization: {token}\nContent-Type: application/json\n"
        f"Content-Length: {200 * MB}\n",
    )  # the answer comes although not one body byte was sent: the server never waited for them
    assert status == 413 and "larger than this server accepts (1 MB)" in json.loads(body)["detail"]
    assert headers["x-request-id"]


def test_a_chunked_body_is_counted_as_it_streams(small: LiveServer) -> None:
    device = Device(small, "nurse1")
    token = device.http.headers["Authorization"]
    pieces = [b"x" * 65536] * (MB // 65536) + [b"x"]  # 1 MB, then the one byte too many
    chunks = b"".join(b"%x\r\n%s\r\n" % (len(piece), piece) for piece in pieces)
    status, _, body = raw(
        small,
        f"POST {API}/push HTTP/1.1\nHost: x\nAuthorization: {token}\nContent-Type: application/json\n"
        "Transfer-Encoding: chunked\n",
        chunks,  # no final chunk: the server answers at the byte past the limit, not at the end
    )
    assert status == 413 and "1 MB" in json.loads(body)["detail"]
    within = device.http.post("/push", json={"changes": []})
    assert within.status_code == 200  # the limit refuses only what passes it


def test_without_a_token_the_body_is_never_read(small: LiveServer) -> None:
    for headers in ("", "Authorization: Bearer forged-token\n"):
        status, _, body = raw(
            small,
            f"POST {API}/push HTTP/1.1\nHost: x\n{headers}Content-Type: application/json\nContent-Length: {MB}\n",
        )  # 1 MB declared, nothing sent: answered at once
        assert status == 401 and "token" in json.loads(body)["detail"]


def test_enrolment_takes_small_bodies_only(small: LiveServer) -> None:
    big = {"username": "nurse1", "password": "x" * (100 * 1024), "device_id": "d"}
    answer = httpx.post(f"{small.url}{API}/enrol", json=big)
    assert answer.status_code == 413 and "64 KB" in answer.json()["detail"]


def test_error_answers_never_echo_the_body(server: LiveServer) -> None:
    secret = "Q" * 20_000
    enrol = httpx.post(f"{server.url}{API}/enrol", json={"username": secret, "password": secret, "device_id": "d"})
    assert enrol.status_code == 422 and "QQQQ" not in enrol.text and len(enrol.content) < 4000
    assert {"loc", "msg", "type"} == set(enrol.json()["detail"][0])
    device = Device(server, "nurse1")
    extra_key = device.http.post("/push", json={"changes": [], secret: 1})  # the key itself is the payload
    assert extra_key.status_code == 422 and len(extra_key.content) < 4000
    assert any(str(part).startswith("QQQ") and len(str(part)) <= 201 for part in extra_key.json()["detail"][0]["loc"])
    not_json = device.http.post("/push", content=b"{" + secret.encode(), headers={"Content-Type": "application/json"})
    assert not_json.status_code == 422 and "QQQQ" not in not_json.text
    many = device.http.post("/push", json={"changes": [], **{f"extra{i}": i for i in range(3000)}})
    assert many.status_code == 422 and len(many.json()["detail"]) == 20 and len(many.content) < 20_000


def test_docs_are_served_only_when_asked_for(server: LiveServer, tmp_path: Path) -> None:
    for path in ("/docs", "/redoc", "/openapi.json"):
        assert httpx.get(server.url + path).status_code == 404
    engine = open_server_db(f"sqlite:///{tmp_path / 'docs.db'}")
    with LiveServer(engine, settings=ServerSettings(docs=True)) as documented:
        for path in ("/docs", "/redoc", "/openapi.json"):
            assert httpx.get(documented.url + path).status_code == 200
    engine.dispose()


def test_every_answer_carries_its_own_request_id(server: LiveServer) -> None:
    anonymous = client(server)
    answers = [
        anonymous.get("/info"),
        anonymous.get("/pull"),
        anonymous.post("/enrol", json={}),
        anonymous.get("/nowhere"),
    ]
    ids = [a.headers.get("x-request-id") for a in answers]
    assert [a.status_code for a in answers] == [200, 401, 422, 401]
    assert all(ids) and len(set(ids)) == len(ids)
