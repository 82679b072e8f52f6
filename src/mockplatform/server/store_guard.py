"""When the shared store fails mid-run: a 503 that names it, instead of a 500 or a hang.

A Redis outage is a failure of the mock, not a behaviour of the platform, so its answer is
deliberately not one of openapi.yaml's documented responses. Each store operation is atomic,
so a request that gets this 503 changed nothing in the failed step; the next request after
Redis returns works again on a fresh connection.
"""

from __future__ import annotations

import logging

from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from mockplatform.core.errors import StoreUnavailable
from mockplatform.core.redaction import printable

logger = logging.getLogger("mockplatform")

STORE_UNAVAILABLE = "Mock store unavailable"
RETRY_AFTER_SECONDS = "1"


class StoreGuard:
    """Outside the journal, so a journal write that fails after the response is only logged."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = False

        async def send_and_note(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, receive, send_and_note)
        except StoreUnavailable as exc:
            response = unavailable_response(scope, exc)
            if not started:
                await response(scope, receive, send)


def unavailable_response(scope: Scope, exc: StoreUnavailable) -> JSONResponse:
    """The 503 for a request the store failed (logged here, as the store's failure)."""
    log_failure(scope, exc)
    body = {"error": STORE_UNAVAILABLE, "store": exc.store, "detail": str(exc)}
    return JSONResponse(body, 503, headers={"Retry-After": RETRY_AFTER_SECONDS})


def log_failure(scope: Scope, exc: StoreUnavailable) -> None:
    logger.warning("%s %s: %s", scope["method"], printable(scope["path"]), exc)
