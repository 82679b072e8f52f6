"""The hostile-input corpus: every attack that once got through, and the ones that always held.

Each case runs against the real server on a port, with both stores where the store is
involved (`served`: the app in a thread, memory or Redis), and ends by checking that the
control API and a well-behaved client are unharmed (`assert_unharmed`). The cases that
need `mockplatform serve` itself (its logs, its limits, two workers) share one process per
configuration. Numbers in the names are the items of issue 15.
"""

from __future__ import annotations

import json
import socket
import threading
import time
import uuid
from collections.abc import Iterator
from urllib.parse import urlsplit

import httpx
import pytest
import redis
from websockets.exceptions import ConnectionClosed
from websockets.sync.client import connect

from mockplatform import create_app
from mockplatform.core.spec import CREATE_TOKEN, REDEEM_TOKEN, Spec
from mockplatform.server.control import MAX_LIMIT
from mockplatform.server.journal import MAX_KEPT_HEADER_BYTES, MAX_KEPT_HEADERS
from mockplatform.server.redis_store import RedisStore
from mockplatform.server.store import MAX_CLOCK_OFFSET
from mockplatform.server.world import DEFAULT_AGENT_ID, DEFAULT_API_KEY
from mockplatform.testing import serve_in_thread
from tests.mockplatform.processes import MockProcess, RedisServer, running

TOKEN = "/api/widget/token"
REDEEM = "/api/widget/calls"
AUTH = {"Authorization": f"Bearer {DEFAULT_API_KEY}"}
JSON = {**AUTH, "Content-Type": "application/json"}


@pytest.fixture(scope="module", params=["memory", "redis"])
def served(request: pytest.FixtureRequest, spec: Spec) -> Iterator[str]:
    """The mock on a port, with its state in memory or in a real Redis."""
    store = None
    if request.param == "redis":
        server: RedisServer = request.getfixturevalue("redis_server")
        store = RedisStore(server.url, prefix=f"corpus-{uuid.uuid4().hex}:")
    with serve_in_thread(create_app(spec=spec, store=store), lifespan="on") as url:
        yield url


@pytest.fixture
def http(served: str) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=served, timeout=10) as client:
        client.post("/_mock/reset").raise_for_status()
        yield client
        assert_unharmed(client)


def issue(client: httpx.Client, **body: object) -> dict[str, str]:
    response = client.post(TOKEN, json={"agentId": DEFAULT_AGENT_ID, **body}, headers=AUTH)
    assert response.status_code == 200, response.text
    return response.json()


def assert_unharmed(client: httpx.Client) -> None:
    """The control API answers every read, and a well-behaved client gets a token and a call."""
    for path in ("/_mock/clock", "/_mock/calls", "/_mock/requests", "/_mock/scenario"):
        response = client.get(path)
        assert response.status_code == 200, f"{path}: {response.status_code} {response.text}"
    token = issue(client)
    started = client.post(REDEEM, json={"accessToken": token["accessToken"]})
    assert started.status_code == 201, started.text
    assert client.get(f"/_mock/calls/{token['callId']}").json()["status"] == "started"


def documented_error(spec: Spec, response: httpx.Response, operation: str, status: int) -> dict:
    """The documented status and body shape; the `error` message from openapi.yaml."""
    assert response.status_code == status, response.text
    body = response.json()
    assert spec.operation(operation).validate_response(status, body) is None
    assert body["error"] == spec.error_body(operation, status)["error"]
    return body


# --- 1. text that cannot be encoded -------------------------------------------------------


@pytest.mark.parametrize("field", ["callerName", "agentId", "instanceId", "language", "\ud800"])
def test_1_a_lone_surrogate_anywhere_in_a_token_request_gets_the_specs_400(
    http: httpx.Client, spec: Spec, field: str
) -> None:
    body = {"agentId": DEFAULT_AGENT_ID, field: "Rahul \ud800"}
    raw = json.dumps(body).encode()  # ASCII: the surrogate as an escape, as an attacker sends it
    response = http.post(TOKEN, content=raw, headers=JSON)
    error = documented_error(spec, response, CREATE_TOKEN, 400)
    assert "lone surrogate" in error["detail"]
    assert all(e["status"] == 400 for e in http.get("/_mock/requests").json()["requests"])


@pytest.mark.parametrize("body", [b'{"accessToken": "\\udc80"}', b'{"accessToken": ["\\ud800"]}'])
def test_1_a_lone_surrogate_in_a_redeem_gets_the_specs_400(
    http: httpx.Client, spec: Spec, body: bytes
) -> None:
    response = http.post(REDEEM, content=body, headers={"Content-Type": "application/json"})
    documented_error(spec, response, REDEEM_TOKEN, 400)


def test_1_a_lone_surrogate_in_a_control_body_gets_a_400(http: httpx.Client) -> None:
    response = http.put(
        "/_mock/scenario",
        content=b'{"name": "\\ud800"}',
        headers={"Content-Type": "application/json"},
    )
    assert response.status_code == 400
    assert "lone surrogate" in response.json()["detail"]


def test_1_5_a_step_redis_runs_after_its_503_is_not_done(
    redis_server: RedisServer, spec: Spec
) -> None:
    """Redis stalls (CLIENT PAUSE) while a redeem and a clock move wait on it: both get 503,
    and when Redis wakes and runs what it held, neither is done: the token still redeems,
    the clock is where it was. (The redeem names its scenario, so the redeem itself is
    its first store step, the one that stalls.)"""
    store = RedisStore(
        redis_server.url, prefix=f"paused-{uuid.uuid4().hex}:", command_timeout=COMMAND_TIMEOUT
    )
    admin = redis.Redis(port=redis_server.port)
    app = create_app(spec=spec, store=store)
    with (
        serve_in_thread(app, lifespan="on") as url,
        httpx.Client(base_url=url, timeout=15) as client,
    ):
        client.post("/_mock/reset").raise_for_status()  # the store has read Redis's clock
        token = issue(client)["accessToken"]
        results: dict[str, int] = {}

        def redeem() -> None:
            response = client.post(
                REDEEM, json={"accessToken": token}, headers={"X-Mock-Scenario": "default"}
            )
            results["redeem"] = response.status_code

        def advance() -> None:
            response = client.post("/_mock/clock/advance", json={"seconds": 3600})
            results["advance"] = response.status_code

        admin.execute_command("CLIENT", "PAUSE", PAUSE_MS, "ALL")
        paused = time.monotonic()
        threads = [threading.Thread(target=f) for f in (redeem, advance)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert results == {"redeem": 503, "advance": 503}
        time.sleep(max(0, paused + PAUSE_MS / 1000 + 0.3 - time.monotonic()))
        assert client.get("/_mock/clock").json()["offsetSeconds"] == 0
        assert client.post(REDEEM, json={"accessToken": token}).status_code == 201
    admin.close()


COMMAND_TIMEOUT = 0.5  # seconds (2 by default): the store gives up on a stalled Redis sooner
PAUSE_MS = 1500  # past the client's two tries of COMMAND_TIMEOUT: it has given up by then


# --- 2. deep nesting ------------------------------------------------------------------------


@pytest.mark.parametrize("path", [TOKEN, REDEEM])
def test_2_deep_nesting_gets_400_and_the_journal_still_reads(http: httpx.Client, path) -> None:
    for body in (b"[" * 1500 + b"]" * 1500, b'{"accessToken":' * 1500 + b"1" + b"}" * 1500):
        response = http.post(path, content=body, headers=JSON)
        assert response.status_code == 400
    entries = http.get("/_mock/requests").json()["requests"]
    assert [e["status"] for e in entries] == [400, 400]


# --- 3. headers kept whole ------------------------------------------------------------------


def test_3_the_journal_keeps_bounded_headers(http: httpx.Client) -> None:
    many = {f"x-filler-{n}": "v" * 10 for n in range(MAX_KEPT_HEADERS * 2)}
    http.post(TOKEN, json={"agentId": DEFAULT_AGENT_ID}, headers={**AUTH, "X-Big": "h" * 100_000})
    http.post(TOKEN, json={"agentId": DEFAULT_AGENT_ID}, headers={**AUTH, **many})
    for entry in http.get("/_mock/requests").json()["requests"]:
        size = sum(len(name) + len(value) for name, value in entry["headers"].items())
        assert len(entry["headers"]) <= MAX_KEPT_HEADERS
        assert size <= MAX_KEPT_HEADER_BYTES + 10


# --- 4. cross-site requests to the control API --------------------------------------------


@pytest.mark.parametrize(
    ("headers", "status"),
    [
        ({"Origin": "https://evil.example"}, 403),
        ({"Origin": "null"}, 403),
        ({"Host": "evil.example:8000"}, 403),  # DNS rebinding: a page's name pointed at us
        ({"Content-Type": "text/plain"}, 415),
        ({"Content-Type": "application/x-www-form-urlencoded"}, 415),
    ],
)
def test_4_a_cross_site_control_request_is_refused_and_changes_nothing(
    http: httpx.Client, headers: dict[str, str], status: int
) -> None:
    token = issue(http)
    body = '{"seconds": 99}'
    for path in ("/_mock/reset", "/_mock/clock/advance"):
        assert http.post(path, content=body, headers=headers).status_code == status
    assert http.put("/_mock/scenario", content='{"name": "x"}', headers=headers).status_code in (
        403,
        415,
    )
    assert http.get("/_mock/clock").json()["offsetSeconds"] == 0
    assert http.get(f"/_mock/calls/{token['callId']}").status_code == 200  # not reset


@pytest.mark.parametrize("media_type", ["text/plain", "application/x-www-form-urlencoded"])
def test_4_a_bodiless_simple_request_to_the_control_api_is_refused(
    http: httpx.Client, media_type: str
) -> None:
    token = issue(http)
    assert http.post("/_mock/reset", headers={"Content-Type": media_type}).status_code == 415
    assert http.get(f"/_mock/calls/{token['callId']}").status_code == 200  # not reset
    assert http.post("/_mock/reset").status_code == 200  # a script's bare POST still resets


@pytest.mark.parametrize("origin", ["http://localhost:5173", "http://127.0.0.1:3000", "own"])
def test_4_a_local_page_or_the_mocks_own_may_use_the_control_api(
    http: httpx.Client, served: str, origin: str
) -> None:
    origin = served if origin == "own" else origin
    response = http.post("/_mock/clock/advance", json={"seconds": 5}, headers={"Origin": origin})
    assert response.status_code == 200
    assert response.json()["offsetSeconds"] == 5


# --- 5. the clock ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "body",
    [
        b'{"seconds": 1e19}',
        b'{"seconds": 1e308}',
        b'{"seconds": -1}',
        b'{"seconds": NaN}',
        b'{"seconds": Infinity}',
        b'{"seconds": "60"}',
        b'{"seconds": true}',
        b'{"seconds": 1, "seconds": 2}',
        b"[" * 4000,
        b'"seconds"',
    ],
)
def test_5_the_clock_refuses_what_is_not_a_finite_bounded_move(http: httpx.Client, body) -> None:
    response = http.post("/_mock/clock/advance", content=body, headers=JSON)
    assert response.status_code == 400, response.text
    assert http.get("/_mock/clock").json()["offsetSeconds"] == 0


def test_5_the_clock_runs_at_most_its_bound_ahead(http: httpx.Client) -> None:
    advance = "/_mock/clock/advance"
    assert http.post(advance, json={"seconds": MAX_CLOCK_OFFSET}).status_code == 200
    refused = http.post(advance, json={"seconds": 1})
    assert refused.status_code == 400
    assert "reset" in refused.json()["detail"]
    assert http.get("/_mock/clock").json()["offsetSeconds"] == MAX_CLOCK_OFFSET
    http.post("/_mock/reset").raise_for_status()
    token = issue(http)  # a token born after the far move, then a reset, is not born expired
    assert http.post(REDEEM, json={"accessToken": token["accessToken"]}).status_code == 201


# --- 6. parameters --------------------------------------------------------------------------


def test_6_prefer_naming_an_undocumented_example_gets_400(http: httpx.Client, spec) -> None:
    token = issue(http)["accessToken"]
    response = http.post(
        REDEEM, json={"accessToken": token}, headers={"Prefer": "code=401; example=zzz"}
    )
    body = documented_error(spec, response, REDEEM_TOKEN, 400)
    assert body["field"] == "Prefer"
    assert "expired" in body["detail"] and "unknown" in body["detail"]
    forced = http.post(
        REDEEM, json={"accessToken": token}, headers={"Prefer": "code=401; example=expired"}
    )
    assert forced.status_code == 401
    assert forced.json()["error"] == spec.error_body(REDEEM_TOKEN, 401, example="expired")["error"]


@pytest.mark.parametrize(
    "limit", ["²", "-1", "abc", "1.5", "", str(MAX_LIMIT + 1), "9" * 30, "\uff11"]
)
@pytest.mark.parametrize("path", ["/_mock/calls", "/_mock/requests"])
def test_6_a_bad_limit_gets_400_naming_it(http: httpx.Client, path: str, limit: str) -> None:
    response = http.get(path, params={"limit": limit})
    assert response.status_code == 400
    assert response.json()["detail"].startswith("limit:")


def test_6_a_huge_call_id_is_not_found(http: httpx.Client) -> None:
    response = http.get("/_mock/calls/" + "c" * 60_000)
    assert response.status_code == 404
    assert len(response.text) < 1000


# --- 7. secrets in the journal --------------------------------------------------------------


def test_7_no_secret_reaches_the_journal_in_any_shape(http: httpx.Client) -> None:
    token = issue(http)["accessToken"]
    secret_key = "sk_live_abcdefghijklmnopqrstuvwxyz"
    http.post(REDEEM, json={"wrapper": {"accessToken": token}}, headers=JSON)
    http.post(REDEEM, json=[{"accessToken": token}], headers=JSON)
    http.post(REDEEM, content=f'{{"accessToken": "{token}"', headers=JSON)  # not JSON
    http.post(REDEEM, content=f"token={token}", headers={"Content-Type": "text/plain"})
    http.post(
        REDEEM,
        params={"key": secret_key, "access_token": token},
        json={"accessToken": "x"},
        headers={"X-Mock-Admin-Token": secret_key, "Cookie": f"session={secret_key}"},
    )
    journal = http.get("/_mock/requests").text
    assert token not in journal
    assert token[-4:] in journal  # masked, not dropped: the entries still tell tokens apart
    assert secret_key not in journal


# --- 10. a wrong type -----------------------------------------------------------------------


def test_10_a_number_for_caller_name_must_be_a_string(http: httpx.Client, spec) -> None:
    response = http.post(TOKEN, json={"agentId": DEFAULT_AGENT_ID, "callerName": 5}, headers=AUTH)
    body = documented_error(spec, response, CREATE_TOKEN, 400)
    assert body["detail"] == "callerName: must be a string, not number"


# --- what always held -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("body", "status"),
    [
        (b"{" + b" " * 100_000 + b"}", 413),
        (b'{"agentId": "\xff\xfe"}', 400),
        (b"\xef\xbb\xbf{}", 400),
        (b'{"agentId": "a", "agentId": "b"}', 400),
        (b'{"agentId": NaN}', 400),
        (b'{"agentId": 1' + b"0" * 5000 + b"}", 400),
        (b'{"agentId": 1e999999}', 400),
    ],
    ids=["huge", "invalid-utf8", "bom", "duplicate-keys", "nan", "huge-int", "huge-float"],
)
def test_what_held_still_holds(http: httpx.Client, body: bytes, status: int) -> None:
    for path in (TOKEN, REDEEM):
        assert http.post(path, content=body, headers=JSON).status_code == status


HOSTILE_BODIES = {
    "deep-arrays": b"[" * 3000,
    "deep-objects": b'{"a":' * 6000 + b"1" + b"}" * 6000,
    "surrogate-agent": b'{"agentId":"\\ud800"}',
    "surrogate-key": b'{"apiKey":"\\ud800"}',
    "surrogate-name": b'{"callerName":"\\udc80"}',
    "huge-float": b'{"callerName":1e999}',
    "huge": b"{" + b" " * 100_000 + b"}",
    "invalid-utf8": b'{"agentId": "\xff\xfe"}',
    "bom": b"\xef\xbb\xbf{}",
    "duplicate-keys": b'{"agentId": "a", "agentId": "b"}',
    "nan": b'{"agentId": NaN}',
    "nul": b'{"agentId": "a\x00"}',
    "huge-int": b'{"agentId": 1' + b"0" * 5000 + b"}",
}


@pytest.mark.parametrize("body", HOSTILE_BODIES.values(), ids=HOSTILE_BODIES.keys())
def test_the_demo_backend_answers_hostile_bodies_as_the_token_endpoint(
    http: httpx.Client, body: bytes
) -> None:
    """The demo's stand-in backend reads its body with the platform's intake: the token
    endpoint's 4xx, in its error shape, never a 5xx (it once answered 500 and 502)."""
    demo = http.post("/demo/start-call", content=body, headers={"Content-Type": "application/json"})
    token = http.post(TOKEN, content=body, headers=JSON)
    assert demo.status_code == token.status_code, demo.text
    assert 400 <= demo.status_code < 500
    assert demo.json()["error"] == token.json()["error"]


@pytest.mark.parametrize(
    ("asked", "field"),
    [([], ""), ({"callerName": 1}, "callerName"), ({"apiKey": "k\u00e9y"}, "apiKey")],
)
def test_the_demo_backend_refuses_what_it_cannot_send(
    http: httpx.Client, spec: Spec, asked: object, field: str
) -> None:
    response = http.post("/demo/start-call", json=asked)
    body = documented_error(spec, response, CREATE_TOKEN, 400)
    assert body.get("field", "") == field


def raw_exchange(base_url: str, request: bytes, timeout: float = 5) -> bytes:
    """Send `request` on a fresh connection; whatever comes back until it closes (or goes
    quiet for `timeout`)."""
    url = urlsplit(base_url)
    with socket.create_connection((url.hostname, url.port), timeout=timeout) as sock:
        data = b""
        try:
            sock.sendall(request)
            while chunk := sock.recv(65536):
                data += chunk
        except (TimeoutError, ConnectionError):
            pass
    return data


def test_smuggling_attempts_get_one_answer_and_no_second_request(http: httpx.Client, served):
    body = b"0\r\n\r\nPOST /_mock/reset HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n"
    for framing in (
        b"Content-Length: 4\r\nTransfer-Encoding: chunked\r\n",
        b"Transfer-Encoding: chunked\r\nTransfer-Encoding: identity\r\n",
        b"Content-Length: 4\r\nContent-Length: 70\r\n",
    ):
        token = issue(http)
        request = b"POST /api/widget/calls HTTP/1.1\r\nHost: localhost\r\n" + framing + b"\r\n"
        answer = raw_exchange(served, request + body, timeout=1)
        assert answer.count(b"HTTP/1.1 ") <= 1 or b"reset" not in answer
        assert http.get(f"/_mock/calls/{token['callId']}").status_code == 200  # not reset


def test_a_slow_body_is_waited_for_without_holding_others(http: httpx.Client, served) -> None:
    url = urlsplit(served)
    body = json.dumps({"agentId": DEFAULT_AGENT_ID}).encode()
    with socket.create_connection((url.hostname, url.port), timeout=10) as sock:
        sock.sendall(
            f"POST {TOKEN} HTTP/1.1\r\nHost: localhost\r\nAuthorization: Bearer "
            f"{DEFAULT_API_KEY}\r\nContent-Type: application/json\r\n"
            f"Content-Length: {len(body)}\r\n\r\n".encode()
            + body[:3]
        )
        assert_unharmed(http)  # served while the slow body is still coming
        sock.sendall(body[3:])
        assert sock.recv(65536).startswith(b"HTTP/1.1 200")


# --- the command line's server: 7, 8, 9, 11 -------------------------------------------------


@pytest.fixture(scope="module")
def team(redis_server: RedisServer, tmp_path_factory: pytest.TempPathFactory):
    """`mockplatform serve --workers 2` on one Redis, logging at INFO, with small limits,
    in an environment that says to trust every forwarded header."""
    log = tmp_path_factory.mktemp("serve") / "serve.log"
    args = ["--store", redis_server.url, "--workers", "2", "--max-header-bytes", "8192"]
    mock = MockProcess([*args, "--log-level", "info", "--call-pace-ms", "200"], log)
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("FORWARDED_ALLOW_IPS", "*")
        with running([mock]):
            yield mock


def test_7_8_the_log_holds_no_live_key_and_no_forged_line(team: MockProcess) -> None:
    with httpx.Client(base_url=team.url, timeout=10) as client:
        token = issue(client)
        client.get("/api/widget/token%0AFORGED: POST /api/widget/token -> 200")
        client.get("/api/%1B[31mred")
        client.post(
            REDEEM, json={"accessToken": "x"}, headers={"X-Mock-Admin-Token": "adm1n-s3cret"}
        )
        started = client.post(REDEEM, json={"accessToken": token["accessToken"]}).json()
        with connect(started["callUrl"], open_timeout=10) as ws:
            assert json.loads(ws.recv(10))["event"] == "call_started"
        key = started["callUrl"].split("key=")[1].split("&")[0]
        deadline = time.monotonic() + 5
        while "WebSocket" not in team.log.read_text() and time.monotonic() < deadline:
            time.sleep(0.05)
        log = team.log.read_text()
    assert "WebSocket" in log  # uvicorn's line for the socket, which printed the key
    assert key not in log
    assert token["accessToken"] not in log and "adm1n-s3cret" not in log
    assert not any(line.startswith("FORGED") for line in log.splitlines())
    assert "\x1b" not in log


def test_9_a_call_is_listened_to_once_across_workers(team: MockProcess) -> None:
    with httpx.Client(base_url=team.url, timeout=10) as client:
        token = issue(client)["accessToken"]
        call_url = client.post(REDEEM, json={"accessToken": token}).json()["callUrl"]
    first_events: list[str] = []

    def listen() -> None:
        try:
            with connect(call_url, open_timeout=10) as ws:
                first_events.append(json.loads(ws.recv(10))["event"])
        except ConnectionClosed:
            first_events.append("closed")

    threads = [threading.Thread(target=listen) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(first_events) == ["call_started"] + ["error"] * 7


def test_11_a_head_past_the_limit_gets_431_at_once(team: MockProcess) -> None:
    with httpx.Client(base_url=team.url, timeout=10) as client:
        response = client.get("/_mock/clock", headers={"X-Big": "h" * 20_000})
        assert response.status_code == 431
        assert "8192" in response.json()["detail"]
        assert client.get("/_mock/clock", headers={"X-Ok": "h" * 4000}).status_code == 200
    head = b"GET /_mock/clock HTTP/1.1\r\nHost: localhost\r\nX-Big: " + b"h" * 200_000
    assert raw_exchange(team.url, head).startswith(b"HTTP/1.1 431")


def test_11_forwarded_headers_are_not_trusted_by_default(team: MockProcess, tmp_path) -> None:
    """The environment says FORWARDED_ALLOW_IPS=*; the mock ignores it. A forwarded address
    would make a loopback caller remote (refused) or a remote one local (admitted)."""
    forwarded = {"X-Forwarded-For": "203.0.113.9"}
    assert httpx.get(f"{team.url}/_mock/clock", headers=forwarded).status_code == 200
    trusting = MockProcess(["--forwarded-allow-ips", "127.0.0.1"], tmp_path / "trusting.log")
    with running([trusting]):
        assert httpx.get(f"{trusting.url}/_mock/clock", headers=forwarded).status_code == 403


def test_1_surrogates_at_speed_fail_no_other_clients_request(team: MockProcess) -> None:
    """Two workers on one Redis: poisoned requests interleaved with good ones; every good
    token and redeem succeeds (once, 28% of them got a 500)."""
    mock = team
    with httpx.Client(base_url=mock.url, timeout=10) as client:
        client.post("/_mock/reset").raise_for_status()
        poisoned = json.dumps({"agentId": DEFAULT_AGENT_ID, "callerName": "\udc80"}).encode()
        failures: list[str] = []

        def bad() -> None:
            with httpx.Client(base_url=mock.url, timeout=10) as own:
                for _ in range(40):
                    status = own.post(TOKEN, content=poisoned, headers=JSON).status_code
                    if status != 400:
                        failures.append(f"poisoned: {status}")

        def good() -> None:
            with httpx.Client(base_url=mock.url, timeout=10) as own:
                for _ in range(20):
                    token = own.post(TOKEN, json={"agentId": DEFAULT_AGENT_ID}, headers=AUTH)
                    if token.status_code != 200:
                        failures.append(f"token: {token.status_code}")
                        continue
                    redeem = own.post(REDEEM, json={"accessToken": token.json()["accessToken"]})
                    if redeem.status_code != 201:
                        failures.append(f"redeem: {redeem.status_code}")

        threads = [threading.Thread(target=f) for f in (bad, bad, good, good)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert failures == []
        assert_unharmed(client)


def test_11_pipelined_requests_are_not_taken_for_one_long_head(team: MockProcess) -> None:
    """Past the head limit in one read, but as 2,000 whole small requests: each answered."""
    requests = b"GET /nowhere HTTP/1.1\r\nHost: localhost\r\n\r\n" * 2000
    answer = raw_exchange(team.url, requests + b"GET / HTTP/1.1\r\nConnection: close\r\n\r\n")
    assert answer.count(b"HTTP/1.1 404") == 2000
    assert b"431" not in answer.split(b"\r\n", 1)[0]
