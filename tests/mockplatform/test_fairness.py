"""No client can hold the server for everyone else: `mockplatform serve` and `mockplatform
proxy` on a real port, against a client holding the connection cap's worth of idle
connections, a client dripping a request's head, and connections left idle.

The timeouts are set short on the command line (the flags a team would use) so the tests
take a second, not the defaults' ten.
"""

from __future__ import annotations

import re
import select
import socket
import time
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

import httpx
import pytest

from tests.mockplatform.processes import (
    MockProcess,
    ProxyProcess,
    running,
)

HEAD = b"GET /_mock/clock HTTP/1.1\r\nHost: localhost\r\n"


def connect(base_url: str) -> socket.socket:
    url = urlsplit(base_url)
    return socket.create_connection((url.hostname, url.port), timeout=10)


def closed_within(sock: socket.socket, seconds: float) -> tuple[bool, bytes]:
    """Whether the server closed `sock` within `seconds`, and what it sent before."""
    sock.settimeout(seconds)
    received = b""
    deadline = time.monotonic() + seconds
    try:
        while time.monotonic() < deadline:
            chunk = sock.recv(65536)
            if not chunk:
                return True, received
            received += chunk
    except TimeoutError:
        return False, received
    except ConnectionError:
        return True, received
    return False, received


def served_within(base_url: str, seconds: float) -> float:
    """How long a new client's request took; fails if it was not answered 200."""
    started = time.monotonic()
    response = httpx.get(f"{base_url}/_mock/clock", timeout=seconds)
    assert response.status_code == 200, response.text
    return time.monotonic() - started


def test_a_thousand_idle_connections_lock_no_one_out(tmp_path: Path) -> None:
    """One client holds the default cap (1,000) in idle connections, with the default
    timeouts: a new client is served at once, and the longest idle was closed for it."""
    mock = MockProcess([], tmp_path / "serve.log")
    with running([mock]):
        held = [connect(mock.url) for _ in range(1000)]
        try:
            assert served_within(mock.url, 5) < 1.0
            assert served_within(mock.url, 5) < 1.0
            time.sleep(0.2)
            readable, _, _ = select.select(held, [], [], 0)
            # one closed for the first client; the second found the room it left
            assert [sock.recv(1) for sock in readable] == [b""]
        finally:
            for sock in held:
                sock.close()


@pytest.fixture(scope="module")
def quick(tmp_path_factory: pytest.TempPathFactory) -> Iterator[MockProcess]:
    """The mock with a 1 s header timeout, a 0.5 s keep-alive timeout and a cap of 20."""
    log = tmp_path_factory.mktemp("fair") / "serve.log"
    args = ["--header-timeout", "1", "--keep-alive-timeout", "0.5", "--max-connections", "20"]
    mock = MockProcess(args, log)
    with running([mock]):
        yield mock


def test_a_dripped_head_is_closed_with_408_and_others_are_served(quick: MockProcess) -> None:
    sock = connect(quick.url)
    started = time.monotonic()
    with sock:
        for byte in HEAD:  # one byte every 50 ms: the head would take 2.3 s
            try:
                sock.sendall(bytes([byte]))
            except ConnectionError:
                break
            if time.monotonic() - started < 0.5:
                assert served_within(quick.url, 5) < 1.0
            time.sleep(0.05)
        closed, answer = closed_within(sock, 2)
    assert closed and time.monotonic() - started < 2.5
    assert answer.startswith(b"HTTP/1.1 408")
    assert b"1 s" in answer


def test_a_connection_that_never_sends_is_closed_after_the_header_timeout(
    quick: MockProcess,
) -> None:
    with connect(quick.url) as sock:
        started = time.monotonic()
        closed, answer = closed_within(sock, 3)
        assert closed and answer == b""
        assert 0.9 < time.monotonic() - started < 2.0


def whole_response(sock: socket.socket) -> bytes:
    """One response read off `sock`, its head and its Content-Length's worth of body."""
    sock.settimeout(5)
    data = b""
    while b"\r\n\r\n" not in data:
        data += sock.recv(65536)
    head, _, body = data.partition(b"\r\n\r\n")
    length = int(re.search(rb"(?i)content-length: *(\d+)", head)[1])  # type: ignore[index]
    while len(body) < length:
        body += sock.recv(65536)
    return data


def test_an_idle_keep_alive_connection_is_closed(quick: MockProcess) -> None:
    with connect(quick.url) as sock:
        sock.sendall(HEAD + b"\r\n")
        assert whole_response(sock).startswith(b"HTTP/1.1 200")
        started = time.monotonic()
        closed, answer = closed_within(sock, 3)
        assert closed and answer == b""
        assert 0.4 < time.monotonic() - started < 1.5


def test_a_slow_body_is_not_cut_by_the_header_timeout(quick: MockProcess) -> None:
    """The head's timeout is the head's: a request being served keeps its connection."""
    body = b'{"name": "default"}'
    with connect(quick.url) as sock:
        sock.sendall(
            b"PUT /_mock/scenario HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json"
            b"\r\nContent-Length: %d\r\n\r\n%s" % (len(body), body[:1])
        )
        time.sleep(1.6)
        sock.sendall(body[1:])
        assert whole_response(sock).startswith(b"HTTP/1.1 200")


def test_at_the_cap_with_every_connection_busy_a_new_one_gets_503(quick: MockProcess) -> None:
    """Twenty requests each still sending its body: none is idle, so nothing is closed for
    the twenty-first, which is told why."""
    busy = [connect(quick.url) for _ in range(20)]
    try:
        for sock in busy:
            sock.sendall(
                b"PUT /_mock/scenario HTTP/1.1\r\nHost: localhost\r\n"
                b"Content-Type: application/json\r\nContent-Length: 100\r\n\r\n{"
            )
        time.sleep(0.2)
        with connect(quick.url) as sock:
            sock.sendall(HEAD + b"\r\n")
            closed, answer = closed_within(sock, 3)
        assert closed and answer.startswith(b"HTTP/1.1 503")
        assert b"--max-connections" in answer
    finally:
        for sock in busy:
            sock.close()
    deadline = time.monotonic() + 5
    while not quick.answers() and time.monotonic() < deadline:
        time.sleep(0.05)
    assert quick.answers()
    assert "Too many connections" in quick.log.read_text()


def test_the_proxy_has_the_same_limits(quick: MockProcess, tmp_path: Path) -> None:
    """`mockplatform proxy` is served the same way: a dripped head gets its 408, and a
    client holding the cap in idle connections locks no one out."""
    limits = ["--header-timeout", "1", "--max-connections", "20", "--log-level", "warning"]
    proxy = ProxyProcess(["--upstream", quick.url, *limits], tmp_path / "proxy.log")
    with running([proxy]):
        url = proxy.url
        held = [connect(url) for _ in range(20)]
        try:
            started = time.monotonic()
            assert httpx.get(f"{url}/_mock/violations", timeout=5).status_code == 200
            assert time.monotonic() - started < 1.0
        finally:
            for sock in held:
                sock.close()
        with connect(url) as sock:
            sock.sendall(HEAD[:10])
            closed, answer = closed_within(sock, 3)
        assert closed and answer.startswith(b"HTTP/1.1 408")
