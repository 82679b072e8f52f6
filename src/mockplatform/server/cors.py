"""Which paths a web page may call: Starlette's CORS, except for the server-only paths.

What the SDK itself calls from the page (its module, the redeem, the call's WebSocket) gets
Starlette's CORS for the allowed origins. The token endpoint gets none, whatever the origin:
it takes the secret API key, which belongs on the customer's server (the platform's docs say
so), so a page that calls it is refused by the browser here as it would be by the real
platform, and the mock says why in its log and in the journal (`SERVER_ONLY_WARNING`).
"""

from __future__ import annotations

import logging
from collections.abc import Set
from typing import Any

from starlette.datastructures import Headers
from starlette.middleware.cors import CORSMiddleware
from starlette.types import ASGIApp, Scope

logger = logging.getLogger("mockplatform")

ORIGIN = b"origin"
WARNING_NOTE = "warning"  # the scope state's note the journal keeps
SERVER_ONLY_WARNING = (
    "requested from a web page (Origin: {origin}): the API key is exposed to the page; "
    "call the token endpoint from your backend"
)
NO_ORIGIN = Headers()  # what a server-only path's answer is built for: no page's origin


class PageCORS(CORSMiddleware):
    """Starlette's CORS, as `pipeline.Pipeline` applies it (its `preflight_response` and
    `send`); a server-only path is answered as a request without `Origin` is (it gains
    `Vary: Origin`, nothing else), preflights included."""

    def __init__(
        self, app: ASGIApp, /, *, server_only_paths: Set[str] = frozenset(), **kwargs: Any
    ) -> None:
        super().__init__(app, **kwargs)
        self.server_only_paths = server_only_paths

    def page_may_call(self, scope: Scope, headers: dict[bytes, bytes]) -> bool:
        """False for a server-only path; a page's request to one is logged, and noted for
        the journal. `headers`: the request's, as `headers.header_dict` gathers them."""
        if scope["path"] not in self.server_only_paths:
            return True
        origin = headers.get(ORIGIN)
        if origin is not None:
            warn_server_only(scope, origin.decode("latin-1"))
        return False


def warn_server_only(scope: Scope, origin: str) -> None:
    """A page called a server-only path: say so in the log, and note it for the journal."""
    warning = SERVER_ONLY_WARNING.format(origin=origin)
    scope.setdefault("state", {})[WARNING_NOTE] = warning
    logger.warning("%s %s %s", scope["method"], scope["path"], ascii(warning)[1:-1])
