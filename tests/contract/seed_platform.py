"""A platform written by another team from the seed's documentation alone, for `contract diff`.

Nothing here reads openapi.yaml: the messages, fields and statuses are the seed's table, and
where the seed is silent this team chose for itself (422 with a body of its own for a bad
request, no limit on `callerName`, `"language": null` read as absent, JWT-shaped tokens). It
offers the redeem as the mock's spec describes it, so the token lifecycle can be compared.
`Flaws` turns on one defect a release might bring.
"""

from __future__ import annotations

import base64
import json
import secrets
import time
import uuid
from dataclasses import dataclass, field
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

KEY = "brt_live_7c1d9e2f4a6b8c0d"
LAPSED_KEY = "brt_lapsed_1a2b3c4d5e6f"
AGENT_ID = "550e8400-e29b-41d4-a716-446655440000"
INACTIVE_AGENT_ID = "0b1c2d3e-4f50-4617-8293-a4b5c6d7e8f9"
INSTANCE_ID = "660f9500-f30c-52e5-b827-557766551111"
LANGUAGES = ("en", "hi", "mr", "auto")


@dataclass(frozen=True)
class Flaws:
    not_found_message: str = "Agent not found"  # the seed's; a release may reword it
    token_lifetime: float = 60.0  # the seed's "approximately 60 seconds"
    drop_call_id: bool = False  # the 200 body without callId


@dataclass
class _Token:
    call_id: str
    expires: float
    used: bool = False


@dataclass
class SeedPlatform:
    flaws: Flaws
    tokens: dict[str, _Token] = field(default_factory=dict)

    async def token(self, request: Request) -> JSONResponse:
        if request.headers.get("authorization", "") not in (
            f"Bearer {KEY}",
            f"Bearer {LAPSED_KEY}",
        ):
            return JSONResponse({"error": "Invalid API key"}, 401)
        try:
            body = json.loads(await request.body())
        except ValueError:
            return _unprocessable("body", "must be JSON")
        if "json" not in request.headers.get("content-type", ""):
            return _unprocessable("body", "must be sent as application/json")
        if not isinstance(body, dict):
            return _unprocessable("body", "must be an object")
        problem = _problem(body)
        if problem:
            return _unprocessable(*problem)
        if request.headers["authorization"] == f"Bearer {LAPSED_KEY}":
            return JSONResponse({"error": "Subscription inactive"}, 403)
        if body["agentId"] != AGENT_ID:
            return JSONResponse({"error": self.flaws.not_found_message}, 404)
        if body.get("instanceId") not in (None, INSTANCE_ID):
            return JSONResponse({"error": self.flaws.not_found_message}, 404)
        call_id = f"call_{secrets.token_hex(8)}"
        token = _jwt(call_id, self.flaws.token_lifetime)
        self.tokens[token] = _Token(call_id, time.monotonic() + self.flaws.token_lifetime)
        answer = {"accessToken": token, "callId": call_id, "agentName": "Customer Support Agent"}
        if self.flaws.drop_call_id:
            del answer["callId"]
        return JSONResponse(answer)

    async def redeem(self, request: Request) -> JSONResponse:
        try:
            body = json.loads(await request.body())
        except ValueError:
            return _unprocessable("body", "must be JSON")
        token = self.tokens.get(body.get("accessToken", "")) if isinstance(body, dict) else None
        if token is None:
            return JSONResponse({"error": "Invalid access token"}, 401)
        if token.used:
            return JSONResponse({"error": "Access token already used"}, 409)
        if time.monotonic() > token.expires:
            return JSONResponse({"error": "Access token expired"}, 401)
        token.used = True
        return JSONResponse({"callId": token.call_id, "status": "started"}, 201)


def _problem(body: dict[str, Any]) -> tuple[str, str] | None:
    agent = body.get("agentId")
    if not isinstance(agent, str):
        return "agentId", "is required and must be a string"
    try:
        uuid.UUID(agent)
    except ValueError:
        return "agentId", "must be a UUID"
    language = body.get("language")
    if language is not None and language not in LANGUAGES:  # null: as if absent
        return "language", f"must be one of {', '.join(LANGUAGES)}"
    if "callerName" in body and not isinstance(body["callerName"], str):
        return "callerName", "must be a string"
    return None


def _unprocessable(where: str, why: str) -> JSONResponse:
    return JSONResponse({"message": "Unprocessable request", "errors": [f"{where} {why}"]}, 422)


def _jwt(call_id: str, lifetime: float) -> str:
    def part(data: dict[str, Any]) -> str:
        return base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()

    now = int(time.time())
    claims = {"sub": call_id, "iat": now, "exp": now + int(lifetime)}
    signature = base64.urlsafe_b64encode(secrets.token_bytes(32)).rstrip(b"=").decode()
    return f"{part({'alg': 'HS256', 'typ': 'JWT'})}.{part(claims)}.{signature}"


def create_seed_platform(flaws: Flaws | None = None) -> Starlette:
    platform = SeedPlatform(flaws or Flaws())
    return Starlette(
        routes=[
            Route("/api/widget/token", platform.token, methods=["POST"]),
            Route("/api/widget/calls", platform.redeem, methods=["POST"]),
        ]
    )
