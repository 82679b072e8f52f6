"""The mock's one speed shortcut: the platform's operations served past Starlette's layers.

Why it exists: the mock is meant to stand in for the platform under a team's load tests and
CI suites, where a token request is the whole traffic. Through the plain stack such a request
passes Starlette's error, exception and routing layers and three middlewares (CORS, store
guard, journal), each wrapping `send` again; together they cost as much as the request's own
stages. Here the same jobs are done in one frame, by the same code:

    routing      a dict of (method, path) for the operations openapi.yaml names
    CORS         Starlette's own `CORSMiddleware.send` (`cors.PageCORS`); a request without
                 `Origin`, or to a server-only path, whose answer carries no `Vary` yet, only
                 gains `Vary: Origin`, appended directly
    store guard  `store_guard.unavailable_response`, and `log_failure` for the journal
    journal      `Journal.record`, the body as the handler read it (`Exchange.seen`)

Every request to one of those operations comes here, whatever its headers; everything else
(the control API, the demo, a wrong method, the lifespan) goes on to the plain stack.
What a client or the journal sees must not differ from the plain stack: the differential
test (tests/mockplatform/test_fast_path.py) sends the same requests both ways and compares
status, headers, body and journal entry.
"""

from __future__ import annotations

import time
from collections.abc import Mapping

from starlette.datastructures import Headers
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from mockplatform.cors import NO_ORIGIN, PageCORS
from mockplatform.errors import StoreUnavailable
from mockplatform.headers import header_dict
from mockplatform.journal import Journal, is_journaled, kept_body
from mockplatform.platform import Exchange, PlatformEndpoint
from mockplatform.store_guard import log_failure, unavailable_response

_ORIGIN = b"origin"
_VARY = b"vary"
_VARY_ORIGIN = (b"vary", b"Origin")


class FastPath:
    """An ASGI app: `endpoints` served here, every other request passed on to `app`."""

    def __init__(
        self,
        app: ASGIApp,
        endpoints: Mapping[tuple[str, str], PlatformEndpoint],
        cors: PageCORS,
        journal: Journal,
    ) -> None:
        unjournaled = [path for _, path in endpoints if not is_journaled(path)]
        assert not unjournaled, f"the plain stack journals no {unjournaled}"
        self.app = app
        self.endpoints = endpoints
        self.cors = cors
        self.journal = journal

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and not scope.get("root_path"):
            endpoint = self.endpoints.get((scope["method"], scope["path"]))
            if endpoint is not None:
                await self._serve(endpoint, scope, receive, send)
                return
        await self.app(scope, receive, send)

    async def _serve(
        self, endpoint: PlatformEndpoint, scope: Scope, receive: Receive, send: Send
    ) -> None:
        started = time.perf_counter()
        headers = header_dict(scope)
        browser = _ORIGIN in headers and self.cors.page_may_call(scope, headers)
        status: int | None = None  # stays None when a network fault sends nothing

        async def send_through_cors(message: Message) -> None:
            nonlocal status
            if message["type"] != "http.response.start":
                await send(message)
                return
            status = message["status"]
            sent_headers = message.setdefault("headers", [])
            if browser or any(name.lower() == _VARY for name, _ in sent_headers):
                await self.cors.send(message, send, Headers(scope=scope) if browser else NO_ORIGIN)
            else:
                sent_headers.append(_VARY_ORIGIN)
                await send(message)

        exchange = Exchange(endpoint.platform, scope, receive, headers)
        try:
            response: Response
            try:
                response = await endpoint.respond(exchange)
            except StoreUnavailable as exc:
                response = unavailable_response(scope, exc)
            await response(scope, receive, send_through_cors)
        finally:
            try:
                await self.journal.record(scope, kept_body(exchange.seen), status, started, headers)
            except StoreUnavailable as exc:  # the answer is out; only the journal misses it
                log_failure(scope, exc)
