"""The mock's CORS middleware answers exactly as Starlette's does, only faster without Origin."""

from __future__ import annotations

import httpx
import pytest
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.middleware.cors import CORSMiddleware
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from mockplatform.cors import LocalCORSMiddleware

pytestmark = pytest.mark.anyio


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


OPTIONS = {
    "allow_origin_regex": r"^https?://(localhost|127\.0\.0\.1)(:\d+)?$",
    "allow_methods": ["GET", "POST"],
    "allow_headers": ["*"],
}


async def plain(request: Request) -> JSONResponse:
    return JSONResponse({"ok": True})


async def varies(request: Request) -> JSONResponse:
    return JSONResponse({"ok": True}, headers={"Vary": "Accept-Encoding"})


def app_with(middleware: type) -> Starlette:
    return Starlette(
        routes=[Route("/plain", plain, methods=["POST"]), Route("/varies", varies)],
        middleware=[Middleware(middleware, **OPTIONS)],
    )


@pytest.mark.parametrize(
    ("method", "path", "headers"),
    [
        ("POST", "/plain", {}),
        ("GET", "/varies", {}),
        ("POST", "/plain", {"Origin": "http://localhost:5173"}),
        ("POST", "/plain", {"Origin": "https://evil.example"}),
        ("GET", "/varies", {"Origin": "http://127.0.0.1:3000"}),
        (
            "OPTIONS",
            "/plain",
            {"Origin": "http://localhost:5173", "Access-Control-Request-Method": "POST"},
        ),
        ("GET", "/missing", {}),
    ],
)
async def test_same_answer_as_starlettes_cors(method, path, headers) -> None:
    answers = []
    for middleware in (CORSMiddleware, LocalCORSMiddleware):
        transport = httpx.ASGITransport(app=app_with(middleware))
        async with httpx.AsyncClient(transport=transport, base_url="http://mock") as client:
            response = await client.request(method, path, headers=headers)
        vary = sorted(v.strip() for v in ",".join(response.headers.get_list("vary")).split(","))
        others = {k: v for k, v in response.headers.items() if k != "vary"}
        answers.append((response.status_code, vary, others, response.content))
    assert answers[0] == answers[1]
    assert "Origin" in answers[1][1]
