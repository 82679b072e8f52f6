"""Every shipped scenario, driven over HTTP on the live mock: the exact documented answers."""

from __future__ import annotations

import pytest

from mockplatform.server.world import DEFAULT_AGENT_ID

PLATFORM_ERROR = {"error": "Voice platform error"}


def scenario_token(request_token, scenario: str, **kwargs):
    return request_token(headers={"X-Mock-Scenario": scenario}, **kwargs)


@pytest.mark.parametrize(
    ("scenario", "status", "body"),
    [
        ("default", 200, None),
        (
            "expired-trial",
            403,
            {"error": "Subscription inactive", "detail": "the subscription is trial_expired"},
        ),
        (
            "cancelled-subscription",
            403,
            {"error": "Subscription inactive", "detail": "the subscription is cancelled"},
        ),
        ("unknown-agent", 404, {"error": "Agent not found", "detail": "the agent does not exist"}),
        (
            "inactive-agent",
            404,
            {
                "error": "Agent not found",
                "field": "agentId",
                "detail": f"agent {DEFAULT_AGENT_ID} is inactive",
            },
        ),
        ("invalid-key", 401, {"error": "Invalid API key", "detail": "the API key was revoked"}),
        ("platform-failure", 500, PLATFORM_ERROR),
    ],
)
def test_shipped_scenario_gives_its_documented_answer(request_token, scenario, status, body):
    response = scenario_token(request_token, scenario)
    assert response.status_code == status
    if body is not None:
        assert response.json() == body


def test_scenario_keeps_the_precedence_rule(request_token) -> None:
    """A forced 500 never hides a malformed request, a forced 404 never a missing key."""
    assert scenario_token(request_token, "platform-failure", agentId="nope").status_code == 400
    assert scenario_token(request_token, "unknown-agent", api_key=None).status_code == 401
    assert scenario_token(request_token, "platform-failure", api_key="nas_x").status_code == 401
    cancelled = scenario_token(request_token, "unknown-agent", api_key="nas_test_cancelled")
    assert cancelled.status_code == 403


def test_slow_platform_answers_after_its_latency(client, request_token) -> None:
    assert scenario_token(request_token, "slow-platform").status_code == 200
    entry = client.get("/_mock/requests").json()["requests"][0]
    assert entry["scenario"] == "slow-platform"
    # the delay is the scenario's behaviour; the event loop's timer may wake a few ms early
    assert entry["durationMs"] >= 2950


def test_flaky_platform_fails_some_requests_reproducibly(client, request_token) -> None:
    def run() -> list[int]:
        client.post("/_mock/reset")
        return [scenario_token(request_token, "flaky-platform").status_code for _ in range(15)]

    first = run()
    assert set(first) == {200, 500}
    assert run() == first


def test_multi_tenant_puts_each_business_in_its_prompt(client, request_token) -> None:
    client.put("/_mock/scenario", json={"name": "multi-tenant"})
    world = client.get("/_mock/world").json()
    agent = next(a for a in world["agents"] if a["name"] == "Front Desk Agent")
    tenants = [i for i in world["instances"] if i["agentId"] == agent["id"]]
    assert len(tenants) == 3
    prompts = {}
    for tenant in tenants:
        issued = request_token(agentId=agent["id"], instanceId=tenant["id"], callerName="Asha")
        assert issued.json()["agentName"] == "Front Desk Agent"
        record = client.get(f"/_mock/calls/{issued.json()['callId']}").json()
        prompts[tenant["companyName"]] = record["resolvedPrompt"]
    for company, prompt in prompts.items():
        assert company in prompt
        assert all(other not in prompt for other in prompts if other != company)
    assert "calm and reassuring" in prompts["Patel Family Dentistry"]
    assert "brisk and practical" in prompts["Kulkarni Motors"]


def test_bound_keys_fail_beside_a_happy_key(request_token) -> None:
    assert request_token(api_key="nas_test_platform_error").json() == PLATFORM_ERROR
    assert request_token(api_key="nas_test_active").status_code == 200
    statuses = {request_token(api_key="nas_test_flaky").status_code for _ in range(15)}
    assert statuses == {200, 500}


def test_header_overrides_a_bound_key(request_token) -> None:
    response = request_token(
        api_key="nas_test_platform_error", headers={"X-Mock-Scenario": "default"}
    )
    assert response.status_code == 200


def test_unknown_scenario_header_is_a_clear_400(request_token) -> None:
    response = scenario_token(request_token, "no-such-scenario")
    assert response.status_code == 400
    assert response.json()["field"] == "X-Mock-Scenario"
    assert "platform-failure" in response.json()["detail"]


@pytest.mark.parametrize(
    ("prefer", "status", "error"),
    [
        ("code=404", 404, "Agent not found"),
        ("code=403", 403, "Subscription inactive"),
        ("code=500, dynamic=true", 500, "Voice platform error"),
        ("code=418", 400, "Invalid request"),
    ],
)
def test_prism_prefer_code(request_token, prefer, status, error) -> None:
    response = request_token(headers={"Prefer": prefer})
    assert response.status_code == status
    assert response.json()["error"] == error


def test_prefer_code_200_lets_the_request_through(request_token) -> None:
    assert request_token(headers={"Prefer": "code=200"}).status_code == 200


def test_prefer_named_example_on_redeem(client) -> None:
    response = client.post(
        "/api/widget/calls",
        json={"accessToken": "anything"},
        headers={"Prefer": "code=401, example=expired"},
    )
    assert response.status_code == 401
    assert response.json()["error"] == "Access token expired"


def test_switch_scenario_at_run_time_and_reset(client, request_token) -> None:
    assert client.get("/_mock/scenario").json()["name"] == "default"
    switched = client.put("/_mock/scenario", json={"name": "platform-failure"})
    assert switched.json()["name"] == "platform-failure"
    assert request_token().json() == PLATFORM_ERROR
    client.post("/_mock/reset")
    assert client.get("/_mock/scenario").json()["name"] == "default"
    assert request_token().status_code == 200


def test_switch_to_unknown_scenario_is_404(client) -> None:
    response = client.put("/_mock/scenario", json={"name": "nope"})
    assert response.status_code == 404
    assert response.json()["error"] == "Scenario not found"


def test_scenarios_are_listed_with_descriptions(client) -> None:
    listed = {s["name"]: s for s in client.get("/_mock/scenarios").json()["scenarios"]}
    shipped = {
        "default",
        "expired-trial",
        "cancelled-subscription",
        "unknown-agent",
        "inactive-agent",
        "invalid-key",
        "platform-failure",
        "slow-platform",
        "flaky-platform",
        "multi-tenant",
        "network-faults",
    }
    assert shipped <= set(listed)
    assert all(listed[name]["description"] for name in shipped)
