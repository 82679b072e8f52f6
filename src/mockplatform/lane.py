"""The platform operations' short lane: what a token request costs, cut to the mock's own work.

Through Starlette, a token request passes its error, exception and routing layers, then our
CORS, store-guard and journal middleware, each wrapping `send` once more; together they
cost as much as issuing the token. `MockApp` sends the common case (a request to one of
openapi.yaml's operations, without `Origin`) here instead, where the same three jobs are
done in one frame, by the same code:

    CORS           a request without Origin only gains `Vary: Origin` (`cors.VARY_ORIGIN`)
    store guard    a failing store answers 503 (`store_guard.unavailable_response`)
    journal        the request is kept and logged (`Journal.record`); the body as the
                   handler read it (`Exchange.seen`), not through another `receive` wrapper

A browser's request (with `Origin`) takes the full stack, where Starlette's CORS applies.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from starlette.responses import Response
from starlette.types import Receive, Scope, Send

from mockplatform.cors import VARY_ORIGIN
from mockplatform.errors import StoreUnavailable
from mockplatform.faults import FaultResponse
from mockplatform.journal import Journal, kept_body
from mockplatform.platform import Exchange, PlatformEndpoint
from mockplatform.store_guard import log_failure, unavailable_response


@dataclass(frozen=True)
class PlatformLane:
    endpoint: PlatformEndpoint
    journal: Journal

    async def serve(
        self, scope: Scope, receive: Receive, send: Send, headers: dict[bytes, bytes]
    ) -> None:
        """ASGI, plus the request's headers in the dict `Exchange.headers` holds."""
        started = time.perf_counter()
        exchange = Exchange(self.endpoint.platform, scope, receive, headers)
        response: Response | None = None
        try:
            try:
                response = await self.endpoint.respond(exchange)
            except StoreUnavailable as exc:
                response = unavailable_response(scope, exc)
            response.raw_headers.append(VARY_ORIGIN)
            await response(scope, receive, send)
        finally:
            try:
                await self.journal.record(
                    scope, kept_body(exchange.seen), _status_sent(response), started, headers
                )
            except StoreUnavailable as exc:  # the answer is out; only the journal misses it
                log_failure(scope, exc)


def _status_sent(response: Response | None) -> int | None:
    if response is None:
        return None
    if isinstance(response, FaultResponse):
        return response.status_sent
    return response.status_code
