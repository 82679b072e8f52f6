"""Who counts as local: the loopback caller, a local page's origin, a local Host name.

The control API changes what the mock believes, so it answers the developer's own machine
only. A loopback address alone is not enough: any web page the developer visits can send
a "simple" request to `http://127.0.0.1:8000/_mock/reset` (its `Origin` gives it away), and
a page whose DNS name is rebound to 127.0.0.1 reaches the mock as "same origin" (its `Host`
gives it away). The CORS middleware reads `LOCAL_ORIGINS` too, so a local page may call.
"""

from __future__ import annotations

import hmac
import ipaddress
import re
from urllib.parse import urlsplit

from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Receive, Scope, Send

from mockplatform.core.headers import header_dict
from mockplatform.core.json_text import JSON_MEDIA_TYPE, media_type

LOCAL_ORIGINS = r"https?://(localhost|127\.0\.0\.1|\[::1\])(:\d+)?"
_LOCAL_ORIGIN = re.compile(f"^{LOCAL_ORIGINS}$")
ADMIN_TOKEN_HEADER = "x-mock-admin-token"
_STATE_CHANGING = ("POST", "PUT", "PATCH", "DELETE")


def is_loopback(client: tuple[str, int] | None) -> bool:
    if client is None:
        return False
    try:
        return ipaddress.ip_address(client[0]).is_loopback
    except ValueError:
        return False


def is_local_host(host: str) -> bool:
    """A `Host` no DNS rebinding can produce: `localhost` (and `*.localhost`, which browsers
    resolve to loopback themselves), or an IP address literal."""
    name = _host_name(host)
    if name == "localhost" or name.endswith(".localhost"):
        return True
    try:
        ipaddress.ip_address(name)
    except ValueError:
        return False
    return True


def is_allowed_origin(origin: str, host: str) -> bool:
    """A local page's origin, or the mock's own (the page it serves, at the `Host` asked for)."""
    if _LOCAL_ORIGIN.match(origin):
        return True
    parts = urlsplit(origin)
    return parts.scheme in ("http", "https") and parts.netloc.lower() == host.lower() != ""


def _host_name(host: str) -> str:
    host = host.strip().lower().rstrip(".")
    if host.startswith("["):  # [::1]:8000
        return host[1 : host.find("]")] if "]" in host else host
    name, _, port = host.rpartition(":")
    return name if name and port.isdigit() else host


class ControlGuard:
    """Refuse control requests from anywhere but the local machine (see the module's doc),
    unless they carry the admin token; refuse a state-changing body that is not JSON."""

    def __init__(self, app: ASGIApp, admin_token: str | None) -> None:
        self.app = app
        self.admin_token = admin_token

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = header_dict(scope)
        refusal = self._refusal(scope, headers)
        if refusal is None:
            await self.app(scope, receive, send)
            return
        status, message, detail = refusal
        await control_error(message, status, detail)(scope, receive, send)

    def _refusal(self, scope: Scope, headers: dict[bytes, bytes]) -> tuple[int, str, str] | None:
        host = headers.get(b"host", b"").decode("latin-1")
        origin = headers.get(b"origin")
        if not self._has_token(headers):
            if not is_loopback(scope.get("client")):
                return _denied(
                    "send the admin token in X-Mock-Admin-Token"
                    if self.admin_token
                    else "the control API answers only loopback callers; start the mock with "
                    "--admin-token to allow others"
                )
            if not is_local_host(host):
                return _denied(
                    f"Host {host!r} is not a local name (a DNS name pointed at 127.0.0.1 is how "
                    "a web page reaches a local server); use localhost or 127.0.0.1"
                )
        if origin is not None and not is_allowed_origin(origin.decode("latin-1"), host):
            return _denied(
                f"a page at {origin.decode('latin-1')!r} may not drive the mock; the control "
                "API answers local pages and the mock's own"
            )
        # A browser sends a cross-site "simple" request (text/plain, a form) without asking
        # first, body or not; JSON needs a preflight, which the mock does not grant.
        if scope["method"] in _STATE_CHANGING and (
            _has_body(headers) or b"content-type" in headers
        ):
            sent = headers.get(b"content-type", b"").decode("latin-1")
            if media_type(sent) != JSON_MEDIA_TYPE:
                return (
                    415,
                    "Unsupported media type",
                    f"Content-Type is {sent or 'none'!r}; send the body as JSON with "
                    "Content-Type: application/json",
                )
        return None

    def _has_token(self, headers: dict[bytes, bytes]) -> bool:
        if not self.admin_token:
            return False
        sent = headers.get(ADMIN_TOKEN_HEADER.encode(), b"")
        return hmac.compare_digest(sent, self.admin_token.encode())


def _denied(detail: str) -> tuple[int, str, str]:
    return 403, "Control API access denied", detail


def _has_body(headers: dict[bytes, bytes]) -> bool:
    return headers.get(b"content-length", b"0") != b"0" or b"transfer-encoding" in headers


def control_error(message: str, status: int, detail: str) -> JSONResponse:
    return JSONResponse({"error": message, "detail": detail}, status_code=status)
