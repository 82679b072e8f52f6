"""What a token carries to its call, in both stores: the scenario its request ran under, and
every refused redeem, in the call log with the platform's reason."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator

import httpx
import pytest

from mockplatform import create_app
from mockplatform.core.spec import Spec
from mockplatform.server.app import Settings
from mockplatform.server.world import DEFAULT_AGENT_ID
from mockplatform.testing import serve_in_thread
from tests.mockplatform.processes import MockProcess, RedisServer, running
from tests.mockplatform.server.test_live_call import listen

KEY = {"Authorization": "Bearer nas_test_active"}
BOUND_TO_FAILURE = "nas_test_platform_error"  # a key that follows `platform-failure`


DATABASE = "/6"  # apart from the other shared-store tests' databases


@pytest.fixture(scope="module", params=["memory", "redis"])
def mock(
    request: pytest.FixtureRequest, spec: Spec, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[httpx.Client]:
    """The mock on its own store: in this process's memory, or `serve --store redis://`."""
    if request.param == "memory":
        app = create_app(Settings(call_pace_ms=0), spec=spec)
        with serve_in_thread(app) as url, httpx.Client(base_url=url, timeout=10) as client:
            yield client
        return
    server: RedisServer = request.getfixturevalue("redis_server")
    args = ["--store", server.url.replace("/0", DATABASE), "--call-pace-ms", "0"]
    process = MockProcess(args, tmp_path_factory.mktemp("token-memory") / "serve.log")
    with running([process]), httpx.Client(base_url=process.url, timeout=10) as client:
        yield client


@pytest.fixture
def client(mock: httpx.Client) -> httpx.Client:
    mock.post("/_mock/reset").raise_for_status()
    return mock


def token(client: httpx.Client, headers: dict[str, str] | None = None) -> dict[str, str]:
    response = client.post(
        "/api/widget/token", json={"agentId": DEFAULT_AGENT_ID}, headers={**KEY, **(headers or {})}
    )
    assert response.status_code == 200, response.text
    return response.json()


def play(client: httpx.Client, access_token: str, headers: dict[str, str] | None = None) -> list:
    started = client.post(
        "/api/widget/calls", json={"accessToken": access_token}, headers=headers or {}
    )
    assert started.status_code == 201, started.text
    return asyncio.run(listen(started.json()["callUrl"]))


def test_a_scenario_header_on_the_token_request_shapes_the_call(client: httpx.Client) -> None:
    issued = token(client, {"X-Mock-Scenario": "dropped-call"})
    events = play(client, issued["accessToken"])  # the SDK's own request names no scenario
    names = [name for name, _ in events]
    assert "error" in names and names[-1] != "call_ended"  # the server's side: error, then close
    record = client.get(f"/_mock/calls/{issued['callId']}").json()
    assert record["scenario"] == "dropped-call"
    assert record["endReason"].startswith("failed: ")


def test_the_active_scenario_at_issue_shapes_the_call_not_the_one_at_redeem(
    client: httpx.Client,
) -> None:
    client.put("/_mock/scenario", json={"name": "short-call"}).raise_for_status()
    issued = token(client)
    client.put("/_mock/scenario", json={"name": "default"}).raise_for_status()
    play(client, issued["accessToken"])
    record = client.get(f"/_mock/calls/{issued['callId']}").json()
    assert (record["scenario"], record["endReason"]) == ("short-call", "ended_early")


def test_a_plain_token_plays_the_default_call(client: httpx.Client) -> None:
    issued = token(client)
    events = play(client, issued["accessToken"])
    assert events[-1][0] == "call_ended"
    record = client.get(f"/_mock/calls/{issued['callId']}").json()
    assert (record["scenario"], record["endReason"]) == ("default", "completed")


def test_the_redeems_own_header_still_chooses(client: httpx.Client) -> None:
    issued = token(client, {"X-Mock-Scenario": "dropped-call"})
    play(client, issued["accessToken"], {"X-Mock-Scenario": "short-call"})
    record = client.get(f"/_mock/calls/{issued['callId']}").json()
    assert record["endReason"] == "ended_early"


def test_an_expired_redeem_is_in_the_call_log_with_its_reason(
    client: httpx.Client, spec: Spec
) -> None:
    issued = token(client)
    client.post("/_mock/clock/advance", json={"seconds": spec.token_lifetime_seconds + 1})
    refused = client.post("/api/widget/calls", json={"accessToken": issued["accessToken"]})
    assert refused.status_code == 401
    record = client.get(f"/_mock/calls/{issued['callId']}").json()
    assert record["status"] == "redeem_failed"
    assert record["endReason"] == "failed: Access token expired"
    assert [f["reason"] for f in record["redeemFailures"]] == ["Access token expired"]
    assert record["redeemFailures"][0]["at"] >= record["tokenExpiresAt"]


def test_a_second_redeem_is_in_the_call_log_and_the_call_plays_on(client: httpx.Client) -> None:
    issued = token(client)
    first = client.post("/api/widget/calls", json={"accessToken": issued["accessToken"]})
    assert first.status_code == 201
    again = client.post("/api/widget/calls", json={"accessToken": issued["accessToken"]})
    assert again.status_code == 409
    record = client.get(f"/_mock/calls/{issued['callId']}").json()
    assert record["status"] == "started"
    assert [f["reason"] for f in record["redeemFailures"]] == ["Access token already used"]


def test_the_token_endpoint_answers_no_browser_page(client: httpx.Client) -> None:
    """Even a local dev server's page: the key belongs on the backend."""
    origin = {"Origin": "http://localhost:5173"}
    preflight = client.options(
        "/api/widget/token",
        headers={**origin, "Access-Control-Request-Method": "POST"},
    )
    assert not [h for h in preflight.headers if h.startswith("access-control-allow")]
    direct = client.post(
        "/api/widget/token", json={"agentId": DEFAULT_AGENT_ID}, headers={**KEY, **origin}
    )
    assert not [h for h in direct.headers if h.startswith("access-control-allow")]
    journal = client.get("/_mock/requests").json()["requests"]
    assert [e["method"] for e in journal[:2]] == ["POST", "OPTIONS"]
    for entry in journal[:2]:
        assert "API key is exposed to the page" in entry["warning"]
        assert "http://localhost:5173" in entry["warning"]
    plain = token(client)  # a backend's request: no warning
    assert plain and "warning" not in client.get("/_mock/requests").json()["requests"][0]


def test_a_token_request_from_a_page_is_logged(
    mock_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    """(The session's in-process mock, whose log this test can read.)"""
    with caplog.at_level("WARNING", logger="mockplatform"):
        httpx.post(
            f"{mock_url}/api/widget/token",
            json={"agentId": DEFAULT_AGENT_ID},
            headers={**KEY, "Origin": "http://127.0.0.1:3000"},
        )
    assert any(
        "POST /api/widget/token" in r.message
        and "call the token endpoint from your backend" in r.message
        for r in caplog.records
    )
