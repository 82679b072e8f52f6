"""`mockplatform proxy` on a real port, in front of implementations these tests start."""

from __future__ import annotations

import asyncio
import gzip
import re
import socket
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

import httpx
import pytest
from websockets.exceptions import InvalidStatus
from websockets.sync.client import connect

from mockplatform import create_app
from mockplatform.core.credentials import mask_secret
from mockplatform.core.spec import Spec
from mockplatform.proxy import validation_proxy
from mockplatform.proxy.relay import SERVER_OPTIONS
from mockplatform.proxy.validation_proxy import ProxyConfig, ValidationProxy
from mockplatform.server.app import Settings
from mockplatform.server.world import DEFAULT_AGENT_ID, DEFAULT_API_KEY
from mockplatform.testing import serve_in_thread
from tests.mockplatform import proxy_fakes as fakes

UNKNOWN_AGENT = "00000000-0000-4000-8000-000000000000"
# The proxy's answers are the upstream's: it adds no Server or Date header of its own.
PROXY_SERVER = {**SERVER_OPTIONS, "lifespan": "on"}


@dataclass
class Proxy:
    url: str
    app: ValidationProxy
    lines: list[str] = field(default_factory=list)

    def settle(self) -> None:
        """Wait until every answered request is judged (that happens just after its answer)."""
        ledger = self.app.ledger
        deadline = time.monotonic() + 5
        while self.app.forwarded != (
            ledger.exchanges + ledger.upstream_failures + ledger.not_judged.total()
        ):
            assert time.monotonic() < deadline, "the proxy did not judge in time"
            time.sleep(0.005)

    def findings(self, side: str | None = None) -> set[str]:
        self.settle()
        return {f["rule"] for f in self.app.ledger.kept if side is None or f["side"] == side}


@contextmanager
def proxy_to(spec: Spec, upstream: str, timeout: float = 10.0) -> Iterator[Proxy]:
    lines: list[str] = []
    app = ValidationProxy(ProxyConfig(upstream, timeout), spec, print_line=lines.append)
    with serve_in_thread(app, **PROXY_SERVER) as url:
        yield Proxy(url, app, lines)


@pytest.fixture(scope="module")
def mock_upstream(spec: Spec) -> Iterator[str]:
    with serve_in_thread(create_app(Settings(call_pace_ms=0), spec=spec)) as url:
        yield url


@pytest.fixture
def proxy(spec: Spec, mock_upstream: str) -> Iterator[Proxy]:
    httpx.post(f"{mock_upstream}/_mock/reset").raise_for_status()
    with proxy_to(spec, mock_upstream) as running:
        yield running


def token_request(base: str, key: str | None = DEFAULT_API_KEY, **body: object) -> httpx.Response:
    headers = {"Authorization": f"Bearer {key}"} if key is not None else {}
    return httpx.post(
        f"{base}/api/widget/token", json={"agentId": DEFAULT_AGENT_ID, **body}, headers=headers
    )


def without_date(response: httpx.Response) -> list[tuple[bytes, bytes]]:
    return [(k, v) for k, v in response.headers.raw if k.lower() != b"date"]


def test_a_correct_platform_passes_unchanged_and_unjudged(proxy: Proxy, mock_upstream: str) -> None:
    token = token_request(proxy.url)
    assert token.status_code == 200
    redeemed = httpx.post(
        f"{proxy.url}/api/widget/calls", json={"accessToken": token.json()["accessToken"]}
    )
    assert redeemed.status_code == 201
    for key, agent in (
        ("nas_test_cancelled", DEFAULT_AGENT_ID),
        (DEFAULT_API_KEY, UNKNOWN_AGENT),
        ("nas_wrong_key_123", DEFAULT_AGENT_ID),
    ):
        direct = token_request(mock_upstream, key, agentId=agent)
        through = token_request(proxy.url, key, agentId=agent)
        assert direct.status_code in (401, 403, 404)
        assert (through.status_code, through.content) == (direct.status_code, direct.content)
        assert without_date(through) == without_date(direct)
        assert len(through.headers.get_list("date")) == 1
    proxy.settle()
    assert proxy.app.ledger.exchanges == 5
    assert proxy.app.ledger.listed(notes=True) == []


def test_answers_stream_through_with_repeated_headers(spec: Spec) -> None:
    upstream = fakes.StreamingUpstream()
    with (
        serve_in_thread(upstream, server_header=False, date_header=False) as upstream_url,
        proxy_to(spec, upstream_url) as proxy,
        httpx.stream(
            "GET",
            f"{proxy.url}/anything?x=1",
            headers={"Connection": "keep-alive, x-hop", "X-Hop": "1", "X-End": "2"},
            timeout=10,
        ) as response,
    ):
        parts = response.iter_raw()
        first = next(parts)  # arrives while the upstream still holds the rest back
        upstream.go_on.set()
        body = first + b"".join(parts)
    assert response.status_code == 207
    assert first == fakes.STREAMED_PARTS[0]
    assert body == b"".join(fakes.STREAMED_PARTS)
    sent = [(k, v) for k, v in response.headers.raw if k != b"transfer-encoding"]
    assert sent == fakes.STREAMED_HEADERS
    assert response.headers.get_list("set-cookie") == ["a=1; Path=/", "b=2; Path=/"]
    received = dict(upstream.request_headers)  # hop-by-hop dropped, end-to-end kept (RFC 9110)
    assert b"x-hop" not in received and b"connection" not in received
    assert received[b"x-end"] == b"2"
    assert received[b"host"] == upstream_url.removeprefix("http://").encode()
    assert received[b"via"] == b"1.1 mockplatform-proxy"


def test_the_sdks_traffic_goes_through_the_proxy(proxy: Proxy, mock_upstream: str) -> None:
    """The redeem's callUrl names the proxy, as a reverse proxy rewrites Location: the SDK
    opens the call's WebSocket through it, and a second redeem by the app is seen."""
    token = token_request(proxy.url).json()["accessToken"]
    started = httpx.post(f"{proxy.url}/api/widget/calls", json={"accessToken": token}).json()
    address = started["callUrl"]
    assert address.startswith(proxy.url.replace("http", "ws") + "/sdk/calls/")
    assert mock_upstream.removeprefix("http://") not in address
    events = []
    with connect(address, open_timeout=10) as websocket:
        for message in websocket:
            events.append(httpx.Response(200, content=message).json()["event"])
            if events[-1] == "call_ended":
                break
    assert events[0] == "call_started"
    assert "update" in events
    assert events[-1] == "call_ended"
    httpx.post(f"{proxy.url}/api/widget/calls", json={"accessToken": token})
    assert proxy.findings("client") == {"token_reused"}
    assert proxy.findings("platform") == set()
    # The SDK package through the proxy: the same bytes, naming no address of the upstream's.
    package = httpx.get(f"{proxy.url}/sdk/zentrix-voice-sdk.tgz")
    assert package.content == httpx.get(f"{mock_upstream}/sdk/zentrix-voice-sdk.tgz").content
    assert mock_upstream.removeprefix("http://").encode() not in gzip.decompress(package.content)


def test_a_faulty_platform_is_named_on_its_side(spec: Spec) -> None:
    with serve_in_thread(fakes.faulty_platform()) as upstream, proxy_to(spec, upstream) as proxy:
        key = fakes.KEY
        expected = {
            (None, fakes.UNKNOWN_AGENT): "auth_first",
            (key, fakes.NAMELESS_AGENT): "response_schema",
            (key, fakes.PLAIN_TEXT_AGENT): "content_type",
            (key, fakes.TEAPOT_AGENT): "documented_status",
            (key, fakes.ECHO_AGENT): "no_credential_echo",
        }
        for (sent_key, agent), rule in expected.items():
            before = proxy.findings("platform")
            token_request(proxy.url, sent_key, agentId=agent)
            assert rule in proxy.findings("platform") - before, (rule, proxy.lines)
        token_request(proxy.url, key, agentId=fakes.SAME_CALL_AGENT)
        token_request(proxy.url, key, agentId=fakes.SAME_CALL_AGENT)
        assert "unique_ids" in proxy.findings("platform")
        token = token_request(proxy.url, key, agentId=fakes.GOOD_AGENT).json()["accessToken"]
        for _ in range(2):
            httpx.post(f"{proxy.url}/api/widget/calls", json={"accessToken": token})
        assert "single_use" in proxy.findings("platform")
        httpx.post(
            f"{proxy.url}/api/widget/token",
            content=b"{oops",
            headers={"Authorization": f"Bearer {key}", "Content-Type": "application/json"},
        )
        assert "no_server_error" in proxy.findings("platform")
        proxy.settle()
        count = len(proxy.app.ledger.kept)
        token_request(proxy.url, key, agentId=fakes.GOOD_AGENT, language="fr")
        proxy.settle()
        chosen = list(proxy.app.ledger.kept)[count:]  # a 422 for the app's bad language
        assert [(f["side"], f["rule"], f["violation"]) for f in chosen] == [
            ("client", "request_schema", True),
            # a note: the answer to a request that broke a documented rule is held only to
            # the universal rules
            ("platform", "documented_status", False),
        ]
        listed = httpx.get(f"{proxy.url}/_mock/violations").json()
        with_notes = httpx.get(f"{proxy.url}/_mock/violations?notes=1").json()
    assert {entry["rule"] for entry in listed if entry["side"] == "platform"} >= set(
        expected.values()
    ) | {"unique_ids", "single_use", "no_server_error"}
    assert all(entry["violation"] for entry in listed)
    assert [e["kind"] for e in with_notes if not e["violation"]] == ["assumed"]
    echo = next(entry for entry in listed if entry["rule"] == "no_credential_echo")
    assert {"side", "rule", "operation", "at", "exchange"} <= echo.keys()
    assert echo["operation"] == "createWidgetToken"
    shown = str(listed) + "\n".join(proxy.lines)
    assert key not in shown  # the key, echoed by the platform, is masked wherever we show it
    assert mask_secret(key) in shown


def test_a_misusing_client_is_named_on_its_side(proxy: Proxy) -> None:
    token_request(proxy.url, key=None)
    httpx.post(
        f"{proxy.url}/api/widget/token",
        content=b"agentId=x",
        headers={"Authorization": f"Bearer {DEFAULT_API_KEY}", "Content-Type": "text/plain"},
    )
    token_request(proxy.url, language="fr")
    token = token_request(proxy.url).json()["accessToken"]
    for _ in range(2):
        httpx.post(f"{proxy.url}/api/widget/calls", json={"accessToken": token})
    assert proxy.findings("client") == {
        "missing_credentials",
        "request_content_type",
        "request_schema",
        "token_reused",
    }
    assert proxy.findings("platform") == set()
    assert all(token not in line for line in proxy.lines)
    assert any(line.startswith("VIOLATION client token_reused") for line in proxy.lines)


def test_an_unreachable_upstream_is_a_502_on_neither_side(spec: Spec) -> None:
    with socket.socket() as closed:
        closed.bind(("127.0.0.1", 0))
        upstream = f"http://127.0.0.1:{closed.getsockname()[1]}"
    with proxy_to(spec, upstream) as proxy:
        response = token_request(proxy.url)
    assert response.status_code == 502
    body = response.json()
    assert body["upstream"] == upstream
    assert body["outsideContract"] is True
    assert "outside the contract" in body["detail"]
    assert proxy.app.ledger.listed(notes=True) == []
    assert proxy.app.ledger.upstream_failures == 1


def test_a_slow_upstream_is_a_504(spec: Spec) -> None:
    with (
        serve_in_thread(fakes.SlowUpstream(1.5)) as upstream,
        proxy_to(spec, upstream, timeout=0.3) as proxy,
    ):
        response = token_request(proxy.url)
    assert response.status_code == 504
    assert response.json()["upstream"] == upstream
    assert proxy.app.ledger.listed(notes=True) == []


def test_violations_answer_loopback_or_the_admin_token(spec: Spec) -> None:
    app = ValidationProxy(ProxyConfig("http://127.0.0.1:9", admin_token="T0ken"), spec)

    async def from_elsewhere() -> list[httpx.Response]:
        remote = httpx.ASGITransport(app=app, client=("203.0.113.9", 4000))
        async with httpx.AsyncClient(transport=remote, base_url="http://proxy") as client:
            return [
                await client.get("/_mock/violations"),
                await client.get("/_mock/clock"),  # the upstream mock's: guarded the same
                await client.get("/_mock/violations", headers={"X-Mock-Admin-Token": "T0ken"}),
            ]

    refused, refused_upstream, allowed = asyncio.run(from_elsewhere())
    assert refused.status_code == refused_upstream.status_code == 403
    assert allowed.status_code == 200
    assert allowed.json() == []


def test_token_lifetime_on_live_traffic_in_real_time(short_spec: Spec) -> None:
    """Two tokens fetched, then redeemed past the lifetime (a spec's 2 s one: the mock, the
    proxy and the judge all read it, so the seed's 60 s would prove nothing more).

    The mock refuses its token (the app pre-fetched it: the client's finding); the faulty
    platform accepts its own (the platform's violation)."""
    lifetime = short_spec.token_lifetime_seconds
    mock = create_app(Settings(call_pace_ms=0), spec=short_spec)
    with (
        serve_in_thread(mock) as mock_upstream,
        proxy_to(short_spec, mock_upstream) as proxy,
        serve_in_thread(fakes.faulty_platform()) as lax_upstream,
        proxy_to(short_spec, lax_upstream) as lax,
    ):
        fetched = [
            token_request(proxy.url).json()["accessToken"],
            token_request(lax.url, fakes.KEY, agentId=fakes.GOOD_AGENT).json()["accessToken"],
        ]
        time.sleep(lifetime + 1)
        refused = httpx.post(f"{proxy.url}/api/widget/calls", json={"accessToken": fetched[0]})
        accepted = httpx.post(f"{lax.url}/api/widget/calls", json={"accessToken": fetched[1]})
        assert (refused.status_code, accepted.status_code) == (401, 201)
        assert lax.findings() == {"token_lifetime"}
        (late,) = lax.app.ledger.kept
    assert proxy.findings() == {"prefetched_token"}
    (prefetched,) = proxy.app.ledger.kept
    assert prefetched["side"] == "client"
    age = re.search(r"redeemed a token ([\d.]+) s after it was issued", prefetched["detail"])
    assert age is not None and lifetime < float(age[1]) < lifetime + 30  # how old it was
    assert late["side"] == "platform"
    age = re.search(r"accepted a token at least ([\d.]+) s old", late["detail"])
    assert age is not None and lifetime < float(age[1]) < lifetime + 30


def test_header_bytes_beyond_ascii_pass_through(spec: Spec) -> None:
    upstream = fakes.StreamingUpstream()
    upstream.go_on.set()
    with (
        serve_in_thread(upstream) as upstream_url,
        proxy_to(spec, upstream_url) as proxy,
    ):
        response = httpx.get(f"{proxy.url}/x", headers={"X-Name": "Ren\xe9e".encode("latin-1")})
    assert response.status_code == 207
    assert dict(upstream.request_headers)[b"x-name"] == "Ren\xe9e".encode("latin-1")


def test_nothing_sent_can_forge_a_printed_line(proxy: Proxy) -> None:
    httpx.post(
        f"{proxy.url}/api/widget/token",
        content=b"\x1b[2J\rVIOLATION platform forged",
        headers={"Content-Type": "text/plain"},
    )
    proxy.settle()
    assert proxy.lines
    printed = "\n".join(proxy.lines)
    assert "\x1b" not in printed and "\r" not in printed
    assert "\\x1b[2J" in printed  # shown, escaped


def test_a_websocket_to_an_unreachable_upstream_is_refused(spec: Spec) -> None:
    with socket.socket() as closed:
        closed.bind(("127.0.0.1", 0))
        upstream = f"http://127.0.0.1:{closed.getsockname()[1]}"
    with proxy_to(spec, upstream) as proxy:
        with pytest.raises(InvalidStatus):
            connect(f"{proxy.url.replace('http', 'ws')}/sdk/calls/call_1", open_timeout=10)
        assert proxy.app.ledger.upstream_failures == 1
    assert any("refused the WebSocket /sdk/calls/call_1" in line for line in proxy.lines)


def test_an_assumed_limit_is_a_note_on_either_side(spec: Spec) -> None:
    """callerName's length limit is the project's assumption (openapi.yaml's x-contract):
    an app that breaks it gets a note, and a platform that accepts it a note (lenient), as
    the harness WARNs: neither is a violation."""
    with serve_in_thread(fakes.faulty_platform()) as upstream, proxy_to(spec, upstream) as proxy:
        answer = token_request(proxy.url, fakes.KEY, agentId=fakes.GOOD_AGENT, callerName="R" * 150)
        proxy.settle()
    assert answer.status_code == 200
    assert [(f["side"], f["rule"], f["violation"]) for f in proxy.app.ledger.kept] == [
        ("client", "request_schema", False),
        ("platform", "rejects_invalid_request", False),
    ]


def test_the_upstream_mocks_clock_moved_through_the_proxy_blames_no_platform(
    proxy: Proxy,
) -> None:
    """The README's way to test expiry: the mock's clock moved 61 s. The mock then refuses
    the token as expired, which is right on its clock: the app's pre-fetch, not the
    platform's lifetime. After a reset the clock is ours again."""
    token = token_request(proxy.url).json()["accessToken"]
    moved = httpx.post(f"{proxy.url}/_mock/clock/advance", json={"seconds": 61})
    assert moved.status_code == 200
    refused = httpx.post(f"{proxy.url}/api/widget/calls", json={"accessToken": token})
    assert refused.status_code == 401
    assert proxy.findings("platform") == set()
    assert proxy.findings("client") == {"prefetched_token"}
    httpx.post(f"{proxy.url}/_mock/reset").raise_for_status()
    fresh = token_request(proxy.url).json()["accessToken"]
    redeemed = httpx.post(f"{proxy.url}/api/widget/calls", json={"accessToken": fresh})
    assert redeemed.status_code == 201
    assert proxy.findings("platform") == set()
    assert proxy.app.judge.memory.clock_offset == 0.0


def test_judging_that_cannot_keep_up_is_counted_never_queued_without_bound(
    spec: Spec, mock_upstream: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """No room to wait (the bound set to 0): every exchange still gets its answer, and is
    counted as not judged. A judging budget of 0 s counts each judged one as over it."""
    monkeypatch.setattr(validation_proxy, "MAX_QUEUED", 0)
    with proxy_to(spec, mock_upstream) as full:
        assert all(token_request(full.url).status_code == 200 for _ in range(3))
        full.settle()
    assert full.app.ledger.not_judged == {"the judging queue was full": 3}
    assert full.app.ledger.exchanges == 0
    monkeypatch.setattr(validation_proxy, "MAX_QUEUED", 1000)
    monkeypatch.setattr(validation_proxy, "JUDGE_BUDGET", 0.0)
    with proxy_to(spec, mock_upstream) as slow:
        token_request(slow.url)
        slow.settle()
    assert slow.app.ledger.over_budget == 1
    assert "took longer to judge than the budget" in slow.app.ledger.summary()


def test_the_upstream_mocks_clock_moved_behind_the_proxys_back_is_read(
    proxy: Proxy, mock_upstream: str
) -> None:
    """A test that moves the mock's clock directly, not through the proxy: the proxy reads
    the mock's clock before judging a token the mock calls expired."""
    token = token_request(proxy.url).json()["accessToken"]
    httpx.post(f"{mock_upstream}/_mock/clock/advance", json={"seconds": 61}).raise_for_status()
    refused = httpx.post(f"{proxy.url}/api/widget/calls", json={"accessToken": token})
    assert refused.status_code == 401
    assert proxy.findings("platform") == set()
    assert proxy.findings("client") == {"prefetched_token"}
    assert proxy.app.judge.memory.clock_offset == 61


def test_an_upstream_without_a_clock_is_asked_once(spec: Spec) -> None:
    """The real platform has no /_mock/clock: asked once (a 404), never again."""
    platform = fakes.issuing_platform("rt_expired_9c4e1a7b", b"401 No", "Access token expired")

    def answer(head: bytes) -> bytes:
        if b"/_mock/clock" in head:
            return fakes.raw_answer(b"404 Not Found", [b"Content-Length: 0"])
        return platform(head)

    with (
        fakes.RawUpstream(answer, keep_alive=True) as upstream,
        proxy_to(spec, upstream.url) as proxy,
    ):
        for _ in range(2):
            token = token_request(proxy.url, "live_key_7f3a9c1e").json()["accessToken"]
            httpx.post(f"{proxy.url}/api/widget/calls", json={"accessToken": token})
        proxy.settle()
    assert sum(b"/_mock/clock" in head for head in upstream.heads) == 1
    assert "token_lifetime" in proxy.findings("platform")  # called expired when fresh
