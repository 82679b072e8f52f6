"""Hostile bodies against the live mock: each gets a clear 4xx in the spec's error shape.

Huge, deeply nested, mis-encoded and mis-typed bodies, duplicate keys, and a client that
trickles its body byte by byte while others are served. Every response to a documented
operation is checked against openapi.yaml by the `client` fixture (or `check_error` for raw
sockets), so "a clear 4xx" means the documented status, body shape and error message.
"""

from __future__ import annotations

import json
import socket
import time
from collections.abc import Iterator
from urllib.parse import urlsplit

import httpx
import pytest

from mockplatform.core.spec import Spec
from mockplatform.server.intake import DEFAULT_MAX_BODY_BYTES
from mockplatform.server.world import DEFAULT_AGENT_ID, DEFAULT_API_KEY

TOKEN = "/api/widget/token"
AUTH = {"Authorization": f"Bearer {DEFAULT_API_KEY}"}
JSON = {**AUTH, "Content-Type": "application/json"}


def post_raw(client: httpx.Client, body: bytes, headers: dict[str, str] = JSON) -> httpx.Response:
    return client.post(TOKEN, content=body, headers=headers)


def error_of(response: httpx.Response) -> str:
    """The documented `error` message; the `client` fixture already checked the schema."""
    assert response.headers["content-type"].startswith("application/json")
    return response.json()["error"]


def check_error(spec: Spec, status: int, raw_body: bytes) -> dict:
    """For raw-socket answers: the documented status, and a body of the documented shape."""
    body = json.loads(raw_body)
    problem = spec.operation("createWidgetToken").validate_response(status, body)
    assert problem is None, f"{status}: {problem}"
    return body


# --- size -----------------------------------------------------------------------------------


def test_10_mb_body_with_content_length_gets_413(client, spec) -> None:
    try:
        response = post_raw(client, b"{" + b" " * (10 * 1024 * 1024) + b"}")
    except httpx.TransportError:
        pytest.fail("the mock cut the connection instead of answering 413")
    assert response.status_code == 413
    assert error_of(response) == spec.error_body("createWidgetToken", 413)["error"]
    assert str(DEFAULT_MAX_BODY_BYTES) in response.json()["detail"]


def test_10_mb_chunked_body_is_stopped_at_the_limit(client, spec) -> None:
    """No Content-Length to refuse up front: the stream is cut once past the limit."""

    def chunks() -> Iterator[bytes]:
        yield b'{"agentId": "'
        for _ in range(160):
            yield b"x" * 65536

    try:
        response = client.post(TOKEN, content=chunks(), headers=JSON)
    except httpx.TransportError:
        return  # cut off mid-stream: also an acceptable end for a body this size
    assert response.status_code == 413
    assert error_of(response) == spec.error_body("createWidgetToken", 413)["error"]


def test_100k_character_caller_name_gets_413_without_echoing_it(client) -> None:
    name = "R" * 100_000
    response = client.post(
        TOKEN, json={"agentId": DEFAULT_AGENT_ID, "callerName": name}, headers=AUTH
    )
    assert response.status_code == 413
    assert name[:200] not in response.text


def test_caller_name_over_max_length_gets_400_naming_the_field(client) -> None:
    body = {"agentId": DEFAULT_AGENT_ID, "callerName": "é" * 10_000}
    response = client.post(TOKEN, json=body, headers=AUTH)
    assert response.status_code == 400
    assert response.json()["field"] == "callerName"
    assert len(response.text) < 1000  # the value is not echoed back


# --- structure and encoding -------------------------------------------------------------------


@pytest.mark.parametrize(
    "body",
    [b"[" * 30_000 + b"]" * 30_000, b'{"a":' * 6_000 + b"1" + b"}" * 6_000],
    ids=["arrays", "objects"],
)
def test_deeply_nested_json_gets_400(client, body) -> None:
    response = post_raw(client, body)
    assert response.status_code == 400
    assert error_of(response) == "Invalid request"


@pytest.mark.parametrize(
    "body",
    [b'{"agentId": "\xff\xfe"}', b'{"agentId": "\xc3\x28"}', b"\xef\xbb\xbf\x80{}"],
    ids=["ff-fe", "bad-continuation", "bom-then-garbage"],
)
def test_invalid_utf8_gets_400(client, body) -> None:
    response = post_raw(client, body)
    assert response.status_code == 400
    assert "UTF-8" in response.json()["detail"]


def test_raw_nul_byte_in_the_body_gets_400(client) -> None:
    response = post_raw(client, b'{"agentId": "' + DEFAULT_AGENT_ID.encode() + b'\x00"}')
    assert response.status_code == 400
    assert error_of(response) == "Invalid request"


def test_escaped_nul_in_caller_name_gets_400(client) -> None:
    body = {"agentId": DEFAULT_AGENT_ID, "callerName": "Rahul\u0000Sharma"}
    response = client.post(TOKEN, json=body, headers=AUTH)
    assert response.status_code == 400
    assert response.json()["field"] == "callerName"


def test_nul_bytes_only_get_400(client) -> None:
    response = post_raw(client, b"\x00" * 1024)
    assert response.status_code == 400


@pytest.mark.parametrize(
    ("template", "field"),
    [
        ('{"agentId": "%s", "agentId": "x"}', "agentId"),
        ('{"agentId":"%s","agentId":"x"}', "agentId"),  # compact, as clients send it
        ('{"agentId":"%s","\\u0061gentId":"x"}', "agentId"),  # the same key, escaped
        ('{"agentId":"%s","callerName":{"a":1,"a":2}}', "a"),  # in a nested object
    ],
)
def test_duplicate_json_keys_get_400_naming_the_key(client, template, field) -> None:
    response = post_raw(client, (template % DEFAULT_AGENT_ID).encode())
    assert response.status_code == 400
    assert response.json()["field"] == field
    assert "appears more than once" in response.json()["detail"]


@pytest.mark.parametrize("constant", [b"NaN", b"Infinity", b"-Infinity"])
def test_non_json_numbers_get_400(client, constant) -> None:
    body = b'{"agentId": "' + DEFAULT_AGENT_ID.encode() + b'", "extra": ' + constant + b"}"
    assert post_raw(client, body).status_code == 400


# --- content type -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "content_type", ["text/plain", "application/x-www-form-urlencoded", "multipart/form-data"]
)
def test_wrong_content_type_gets_415(client, content_type) -> None:
    body = json.dumps({"agentId": DEFAULT_AGENT_ID}).encode()
    response = post_raw(client, body, {**AUTH, "Content-Type": content_type})
    assert response.status_code == 415
    assert error_of(response) == "Unsupported media type"


def test_missing_content_type_gets_415(client) -> None:
    body = json.dumps({"agentId": DEFAULT_AGENT_ID}).encode()
    request = client.build_request("POST", TOKEN, content=body, headers=AUTH)
    assert "content-type" not in request.headers
    response = client.send(request)
    assert response.status_code == 415
    assert "none" in response.json()["detail"]


# --- a slow client ----------------------------------------------------------------------------


def open_trickle(base_url: str, body: bytes) -> socket.socket:
    """Start a token POST whose body has not arrived yet; the caller sends it slowly."""
    url = urlsplit(base_url)
    sock = socket.create_connection((url.hostname, url.port), timeout=10)
    head = (
        f"POST {TOKEN} HTTP/1.1\r\nHost: {url.netloc}\r\n"
        f"Authorization: Bearer {DEFAULT_API_KEY}\r\nContent-Type: application/json\r\n"
        f"Content-Length: {len(body)}\r\n\r\n"
    )
    sock.sendall(head.encode())
    return sock


def read_response(sock: socket.socket) -> tuple[int, bytes]:
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = sock.recv(65536)
        if not chunk:
            raise ConnectionError(f"closed after {data!r}")
        data += chunk
    head, _, rest = data.partition(b"\r\n\r\n")
    status = int(head.split(b" ", 2)[1])
    length = next(
        int(line.split(b":", 1)[1])
        for line in head.split(b"\r\n")
        if line.lower().startswith(b"content-length:")
    )
    while len(rest) < length:
        rest += sock.recv(65536)
    return status, rest[:length]


def test_slow_client_trickling_its_body_does_not_hold_up_others(mock_url) -> None:
    """Half a body, byte by byte; others are served meanwhile; then the slow one is too."""
    body = json.dumps({"agentId": DEFAULT_AGENT_ID, "callerName": "Slow Sam"}).encode()
    half = len(body) // 2
    sock = open_trickle(mock_url, body)
    try:
        for byte in body[:half]:
            sock.sendall(bytes([byte]))
            time.sleep(0.005)
        with httpx.Client(base_url=mock_url, timeout=10) as other:
            for _ in range(3):  # the slow request is still open, its body half sent
                response = other.post(TOKEN, json={"agentId": DEFAULT_AGENT_ID}, headers=AUTH)
                assert response.status_code == 200
        for byte in body[half:]:
            sock.sendall(bytes([byte]))
            time.sleep(0.005)
        status, raw = read_response(sock)
    finally:
        sock.close()
    assert status == 200
    assert json.loads(raw)["agentName"]


def test_slow_client_that_gives_up_leaves_the_mock_serving(mock_url) -> None:
    body = json.dumps({"agentId": DEFAULT_AGENT_ID}).encode()
    sock = open_trickle(mock_url, body)
    sock.sendall(body[:5])
    sock.close()  # half a body, then gone
    with httpx.Client(base_url=mock_url, timeout=10) as other:
        response = other.post(TOKEN, json={"agentId": DEFAULT_AGENT_ID}, headers=AUTH)
        assert response.status_code == 200
        # the hang-up ends as a plain rejection (journaled), not as an application error
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline:
            journal = other.get("/_mock/requests").json()["requests"]
            hung_up = [e for e in journal if e["body"] == body[:5].decode()]
            if hung_up:
                break
            time.sleep(0.02)
        assert [e["status"] for e in hung_up] == [400]


def test_oversized_body_on_a_raw_socket_gets_the_documented_413(mock_url, spec) -> None:
    """Refused from the declared length alone, before the client sends a byte of body."""
    sock = open_trickle(mock_url, b"x" * (10 * 1024 * 1024))
    try:
        status, raw = read_response(sock)
    finally:
        sock.close()
    assert status == 413
    assert check_error(spec, status, raw)["error"] == "Request body too large"
