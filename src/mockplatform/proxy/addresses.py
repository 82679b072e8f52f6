"""The upstream's own address in an answer, named as the proxy for the app that asked.

A reverse proxy rewrites a `Location` that points at the server behind it; this proxy does
that, and the same for the redeem's `callUrl`: the mock builds it from the address it was
reached at, which behind the proxy is the upstream's, so the SDK would open the call's
WebSocket straight to the upstream and the proxy would never see it. Rewritten, the SDK
talks to the proxy, which passes the WebSocket on. Only a URL on the upstream's own origin
(and under its path) is rewritten: a platform's voice server elsewhere stays as it is.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

import httpx

CALL_URL = "callUrl"


def public_origin(
    headers: Sequence[tuple[bytes, bytes]],
    scheme: str | None,
    server: tuple[str, int | None] | None,
) -> str:
    """`http(s)://host[:port]` as the app reached the proxy (its Host header; else the
    address it connected to)."""
    host = next((v for k, v in headers if k == b"host"), b"").decode("latin-1")
    if not host or any(c in host for c in "/?#@ \\"):
        address = server or ("127.0.0.1", 80)
        host = f"{address[0]}:{address[1]}"
    return f"{scheme or 'http'}://{host}"


def rewritten(url: str, upstream: httpx.URL, origin: str) -> str:
    """`url` with the upstream's origin and path prefix (http(s) or ws(s)) made `origin`'s."""
    secure = upstream.scheme == "https"
    port = f":{upstream.port}" if upstream.port else ""
    base = upstream.raw_path.decode("ascii").split("?")[0].rstrip("/")
    proxy_secure = origin.startswith("https:")
    proxy_host = origin.partition("://")[2]
    for scheme, proxied in (
        ("https" if secure else "http", "https" if proxy_secure else "http"),
        ("wss" if secure else "ws", "wss" if proxy_secure else "ws"),
    ):
        prefix = f"{scheme}://{upstream.host}{port}{base}"
        if url == prefix or url.startswith(prefix + "/") or url.startswith(prefix + "?"):
            return f"{proxied}://{proxy_host}{url[len(prefix) :]}"
    return url


def rewritten_call_url(body: bytes, upstream: httpx.URL, origin: str) -> bytes | None:
    """The redeem's JSON answer with its `callUrl` named as the proxy, or None if it names
    no URL of the upstream's (then the answer passes as it came, byte for byte)."""
    try:
        data: Any = json.loads(body)
    except (ValueError, RecursionError):
        return None
    call_url = data.get(CALL_URL) if isinstance(data, dict) else None
    if not isinstance(call_url, str):
        return None
    proxied = rewritten(call_url, upstream, origin)
    if proxied == call_url:
        return None
    data[CALL_URL] = proxied
    return json.dumps(data, ensure_ascii=False, separators=(",", ":")).encode()
