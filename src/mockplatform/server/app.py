"""Assembling the mock: the platform's routes, the control API, and the one pipeline in front."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Mount, Route
from starlette.types import ASGIApp, Receive, Scope, Send

from mockplatform.core.errors import ConfigError, Rejection, StoreUnavailable
from mockplatform.core.origins import LOCAL_ORIGINS, ControlGuard
from mockplatform.core.spec import Spec, load_spec
from mockplatform.server import control, demo, docs_page, live_call
from mockplatform.server.cors import PageCORS
from mockplatform.server.intake import DEFAULT_MAX_BODY_BYTES
from mockplatform.server.journal import Journal
from mockplatform.server.pipeline import Endpoint, Pipeline
from mockplatform.server.platform import (
    CREATE_TOKEN,
    REDEEM_TOKEN,
    Platform,
    PlatformEndpoint,
    create_widget_token,
    platform_of,
    redeem_widget_token,
    render_rejection,
)
from mockplatform.server.scenario_library import DEFAULT_SCENARIO, build_library, resolve_startup
from mockplatform.server.scenarios import CallScript
from mockplatform.server.store import MemoryStore, Store
from mockplatform.server.store_guard import render_unavailable
from mockplatform.server.world import World, default_world


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


class MockApp(Pipeline, Starlette):
    """Starlette behind the one pipeline (pipeline.py), which is its `__call__`."""

    def stack(self) -> ASGIApp:
        if self.middleware_stack is None:  # built at the first request, as Starlette does
            self.middleware_stack = self.build_middleware_stack()
        return self.middleware_stack


def create_app(
    settings: Settings | None = None,
    *,
    spec: Spec | None = None,
    world: World | None = None,
    store: Store | None = None,
    fast_path: bool = True,
) -> Starlette:
    """The mock as an ASGI app; `world` is the base every scenario's world builds on.

    `fast_path=False` routes the platform's operations through Starlette's router too,
    instead of straight to their endpoints (the differential test compares the two).
    """
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
            middleware=[Middleware(ControlGuard, admin_token=settings.admin_token)],
        ),
        *live_call.ROUTES,
        *demo.ROUTES,
        *docs_page.ROUTES,
    ]
    journal = Journal(store)
    origins = "|".join([LOCAL_ORIGINS, *(re.escape(o) for o in settings.cors_origins)])
    cors: dict[str, Any] = {
        "allow_origin_regex": f"^({origins})$",
        "allow_methods": ["GET", "POST", "PUT", "DELETE"],
        "allow_headers": ["*"],
        # The key stays on the server: no web page may call the token endpoint.
        "server_only_paths": frozenset({spec.operation(CREATE_TOKEN).path}),
    }
    routed: dict[tuple[str, str], Endpoint] = {}
    if fast_path:
        routed = {(op.method, op.path): endpoint for op, endpoint in endpoints}
    app = MockApp(
        lifespan=_closing(store),
        routes=routes,
        exception_handlers={
            Rejection: _render_rejection,
            HTTPException: _render_http_error,
            StoreUnavailable: render_unavailable,  # a failing shared store: 503 naming it
            **control.EXCEPTION_HANDLERS,
        },
        endpoints=routed,
        cors=PageCORS(_no_app, **cors),
        journal=journal,
    )
    app.state.platform = platform
    if settings.call_pace_ms is not None and settings.call_pace_ms < 0:
        raise ConfigError(f"--call-pace-ms {settings.call_pace_ms}: must be 0 or more")
    app.state.live_calls = live_call.LiveCalls(settings.call_script, settings.call_pace_ms)
    return app


def _closing(store: Store) -> Callable[[Starlette], AbstractAsyncContextManager[None]]:
    """A lifespan that closes the store's connections (a Redis pool) when the server stops,
    in the event loop that opened them."""

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        yield
        close = getattr(store, "aclose", None)
        if close is not None:
            await close()

    return lifespan


async def _render_rejection(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, Rejection)
    return render_rejection(platform_of(request).spec, exc)


async def _render_http_error(request: Request, exc: Exception) -> JSONResponse:
    """Unrouted paths and methods get JSON too, keeping `Allow` on a 405."""
    assert isinstance(exc, HTTPException)
    detail = f"no route for {request.method} {request.url.path}"
    return JSONResponse(
        {"error": exc.detail, "detail": detail}, status_code=exc.status_code, headers=exc.headers
    )


async def _no_app(scope: Scope, receive: Receive, send: Send) -> None:
    """What the pipeline's CORS wraps: nothing (it uses only its preflight and `send`)."""
    raise AssertionError("the pipeline applies CORS itself")
