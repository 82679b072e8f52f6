"""The control API: the call log, the journal, reset, CORS, and who may use it."""

from __future__ import annotations

import httpx
import pytest

from mockplatform import create_app
from mockplatform.server.app import Settings
from mockplatform.server.world import DEFAULT_INSTANCE_ID


def test_call_log_records_the_resolved_prompt_of_an_instance(client, request_token) -> None:
    issued = request_token(instanceId=DEFAULT_INSTANCE_ID, language="hi", callerName="Rahul")
    record = client.get(f"/_mock/calls/{issued.json()['callId']}").json()
    assert record["instanceId"] == DEFAULT_INSTANCE_ID
    assert record["language"] == "hi"
    assert record["callerName"] == "Rahul"
    assert record["status"] == "token_issued"
    assert "Sharma Dental Clinic" in record["resolvedPrompt"]
    assert "You are warm, patient and concise." in record["resolvedPrompt"]
    assert "(Rahul)" in record["resolvedPrompt"]
    assert record["tokenExpiresAt"] - record["tokenIssuedAt"] == 60
    assert record["account"] == "nas_…tive"
    assert client.get("/_mock/calls").json()["calls"][0]["callId"] == record["callId"]


def test_call_log_without_instance_uses_agent_defaults(client, request_token) -> None:
    issued = request_token()
    record = client.get(f"/_mock/calls/{issued.json()['callId']}").json()
    assert record["instanceId"] is None
    assert record["language"] == "en"
    assert "Sharma Dental Clinic" not in record["resolvedPrompt"]


def test_unknown_call_is_404(client) -> None:
    response = client.get("/_mock/calls/call_nope")
    assert response.status_code == 404
    assert response.json()["error"] == "Call not found"


def test_journal_shows_requests_with_secrets_masked(client, request_token) -> None:
    token = request_token(callerName="Ünïcødé 名前").json()["accessToken"]
    client.post("/api/widget/calls", json={"accessToken": token})
    journal = client.get("/_mock/requests").json()["requests"]
    redeem, issue = journal[0], journal[1]
    assert issue["path"] == "/api/widget/token"
    assert issue["status"] == 200
    assert issue["headers"]["authorization"] == "Bearer nas_…tive"
    assert issue["body"]["callerName"] == "Ünïcødé 名前"
    assert redeem["body"]["accessToken"] == "rt_…" + token[-4:]
    assert "nas_test_active" not in str(journal)
    assert token not in str(journal)


def test_key_never_appears_in_log_lines(client, request_token, caplog) -> None:
    caplog.set_level("INFO", logger="mockplatform")
    request_token(api_key="nas_test_cancelled")
    assert "nas_…lled" in caplog.text
    assert "nas_test_cancelled" not in caplog.text


def test_clock_advance_and_reset(client, request_token) -> None:
    before = client.get("/_mock/clock").json()
    moved = client.post("/_mock/clock/advance", json={"seconds": 61}).json()
    assert moved["offsetSeconds"] == before["offsetSeconds"] + 61
    request_token()
    assert client.post("/_mock/reset").json() == {"reset": True}
    assert client.get("/_mock/clock").json()["offsetSeconds"] == 0
    assert client.get("/_mock/calls").json()["calls"] == []
    assert client.get("/_mock/requests").json()["requests"] == []


@pytest.mark.parametrize("body", [{"seconds": -1}, {"seconds": "61"}, {"secs": 61}, [61]])
def test_clock_advance_rejects_bad_input(client, body) -> None:
    response = client.post("/_mock/clock/advance", json=body)
    assert response.status_code == 400
    assert "seconds" in response.json()["detail"]


def test_unrouted_paths_and_methods_get_json_errors(client) -> None:
    missing = client.get("/api/nowhere")
    assert missing.status_code == 404
    assert missing.json()["error"] == "Not Found"
    wrong_method = client.get("/api/widget/token")
    assert wrong_method.status_code == 405
    assert wrong_method.headers["allow"] == "POST"


def test_cors_allows_local_dev_origins_only(client) -> None:
    """What the SDK calls from the page (the redeem) is open to local dev servers."""
    preflight = {"Access-Control-Request-Method": "POST"}
    local = client.options(
        "/api/widget/calls", headers={"Origin": "http://localhost:5173", **preflight}
    )
    assert local.headers["access-control-allow-origin"] == "http://localhost:5173"
    foreign = client.options(
        "/api/widget/calls", headers={"Origin": "https://evil.example", **preflight}
    )
    assert "access-control-allow-origin" not in foreign.headers


# The guard sees the peer address; an in-process transport lets the tests be a remote peer
# without sending traffic anywhere but this process.
def _remote_client(app) -> httpx.AsyncClient:
    transport = httpx.ASGITransport(app=app, client=("203.0.113.7", 40000))
    return httpx.AsyncClient(transport=transport, base_url="http://mock")


async def _get_calls(app, headers=None) -> httpx.Response:
    async with _remote_client(app) as remote:
        return await remote.get("/_mock/calls", headers=headers or {})


def test_control_api_refuses_remote_callers_without_admin_token(spec) -> None:
    import asyncio

    app = create_app(spec=spec)
    response = asyncio.run(_get_calls(app))
    assert response.status_code == 403
    assert response.json()["error"] == "Control API access denied"
    assert "--admin-token" in response.json()["detail"]


def test_control_api_admits_remote_callers_with_the_admin_token(spec) -> None:
    import asyncio

    app = create_app(Settings(admin_token="s3cret"), spec=spec)
    assert asyncio.run(_get_calls(app, {"X-Mock-Admin-Token": "s3cret"})).status_code == 200
    assert asyncio.run(_get_calls(app, {"X-Mock-Admin-Token": "wrong"})).status_code == 403
    assert asyncio.run(_get_calls(app)).status_code == 403


def test_platform_endpoints_answer_remote_callers(spec) -> None:
    import asyncio

    async def issue() -> httpx.Response:
        async with _remote_client(create_app(spec=spec)) as remote:
            return await remote.post(
                "/api/widget/token",
                json={"agentId": "550e8400-e29b-41d4-a716-446655440000"},
                headers={"Authorization": "Bearer nas_test_active"},
            )

    assert asyncio.run(issue()).status_code == 200


def test_control_api_answers_loopback_on_the_live_server(client) -> None:
    assert client.get("/_mock/").status_code == 200
