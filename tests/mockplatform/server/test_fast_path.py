"""The fast path answers and journals exactly as the plain Starlette stack does.

`pipeline.Pipeline` hands the platform's operations straight to their endpoints, past
Starlette's router (`create_app(fast_path=False)` routes them through it). The same
requests (valid, each error, with `Origin` or not, `Prefer`, a scenario header, each network
fault, the redeem operation) sent to an app with it and to one without must get the same
status, headers and body, and leave the same journal entry: the shortcut may only be faster.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from hypothesis import given
from hypothesis import strategies as st
from starlette.responses import JSONResponse

from mockplatform.server._fast_path import json_response, token_response
from mockplatform.server.app import create_app
from mockplatform.server.faults import Fault
from mockplatform.server.world import DEFAULT_AGENT_ID, INACTIVE_AGENT_ID
from mockplatform.testing import serve_in_thread

TOKEN_PATH = "/api/widget/token"
REDEEM_PATH = "/api/widget/calls"
KEY = {"Authorization": "Bearer nas_test_active"}
JSON = {**KEY, "Content-Type": "application/json"}
ISSUE = {"json": {"agentId": DEFAULT_AGENT_ID, "callerName": "Rahul"}, "headers": KEY}
FAULTS = tuple(Fault)


def issue_with(**headers: str) -> dict[str, Any]:
    return {**ISSUE, "headers": {**KEY, **headers}}


REQUESTS: list[tuple[str, str, str, dict[str, Any]]] = [
    ("issued", "POST", TOKEN_PATH, ISSUE),
    ("local origin", "POST", TOKEN_PATH, issue_with(Origin="http://localhost:5173")),
    ("foreign origin", "POST", TOKEN_PATH, issue_with(Origin="https://evil.example")),
    ("no key", "POST", TOKEN_PATH, {"json": {"agentId": DEFAULT_AGENT_ID}}),
    (
        "bad key, origin",
        "POST",
        TOKEN_PATH,
        {
            "json": {"agentId": DEFAULT_AGENT_ID},
            "headers": {"Authorization": "x", "Origin": "http://127.0.0.1:3000"},
        },
    ),
    ("not json", "POST", TOKEN_PATH, {"content": b"{oops", "headers": JSON}),
    (
        "wrong type",
        "POST",
        TOKEN_PATH,
        {"content": b"{}", "headers": {**KEY, "Content-Type": "a/b"}},
    ),
    ("too large", "POST", TOKEN_PATH, {"content": b"x" * 70_000, "headers": JSON}),
    (  # no Content-Length: read until too large; the journal keeps its first 4 KB
        "too large, in chunks",
        "POST",
        TOKEN_PATH,
        {"content": [b"x" * 40_000, b"y" * 40_000], "headers": JSON},
    ),
    ("inactive", "POST", TOKEN_PATH, {"json": {"agentId": INACTIVE_AGENT_ID}, "headers": KEY}),
    (
        "cancelled",
        "POST",
        TOKEN_PATH,
        {
            "json": {"agentId": DEFAULT_AGENT_ID},
            "headers": {"Authorization": "Bearer nas_test_cancelled"},
        },
    ),
    ("prefer 500", "POST", TOKEN_PATH, issue_with(Prefer="code=500")),
    (
        "prefer 404, origin",
        "POST",
        TOKEN_PATH,
        issue_with(Prefer="code=404", Origin="http://localhost"),
    ),
    ("prefer undocumented", "POST", TOKEN_PATH, issue_with(Prefer="code=418")),
    ("scenario", "POST", TOKEN_PATH, issue_with(**{"X-Mock-Scenario": "platform-failure"})),
    ("unknown scenario", "POST", TOKEN_PATH, issue_with(**{"X-Mock-Scenario": "nope"})),
    *(
        (
            f"fault {fault}",
            "POST",
            TOKEN_PATH,
            issue_with(**{"X-Mock-Scenario": "network-faults", "X-Mock-Fault": fault}),
        )
        for fault in FAULTS
    ),
    ("redeem unknown", "POST", REDEEM_PATH, {"json": {"accessToken": "rt_test_never"}}),
    ("redeem malformed", "POST", REDEEM_PATH, {"json": {"token": 1}}),
    (  # the SDK's own call from a page: CORS applies (the token endpoint gets none)
        "redeem, origin",
        "POST",
        REDEEM_PATH,
        {"json": {"accessToken": "rt_test_never"}, "headers": {"Origin": "http://localhost:5173"}},
    ),
    ("redeem issued", "POST", REDEEM_PATH, {}),  # the body: a token issued just before
    ("wrong method", "GET", TOKEN_PATH, {"headers": KEY}),
    (
        "preflight",
        "OPTIONS",
        TOKEN_PATH,
        {
            "headers": {
                "Origin": "http://localhost:5173",
                "Access-Control-Request-Method": "POST",
            }
        },
    ),
]
RANDOM = re.compile(r"(rt|call|lk)_[\w…-]+|key=[^&\"]+|127\.0\.0\.1:\d+")


@pytest.fixture(scope="module")
def clients() -> Iterator[tuple[httpx.Client, httpx.Client]]:
    with (
        serve_in_thread(create_app()) as fast_url,
        serve_in_thread(create_app(fast_path=False)) as plain_url,
        httpx.Client(base_url=fast_url) as fast,
        httpx.Client(base_url=plain_url) as plain,
    ):
        yield fast, plain


def answer_and_entry(
    client: httpx.Client, method: str, path: str, request: dict[str, Any]
) -> tuple[Any, ...]:
    if path == REDEEM_PATH and not request:
        token = client.post(TOKEN_PATH, **ISSUE).json()["accessToken"]
        request = {"json": {"accessToken": token}}
    try:
        response = client.request(method, path, **request)
        answer: tuple[Any, ...] = (
            response.status_code,
            sorted((k, v) for k, v in response.headers.items() if k != "date"),
            RANDOM.sub("~", response.text),
        )
    except httpx.TransportError as exc:
        answer = (type(exc).__name__,)
    requests = client.get("/_mock/requests").json()["requests"]
    entry = requests[0] if requests else None
    if entry is not None:
        for name in ("id", "time", "durationMs"):
            entry.pop(name)
        entry["headers"].pop("host")  # the two servers' ports
        entry = RANDOM.sub("~", repr(entry))
    return answer, entry


@pytest.mark.parametrize(
    ("name", "method", "path", "request_args"), REQUESTS, ids=[name for name, *_ in REQUESTS]
)
def test_the_fast_path_answers_and_journals_as_starlette_does(
    clients: tuple[httpx.Client, httpx.Client],
    name: str,
    method: str,
    path: str,
    request_args: dict[str, Any],
) -> None:
    fast, plain = clients
    assert answer_and_entry(fast, method, path, request_args) == answer_and_entry(
        plain, method, path, request_args
    )


def test_a_browser_request_gets_starlettes_cors(clients: tuple[httpx.Client, httpx.Client]) -> None:
    """On the SDK's own call (the redeem); the token endpoint answers no page (cors.py)."""
    fast, _ = clients
    origin = {"Origin": "http://localhost:5173"}
    response = fast.post(REDEEM_PATH, json={"accessToken": "rt_test_never"}, headers=origin)
    assert response.status_code == 401
    assert response.headers["access-control-allow-origin"] == "http://localhost:5173"
    assert response.headers["vary"] == "Origin"
    token = fast.post(TOKEN_PATH, **issue_with(**origin))
    assert token.status_code == 200
    assert "access-control-allow-origin" not in token.headers
    assert token.headers["vary"] == "Origin"


def test_the_lifespan_runs() -> None:
    """Starlette's lifespan is reached (uvicorn no longer reports it unsupported)."""
    messages = [{"type": "lifespan.startup"}, {"type": "lifespan.shutdown"}]
    sent: list[str] = []

    async def receive() -> dict[str, Any]:
        return messages.pop(0)

    async def send(message: dict[str, Any]) -> None:
        sent.append(message["type"])

    scope = {"type": "lifespan", "asgi": {"version": "3.0"}, "state": {}}
    asyncio.run(create_app()(scope, receive, send))
    assert sent == ["lifespan.startup.complete", "lifespan.shutdown.complete"]


CONTENTS = [
    {"accessToken": "rt_test_abc", "callId": "call_0123", "agentName": "Ava"},
    {"agentName": 'Zoë «Ж» \u2028 "quoted" \\ \n\t'},
    {
        "error": "Invalid request",
        "detail": None,
        "n": [1, 2.5, True, False, {}],
        "nested": {"a": []},
    },
    {},
    {"emoji": "\U0001f600", "big": 10**30},
]


@pytest.mark.parametrize("content", CONTENTS)
@pytest.mark.parametrize("status", [200, 201, 400, 404])
def test_json_response_is_starlettes(content: Any, status: int) -> None:
    fast, plain = json_response(content, status), JSONResponse(content, status)
    assert (fast.status_code, fast.raw_headers, fast.body) == (
        plain.status_code,
        plain.raw_headers,
        plain.body,
    )


def test_json_response_refuses_what_starlette_refuses() -> None:
    with pytest.raises(ValueError):
        JSONResponse({"x": float("nan")})
    with pytest.raises(ValueError):
        json_response({"x": float("nan")})


IDENTIFIER = st.from_regex(r"[A-Za-z0-9_-]*", fullmatch=True)  # tokens.py's (test_tokens.py)


@given(IDENTIFIER, IDENTIFIER, st.text())
def test_token_response_is_starlettes(access_token: str, call_id: str, agent_name: str) -> None:
    content = {"accessToken": access_token, "callId": call_id, "agentName": agent_name}
    try:
        plain = JSONResponse(content)
    except UnicodeEncodeError:  # a lone surrogate: neither can send it
        with pytest.raises(UnicodeEncodeError):
            token_response(access_token, call_id, agent_name)
        return
    fast = token_response(access_token, call_id, agent_name)
    assert (fast.status_code, fast.raw_headers, fast.body) == (
        plain.status_code,
        plain.raw_headers,
        plain.body,
    )
