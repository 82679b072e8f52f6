"""The relay (relay.py) under `mockplatform proxy` as a team runs it: a real process in front
of a real mock, spoken to in raw HTTP/1.1 so every byte is the test's.

A relayed answer is the one uvicorn's ASGI path gives (HTTP/1.0 takes that path, so the two
are compared side by side); the server's limits hold for relayed requests (a connection idle
after a relayed answer is closed, and at the connection cap such idle connections make room
for a new client); pipelined requests, relayed or not, are answered in order.
"""

from __future__ import annotations

import socket
import time
from collections.abc import Iterator
from contextlib import ExitStack

import httpx
import pytest

from mockplatform.server.world import DEFAULT_API_KEY
from tests.mockplatform.processes import MockProcess, ProxyProcess, running
from tests.mockplatform.test_fairness import closed_within, connect

TOKEN = b"/api/widget/token"
KEEP_ALIVE, CAP = 0.5, 20


@pytest.fixture(scope="module")
def proxy(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The proxy with a 1 s header timeout, a 0.5 s keep-alive timeout and a cap of 20."""
    logs = tmp_path_factory.mktemp("relay")
    with running([MockProcess([], logs / "serve.log")]) as (mock,):
        limits = ["--header-timeout", "1", "--keep-alive-timeout", str(KEEP_ALIVE)]
        caps = ["--max-connections", str(CAP)]
        proxy = ProxyProcess(["--upstream", mock.url, *limits, *caps], logs / "proxy.log")
        with running([proxy]):
            yield proxy.url


def request(method: bytes, target: bytes, version: bytes = b"1.1", body: bytes = b"") -> bytes:
    head = [
        b"%s %s HTTP/%s" % (method, target, version),
        b"Host: localhost",
        b"Authorization: Bearer " + DEFAULT_API_KEY.encode(),
    ]
    if body:
        head += [b"Content-Type: application/json", b"Content-Length: %d" % len(body)]
    return b"\r\n".join(head) + b"\r\n\r\n" + body


def read_answers(sock: socket.socket, count: int, head_only: bool = False) -> list[bytes]:
    """`count` whole answers (Content-Length or chunked), each as its head and body."""
    data, answers = b"", []
    while len(answers) < count:
        end = data.find(b"\r\n\r\n")
        if end >= 0:
            head, rest = data[:end], data[end + 4 :]
            lower = head.lower()
            if head_only:
                answers.append(head)
                data = rest
                continue
            if b"content-length:" in lower:
                length = int(lower.split(b"content-length:")[1].split(b"\r\n")[0])
                if len(rest) >= length:
                    answers.append(head + b"\r\n\r\n" + rest[:length])
                    data = rest[length:]
                    continue
            elif b"0\r\n\r\n" in rest:
                stop_at = rest.index(b"0\r\n\r\n") + 5
                answers.append(head + b"\r\n\r\n" + rest[:stop_at])
                data = rest[stop_at:]
                continue
        chunk = sock.recv(65536)
        assert chunk, f"closed after {len(answers)} answer(s): {data[:200]!r}"
        data += chunk
    return answers


def parts(answer: bytes) -> tuple[bytes, set[bytes], bytes]:
    """Status line, headers but framing and `connection`, and body."""
    head, _, body = answer.partition(b"\r\n\r\n")
    status, *lines = head.split(b"\r\n")
    framing = (b"connection", b"transfer-encoding", b"content-length")
    return status, {line for line in lines if line.split(b":")[0].lower() not in framing}, body


@pytest.mark.parametrize(
    ("method", "target", "body"),
    [
        (b"GET", b"/openapi.yaml", b""),
        (b"HEAD", b"/openapi.yaml", b""),
        (b"GET", b"/no/such/path?x=1", b""),
        (b"POST", TOKEN, b'{"agentId": "not-an-agent"}'),
        (b"POST", TOKEN, b"not json"),
    ],
)
def test_a_relayed_answer_is_the_one_the_asgi_path_gives(
    proxy: str, method: bytes, target: bytes, body: bytes
) -> None:
    """HTTP/1.1 is relayed, HTTP/1.0 goes through ASGI: same status, headers and body."""
    answers = []
    for version in (b"1.1", b"1.0"):
        with connect(proxy) as sock:
            sock.sendall(request(method, target, version, body))
            answers.append(read_answers(sock, 1, head_only=method == b"HEAD")[0])
    relayed, through_asgi = (parts(answer) for answer in answers)
    assert relayed[0].split(b" ")[1] == through_asgi[0].split(b" ")[1]
    assert relayed == through_asgi


def test_pipelined_requests_relayed_or_not_are_answered_in_order(proxy: str) -> None:
    """A relayed request, the proxy's own endpoint (ASGI), and relayed ones again, in one
    write: four answers, in that order."""
    with connect(proxy) as sock:
        sock.sendall(
            request(b"GET", b"/no/such/1")
            + request(b"GET", b"/_mock/violations")
            + request(b"POST", TOKEN, body=b'{"agentId": "not-an-agent"}')
            + request(b"GET", b"/openapi.yaml")
        )
        answers = read_answers(sock, 4)
    assert [answer.split(b" ")[1] for answer in answers] == [b"404", b"200", b"400", b"200"]
    assert parts(answers[1])[2].startswith(b"[") and b"openapi:" in parts(answers[3])[2]


def test_a_connection_idle_after_a_relayed_answer_is_closed(proxy: str) -> None:
    with connect(proxy) as sock:
        sock.sendall(request(b"GET", b"/openapi.yaml"))
        read_answers(sock, 1)
        started = time.monotonic()
        closed, _ = closed_within(sock, 5)
        assert closed and KEEP_ALIVE * 0.8 < time.monotonic() - started < KEEP_ALIVE + 1.5


def test_at_the_cap_connections_idle_after_relayed_answers_make_room(proxy: str) -> None:
    """A client holds the cap in connections, each idle after a relayed answer: a new client
    is served at once (the longest idle closed for it)."""
    with ExitStack() as held:
        for sock in [held.enter_context(connect(proxy)) for _ in range(CAP)]:
            sock.sendall(request(b"GET", b"/no/such/path"))
            read_answers(sock, 1)
        started = time.monotonic()
        assert httpx.get(f"{proxy}/openapi.yaml", timeout=5).status_code == 200
        assert time.monotonic() - started < 1.0


def test_a_dripped_relayable_head_gets_its_408(proxy: str) -> None:
    with connect(proxy) as sock:
        sock.sendall(request(b"POST", TOKEN, body=b"{}")[:30])
        closed, answer = closed_within(sock, 3)
    assert closed and answer.startswith(b"HTTP/1.1 408")
