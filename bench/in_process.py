"""A token request's cost in one process, with no server or load generator between.

`python -m bench.in_process`: the app called directly (`app(scope, receive, send)`), best of
7 x 3,000 requests after 3,000 to warm up; the bare Starlette endpoint (`bench.bare`) the
same way, beside it. To compare two trees in one session, alternate
`PYTHONPATH=<tree>/src python -m bench.in_process` between them: on a shared machine the
server figures of `make bench` swing more than the change being measured.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from typing import Any

from starlette.types import ASGIApp

from mockplatform import create_app

BODY = json.dumps(
    {"agentId": "550e8400-e29b-41d4-a716-446655440000", "callerName": "Rahul Sharma"}
).encode()
HEADERS = [
    (b"host", b"127.0.0.1:8080"),
    (b"authorization", b"Bearer nas_test_active"),
    (b"content-type", b"application/json"),
    (b"content-length", str(len(BODY)).encode()),
]


def token_scope() -> dict[str, Any]:
    return {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "POST",
        "scheme": "http",
        "path": "/api/widget/token",
        "raw_path": b"/api/widget/token",
        "query_string": b"",
        "root_path": "",
        "headers": list(HEADERS),
        "client": ("127.0.0.1", 5555),
        "server": ("127.0.0.1", 8080),
        "state": {},
    }


async def measure(rounds: int = 7, requests: int = 3000, app: ASGIApp | None = None) -> float:
    """Seconds per token request, the best round's (to the mock, or to `app`)."""
    app = app or create_app()
    statuses: set[int] = set()

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": BODY, "more_body": False}

    async def send(message: dict[str, Any]) -> None:
        if message["type"] == "http.response.start":
            statuses.add(message["status"])

    async def batch() -> None:
        for index in range(requests):
            await app(token_scope(), receive, send)
            if index % 50 == 0:  # let the log's batches go out, as on a server
                await asyncio.sleep(0)

    await batch()
    best = float("inf")
    for _ in range(rounds):
        started = time.perf_counter()
        await batch()
        best = min(best, (time.perf_counter() - started) / requests)
    if statuses != {200}:
        raise SystemExit(f"bench.in_process: the token request answered {sorted(statuses)}")
    return best


def main() -> None:
    from bench.bare import app as bare

    logging.disable(logging.CRITICAL)
    mock, bare_seconds = asyncio.run(measure()), asyncio.run(measure(app=bare))
    print(
        f"{mock * 1e6:.1f} us per token request (in process; the bare endpoint "
        f"{bare_seconds * 1e6:.1f} us)"
    )


if __name__ == "__main__":
    main()
