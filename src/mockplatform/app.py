"""Assembling the mock: the platform's routes, the control API, and the middleware around them."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Mount, Route
from starlette.types import Receive, Scope, Send

from mockplatform import control, demo, live_call
from mockplatform.cors import ORIGIN, LocalCORSMiddleware
from mockplatform.errors import ConfigError, Rejection
from mockplatform.faults import RAW_SEND
from mockplatform.headers import header_dict
from mockplatform.intake import DEFAULT_MAX_BODY_BYTES
from mockplatform.journal import Journal, JournalMiddleware
from mockplatform.lane import PlatformLane
from mockplatform.platform import (
    CREATE_TOKEN,
    REDEEM_TOKEN,
    Platform,
    PlatformEndpoint,
    create_widget_token,
    platform_of,
    redeem_widget_token,
    render_rejection,
)
from mockplatform.scenario_library import DEFAULT_SCENARIO, build_library, resolve_startup
from mockplatform.scenarios import CallScript
from mockplatform.spec import Spec, load_spec
from mockplatform.store import MemoryStore, Store
from mockplatform.store_guard import StoreGuard
from mockplatform.world import World, default_world

LOCAL_ORIGINS = r"https?://(localhost|127\.0\.0\.1|\[::1\])(:\d+)?"


@dataclass(frozen=True)
class Settings:
    spec_path: Path | None = None
    admin_token: str | None = None
    cors_origins: Sequence[str] = ()  # besides any localhost origin, which is always allowed
    max_body_bytes: int = DEFAULT_MAX_BODY_BYTES
    call_script: CallScript | None = None  # overrides every scenario's `call:` (tests, demos)
    call_pace_ms: int | None = None  # overrides only the pace of every call (serve --call-pace-ms)
    scenario: str = DEFAULT_SCENARIO  # a name, or a path to a scenario file
    scenarios_dirs: Sequence[Path] = ()  # a team's own scenarios, besides the shipped ones
    reload_interval: float = 1.0  # seconds between checks for edited scenario files


class MockApp(Starlette):
    """Starlette, with a short lane for the platform's own operations.

    A request to one of openapi.yaml's operations without `Origin` takes its `PlatformLane`
    (see lane.py). Everything else (a browser's request, the control API, the demo, a wrong
    method on a platform path) goes through Starlette and the middleware below as usual.

    The server's own `send` is kept in the scope for the network faults.
    """

    def __init__(self, *, lanes: Mapping[tuple[str, str], PlatformLane], **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.lanes = lanes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        scope[RAW_SEND] = send
        try:
            lane = self.lanes.get((scope.get("method"), scope["path"]))
            if lane is not None and scope["type"] == "http" and not scope.get("root_path"):
                headers = header_dict(scope)
                if ORIGIN not in headers:
                    scope["app"] = self
                    await lane.serve(scope, receive, send, headers)
                    return
            await super().__call__(scope, receive, send)
        finally:
            # The server's `send` holds the scope: left in it, the pair is a reference cycle
            # (~3.5 KB a request) that only the garbage collector frees, with pauses.
            del scope[RAW_SEND]


def create_app(
    settings: Settings | None = None,
    *,
    spec: Spec | None = None,
    world: World | None = None,
    store: Store | None = None,
) -> Starlette:
    """The mock as an ASGI app; `world` is the base every scenario's world builds on."""
    settings = settings or Settings()
    spec = spec or load_spec(settings.spec_path)
    store = store if store is not None else MemoryStore()
    scenarios = build_library(
        spec,
        world or default_world(),
        scenarios_dirs=[Path(d) for d in settings.scenarios_dirs],
        reload_interval=settings.reload_interval,
    )
    platform = Platform(
        spec=spec,
        store=store,
        scenarios=scenarios,
        startup_scenario=resolve_startup(scenarios, settings.scenario).name,
        max_body_bytes=settings.max_body_bytes,
    )
    endpoints = [
        (spec.operation(CREATE_TOKEN), PlatformEndpoint(platform, create_widget_token)),
        (spec.operation(REDEEM_TOKEN), PlatformEndpoint(platform, redeem_widget_token)),
    ]
    routes = [
        *(Route(op.path, endpoint, methods=[op.method]) for op, endpoint in endpoints),
        Mount(
            "/_mock",
            routes=control.ROUTES,
            middleware=[Middleware(control.ControlGuard, admin_token=settings.admin_token)],
        ),
        *live_call.ROUTES,
        *demo.ROUTES,
    ]
    journal = Journal(store)
    origins = "|".join([LOCAL_ORIGINS, *(re.escape(o) for o in settings.cors_origins)])
    middleware = [
        Middleware(
            LocalCORSMiddleware,
            allow_origin_regex=f"^({origins})$",
            allow_methods=["GET", "POST", "PUT", "DELETE"],
            allow_headers=["*"],
        ),
        Middleware(StoreGuard),  # a failing shared store: 503 naming it (not in the spec)
        Middleware(JournalMiddleware, journal=journal),
    ]
    app = MockApp(
        routes=routes,
        middleware=middleware,
        exception_handlers={Rejection: _render_rejection, HTTPException: _render_http_error},
        lanes={(op.method, op.path): PlatformLane(endpoint, journal) for op, endpoint in endpoints},
    )
    app.state.platform = platform
    if settings.call_pace_ms is not None and settings.call_pace_ms < 0:
        raise ConfigError(f"--call-pace-ms {settings.call_pace_ms}: must be 0 or more")
    app.state.live_calls = live_call.LiveCalls(settings.call_script, settings.call_pace_ms)
    return app


async def _render_rejection(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, Rejection)
    return render_rejection(platform_of(request).spec, exc)


async def _render_http_error(request: Request, exc: Exception) -> JSONResponse:
    """Unrouted paths and methods get JSON too, keeping `Allow` on a 405."""
    assert isinstance(exc, HTTPException)
    detail = f"no route for {request.method} {request.url.path}"
    return JSONResponse(
        {"error": exc.detail, "detail": detail}, status_code=exc.status_code, headers=exc.headers
    )
