"""The control API under `/_mock/`: the clock, the call log, the request journal, reset.

It changes what the mock believes, so it answers only the local machine unless an admin
token is configured, and then only callers that send it (`X-Mock-Admin-Token`).
"""

from __future__ import annotations

import hmac
import ipaddress
import math

from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route
from starlette.types import ASGIApp, Receive, Scope, Send

from mockplatform.platform import platform_of

ADMIN_TOKEN_HEADER = "x-mock-admin-token"
DEFAULT_LIMIT = 100


class ControlGuard:
    """Refuse control requests from anywhere but loopback, unless they carry the admin token."""

    def __init__(self, app: ASGIApp, admin_token: str | None) -> None:
        self.app = app
        self.admin_token = admin_token

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or self._allowed(scope):
            await self.app(scope, receive, send)
            return
        detail = (
            "send the admin token in X-Mock-Admin-Token"
            if self.admin_token
            else "the control API answers only loopback callers; start the mock with "
            "--admin-token to allow others"
        )
        response = JSONResponse({"error": "Control API access denied", "detail": detail}, 403)
        await response(scope, receive, send)

    def _allowed(self, scope: Scope) -> bool:
        if is_loopback(scope.get("client")):
            return True
        if not self.admin_token:
            return False
        sent = dict(scope["headers"]).get(ADMIN_TOKEN_HEADER.encode(), b"")
        return hmac.compare_digest(sent, self.admin_token.encode())


def is_loopback(client: tuple[str, int] | None) -> bool:
    if client is None:
        return False
    try:
        return ipaddress.ip_address(client[0]).is_loopback
    except ValueError:
        return False


def _error(message: str, status: int, detail: str) -> JSONResponse:
    return JSONResponse({"error": message, "detail": detail}, status_code=status)


def _limit(request: Request) -> int:
    raw = request.query_params.get("limit", "")
    return int(raw) if raw.isdigit() else DEFAULT_LIMIT


async def index(request: Request) -> JSONResponse:
    return JSONResponse(
        {
            "endpoints": [
                f"{', '.join(sorted(route.methods or []))} /_mock{route.path}"
                for route in ROUTES
                if isinstance(route, Route)
            ]
        }
    )


async def world(request: Request) -> JSONResponse:
    return JSONResponse((await platform_of(request).active_scenario()).world.describe())


async def clock(request: Request) -> JSONResponse:
    store = platform_of(request).store
    return JSONResponse({"now": await store.now(), "offsetSeconds": await store.clock_offset()})


async def advance_clock(request: Request) -> JSONResponse:
    try:
        body = await request.json()
    except ValueError:
        return _error("Invalid request", 400, 'send JSON like {"seconds": 61}')
    seconds = body.get("seconds") if isinstance(body, dict) else None
    valid = isinstance(seconds, int | float) and not isinstance(seconds, bool)
    if not valid or not math.isfinite(seconds) or seconds < 0:
        return _error("Invalid request", 400, "seconds: must be a number of seconds >= 0")
    await platform_of(request).store.advance_clock(float(seconds))
    return await clock(request)


async def calls(request: Request) -> JSONResponse:
    records = await platform_of(request).store.list_calls(_limit(request))
    return JSONResponse({"calls": [record.to_json() for record in records]})


async def call(request: Request) -> JSONResponse:
    call_id = request.path_params["call_id"]
    record = await platform_of(request).store.get_call(call_id)
    if record is None:
        return _error("Call not found", 404, f"no call {call_id} in the call log")
    return JSONResponse(record.to_json())


async def requests(request: Request) -> JSONResponse:
    entries = await platform_of(request).store.list_requests(_limit(request))
    return JSONResponse({"requests": entries})


async def reset(request: Request) -> JSONResponse:
    await platform_of(request).store.reset()
    return JSONResponse({"reset": True})


async def scenarios(request: Request) -> JSONResponse:
    library = platform_of(request).scenarios
    library.refresh()
    return JSONResponse({"scenarios": [s.describe() for s in library.all()]})


async def scenario(request: Request) -> JSONResponse:
    platform = platform_of(request)
    platform.scenarios.refresh()
    return JSONResponse((await platform.active_scenario()).describe())


async def switch_scenario(request: Request) -> JSONResponse:
    platform = platform_of(request)
    try:
        body = await request.json()
    except ValueError:
        body = None
    name = body.get("name") if isinstance(body, dict) else None
    if not isinstance(name, str):
        return _error("Invalid request", 400, 'send JSON like {"name": "platform-failure"}')
    platform.scenarios.refresh()
    if platform.scenarios.get(name) is None:
        known = ", ".join(sorted(s.name for s in platform.scenarios.all()))
        return _error("Scenario not found", 404, f"no scenario named {name!r} (known: {known})")
    await platform.store.set_scenario(name)
    return await scenario(request)


ROUTES = [
    Route("/", index, methods=["GET"]),
    Route("/world", world, methods=["GET"]),
    Route("/clock", clock, methods=["GET"]),
    Route("/clock/advance", advance_clock, methods=["POST"]),
    Route("/calls", calls, methods=["GET"]),
    Route("/calls/{call_id}", call, methods=["GET"]),
    Route("/requests", requests, methods=["GET"]),
    Route("/reset", reset, methods=["POST"]),
    Route("/scenarios", scenarios, methods=["GET"]),
    Route("/scenario", scenario, methods=["GET"]),
    Route("/scenario", switch_scenario, methods=["PUT"]),
]
