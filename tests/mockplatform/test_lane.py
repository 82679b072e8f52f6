"""The platform lane answers and journals exactly as the full Starlette stack does.

`MockApp` sends a platform request without `Origin` down its short lane (lane.py); every
other request, a browser's among them, goes through Starlette and the middleware. The same
requests sent both ways must get the same status, headers and body, and leave the same
journal entry: the lane may only be faster.
"""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from starlette.applications import Starlette
from starlette.types import Receive, Scope, Send

from mockplatform.app import MockApp, create_app
from mockplatform.faults import RAW_SEND
from mockplatform.testing import serve_in_thread
from mockplatform.world import DEFAULT_AGENT_ID, INACTIVE_AGENT_ID

KEY = {"Authorization": "Bearer nas_test_active"}
REQUESTS: list[tuple[str, dict[str, Any]]] = [
    ("issued", {"json": {"agentId": DEFAULT_AGENT_ID, "callerName": "Rahul"}, "headers": KEY}),
    ("no key", {"json": {"agentId": DEFAULT_AGENT_ID}}),
    ("bad key", {"json": {"agentId": DEFAULT_AGENT_ID}, "headers": {"Authorization": "x"}}),
    ("not json", {"content": b"{oops", "headers": {**KEY, "Content-Type": "application/json"}}),
    ("wrong type", {"content": b"{}", "headers": {**KEY, "Content-Type": "text/plain"}}),
    (
        "too large",
        {"content": b"x" * 70_000, "headers": {**KEY, "Content-Type": "application/json"}},
    ),
    (  # no Content-Length: read until too large; the journal keeps its first 4 KB
        "too large, in chunks",
        {
            "content": [b"x" * 40_000, b"y" * 40_000],
            "headers": {**KEY, "Content-Type": "application/json"},
        },
    ),
    ("inactive", {"json": {"agentId": INACTIVE_AGENT_ID}, "headers": KEY}),
    (
        "cancelled",
        {
            "json": {"agentId": DEFAULT_AGENT_ID},
            "headers": {"Authorization": "Bearer nas_test_cancelled"},
        },
    ),
    ("forced", {"json": {"agentId": DEFAULT_AGENT_ID}, "headers": {**KEY, "Prefer": "code=500"}}),
    (
        "scenario",
        {
            "json": {"agentId": DEFAULT_AGENT_ID},
            "headers": {**KEY, "X-Mock-Scenario": "platform-failure"},
        },
    ),
]
RANDOM_FIELDS = ("accessToken", "callId")


class ThroughStarlette:
    """The app entered past its lanes, as a request with `Origin` is."""

    def __init__(self, app: MockApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        scope[RAW_SEND] = send
        await Starlette.__call__(self.app, scope, receive, send)


def answer_and_entry(client: httpx.Client, request: dict[str, Any]) -> tuple[Any, ...]:
    response = client.post("/api/widget/token", **request)
    body = response.json()
    for name in RANDOM_FIELDS:
        if name in body:
            body[name] = len(body[name])
    headers = sorted(
        (k, v) for k, v in response.headers.items() if k not in ("content-length", "date")
    )
    entry = client.get("/_mock/requests").json()["requests"][0]
    for name in ("id", "time", "durationMs"):
        entry.pop(name)
    entry["headers"].pop("host")  # the two servers' ports
    return response.status_code, headers, body, entry


@pytest.mark.parametrize("name, request_args", REQUESTS, ids=[name for name, _ in REQUESTS])
def test_the_lane_answers_and_journals_as_starlette_does(
    name: str, request_args: dict[str, Any]
) -> None:
    app = create_app()
    assert isinstance(app, MockApp)
    with (
        serve_in_thread(app) as lane_url,
        serve_in_thread(ThroughStarlette(app)) as full_url,
        httpx.Client(base_url=lane_url) as lane,
        httpx.Client(base_url=full_url) as full,
    ):
        assert answer_and_entry(lane, request_args) == answer_and_entry(full, request_args)


def test_a_browser_request_takes_starlettes_cors() -> None:
    with serve_in_thread(create_app()) as url:
        response = httpx.post(
            f"{url}/api/widget/token",
            json={"agentId": DEFAULT_AGENT_ID},
            headers={**KEY, "Origin": "http://localhost:5173"},
        )
    assert response.status_code == 200
    assert response.headers["access-control-allow-origin"] == "http://localhost:5173"
    assert response.headers["vary"] == "Origin"
