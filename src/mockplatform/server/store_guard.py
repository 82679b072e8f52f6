"""When the shared store fails mid-run: a 503 that names it, instead of a 500 or a hang.

A Redis outage is a failure of the mock, not a behaviour of the platform, so its answer is
deliberately not one of openapi.yaml's documented responses. Each store operation is atomic,
so a request that gets this 503 changed nothing in the failed step; the next request after
Redis returns works again on a fresh connection.
"""

from __future__ import annotations

import logging

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.types import Scope

from mockplatform.core.errors import StoreUnavailable
from mockplatform.core.redaction import printable

logger = logging.getLogger("mockplatform")

STORE_UNAVAILABLE = "Mock store unavailable"
RETRY_AFTER_SECONDS = "1"


def unavailable_response(scope: Scope, exc: StoreUnavailable) -> JSONResponse:
    """The 503 for a request the store failed (logged here, as the store's failure)."""
    log_failure(scope, exc)
    body = {"error": STORE_UNAVAILABLE, "store": exc.store, "detail": str(exc)}
    return JSONResponse(body, 503, headers={"Retry-After": RETRY_AFTER_SECONDS})


async def render_unavailable(request: Request, exc: Exception) -> Response:
    """The app's exception handler: the routes behind Starlette's router (the control API)."""
    assert isinstance(exc, StoreUnavailable)
    return unavailable_response(request.scope, exc)


def log_failure(scope: Scope, exc: StoreUnavailable) -> None:
    logger.warning("%s %s: %s", scope["method"], printable(scope["path"]), exc)
