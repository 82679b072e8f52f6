"""A small, independent implementation of the contract, correct unless told to break a rule.

The harness must test ANY implementation, so its tests do not only aim it at the mock: they
start this Starlette app on a free port with one `Behaviour` knob turned — a real defect the
harness must name, or a legitimate choice (extra fields, JWT tokens, 404 before 403) it must
accept without crying wolf.
"""

from __future__ import annotations

import asyncio
import base64
import hmac
import itertools
import json
import secrets
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route
from starlette.types import ASGIApp, Receive, Scope, Send

from mockplatform.core.spec import CREATE_TOKEN, Spec, documented_request_problem

ACTIVE_KEY = "fake_live_4f9a1c2e8b7d"
INACTIVE_KEY = "fake_lapsed_0b3e5d7c9a1f"  # its trial expired
CANCELLED_KEY = "fake_cancelled_7e2a4c6b8d0f"  # its subscription was cancelled
INSTANCE_ID = "3b241101-e2bb-4255-8caf-4136c566a962"
INACTIVE_AGENT_ID = "9d5ed678-fe57-4cca-a76b-c1d2b2c3e4f5"
OTHER_AGENT_ID = "1c6f0e9a-8b2d-4e5f-9a3b-7c4d2e1f0a9b"  # another customer's active agent
OTHER_INSTANCE_ID = "5e8d1a2b-3c4f-4a6b-8d9e-0f1a2b3c4d5e"  # an instance of that agent
TOKEN_INDEX = 20  # token_prefix_match: the characters of a token its index holds
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
    reuse_status: int = 409  # the status a second redeem gets
    racy_redeem: bool = False  # two redeems at once can both start the call
    never_expires: bool = False  # a redeem never checks the token's age
    instance_not_found: bool = False  # 404 for every request that names an instance
    inactive_agent_ok: bool = False  # an inactive agent gets a token
    sequential_tokens: bool = False  # rt_live_00000001, rt_live_00000002, ...
    echo_key: bool = False  # a 401 says which key the caller sent
    always_500: bool = False  # the voice platform behind it is down: 500 to everything
    any_language: bool = False  # a language outside the documented options is accepted
    key_match: str | None = None  # "starts_with": a key that begins with the key; "prefix"
    cancelled_ok: bool = False  # only an expired trial is refused; a cancelled key gets tokens
    unknown_token_404: bool = False  # a redeem answers a token it never issued 404 Not Found
    instance_unchecked: bool = False  # any instanceId is accepted, an unknown one included
    instance_crash: bool = False  # an unknown instanceId crashes the prompt enrichment: 500
    instance_lifetime: float | None = None  # a token minted for an instance lives this long
    unverified_jwt: bool = False  # (jwt) the redeem trusts the claims, never the signature
    token_prefix_match: bool = False  # the redeem finds a token by its first TOKEN_INDEX chars
    # Legitimate choices
    extra_fields: bool = False  # undocumented extra fields in every body
    jwt: bool = False  # the token is a JWT carrying iat/exp
    not_found_before_forbidden: bool = False  # unknown agent (404) before inactive key (403)
    clock: bool = True  # expose the mock's POST /_mock/clock/advance
    no_redeem: bool = False  # like a real platform: the SDK redeems out of sight
    charset: bool = False  # application/json; charset=utf-8
    shouted_media_type: bool = False  # Application/JSON (media types are case-insensitive)
    exact_bearer: bool = False  # only "Bearer" itself (else the scheme in any case, RFC 7235)
    any_instance: bool = False  # an instance of another agent is accepted (an unknown is not)
    documented_only: bool = False  # callerName is any string: no length or character limit
    null_as_absent: bool = False  # {"language": null} is read as no language
    unprocessable: bool = False  # 422 with a body of its own for an invalid request, not 400
    size_as_400: bool = False  # an oversized body gets 400, not 413
    throttle_every: int = 0  # a gateway answers every Nth request 429 (Retry-After: 0)
    throttle_forever: bool = False  # a gateway answers 429 with Retry-After: 3600 to all
    gateway_header: str | None = None  # a gateway lets through only requests with this header
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
    calls: dict[str, _Token] = field(default_factory=dict)  # the same tokens, by call id
    offset: float = 0.0
    inactive_agents: set[str] = field(default_factory=lambda: {INACTIVE_AGENT_ID})
    instances: dict[str, str] = field(default_factory=dict)  # instance -> its agent
    counter: itertools.count = field(default_factory=lambda: itertools.count(1))
    sent: int = 0  # requests received, whatever the route

    def now(self) -> float:
        return time.time() + self.offset

    def json(self, body: Any, status: int = 200) -> JSONResponse:
        media = "application/json; charset=utf-8" if self.behaviour.charset else None
        media = "Application/JSON" if self.behaviour.shouted_media_type else media
        headers = {"X-Request-Id": secrets.token_hex(6)} if self.behaviour.extra_fields else None
        return JSONResponse(body, status, headers=headers, media_type=media)

    def error(self, operation_id: str, status: int, **extra: str) -> Response:
        if "content" not in self.spec.operation(operation_id).responses[status]:
            return Response(status_code=status)  # documented without a body: none is sent
        body: dict[str, Any] = self.spec.error_body(operation_id, status, **extra)
        if self.behaviour.extra_fields:
            body["requestId"] = secrets.token_hex(6)
        return self.json(body, status)

    def invalid(self, operation_id: str, field: str, detail: str) -> Response:
        if self.behaviour.unprocessable:
            return self.json({"message": "validation failed", "errors": [detail]}, 422)
        return self.error(operation_id, 400, field=field, detail=detail)

    async def read(self, request: Request, operation_id: str) -> Any:
        """The validated JSON body, or the documented 413 / 415 / 400 response."""
        b = self.behaviour
        media = request.headers.get("content-type", "").split(";")[0].strip()
        if media != "application/json":
            return self.error(operation_id, 415)
        raw = await request.body()
        if len(raw) > MAX_BODY:
            if b.size_as_400:
                return self.invalid(operation_id, "", "the body is too large")
            return self.error(operation_id, 413)
        try:
            body = json.loads(raw)
        except ValueError:
            return self.invalid(operation_id, "", "not JSON")
        if b.any_language and isinstance(body, dict) and isinstance(body.get("language"), str):
            body = {**body, "language": "en"}
        if b.null_as_absent and isinstance(body, dict):
            body = {name: value for name, value in body.items() if value is not None}
        operation = self.spec.operation(operation_id)
        if b.documented_only:
            invalid = documented_request_problem(operation, self.spec, body)
        else:
            invalid = operation.validate_request(body)
        if invalid is not None:
            return self.invalid(operation_id, invalid.field, invalid.detail)
        return body

    def key_status(self, request: Request) -> int | None:
        """None for the active key, 403 for the inactive one, 401 for anything else."""
        header = request.headers.get("authorization")
        if header is None:
            return None if self.behaviour.keyless else 401
        scheme, _, key = header.partition(" ")
        if scheme.lower() != "bearer" or (self.behaviour.exact_bearer and scheme != "Bearer"):
            return 401
        key = key.strip()
        if hmac.compare_digest(key.encode(), ACTIVE_KEY.encode()):
            return None
        if self.behaviour.key_match == "starts_with" and key.startswith(ACTIVE_KEY):
            return None
        if self.behaviour.key_match == "prefix" and key and ACTIVE_KEY.startswith(key):
            return None
        if hmac.compare_digest(key.encode(), INACTIVE_KEY.encode()):
            return 403
        if hmac.compare_digest(key.encode(), CANCELLED_KEY.encode()):
            return None if self.behaviour.cancelled_ok else 403
        return 401

    async def gateway(self, request: Request) -> JSONResponse | None:
        """A rate-limiting gateway in front of the platform."""
        b = self.behaviour
        if b.gateway_header and request.headers.get(b.gateway_header) != "open-sesame":
            return JSONResponse({"message": "gateway: who are you?"}, 407)
        if b.throttle_forever:
            return JSONResponse({"message": "slow down"}, 429, headers={"Retry-After": "3600"})
        if b.throttle_every and next(self.counter) % b.throttle_every == 0:
            return JSONResponse({"message": "slow down"}, 429, headers={"Retry-After": "0"})
        return None

    async def create_token(self, request: Request) -> Response:
        op, b = CREATE_TOKEN, self.behaviour
        throttled = await self.gateway(request)
        if throttled is not None:
            return throttled
        if b.always_500:
            return self.error(op, 500)
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
            if b.echo_key:
                sent = request.headers.get("authorization", "").partition(" ")[2]
                return self.error(op, 401, detail=f"no account has the key {sent}")
            return self.error(op, 401)
        body = await self.read(request, op)
        if isinstance(body, Response):
            return body
        agent = body["agentId"]
        known = (
            agent in self.agents
            or b.any_agent
            or (b.inactive_agent_ok and agent in self.inactive_agents)
        )
        if key == 403 and (known or not b.not_found_before_forbidden):
            return self.error(op, 403)
        if not known:
            return self.error(op, 404)
        instance = body.get("instanceId")
        owner = self.instances.get(instance)
        if instance is not None and owner is None and b.instance_crash:
            return self.error(op, 500)
        known_instance = b.instance_unchecked or owner == agent or (b.any_instance and owner)
        if instance is not None and (b.instance_not_found or not known_instance):
            return self.error(op, 404, detail="no such instance")
        if b.unicode_crash and not body.get("callerName", "").isascii():
            return JSONResponse({"error": "Voice platform error"}, 500)
        if b.hangup_language and body.get("language") == b.hangup_language:
            return StreamingResponse(_hang_up(), media_type="application/json")
        agent_name = self.agents.get(body["agentId"], "Any Agent")
        issued_at = self.now()
        lifetime = b.lifetime if b.lifetime is not None else self.spec.token_lifetime_seconds
        if instance is not None and b.instance_lifetime is not None:
            lifetime = b.instance_lifetime
        call_id = f"call_{secrets.token_hex(12)}"
        token = self.new_token(issued_at, lifetime, call_id)
        self.tokens[token] = self.calls[call_id] = _Token(call_id, agent_name, issued_at + lifetime)
        payload: dict[str, Any] = {"accessToken": token, "callId": call_id, "agentName": agent_name}
        if b.drop_field:
            payload.pop(b.drop_field)
        if b.extra_fields:
            payload |= {"expiresIn": lifetime, "region": "ap-south-1"}
        return self.json(payload)

    def new_token(self, issued_at: float, lifetime: float, call_id: str) -> str:
        if self.behaviour.fixed_token:
            return "rt_live_fixed_token_for_everyone"
        if self.behaviour.sequential_tokens:
            return f"rt_live_{next(self.counter):08d}"
        if not self.behaviour.jwt:
            return f"rt_live_{secrets.token_urlsafe(24)}"
        header = _b64({"alg": "HS256", "typ": "JWT"})
        expires = int(issued_at + lifetime)
        claims = _b64({"iat": int(issued_at), "exp": expires, "sub": call_id})
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

    async def redeem(self, request: Request) -> Response:
        op = "redeemWidgetToken"
        throttled = await self.gateway(request)
        if throttled is not None:
            return throttled
        if self.behaviour.failure_message:
            preferred = self.preferred(request, op)
            if preferred is not None:
                return preferred
        body = await self.read(request, op)
        if isinstance(body, Response):
            return body
        b = self.behaviour
        token = self.find(body["accessToken"])
        if token is None:
            if b.unknown_token_404:
                return JSONResponse({"message": "Not Found"}, 404)
            return self.error(op, 401, example="unknown")
        if self.now() >= token.expires_at and not b.never_expires:
            return self.error(op, 401, example="expired")
        if token.used and not b.reusable:
            if b.reuse_status == 409:
                return self.error(op, 409)
            return self.error(op, b.reuse_status, example="unknown")
        if b.racy_redeem:
            await asyncio.sleep(0.2)  # looks the token up, then marks it: a race
        token.used = True
        payload: dict[str, Any] = {
            "callId": token.call_id,
            "agentName": token.agent_name,
            "status": "started",
        }
        if self.behaviour.extra_fields:
            payload["sdkSession"] = secrets.token_hex(8)
        return self.json(payload, 201)

    def find(self, sent: str) -> _Token | None:
        """The token a redeem names: looked up as issued, unless a defect says otherwise."""
        b = self.behaviour
        if b.unverified_jwt:
            parts = sent.split(".")
            try:
                claims = json.loads(base64.urlsafe_b64decode(parts[1] + "=" * (-len(parts[1]) % 4)))
            except (IndexError, ValueError):
                return None
            token = self.calls.get(claims.get("sub", "")) if isinstance(claims, dict) else None
            if token is not None and isinstance(claims.get("exp"), int):
                token.expires_at = claims["exp"]  # what the token says is taken as true
            return token
        if b.token_prefix_match:
            return next(
                (t for key, t in self.tokens.items() if key[:TOKEN_INDEX] == sent[:TOKEN_INDEX]),
                None,
            )
        return self.tokens.get(sent)

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
    # Its own instance, and the spec example's (which schemathesis's examples phase sends).
    example = spec.operation(CREATE_TOKEN).document["requestBody"]["content"]["application/json"]
    instances = {
        INSTANCE_ID: agent_id,
        example["example"]["instanceId"]: agent_id,
        OTHER_INSTANCE_ID: OTHER_AGENT_ID,
    }
    agents = {agent_id: "Front Desk Agent", OTHER_AGENT_ID: "Another Customer's Agent"}
    platform = FakePlatform(spec, behaviour, agents=agents, instances=instances)
    create, redeem = spec.operation("createWidgetToken"), spec.operation("redeemWidgetToken")
    routes = [Route(create.path, platform.create_token, methods=[create.method])]
    if not behaviour.no_redeem:
        routes.append(Route(redeem.path, platform.redeem, methods=[redeem.method]))
    if behaviour.failure_message:
        routes.append(Route("/_mock/", platform.control_index, methods=["GET"]))
        routes.append(Route("/_mock/scenarios", platform.scenarios, methods=["GET"]))
    if behaviour.clock:
        routes.append(Route("/_mock/clock/advance", platform.advance, methods=["POST"]))
    app = Starlette(routes=routes, middleware=[Middleware(_Counted, platform=platform)])
    app.state.platform = platform
    return app


class _Counted:
    """Counts every HTTP request the fake receives: what the harness really sent."""

    def __init__(self, app: ASGIApp, platform: FakePlatform) -> None:
        self.app, self.platform = app, platform

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            self.platform.sent += 1
        await self.app(scope, receive, send)
