"""The platform's own endpoints: issuing a widget token, and redeeming it to start a call.

Each handler is a row of stages — authenticate, read the body, check the subscription,
resolve the agent, act — that end the request early by raising `Rejection`. The order is
the contract's precedence: 401, then 400, then 403, then 404.
"""

from __future__ import annotations

from dataclasses import dataclass

from starlette.requests import Request
from starlette.responses import JSONResponse

from mockplatform.auth import authenticate
from mockplatform.calls import CallRecord, CallStatus, Redemption
from mockplatform.errors import Rejection
from mockplatform.intake import read_json_body
from mockplatform.spec import Spec
from mockplatform.store import Store
from mockplatform.tokens import key_digest, new_access_token, new_call_id, new_live_key
from mockplatform.world import Agent, Instance, World, resolve_prompt

CREATE_TOKEN = "createWidgetToken"
REDEEM_TOKEN = "redeemWidgetToken"
LIVE_CALL_ROUTE = "live-call"  # the WebSocket a started call's events stream over (live_call.py)


@dataclass
class Platform:
    """What every handler needs, built once by `create_app` and kept on `app.state.platform`."""

    spec: Spec
    world: World
    store: Store
    max_body_bytes: int


def platform_of(request: Request) -> Platform:
    return request.app.state.platform


async def create_widget_token(request: Request) -> JSONResponse:
    platform = platform_of(request)
    operation = platform.spec.operation(CREATE_TOKEN)
    account = authenticate(request, platform.world, CREATE_TOKEN)
    body = await read_json_body(request, operation, platform.max_body_bytes)
    if not account.subscription.allows_calls:
        raise Rejection(CREATE_TOKEN, 403, detail=f"the subscription is {account.subscription}")
    agent, instance = find_agent(platform.world, body["agentId"], body.get("instanceId"))
    now = await platform.store.now()
    call = CallRecord(
        call_id=new_call_id(),
        account=account.masked_key,
        agent_id=agent.id,
        agent_name=agent.name,
        instance_id=instance.id if instance else None,
        language=body["language"],
        caller_name=body.get("callerName"),
        resolved_prompt=resolve_prompt(
            agent, instance, caller_name=body.get("callerName"), language=body["language"]
        ),
        token_issued_at=now,
        token_expires_at=now + platform.spec.token_lifetime_seconds,
    )
    token = new_access_token()
    await platform.store.issue_token(token, call)
    return JSONResponse({"accessToken": token, "callId": call.call_id, "agentName": agent.name})


def find_agent(
    world: World, agent_id: str, instance_id: str | None
) -> tuple[Agent, Instance | None]:
    """The active agent and, if asked for, its instance; anything else is the documented 404."""
    agent = world.agents.get(agent_id)
    if agent is None:
        raise Rejection(CREATE_TOKEN, 404, field="agentId", detail=f"no agent {agent_id}")
    if not agent.active:
        raise Rejection(CREATE_TOKEN, 404, field="agentId", detail=f"agent {agent_id} is inactive")
    if instance_id is None:
        return agent, None
    instance = world.instances.get(instance_id)
    if instance is None:
        raise Rejection(CREATE_TOKEN, 404, field="instanceId", detail=f"no instance {instance_id}")
    if instance.agent_id != agent.id:
        raise Rejection(
            CREATE_TOKEN,
            404,
            field="instanceId",
            detail=f"instance {instance_id} belongs to another agent",
        )
    return agent, instance


async def redeem_widget_token(request: Request) -> JSONResponse:
    platform = platform_of(request)
    operation = platform.spec.operation(REDEEM_TOKEN)
    body = await read_json_body(request, operation, platform.max_body_bytes)
    outcome, call = await platform.store.redeem_token(body["accessToken"])
    if outcome is Redemption.UNKNOWN:
        raise Rejection(REDEEM_TOKEN, 401, example="unknown", detail="no such access token")
    if outcome is Redemption.EXPIRED:
        raise Rejection(
            REDEEM_TOKEN, 401, example="expired", detail="the access token's lifetime has passed"
        )
    if outcome is Redemption.USED:
        raise Rejection(REDEEM_TOKEN, 409, detail="each access token starts one call")
    assert call is not None
    call.status = CallStatus.STARTED
    call.started_at = await platform.store.now()
    live_key = new_live_key()
    call.live_key_digest = key_digest(live_key)
    await platform.store.save_call(call)
    return JSONResponse(
        {
            "callId": call.call_id,
            "agentName": call.agent_name,
            "status": "started",
            "callUrl": live_call_url(request, call.call_id, live_key),
        },
        status_code=201,
    )


def live_call_url(request: Request, call_id: str, live_key: str) -> str:
    """ws(s)://…/sdk/calls/{callId}?key=…: where the SDK listens to the call it just started."""
    url = request.url_for(LIVE_CALL_ROUTE, call_id=call_id)
    scheme = "wss" if url.scheme == "https" else "ws"
    return str(url.replace(scheme=scheme).include_query_params(key=live_key))
