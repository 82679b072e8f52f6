"""POST /api/widget/token on the live mock: every documented response, and their precedence."""

from __future__ import annotations

import asyncio
import dataclasses

import httpx
import pytest
from starlette.responses import JSONResponse

from mockplatform.server.app import create_app
from mockplatform.server.world import (
    DEFAULT_AGENT_ID,
    DEFAULT_API_KEY,
    DEFAULT_INSTANCE_ID,
    INACTIVE_AGENT_ID,
    default_world,
)

UNKNOWN_AGENT = "00000000-0000-4000-8000-000000000000"


def test_issues_a_token_for_the_seed_example(request_token) -> None:
    response = request_token(
        instanceId=DEFAULT_INSTANCE_ID, language="en", callerName="Rahul Sharma"
    )
    assert response.status_code == 200
    body = response.json()
    assert body["agentName"] == "Customer Support Agent"
    assert body["accessToken"].startswith("rt_test_")
    assert len(body["accessToken"]) >= len("rt_test_") + 43  # 256 bits, base64url
    assert body["callId"].startswith("call_")


def test_tokens_and_call_ids_are_unique(request_token) -> None:
    bodies = [request_token().json() for _ in range(50)]
    assert len({b["accessToken"] for b in bodies}) == 50
    assert len({b["callId"] for b in bodies}) == 50


@pytest.mark.parametrize(
    ("headers", "detail"),
    [
        ({}, "the Authorization header is missing"),
        ({"Authorization": "nas_test_active"}, "expected 'Authorization: Bearer <api key>'"),
        ({"Authorization": "Basic bmFzOng="}, "expected 'Authorization: Bearer <api key>'"),
        ({"Authorization": "Bearer"}, "expected 'Authorization: Bearer <api key>'"),
        ({"Authorization": "Bearer nas_wrong"}, "the API key is not known"),
    ],
)
def test_missing_or_invalid_key_gets_401(client, headers, detail) -> None:
    response = client.post(
        "/api/widget/token",
        json={"agentId": "550e8400-e29b-41d4-a716-446655440000"},
        headers=headers,
    )
    assert response.status_code == 401
    assert response.json() == {"error": "Invalid API key", "detail": detail}


@pytest.mark.parametrize("key", ["nas_test_trial_expired", "nas_test_cancelled"])
def test_inactive_subscription_gets_403(request_token, key) -> None:
    response = request_token(api_key=key)
    assert response.status_code == 403
    assert response.json()["error"] == "Subscription inactive"


def test_trial_subscription_may_call(request_token) -> None:
    assert request_token(api_key="nas_test_trial").status_code == 200


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"agentId": UNKNOWN_AGENT}, "agentId"),
        ({"agentId": INACTIVE_AGENT_ID}, "agentId"),
        ({"instanceId": "11111111-2222-4333-8444-555555555555"}, "instanceId"),
    ],
)
def test_unknown_or_inactive_agent_or_instance_gets_404(request_token, body, field) -> None:
    response = request_token(**body)
    assert response.status_code == 404
    assert response.json()["error"] == "Agent not found"
    assert response.json()["field"] == field


def test_instance_of_another_agent_gets_404(client, request_token) -> None:
    world = client.get("/_mock/world").json()
    foreign = next(i for i in world["instances"] if i["id"] != DEFAULT_INSTANCE_ID)
    response = request_token(instanceId=foreign["id"])
    assert response.status_code == 404
    assert "belongs to another agent" in response.json()["detail"]


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"agentId": "not-a-uuid"}, "agentId"),
        ({"agentId": 42}, "agentId"),
        ({"language": "fr"}, "language"),
        ({"callerName": ["Rahul"]}, "callerName"),
        ({"instanceId": "660f9500"}, "instanceId"),
    ],
)
def test_ill_typed_field_gets_400_naming_it(request_token, body, field) -> None:
    response = request_token(**body)
    assert response.status_code == 400
    assert response.json()["error"] == "Invalid request"
    assert response.json()["field"] == field
    assert response.json()["detail"].startswith(f"{field}: ")


def test_missing_agent_id_gets_400(client) -> None:
    response = client.post(
        "/api/widget/token", json={}, headers={"Authorization": "Bearer nas_test_active"}
    )
    assert response.status_code == 400
    assert response.json()["field"] == "agentId"
    assert response.json()["detail"] == "agentId: is required"


# Precedence: 401 before anything, then 400, then 403, then 404.
@pytest.mark.parametrize(
    ("api_key", "body", "status"),
    [
        (None, {"agentId": "garbage"}, 401),
        (None, {"agentId": UNKNOWN_AGENT}, 401),
        ("nas_wrong", {"agentId": UNKNOWN_AGENT}, 401),
        ("nas_wrong", {"agentId": INACTIVE_AGENT_ID}, 401),
        ("nas_test_cancelled", {"agentId": "garbage"}, 400),
        ("nas_test_cancelled", {"agentId": UNKNOWN_AGENT}, 403),
        ("nas_test_trial_expired", {"agentId": INACTIVE_AGENT_ID}, 403),
        ("nas_test_active", {"agentId": UNKNOWN_AGENT, "language": "xx"}, 400),
    ],
)
def test_precedence(request_token, api_key, body, status) -> None:
    assert request_token(api_key=api_key, **body).status_code == status


def test_unauthenticated_caller_cannot_tell_agents_apart(request_token) -> None:
    known = request_token(api_key="nas_wrong")
    unknown = request_token(api_key="nas_wrong", agentId=UNKNOWN_AGENT)
    assert known.json() == unknown.json()


@pytest.mark.parametrize("name", ["Rahul\n", "Ra\x00hul", "\x7f", "a\tb"])
def test_control_characters_in_caller_name_get_400(request_token, name) -> None:
    response = request_token(callerName=name)
    assert response.status_code == 400
    assert response.json()["field"] == "callerName"


def test_an_agent_name_in_need_of_escaping_comes_back_intact() -> None:
    """The token answer is written out by hand (platform.issue_token): it must stay JSON."""
    name = 'Ana "the \\ agent" नमस्ते\u2028\n\x01'
    world = default_world()
    agent = dataclasses.replace(world.agents[DEFAULT_AGENT_ID], name=name)
    world = dataclasses.replace(world, agents={**world.agents, agent.id: agent})
    response = asyncio.run(_post_token(create_app(world=world)))
    assert response.status_code == 200
    answer = response.json()
    assert answer["agentName"] == name
    assert response.content == JSONResponse(answer).body


async def _post_token(app) -> httpx.Response:
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://mock") as client:
        return await client.post(
            "/api/widget/token",
            json={"agentId": DEFAULT_AGENT_ID},
            headers={"Authorization": f"Bearer {DEFAULT_API_KEY}"},
        )
