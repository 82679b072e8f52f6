"""`mockplatform proxy` on a real port in front of upstreams that send what no platform should:
odd statuses, bodies that cannot be, gzip bombs, endless headers, huge WebSocket messages.
Each upstream is the test's own raw bytes (`fakes.RawUpstream`)."""

from __future__ import annotations

import gzip
import json
import socket
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest
from websockets.exceptions import ConnectionClosed, InvalidStatus
from websockets.sync.client import connect
from websockets.sync.server import ServerConnection, serve

from mockplatform.core.spec import Spec
from mockplatform.proxy.validation_proxy import MAX_WEBSOCKET_MESSAGE, ProxyConfig, ValidationProxy
from mockplatform.testing import serve_in_thread
from tests.mockplatform import proxy_fakes as fakes
from tests.mockplatform.processes import ProxyProcess, running
from tests.mockplatform.proxy.test_proxy import PROXY_SERVER, proxy_to, token_request

CLI = [sys.executable, "-m", "mockplatform.cli"]
JSON_OK = fakes.raw_answer(
    b"200 OK", [b"Content-Type: application/json", b"Content-Length: 2"], b"{}"
)


@pytest.mark.parametrize("status", [b"999 Odd", b"600 Beyond", b"101 Switching Protocols"])
def test_a_status_http_does_not_have_is_a_502_naming_the_upstream(
    spec: Spec, status: bytes
) -> None:
    answer = fakes.raw_answer(status, [b"Content-Length: 2"], b"ok")
    with fakes.RawUpstream(lambda head: answer) as upstream, proxy_to(spec, upstream.url) as proxy:
        response = token_request(proxy.url)
        assert response.status_code == 502
        body = response.json()
        assert body["upstream"] == upstream.url
        assert body["outsideContract"] is True
        assert status.split()[0].decode() in body["detail"]
        proxy.settle()
    assert proxy.app.ledger.upstream_failures == 1
    assert proxy.app.ledger.listed(notes=True) == []


def test_a_204_with_a_content_length_reaches_the_app(spec: Spec) -> None:
    answer = fakes.raw_answer(b"204 No Content", [b"Content-Length: 5", b"X-Kept: yes"])
    with (
        fakes.RawUpstream(lambda head: answer, keep_alive=True) as upstream,
        proxy_to(spec, upstream.url) as proxy,
    ):
        for _ in range(2):  # and the connection after it still serves
            response = httpx.delete(f"{proxy.url}/anything")
            assert (response.status_code, response.content) == (204, b"")
            assert response.headers["x-kept"] == "yes"
            assert "content-length" not in response.headers


def test_options_star_is_passed_on_not_a_5xx(spec: Spec) -> None:
    answer = fakes.raw_answer(b"200 OK", [b"Allow: GET, POST", b"Content-Length: 0"])
    with fakes.RawUpstream(lambda head: answer) as upstream, proxy_to(spec, upstream.url) as proxy:
        host, port = proxy.url.removeprefix("http://").split(":")
        with socket.create_connection((host, int(port)), timeout=5) as connection:
            connection.sendall(b"OPTIONS * HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
            answer = b"".join(iter(lambda: connection.recv(65536), b""))
    assert answer.startswith(b"HTTP/1.1 200 ")
    assert b"\r\nallow: GET, POST\r\n" in answer
    assert upstream.heads[0].startswith(b"OPTIONS * HTTP/1.1\r\n")


def test_endless_headers_are_a_502_not_a_pile(spec: Spec) -> None:
    headers = [b"X-Filler-%d: %s" % (n, b"f" * 1000) for n in range(200)]  # 200 KB of head
    answer = fakes.raw_answer(b"200 OK", [*headers, b"Content-Length: 0"])
    with fakes.RawUpstream(lambda head: answer) as upstream, proxy_to(spec, upstream.url) as proxy:
        response = token_request(proxy.url)
    assert response.status_code == 502
    assert "headers past" in response.json()["detail"]


def gzip_bomb(inflated: int) -> bytes:
    """`inflated` zero bytes, gzipped: about a thousandth of that on the wire."""
    return gzip.compress(b"\0" * inflated, compresslevel=9)


def test_a_gzip_bomb_is_passed_on_unread_and_holds_no_one_up(spec: Spec) -> None:
    """Inflated no further than the kept size; judged but for its body (a 500 is the
    platform's all the same); another client's requests go on meanwhile."""
    bomb = gzip_bomb(32 * 1024 * 1024)  # 128 times what is kept; 32 KB on the wire
    bombed = fakes.raw_answer(
        b"500 Internal Server Error",
        [
            b"Content-Type: application/json",
            b"Content-Encoding: gzip",
            b"Content-Length: %d" % len(bomb),
        ],
        bomb,
    )

    def answer(head: bytes) -> bytes:
        return bombed if b"bomb" in head else JSON_OK

    with (
        fakes.RawUpstream(answer, keep_alive=True) as upstream,
        proxy_to(spec, upstream.url) as proxy,
    ):
        delays: list[float] = []

        def other_client() -> None:
            for _ in range(20):
                started = time.monotonic()
                httpx.get(f"{proxy.url}/other", timeout=5)
                delays.append(time.monotonic() - started)

        other = threading.Thread(target=other_client)
        other.start()
        sent = {"agentId": "550e8400-e29b-41d4-a716-446655440000"}
        headers = {"Authorization": "Bearer live_key_7f3a9c1e"}
        url = f"{proxy.url}/api/widget/token?bomb=1"
        with httpx.stream("POST", url, json=sent, headers=headers) as response:
            wire = b"".join(response.iter_raw())
        other.join()
        proxy.settle()
    assert wire == bomb  # the app gets the answer as it came, to inflate as it likes
    assert max(delays) < 1.0
    assert proxy.app.ledger.partly_judged == 1  # judged, but for the body it could not read
    assert [f["rule"] for f in proxy.app.ledger.listed(notes=True)] == ["no_server_error"]


def test_the_proxys_own_admin_token_stays_with_the_proxy(spec: Spec) -> None:
    with fakes.RawUpstream(lambda head: JSON_OK, keep_alive=True) as upstream:
        app = ValidationProxy(ProxyConfig(upstream.url, admin_token="proxy-T0ken"), spec)
        with serve_in_thread(app, **PROXY_SERVER) as url:
            httpx.get(f"{url}/_mock/clock", headers={"X-Mock-Admin-Token": "proxy-T0ken"})
            httpx.get(f"{url}/api/x", headers={"X-Mock-Admin-Token": "proxy-T0ken"})
            httpx.get(f"{url}/_mock/clock", headers={"X-Mock-Admin-Token": "upstreams-own"})
    sent = b"".join(upstream.heads).lower()
    assert b"proxy-t0ken" not in sent
    assert b"x-mock-admin-token: upstreams-own" in sent  # another is the upstream's to judge


@contextmanager
def websocket_upstream(handler: object) -> Iterator[str]:
    with serve(handler, "127.0.0.1", 0, max_size=None) as server:  # type: ignore[arg-type]
        thread = threading.Thread(target=server.serve_forever, daemon=True)
        thread.start()
        try:
            yield f"http://127.0.0.1:{server.socket.getsockname()[1]}"
        finally:
            server.shutdown()


def test_websocket_messages_are_bounded_both_ways(spec: Spec) -> None:
    huge = "x" * (MAX_WEBSOCKET_MESSAGE + 1)
    received: list[int] = []

    def upstream_handler(websocket: ServerConnection) -> None:
        for message in websocket:
            received.append(len(message))
            websocket.send(huge if message == "send me a huge one" else "small")

    with websocket_upstream(upstream_handler) as upstream, proxy_to(spec, upstream) as proxy:
        address = proxy.url.replace("http", "ws") + "/sdk/calls/call_1"
        with connect(address, max_size=None) as websocket:
            websocket.send("hello")
            assert websocket.recv(timeout=5) == "small"
            websocket.send("send me a huge one")
            with pytest.raises(ConnectionClosed):
                websocket.recv(timeout=5)
        with connect(address, max_size=None) as websocket:
            websocket.send(huge)
            with pytest.raises(ConnectionClosed) as closed:
                websocket.recv(timeout=5)
            assert closed.value.rcvd is not None and closed.value.rcvd.code == 1009
    assert MAX_WEBSOCKET_MESSAGE + 1 not in received


def test_the_upstream_answer_keeps_its_bytes(spec: Spec) -> None:
    """The raw client relays repeated headers, their case and a body in parts unchanged."""
    body = json.dumps({"a": "é" * 10}).encode()
    answer = fakes.raw_answer(
        b"200 OK",
        [b"X-Twice: 1", b"X-Twice: 2", b"Transfer-Encoding: chunked"],
        b"%x\r\n%s\r\n%x\r\n%s\r\n0\r\n\r\n" % (5, body[:5], len(body) - 5, body[5:]),
    )
    with (
        fakes.RawUpstream(lambda head: answer, keep_alive=True) as upstream,
        proxy_to(spec, upstream.url) as proxy,
    ):
        responses = [httpx.get(f"{proxy.url}/x") for _ in range(3)]
    assert all(r.content == body for r in responses)
    assert all(r.headers.get_list("x-twice") == ["1", "2"] for r in responses)
    assert len(upstream.heads) == 3
    assert upstream.connections == 1  # kept alive, reused


def test_a_live_calls_key_is_masked_in_the_proxys_log(tmp_path: Path) -> None:
    """`mockplatform proxy` as run: uvicorn's line for a WebSocket prints its path and query."""
    with socket.socket() as closed:  # an upstream that refuses: the proxy refuses the socket
        closed.bind(("127.0.0.1", 0))
        upstream = f"http://127.0.0.1:{closed.getsockname()[1]}"
    log = tmp_path / "proxy.log"
    proxy = ProxyProcess(["--upstream", upstream, "--log-level", "info"], log)
    live_call = f"ws://127.0.0.1:{proxy.port}/sdk/calls/call_1?key={LIVE_KEY}"
    with running([proxy]), pytest.raises(InvalidStatus):
        connect(live_call, open_timeout=5)
    printed = log.read_text()
    assert "/sdk/calls/call_1?key=" in printed
    assert LIVE_KEY not in printed


LIVE_KEY = "lk_4f9b2c7d1e8a6f3b"


def test_no_secret_is_shown_in_clear(spec: Spec) -> None:
    """Every credential-carrying header, each way, masked by its name wherever the proxy
    shows the exchange (the kept findings, with notes, and its printed lines)."""
    answer = fakes.raw_answer(
        b"418 Teapot",
        [
            b"Content-Type: application/json",
            b"Set-Cookie: session=upstream-cookie-8c1f2e",
            b"Content-Length: 2",
        ],
        b"{}",
    )
    sent = {
        "Cookie": "session=app-cookie-5d7a9b",
        "X-Mock-Admin-Token": "admin-token-3e8f1c",
        "Proxy-Authorization": "Basic cHJveHk6c2VjcmV0LTE5Mg==",
        "X-Api-Key": "api-key-header-6b2d4f",
    }
    with fakes.RawUpstream(lambda head: answer) as upstream, proxy_to(spec, upstream.url) as proxy:
        headers = [
            *sent.items(),
            ("Authorization", "Bearer first-key-1a2b3c"),
            ("Authorization", "Bearer second-key-4d5e6f"),
        ]
        httpx.post(f"{proxy.url}/api/widget/token", json={"agentId": "x"}, headers=headers)
        proxy.settle()
        shown = httpx.get(f"{proxy.url}/_mock/violations?notes=1").text + "\n".join(proxy.lines)
    assert "set-cookie" in shown.lower() and "x-api-key" in shown.lower()
    secrets = [
        "upstream-cookie-8c1f2e",
        "app-cookie-5d7a9b",
        "admin-token-3e8f1c",
        "cHJveHk6c2VjcmV0LTE5Mg==",
        "api-key-header-6b2d4f",
        "first-key-1a2b3c",
        "second-key-4d5e6f",
    ]
    assert [secret for secret in secrets if secret in shown] == []


def test_a_finding_keeps_a_bounded_excerpt_not_the_body(spec: Spec) -> None:
    large = json.dumps({"agentId": "not-a-uuid", "callerName": "R" * 250_000}).encode()
    answer = fakes.raw_answer(
        b"500 Oops", [b"Content-Type: text/plain", b"Content-Length: 250000"], b"e" * 250_000
    )
    with (
        fakes.RawUpstream(lambda head: answer, keep_alive=True) as upstream,
        proxy_to(spec, upstream.url) as proxy,
    ):
        with httpx.Client() as client:
            for _ in range(20):
                client.post(
                    f"{proxy.url}/api/widget/token",
                    content=large[:240_000] + b'"}',  # under the kept size: judged
                    headers={"Content-Type": "application/json", "Authorization": "Bearer k"},
                )
        proxy.settle()
    kept = list(proxy.app.ledger.kept)
    assert len(kept) >= 20
    assert max(len(json.dumps(finding)) for finding in kept) < 10_000


def test_a_deep_body_is_judged_without_failing(spec: Spec) -> None:
    deep = b"[" * 5000 + b"]" * 5000
    with fakes.RawUpstream(lambda head: JSON_OK) as upstream, proxy_to(spec, upstream.url) as proxy:
        response = httpx.post(
            f"{proxy.url}/api/widget/token",
            content=deep,
            headers={"Content-Type": "application/json", "Authorization": "Bearer key-123456"},
        )
        proxy.settle()
    assert response.status_code == 200
    assert not any("could not judge" in line for line in proxy.lines)
    assert proxy.app.ledger.exchanges == 1


def test_already_used_for_a_token_never_redeemed_is_the_platforms(spec: Spec) -> None:
    """A platform that answers a redeem 409 "already used" for a token the proxy saw issued
    and never redeemed breaks single use from the other side."""
    answer = fakes.issuing_platform(
        "rt_never_used_5f2c9a1b", b"409 Conflict", "Access token already used"
    )
    with (
        fakes.RawUpstream(answer, keep_alive=True) as upstream,
        proxy_to(spec, upstream.url) as proxy,
    ):
        token = token_request(proxy.url, "live_key_7f3a9c1e").json()["accessToken"]
        refused = httpx.post(f"{proxy.url}/api/widget/calls", json={"accessToken": token})
        assert refused.status_code == 409
        assert proxy.findings("platform") == {"single_use"}
        assert proxy.findings("client") == set()


def test_a_location_on_the_upstream_names_the_proxy(spec: Spec) -> None:
    where: dict[str, str] = {}

    def answer(head: bytes) -> bytes:
        target = where["upstream"] + "/next?x=1" if b"/here " in head else "https://elsewhere.test/"
        return fakes.raw_answer(
            b"302 Found", [b"Location: " + target.encode(), b"Content-Length: 0"]
        )

    with (
        fakes.RawUpstream(answer, keep_alive=True) as upstream,
        proxy_to(spec, upstream.url) as proxy,
    ):
        where["upstream"] = upstream.url
        ours = httpx.get(f"{proxy.url}/here")
        theirs = httpx.get(f"{proxy.url}/there")
    assert ours.headers["location"] == f"{proxy.url}/next?x=1"
    assert theirs.headers["location"] == "https://elsewhere.test/"


def chunked(body: bytes, size: int = 1000) -> bytes:
    parts = [body[i : i + size] for i in range(0, len(body), size)]
    return b"".join(b"%x\r\n%s\r\n" % (len(p), p) for p in parts) + b"0\r\n\r\n"


def test_a_chunked_redeem_answer_names_the_proxy_too(spec: Spec) -> None:
    where: dict[str, str] = {}

    def answer(head: bytes) -> bytes:
        host = where["upstream"].removeprefix("http://")
        started = {"callId": "call_1", "status": "started", "agentName": "Support"}
        if b"long" in head:  # past the kept size: passed on as it came
            started["agentName"] = "S" * 300_000
        started["callUrl"] = f"ws://{host}/sdk/calls/call_1?key=k123456"
        headers = [b"Content-Type: application/json", b"Transfer-Encoding: chunked"]
        return fakes.raw_answer(b"201 Created", headers, chunked(json.dumps(started).encode()))

    with (
        fakes.RawUpstream(answer, keep_alive=True) as upstream,
        proxy_to(spec, upstream.url) as proxy,
    ):
        where["upstream"] = upstream.url
        redeem = f"{proxy.url}/api/widget/calls"
        short = httpx.post(redeem, json={"accessToken": "rt_x_1234567"})
        long = httpx.post(f"{redeem}?long=1", json={"accessToken": "rt_x_7654321"})
    proxied = proxy.url.replace("http", "ws")
    assert short.json()["callUrl"] == f"{proxied}/sdk/calls/call_1?key=k123456"
    assert long.json()["callUrl"].startswith(upstream.url.replace("http", "ws"))
    assert len(long.json()["agentName"]) == 300_000
