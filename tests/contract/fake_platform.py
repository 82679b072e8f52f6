"""A small, independent implementation of the contract, correct unless told to break a rule.

The harness must test ANY implementation, so its tests do not only aim it at the mock: they
start this Starlette app on a free port with one `Behaviour` knob turned — a real defect the
harness must name, or a legitimate choice (extra fields, JWT tokens, 404 before 403) it must
accept without crying wolf.
"""

from __future__ import annotations

import base64
import hmac
import json
import secrets
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, StreamingResponse
from starlette.routing import Route

from mockplatform.spec import Spec

ACTIVE_KEY = "fake_live_4f9a1c2e8b7d"
INACTIVE_KEY = "fake_lapsed_0b3e5d7c9a1f"
MAX_BODY = 65536


@dataclass(frozen=True)
class Behaviour:
    # Defects
    drop_field: str | None = None  # leave this field out of the 200 token body
    any_agent: bool = False  # 200 for an unknown agent
    keyless: bool = False  # accept a request without an Authorization header
    agent_before_auth: bool = False  # look the agent up (404) before the key (401)
    unicode_crash: bool = False  # 500 when callerName is not ASCII
    hangup_language: str | None = None  # drop the connection mid-response for this language
    lifetime: float | None = None  # token lifetime; None = the spec's
    reusable: bool = False  # a token redeems any number of times
    fixed_token: bool = False  # the same accessToken for every call
    # Legitimate choices
    extra_fields: bool = False  # undocumented extra fields in every body
    jwt: bool = False  # the token is a JWT carrying iat/exp
    not_found_before_forbidden: bool = False  # unknown agent (404) before inactive key (403)
    clock: bool = True  # expose the mock's POST /_mock/clock/advance
    no_redeem: bool = False  # like a real platform: the SDK redeems out of sight
    # The mock's scenario API with one scenario, platform-failure (X-Mock-Scenario), and
    # Prefer: code=N: None = off; else the `error` the scenario's 500 says (documented or not).
    failure_message: str | None = None


@dataclass
class _Token:
    call_id: str
    agent_name: str
    expires_at: float
    used: bool = False


@dataclass
class FakePlatform:
    spec: Spec
    behaviour: Behaviour
    agents: dict[str, str] = field(default_factory=dict)
    tokens: dict[str, _Token] = field(default_factory=dict)
    offset: float = 0.0

    def now(self) -> float:
        return time.time() + self.offset

    def error(self, operation_id: str, status: int, **extra: str) -> JSONResponse:
        body: dict[str, Any] = self.spec.error_body(operation_id, status, **extra)
        if self.behaviour.extra_fields:
            body["requestId"] = secrets.token_hex(6)
        return JSONResponse(body, status)

    async def read(self, request: Request, operation_id: str) -> Any:
        """The validated JSON body, or the documented 413 / 415 / 400 response."""
        media = request.headers.get("content-type", "").split(";")[0].strip()
        if media != "application/json":
            return self.error(operation_id, 415)
        raw = await request.body()
        if len(raw) > MAX_BODY:
            return self.error(operation_id, 413)
        try:
            body = json.loads(raw)
        except ValueError:
            return self.error(operation_id, 400, detail="not JSON")
        invalid = self.spec.operation(operation_id).validate_request(body)
        if invalid is not None:
            return self.error(operation_id, 400, field=invalid.field, detail=invalid.detail)
        return body

    def key_status(self, request: Request) -> int | None:
        """None for the active key, 403 for the inactive one, 401 for anything else."""
        header = request.headers.get("authorization")
        if header is None:
            return None if self.behaviour.keyless else 401
        scheme, _, key = header.partition(" ")
        if scheme.lower() != "bearer":
            return 401
        if hmac.compare_digest(key.strip().encode(), ACTIVE_KEY.encode()):
            return None
        if hmac.compare_digest(key.strip().encode(), INACTIVE_KEY.encode()):
            return 403
        return 401

    async def create_token(self, request: Request) -> JSONResponse:
        op, b = "createWidgetToken", self.behaviour
        if b.failure_message:
            if request.headers.get("x-mock-scenario") == "platform-failure":
                return JSONResponse({"error": b.failure_message}, 500)
            preferred = self.preferred(request, op)
            if preferred is not None:
                return preferred
        if b.agent_before_auth:
            peeked = await _peek_agent(request)
            if peeked is not None and peeked not in self.agents:
                return self.error(op, 404)
        key = self.key_status(request)
        if key == 401:
            return self.error(op, 401)
        body = await self.read(request, op)
        if isinstance(body, JSONResponse):
            return body
        known = body["agentId"] in self.agents or b.any_agent
        if key == 403 and (known or not b.not_found_before_forbidden):
            return self.error(op, 403)
        if not known:
            return self.error(op, 404)
        if b.unicode_crash and not body.get("callerName", "").isascii():
            return JSONResponse({"error": "Voice platform error"}, 500)
        if b.hangup_language and body.get("language") == b.hangup_language:
            return StreamingResponse(_hang_up(), media_type="application/json")
        agent_name = self.agents.get(body["agentId"], "Any Agent")
        issued_at = self.now()
        lifetime = b.lifetime if b.lifetime is not None else self.spec.token_lifetime_seconds
        token = self.new_token(issued_at, lifetime)
        call_id = f"call_{secrets.token_hex(12)}"
        self.tokens[token] = _Token(call_id, agent_name, issued_at + lifetime)
        payload: dict[str, Any] = {"accessToken": token, "callId": call_id, "agentName": agent_name}
        if b.drop_field:
            payload.pop(b.drop_field)
        if b.extra_fields:
            payload |= {"expiresIn": lifetime, "region": "ap-south-1"}
        return JSONResponse(payload)

    def new_token(self, issued_at: float, lifetime: float) -> str:
        if self.behaviour.fixed_token:
            return "rt_live_fixed_token_for_everyone"
        if not self.behaviour.jwt:
            return f"rt_live_{secrets.token_urlsafe(24)}"
        header = _b64({"alg": "HS256", "typ": "JWT"})
        claims = _b64({"iat": int(issued_at), "exp": int(issued_at + lifetime), "sub": "call"})
        signature = base64.urlsafe_b64encode(secrets.token_bytes(32)).rstrip(b"=").decode()
        return f"{header}.{claims}.{signature}"

    def preferred(self, request: Request, operation_id: str) -> JSONResponse | None:
        """Prism's `Prefer: code=N[, example=NAME]`: the documented example, as is."""
        options = dict(
            part.strip().partition("=")[::2]
            for part in request.headers.get("prefer", "").split(",")
        )
        if "code" not in options:
            return None
        status = int(options["code"])
        example = self.spec.operation(operation_id).example(status, options.get("example"))
        return JSONResponse(example, status)

    async def redeem(self, request: Request) -> JSONResponse:
        op = "redeemWidgetToken"
        if self.behaviour.failure_message:
            preferred = self.preferred(request, op)
            if preferred is not None:
                return preferred
        body = await self.read(request, op)
        if isinstance(body, JSONResponse):
            return body
        token = self.tokens.get(body["accessToken"])
        if token is None:
            return self.error(op, 401, example="unknown")
        if self.now() >= token.expires_at:
            return self.error(op, 401, example="expired")
        if token.used and not self.behaviour.reusable:
            return self.error(op, 409)
        token.used = True
        payload: dict[str, Any] = {
            "callId": token.call_id,
            "agentName": token.agent_name,
            "status": "started",
        }
        if self.behaviour.extra_fields:
            payload["sdkSession"] = secrets.token_hex(8)
        return JSONResponse(payload, 201)

    async def control_index(self, request: Request) -> JSONResponse:
        return JSONResponse({"endpoints": ["GET /_mock/scenarios"]})

    async def scenarios(self, request: Request) -> JSONResponse:
        failure = {"name": "platform-failure", "description": "500", "file": "x.yaml"}
        return JSONResponse({"scenarios": [failure]})

    async def advance(self, request: Request) -> JSONResponse:
        self.offset += float((await request.json())["seconds"])
        return JSONResponse({"offsetSeconds": self.offset})


async def _hang_up() -> AsyncIterator[bytes]:
    yield b'{"accessToken": "rt_'
    raise ConnectionAbortedError("the fake hangs up mid-response")


async def _peek_agent(request: Request) -> str | None:
    try:
        body = json.loads(await request.body())
    except ValueError:
        return None
    agent = body.get("agentId") if isinstance(body, dict) else None
    return agent if isinstance(agent, str) else None


def _b64(claims: dict[str, Any]) -> str:
    return base64.urlsafe_b64encode(json.dumps(claims).encode()).rstrip(b"=").decode()


def create_fake_app(spec: Spec, behaviour: Behaviour, agent_id: str) -> Starlette:
    platform = FakePlatform(spec, behaviour, agents={agent_id: "Front Desk Agent"})
    create, redeem = spec.operation("createWidgetToken"), spec.operation("redeemWidgetToken")
    routes = [Route(create.path, platform.create_token, methods=[create.method])]
    if not behaviour.no_redeem:
        routes.append(Route(redeem.path, platform.redeem, methods=[redeem.method]))
    if behaviour.failure_message:
        routes.append(Route("/_mock/", platform.control_index, methods=["GET"]))
        routes.append(Route("/_mock/scenarios", platform.scenarios, methods=["GET"]))
    if behaviour.clock:
        routes.append(Route("/_mock/clock/advance", platform.advance, methods=["POST"]))
    app = Starlette(routes=routes)
    app.state.platform = platform
    return app
