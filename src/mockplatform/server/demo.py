"""The browser side the mock serves: the SDK stand-in (a module, an npm package, its types),
the demo page, and its "backend".

`POST /demo/start-call` stands in for the customer's own backend route (the seed's Next.js
example): it asks the mock's token endpoint for a token with a test key and passes the answer
on. It goes through the whole app in-process (httpx's ASGI transport), so the request is
validated, journaled and subject to the active scenario exactly like one from a real backend,
and no Host header sent by a browser can make the mock send a key anywhere else. Its own
body is read by the platform's intake (`intake.read_json_body`), so whatever the page sends
gets the token endpoint's 400, 413 or 415, never a 5xx.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from starlette.requests import Request
from starlette.responses import FileResponse, JSONResponse, Response
from starlette.routing import BaseRoute, Mount, Route
from starlette.staticfiles import StaticFiles

from mockplatform.core.headers import header_dict
from mockplatform.core.spec import Invalid
from mockplatform.server.intake import read_json_body
from mockplatform.server.platform import CREATE_TOKEN, SCENARIO_HEADER, platform_of
from mockplatform.server.sdk_package import (
    STATIC_DIR,
    TARBALL_PATH,
    TYPES_SOURCE,
    client_source,
    package_tarball,
    platform_errors,
)
from mockplatform.server.world import DEFAULT_AGENT_ID, DEFAULT_API_KEY, LANGUAGE_NAMES

# What the page may ask its "backend" to put in the token request; everything else is dropped.
TOKEN_FIELDS = ("agentId", "instanceId", "language", "callerName")
API_KEY_FIELD = "apiKey"
NO_CACHE = {"Cache-Control": "no-cache"}


@dataclass(frozen=True)
class StartCallBody:
    """The demo backend's body, as the intake reads it (`intake.BodyRule`): an object whose
    fields it uses are text or null; a rejection takes the token endpoint's error shape.
    What the token request itself allows is the token endpoint's to say."""

    operation_id: str = CREATE_TOKEN
    request_defaults: Mapping[str, Any] = field(default_factory=dict)

    def validate_request(self, body: Any) -> Invalid | None:
        if not isinstance(body, dict):
            return Invalid("", 'send a JSON object like {"callerName": "Rahul"}')
        for name in (*TOKEN_FIELDS, API_KEY_FIELD):
            value = body.get(name)
            if value is not None and not isinstance(value, str):
                return Invalid(name, f"{name} must be a string")
        key = body.get(API_KEY_FIELD)
        if key is not None and not (key.isascii() and key.isprintable()):
            return Invalid(API_KEY_FIELD, "an API key is printable ASCII")
        return None


START_CALL_BODY = StartCallBody()


async def index(request: Request) -> Response:
    return FileResponse(STATIC_DIR / "index.html", headers=NO_CACHE)


async def voice_client(request: Request) -> Response:
    """The SDK stand-in: a plain ES module, imported by URL (CORS allows local origins); the
    same file the npm package holds (sdk_package.py)."""
    source = client_source(platform_errors(platform_of(request).spec))
    return Response(source, media_type="text/javascript", headers=NO_CACHE)


async def voice_client_types(request: Request) -> Response:
    return FileResponse(TYPES_SOURCE, media_type="application/typescript", headers=NO_CACHE)


async def sdk_tarball(request: Request) -> Response:
    """The npm package: the same bytes at whatever address it is fetched (the lockfile's
    integrity holds for every teammate); where the mock is comes at run time."""
    return Response(
        package_tarball(platform_errors(platform_of(request).spec)),
        media_type="application/gzip",
        headers=NO_CACHE,
    )


async def favicon(request: Request) -> Response:
    """No icon, and no 404 in the browser's console for it."""
    return Response(status_code=204)


async def config(request: Request) -> JSONResponse:
    """What the page offers to pick from: the default agent's instances, keys, languages."""
    platform = platform_of(request)
    world, spec = platform.world, platform.spec
    languages = (
        spec.document.get("components", {})
        .get("schemas", {})
        .get("TokenRequest", {})
        .get("properties", {})
        .get("language", {})
        .get("enum", list(LANGUAGE_NAMES))
    )
    return JSONResponse(
        {
            "agentId": DEFAULT_AGENT_ID,
            "agentName": world.agents[DEFAULT_AGENT_ID].name,
            "instances": [
                {"id": instance.id, "companyName": instance.company_name}
                for instance in world.instances.values()
                if instance.agent_id == DEFAULT_AGENT_ID
            ],
            "apiKeys": [
                {"apiKey": account.api_key, "subscription": str(account.subscription)}
                for account in world.accounts
            ],
            "defaultApiKey": DEFAULT_API_KEY,
            "languages": [
                {"code": code, "name": LANGUAGE_NAMES.get(code, code)} for code in languages
            ],
            "tokenLifetimeSeconds": spec.token_lifetime_seconds,
        }
    )


async def start_call(request: Request) -> JSONResponse:
    """The customer's backend: get a token for the caller, answer with the mock's response."""
    platform = platform_of(request)
    received = header_dict(request.scope)
    asked = await read_json_body(
        received, request.receive, START_CALL_BODY, platform.max_body_bytes, []
    )
    payload: dict[str, Any] = {"agentId": DEFAULT_AGENT_ID}
    payload |= {name: asked[name] for name in TOKEN_FIELDS if asked.get(name) not in (None, "")}
    api_key = asked.get(API_KEY_FIELD) or DEFAULT_API_KEY
    headers = {b"authorization": f"Bearer {api_key}".encode()}
    if SCENARIO_HEADER in received:  # as the bytes it came as: any latin-1 value passes
        headers[SCENARIO_HEADER] = received[SCENARIO_HEADER]
    path = platform.spec.operation(CREATE_TOKEN).path
    import httpx  # here, not at start-up: only the demo needs it, and it is slow to import

    transport = httpx.ASGITransport(
        app=request.app, raise_app_exceptions=False, client=("127.0.0.1", 0)
    )
    try:
        async with httpx.AsyncClient(transport=transport, base_url="http://mock") as client:
            response = await client.post(path, json=payload, headers=headers)
        body = response.json()
    except (httpx.HTTPError, ValueError) as exc:
        detail = f"the token endpoint gave no JSON answer: {exc or type(exc).__name__}"
        return JSONResponse({"error": "Token request failed", "detail": detail}, 502)
    return JSONResponse(body, status_code=response.status_code)


ROUTES: list[BaseRoute] = [
    Route("/", index, methods=["GET"]),
    Route("/sdk/voice-client.js", voice_client, methods=["GET"]),
    Route("/sdk/voice-client.d.ts", voice_client_types, methods=["GET"]),
    Route(TARBALL_PATH, sdk_tarball, methods=["GET"]),
    Route("/favicon.ico", favicon, methods=["GET"]),
    Route("/demo/config", config, methods=["GET"]),
    Route("/demo/start-call", start_call, methods=["POST"]),
    Mount("/static", StaticFiles(directory=STATIC_DIR), name="static"),
]
