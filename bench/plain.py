"""A second baseline: the token request's job written plainly, as a Starlette endpoint.

`bench/bare.py` answers a constant and keeps nothing: the floor of any Python endpoint on
this server. This one does what a developer would write for the same job in an afternoon:
the bearer key looked up, the body read and parsed as JSON, the agent found, a token and a
call id made with `secrets`, both kept (the newest 10,000, as the mock keeps them) with a
journal entry (the newest 1,000), and the answer sent with `JSONResponse`. It has none of
the mock's schema validation, scenarios, masking or documented errors. Served like the
mock (`mockplatform.cli.server_options`), it tells how far the mock's own work is from
doing that job at all (bench/HISTORY.md, round 9: the server's gap).
Run: python -m bench.plain --port N
"""

from __future__ import annotations

import json
import secrets
import time
from collections import OrderedDict, deque
from http import HTTPStatus
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from bench.bare import serve
from mockplatform.core.credentials import TOKEN_PREFIX
from mockplatform.server.tokens import CALL_PREFIX
from mockplatform.server.world import DEFAULT_AGENT_ID, DEFAULT_API_KEY, default_world

ACCOUNTS = {DEFAULT_API_KEY: "the default account"}
AGENTS = {DEFAULT_AGENT_ID: default_world().agents[DEFAULT_AGENT_ID].name}
KEPT_TOKENS, KEPT_ENTRIES = 10_000, 1_000
tokens: OrderedDict[str, dict[str, Any]] = OrderedDict()
journal: deque[dict[str, Any]] = deque(maxlen=KEPT_ENTRIES)


def refused(status: int) -> JSONResponse:
    """A refusal with HTTP's own phrase (the platform's messages live in openapi.yaml; the
    bench sends this baseline no request it refuses)."""
    return JSONResponse({"error": HTTPStatus(status).phrase}, status)


async def create_token(request: Request) -> JSONResponse:
    authorization = request.headers.get("authorization", "")
    if authorization[7:] not in ACCOUNTS or not authorization.startswith("Bearer "):
        return refused(401)
    body = await request.body()
    try:
        data = json.loads(body)
    except ValueError:
        return refused(400)
    if not isinstance(data, dict) or not isinstance(data.get("agentId"), str):
        return refused(400)
    agent_name = AGENTS.get(data["agentId"])
    if agent_name is None:
        return refused(404)
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    call_id = CALL_PREFIX + secrets.token_hex(12)
    now = time.time()
    tokens[token] = {"callId": call_id, "agentId": data["agentId"], "issuedAt": now}
    if len(tokens) > KEPT_TOKENS:
        tokens.popitem(last=False)
    journal.append({"path": request.url.path, "headers": dict(request.headers), "body": body})
    return JSONResponse({"accessToken": token, "callId": call_id, "agentName": agent_name})


app = Starlette(routes=[Route("/api/widget/token", create_token, methods=["POST"])])


if __name__ == "__main__":
    serve(app, __doc__.splitlines()[0])
