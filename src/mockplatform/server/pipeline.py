"""Every HTTP request's one path through the mock: CORS, framing, the store guard, the journal.

One layer in front of Starlette, written once, that every request goes through: the app's
own `__call__` (`app.MockApp` inherits `Pipeline`), so that a request meets no frame before it:

    routing      a request to one of openapi.yaml's operations is handed to its endpoint
                 (`platform.PlatformEndpoint.answer`) here; everything else (the control API,
                 the demo, the docs, a wrong method) goes on to Starlette's router. This is
                 the only shortcut: whichever way a request goes, the jobs below are the same
                 code, and `create_app(fast_path=False)` sends every request the long way
                 (tests/mockplatform/server/test_fast_path.py compares the two).
    CORS         `cors.PageCORS`: Starlette's CORS for the allowed origins, none for a
                 server-only path; a preflight is answered here
    framing      every HTML page carries `X-Frame-Options: DENY` and CSP `frame-ancestors
                 'none'`: no site may frame the demo page (whose "Reset the mock", clicked in
                 a frame, would come from the mock's own origin and pass the Origin check)
    store guard  a failing shared store is a 503 naming it (`store_guard`); one that fails
                 only when the journal keeps the request is logged, the answer being out
    journal      each request to the platform's API is kept and logged (`Journal.keep`),
                 with the body as it was read; a token answer's entry in the very store step
                 that keeps its token (`Unkept`): one round trip to a shared store

Starlette's own layers (its error and exception middleware) sit behind this one, for the
routes only they serve; a store failure there is answered by the app's exception handler
(`store_guard.unavailable_response` too).
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from typing import Any, Protocol

from starlette.datastructures import Headers
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from mockplatform.core.errors import StoreUnavailable
from mockplatform.core.headers import header_dict
from mockplatform.server.cors import NO_ORIGIN, PageCORS
from mockplatform.server.faults import RAW_SEND, FaultResponse
from mockplatform.server.journal import Journal, KeptBody, is_journaled, kept_body
from mockplatform.server.journal_entry import JournalEntry
from mockplatform.server.store_guard import log_failure, unavailable_response

_ORIGIN = b"origin"
_VARY = b"vary"
_VARY_ORIGIN = (b"vary", b"Origin")
_PREFLIGHT = b"access-control-request-method"
_CONTENT_TYPE = b"content-type"
_HTML = b"text/html"
NOT_FRAMED = (
    (b"x-frame-options", b"DENY"),
    (b"content-security-policy", b"frame-ancestors 'none'"),
)


class Unkept(Protocol):
    """An answer whose store step is still to be taken (`platform.Exchange.keep`): taken
    with the request's journal entry, so that a shared store keeps both in one round trip."""

    async def keep(self, entry: JournalEntry | None) -> Response:
        """The response to send; `entry` kept with it (its status and `time` set) unless the
        response is another answer's."""
        ...


class Endpoint(Protocol):
    """A platform operation's handler (`platform.PlatformEndpoint`)."""

    async def answer(
        self, scope: Scope, receive: Receive, headers: dict[bytes, bytes], seen: list[bytes]
    ) -> Response | Unkept:
        """The response, the request body's chunks added to `seen` as they are read."""
        ...


class Pipeline:
    """The mock app's own `__call__` (`app.MockApp` inherits it: a request meets no frame
    before this one): every HTTP request through CORS, framing, the store guard and the
    journal; `endpoints` answered directly, everything else (and every other scope: a
    WebSocket, the lifespan) by `stack()`."""

    def __init__(
        self,
        *,
        endpoints: Mapping[tuple[str, str], Endpoint],
        cors: PageCORS,
        journal: Journal,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)  # the app's other base's (Starlette's)
        unjournaled = [path for _, path in endpoints if not is_journaled(path)]
        assert not unjournaled, f"the journal keeps no {unjournaled}"
        self.endpoints = endpoints
        self.cors = cors
        self.journal = journal

    def stack(self) -> ASGIApp:
        """What serves everything but `endpoints` (the app's Starlette stack)."""
        raise NotImplementedError

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        scope["app"] = self  # as Starlette's own `__call__` does (`Request.app`, `url_for`)
        if scope["type"] != "http":
            await _keeping_raw_send(self.stack(), scope, receive, send, send)
            return
        started = time.perf_counter()
        headers = header_dict(scope)
        endpoint = (
            None if scope.get("root_path") else self.endpoints.get((scope["method"], scope["path"]))
        )
        browser = _ORIGIN in headers and self.cors.page_may_call(scope, headers)
        if browser and scope["method"] == "OPTIONS" and _PREFLIGHT in headers:
            await self.cors.preflight_response(Headers(scope=scope))(scope, receive, send)
            return
        if endpoint is not None:
            status: int | None = None  # stays None when a network fault sends nothing
            seen: list[bytes] = []
            entry: JournalEntry | None = None  # kept in the answer's own store step
            try:
                response: Response
                try:
                    answer = await endpoint.answer(scope, receive, headers, seen)
                    if isinstance(answer, Response):
                        response = answer
                    else:
                        entry = self.journal.entry(scope, kept_body(seen), None, started, headers)
                        response = await answer.keep(entry)
                except StoreUnavailable as exc:
                    response = unavailable_response(scope, exc)
                if browser or isinstance(response, FaultResponse):
                    through = _SendThrough(self.cors, scope, send, browser, framed=False)
                    try:
                        await _keeping_raw_send(response, scope, receive, send, through)
                    finally:
                        status = through.status
                else:  # what `_SendThrough` would do, without a frame per message
                    status = response.status_code
                    response.raw_headers.append(_VARY_ORIGIN)
                    await response(scope, receive, send)
            finally:
                if entry is not None and entry["time"] is not None:
                    self.journal.log.add(entry)
                else:
                    await self._record(scope, kept_body(seen), status, started, headers)
            return
        through = _SendThrough(self.cors, scope, send, browser, framed=True)
        if not is_journaled(scope["path"]):
            await _keeping_raw_send(self.stack(), scope, receive, send, through)
            return
        body = KeptBody(receive)
        try:
            await _keeping_raw_send(self.stack(), scope, body, send, through)
        finally:
            await self._record(scope, body.kept(), through.status, started, headers)

    async def _record(
        self,
        scope: Scope,
        body: bytes,
        status: int | None,
        started: float,
        headers: dict[bytes, bytes],
    ) -> None:
        try:
            await self.journal.keep(self.journal.entry(scope, body, status, started, headers))
        except StoreUnavailable as exc:  # the answer is out; only the journal misses it
            log_failure(scope, exc)


async def _keeping_raw_send(
    app: ASGIApp, scope: Scope, receive: Receive, send: Send, through: Send
) -> None:
    """`app` served, sending through `through`, with the server's own `send` kept in the
    scope meanwhile: the network faults (and a live call's dropped connection) need it
    (faults.py), since only the server's `send` leads to the connection. (An endpoint's
    usual answer, sent straight to `send`, needs none.)"""
    scope[RAW_SEND] = send
    try:
        await app(scope, receive, through)
    finally:
        # The server's `send` holds the scope: left in it, the pair is a reference cycle
        # that only the garbage collector frees, with pauses.
        del scope[RAW_SEND]


class _SendThrough:
    """The `send` a response goes out through: CORS (and `Vary: Origin`), framing for a page
    (`framed`), and the status noted for the journal (None while nothing was sent)."""

    __slots__ = ("browser", "cors", "framed", "scope", "send", "status")

    def __init__(self, cors: PageCORS, scope: Scope, send: Send, browser: bool, framed: bool):
        self.cors, self.scope, self.send = cors, scope, send
        self.browser, self.framed = browser, framed
        self.status: int | None = None

    async def __call__(self, message: Message) -> None:
        if message["type"] != "http.response.start":
            await self.send(message)
            return
        self.status = message["status"]
        sent_headers = message.setdefault("headers", [])
        # An endpoint's answer (`json_response`, a fault, the store's 503) has no Vary.
        if self.framed:
            _not_framed(sent_headers)
        if self.browser or (self.framed and any(name.lower() == _VARY for name, _ in sent_headers)):
            request_headers = Headers(scope=self.scope) if self.browser else NO_ORIGIN
            await self.cors.send(message, self.send, request_headers)
        else:
            sent_headers.append(_VARY_ORIGIN)
            await self.send(message)


def _not_framed(headers: list[tuple[bytes, bytes]]) -> None:
    """An HTML page's headers gain `NOT_FRAMED` (in place)."""
    for name, value in headers:
        if name.lower() == _CONTENT_TYPE:
            if value.startswith(_HTML):
                headers.extend(NOT_FRAMED)
            return
