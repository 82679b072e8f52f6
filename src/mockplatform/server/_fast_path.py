"""The mock's speed shortcuts, all of them, each held to the plain way by a differential test.

Why they exist: the mock stands in for the platform under a team's load tests and CI suites,
where token requests are the whole traffic, and the plain way spends more on Starlette's
layers, JSON and response building than on the mock's own stages. Each shortcut here
produces what the plain way produces; tests/mockplatform/server/test_fast_path.py runs the same
inputs both ways and compares.

`FastPath`: the platform's operations served past Starlette's layers. Every request to one
of them comes here, whatever its headers; everything else (the control API, the demo, a
wrong method, the lifespan) goes on to the plain stack. The plain stack's jobs, done by the
same code in one frame:

    routing      a dict of (method, path) for the operations openapi.yaml names
    CORS         Starlette's own `CORSMiddleware.send` (`cors.PageCORS`); a request without
                 `Origin`, or to a server-only path, whose answer carries no `Vary` yet, only
                 gains `Vary: Origin`, appended directly
    store guard  `store_guard.unavailable_response`, and `log_failure` for the journal
    journal      `Journal.record`, the body as the handler read it

`json_response`: Starlette's `JSONResponse`, with the encoder built once and the two headers
written directly, where Starlette builds an encoder per response and works the headers out
case by case.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Mapping
from json.encoder import c_make_encoder, encode_basestring  # type: ignore[attr-defined]
from typing import Any, Protocol

from starlette.datastructures import Headers
from starlette.responses import JSONResponse, Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from mockplatform.core.errors import StoreUnavailable
from mockplatform.core.headers import header_dict
from mockplatform.server.cors import NO_ORIGIN, PageCORS
from mockplatform.server.journal import Journal, is_journaled, kept_body
from mockplatform.server.store_guard import log_failure, unavailable_response

_ORIGIN = b"origin"
_VARY = b"vary"
_VARY_ORIGIN = (b"vary", b"Origin")


class Endpoint(Protocol):
    """A platform operation's handler (`platform.PlatformEndpoint`)."""

    async def answer(
        self, scope: Scope, receive: Receive, headers: dict[bytes, bytes], seen: list[bytes]
    ) -> Response:
        """The response, the request body's chunks added to `seen` as they are read."""
        ...


class FastPath:
    """An ASGI app: `endpoints` served here, every other request passed on to `app`."""

    def __init__(
        self,
        app: ASGIApp,
        endpoints: Mapping[tuple[str, str], Endpoint],
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

    async def _serve(self, endpoint: Endpoint, scope: Scope, receive: Receive, send: Send) -> None:
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

        seen: list[bytes] = []
        try:
            response: Response
            try:
                response = await endpoint.answer(scope, receive, headers, seen)
            except StoreUnavailable as exc:
                response = unavailable_response(scope, exc)
            await response(scope, receive, send_through_cors)
        finally:
            try:
                await self.journal.record(scope, kept_body(seen), status, started, headers)
            except StoreUnavailable as exc:  # the answer is out; only the journal misses it
                log_failure(scope, exc)


_ENCODER = json.JSONEncoder(ensure_ascii=False, allow_nan=False, separators=(",", ":"))
_CONTENT_TYPE = (b"content-type", JSONResponse.media_type.encode("latin-1"))


def _build_encode() -> Callable[[Any], str]:
    """`_ENCODER.encode`, without building its C encoder again for every response.

    The circular-reference check is left out: an answer is built fresh from plain values.
    Where Python has no C encoder (other implementations), the plain `encode` serves.
    """
    if c_make_encoder is None:
        return _ENCODER.encode
    iterencode = c_make_encoder(
        None,  # no circular-reference markers
        _ENCODER.default,
        encode_basestring,  # ensure_ascii=False
        None,  # indent
        _ENCODER.key_separator,
        _ENCODER.item_separator,
        _ENCODER.sort_keys,
        _ENCODER.skipkeys,
        _ENCODER.allow_nan,
    )
    return lambda content: "".join(iterencode(content, 0))


_ENCODE = _build_encode()


def json_response(content: Any, status_code: int = 200) -> JSONResponse:
    """`JSONResponse(content, status_code)`: the same body and headers."""
    response = JSONResponse.__new__(JSONResponse)
    response.status_code = status_code
    response.background = None
    response.body = _ENCODE(content).encode("utf-8")
    response.raw_headers = [(b"content-length", str(len(response.body)).encode()), _CONTENT_TYPE]
    return response
