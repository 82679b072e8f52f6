"""Starlette's CORS middleware, with a short path for requests that carry no `Origin`.

Backends and test suites (no Origin header) are most of the traffic; for them Starlette's
middleware still parses the request headers and rewrites the response's, only to add
`Vary: Origin`. Here that case appends the same header directly; everything else (browser
requests, preflights, a response that already varies) goes through Starlette unchanged.
"""

from __future__ import annotations

from starlette.middleware.cors import CORSMiddleware
from starlette.types import Message, Receive, Scope, Send

from mockplatform.headers import header_dict

ORIGIN = b"origin"
VARY_ORIGIN = (b"vary", b"Origin")  # what a response to a request without Origin gains
_VARY = b"vary"


class LocalCORSMiddleware(CORSMiddleware):
    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or has_origin(scope):
            await super().__call__(scope, receive, send)
            return

        async def send_vary(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = message.setdefault("headers", [])
                if any(name.lower() == _VARY for name, _ in headers):
                    message["headers"] = _varied(headers)
                else:
                    headers.append(VARY_ORIGIN)
            await send(message)

        await self.app(scope, receive, send_vary)


def has_origin(scope: Scope) -> bool:
    """Whether the request came from a browser page (it names the page's origin)."""
    return ORIGIN in header_dict(scope)


def _varied(headers: list[tuple[bytes, bytes]]) -> list[tuple[bytes, bytes]]:
    """As Starlette does: every Vary value joined into one header, with Origin last."""
    values = [value for name, value in headers if name.lower() == _VARY]
    kept = [(name, value) for name, value in headers if name.lower() != _VARY]
    return [*kept, (_VARY, b", ".join([*values, b"Origin"]))]
