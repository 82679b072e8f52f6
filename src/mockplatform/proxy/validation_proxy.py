"""`mockplatform proxy`: between an app and a platform we do not own, judging what passes.

Every request goes to the upstream and its answer comes back unchanged — status, headers
(repeats kept), body bytes as they stream, a WebSocket message by message — and only then,
off the answer's path, the exchange is judged against openapi.yaml (verdicts.py), its tokens
watched (token_watch.py) and, with `--record`, remembered as a scenario (recorder.py).

As a gateway in RFC 9110's sense it drops the hop-by-hop headers each way (`Connection` and
the headers it names, `Keep-Alive`, `Transfer-Encoding`, `TE`, `Trailer`, `Upgrade`, the
`Proxy-*` pair), sends the upstream its own `Host`, and adds itself to `Via` on the way in.

The proxy's own endpoint, `GET /_mock/violations`, and every other `/_mock/` path it passes
on (the upstream mock's control API), answer only callers the control API's guard lets in:
loopback, or the admin token.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from http.cookiejar import CookieJar, DefaultCookiePolicy

import httpx
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route, Router
from starlette.types import Message, Receive, Scope, Send

from mockplatform.core.errors import ConfigError
from mockplatform.core.origins import ControlGuard
from mockplatform.core.spec import Spec
from mockplatform.proxy.exchanges import Seen, decoded, printable
from mockplatform.proxy.recorder import Recorder
from mockplatform.proxy.verdicts import Judge, Ledger

CONTROL_PREFIX = "/_mock/"
VIOLATIONS_PATH = "/_mock/violations"
MAX_KEPT_BODY = 256 * 1024  # judged bytes of a body; the app gets every byte regardless
HOP_BY_HOP = frozenset(
    {
        "connection",
        "keep-alive",
        "proxy-authenticate",
        "proxy-authorization",
        "te",
        "trailer",
        "trailers",
        "transfer-encoding",
        "upgrade",
    }
)
# Headers the WebSocket handshake makes for itself on each leg.
WEBSOCKET_HANDSHAKE = frozenset(
    {"host", "sec-websocket-key", "sec-websocket-version", "sec-websocket-extensions",
     "sec-websocket-protocol", "sec-websocket-accept"}
)  # fmt: skip
VIA = "1.1 mockplatform-proxy"
CLOSE_NORMAL, CLOSE_UPSTREAM_FAILED = 1000, 1011
_UNSENDABLE_CLOSE_CODES = {1005, 1006, 1015}  # reserved: reported, never sent


@dataclass
class ProxyConfig:
    upstream: str
    timeout: float = 30.0
    admin_token: str | None = None


@dataclass
class ValidationProxy:
    """The ASGI app `mockplatform proxy` serves."""

    config: ProxyConfig
    spec: Spec
    recorder: Recorder | None = None
    print_line: Callable[[str], None] = field(default=lambda line: print(line, flush=True))

    def __post_init__(self) -> None:
        self.upstream = httpx.URL(self.config.upstream.rstrip("/"))
        self.judge = Judge(self.spec)
        self.ledger = Ledger(self._print)
        self._client: httpx.AsyncClient | None = None
        self.forwarded = 0  # requests taken; each ends judged or as an upstream failure
        self._control = ControlGuard(
            Router([Route("/violations", self._violations, methods=["GET"])]),
            self.config.admin_token,
        )
        self._guarded_forward = ControlGuard(self._forward, self.config.admin_token)

    def _print(self, text: str) -> None:
        """Every line the proxy prints, each line of it made printable."""
        self.print_line("\n".join(printable(line) for line in text.split("\n")))

    @property
    def shown_upstream(self) -> str:
        """The upstream's scheme, host and port: never a password in its URL."""
        return str(self.upstream.copy_with(username=None, password=None, path="/")).rstrip("/")

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            await self._lifespan(receive, send)
        elif scope["type"] == "websocket":
            await self._websocket(scope, receive, send)
        elif scope["path"] == VIOLATIONS_PATH:
            await self._control(
                {**scope, "root_path": "/_mock", "path": "/violations"}, receive, send
            )
        elif scope["path"].startswith(CONTROL_PREFIX):
            await self._guarded_forward(scope, receive, send)
        else:
            await self._forward(scope, receive, send)

    async def aclose(self) -> None:
        """Stop: close the upstream connections, save the recording, sum up."""
        if self._client is not None:
            await self._client.aclose()
            self._client = None
        if self.recorder is not None:
            self.recorder.save()
        self._print(self.ledger.summary())

    @property
    def client(self) -> httpx.AsyncClient:
        if self._client is None:  # made in the server's loop, on first use
            timeout = httpx.Timeout(self.config.timeout)
            self._client = httpx.AsyncClient(
                timeout=timeout, follow_redirects=False, cookies=_NO_COOKIES
            )
        return self._client

    async def _lifespan(self, receive: Receive, send: Send) -> None:
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                await self.aclose()
                await send({"type": "lifespan.shutdown.complete"})
                return

    async def _violations(self, request: Request) -> Response:
        notes = request.query_params.get("notes", "") in ("1", "true", "yes")
        return JSONResponse(self.ledger.listed(notes=notes))

    # -- HTTP --------------------------------------------------------------------------------

    async def _forward(self, scope: Scope, receive: Receive, send: Send) -> None:
        sent_at, sent = time.time(), time.monotonic()
        self.forwarded += 1
        kept_request = _Kept()
        headers = _headers(scope)
        request = httpx.Request(
            scope["method"],
            self._url(scope, "http"),
            headers=[
                (k.encode("latin-1"), v.encode("latin-1"))
                for k, v in _inbound(headers, self.upstream)
            ],
            content=_request_body(receive, kept_request) if _has_body(headers) else b"",
        )
        try:
            response = await self.client.send(request, stream=True)
        except httpx.TimeoutException:
            await self._upstream_failed(
                send, 504, f"did not answer within {self.config.timeout:g} s"
            )
            return
        except httpx.HTTPError as exc:
            await self._upstream_failed(send, 502, f"could not be reached ({_reason(exc)})")
            return
        answered = time.monotonic()
        kept_response = _Kept()
        try:
            await send(
                {
                    "type": "http.response.start",
                    "status": response.status_code,
                    "headers": _outbound(response.headers.raw),
                }
            )
            async for chunk in response.aiter_raw():
                kept_response.add(chunk)
                await send({"type": "http.response.body", "body": chunk, "more_body": True})
        except httpx.HTTPError as exc:  # mid-answer: the status is gone, so the answer is cut
            self.ledger.upstream_failures += 1
            self._print(
                f"upstream {self.shown_upstream} broke off its answer to "
                f"{scope['method']} {scope['path']} ({_reason(exc)}); outside the contract"
            )
            return
        finally:
            await response.aclose()
        await send({"type": "http.response.body", "body": b"", "more_body": False})
        # The app has its whole answer; judging starts now, in this same step of the loop,
        # so a token is on the watch before the app can possibly redeem it.
        seen = Seen(
            method=scope["method"],
            path=scope["path"],
            query=scope.get("query_string", b"").decode("latin-1"),
            request_headers=tuple(headers),
            request_body=kept_request.body,
            status=response.status_code,
            response_headers=tuple(
                (k.decode("latin-1").lower(), v.decode("latin-1")) for k, v in response.headers.raw
            ),
            response_body=decoded(kept_response.body, response.headers.get("content-encoding")),
            at=sent_at,
            sent=sent,
            answered=answered,
        )
        try:
            self.ledger.add(self.judge.judge(seen))
            operation = self.judge.operation_of(seen.method, seen.path)
            if self.recorder is not None and operation is not None:
                self.recorder.observe(operation, seen)
        except Exception as exc:  # a fault of ours must never reach the app's traffic
            self._print(f"proxy: could not judge {seen.method} {seen.path}: {_reason(exc)}")

    def _url(self, scope: Scope, scheme: str) -> httpx.URL:
        base = self.upstream
        if scheme == "ws":
            base = base.copy_with(scheme="wss" if base.scheme == "https" else "ws")
        path = base.raw_path.split(b"?")[0].rstrip(b"/") + scope.get(
            "raw_path", scope["path"].encode()
        )
        query = scope.get("query_string", b"")
        return base.copy_with(raw_path=path + (b"?" + query if query else b""))

    async def _upstream_failed(self, send: Send, status: int, what: str) -> None:
        """502/504 naming the upstream; the proxy's own answer, outside the contract."""
        self.ledger.upstream_failures += 1
        detail = (
            f"the upstream {self.shown_upstream} {what}; this answer comes from mockplatform "
            "proxy, not from the platform, and is outside the contract"
        )
        title = "Upstream timeout" if status == 504 else "Upstream unreachable"
        self._print(f"upstream {status}: {detail}")
        body = json.dumps(
            {
                "error": title,
                "upstream": self.shown_upstream,
                "detail": detail,
                "outsideContract": True,
            }
        ).encode()
        await send(
            {
                "type": "http.response.start",
                "status": status,
                "headers": [
                    (b"content-type", b"application/json"),
                    (b"content-length", str(len(body)).encode()),
                ],
            }
        )
        await send({"type": "http.response.body", "body": body})

    # -- WebSocket ---------------------------------------------------------------------------

    async def _websocket(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Open the same WebSocket upstream, then pass messages both ways until one side closes."""
        from websockets.asyncio.client import connect
        from websockets.exceptions import ConnectionClosed, InvalidHandshake

        connected = await receive()
        assert connected["type"] == "websocket.connect"
        headers = _headers(scope)
        offered = [
            p.strip()
            for name, value in headers
            if name == "sec-websocket-protocol"
            for p in value.split(",")
        ]
        passed = [
            (name, value)
            for name, value in _inbound(headers, self.upstream)
            if name.lower() not in WEBSOCKET_HANDSHAKE
        ]
        try:
            upstream = await connect(
                str(self._url(scope, "ws")),
                additional_headers=passed,
                subprotocols=offered or None,  # type: ignore[arg-type]
                open_timeout=self.config.timeout,
                max_size=None,
                compression=None,
            )
        except (OSError, TimeoutError, InvalidHandshake) as exc:
            self.ledger.upstream_failures += 1
            self._print(
                f"upstream {self.shown_upstream} refused the WebSocket {scope['path']} "
                f"({type(exc).__name__}); outside the contract"
            )
            await send({"type": "websocket.close", "code": CLOSE_UPSTREAM_FAILED})
            return
        await send({"type": "websocket.accept", "subprotocol": upstream.subprotocol})

        async def app_to_upstream() -> None:
            while True:
                message = await receive()
                if message["type"] == "websocket.disconnect":
                    await upstream.close(message.get("code", CLOSE_NORMAL))
                    return
                data = message.get("text")
                await upstream.send(data if data is not None else message.get("bytes") or b"")

        async def upstream_to_app() -> None:
            with contextlib.suppress(ConnectionClosed):
                async for data in upstream:
                    key = "text" if isinstance(data, str) else "bytes"
                    await send({"type": "websocket.send", key: data})
            code = upstream.close_code or CLOSE_NORMAL
            code = CLOSE_UPSTREAM_FAILED if code in _UNSENDABLE_CLOSE_CODES else code
            with contextlib.suppress(Exception):  # the app may be gone already
                await send(
                    {"type": "websocket.close", "code": code, "reason": upstream.close_reason or ""}
                )

        legs = [asyncio.create_task(app_to_upstream()), asyncio.create_task(upstream_to_app())]
        try:
            await asyncio.wait(legs, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for leg in legs:
                leg.cancel()
            await asyncio.gather(*legs, return_exceptions=True)
            await upstream.close()


class _Kept:
    """The first `MAX_KEPT_BODY` bytes of a body, for the judge."""

    def __init__(self) -> None:
        self._chunks: list[bytes] = []
        self._size = 0

    def add(self, chunk: bytes) -> None:
        if self._size < MAX_KEPT_BODY:
            self._chunks.append(chunk[: MAX_KEPT_BODY - self._size])
            self._size += len(self._chunks[-1])

    @property
    def body(self) -> bytes:
        return b"".join(self._chunks)


# The proxy relays each app's cookies in its own headers; a jar of its own would only grow
# with every Set-Cookie the upstream sends, for all clients at once. This one keeps none.
_NO_COOKIES = CookieJar(policy=DefaultCookiePolicy(allowed_domains=[]))


def _headers(scope: Scope) -> list[tuple[str, str]]:
    return [(k.decode("latin-1").lower(), v.decode("latin-1")) for k, v in scope["headers"]]


def _named_in_connection(headers: list[tuple[str, str]]) -> set[str]:
    return {
        token.strip().lower()
        for name, value in headers
        if name.lower() == "connection"
        for token in value.split(",")
    }


def _inbound(headers: list[tuple[str, str]], upstream: httpx.URL) -> list[tuple[str, str]]:
    """The app's headers as the upstream gets them: end-to-end ones as sent, its own Host,
    and this proxy added to Via."""
    dropped = HOP_BY_HOP | _named_in_connection(headers) | {"host"}
    kept = [(name, value) for name, value in headers if name not in dropped]
    via = ", ".join([value for name, value in kept if name == "via"] + [VIA])
    host = upstream.netloc.decode("ascii").rpartition("@")[2]
    return [("host", host), *[(n, v) for n, v in kept if n != "via"], ("via", via)]


def _outbound(raw: list[tuple[bytes, bytes]]) -> list[tuple[bytes, bytes]]:
    """The upstream's headers as the app gets them: all of them, repeats and case as they
    came, but the hop-by-hop ones (the server frames the body to the app itself)."""
    text = [(k.decode("latin-1").lower(), v.decode("latin-1")) for k, v in raw]
    dropped = HOP_BY_HOP | _named_in_connection(text)
    return [(k, v) for k, v in raw if k.decode("latin-1").lower() not in dropped]


def _has_body(headers: list[tuple[str, str]]) -> bool:
    return any(
        (name == "content-length" and value.strip() != "0") or name == "transfer-encoding"
        for name, value in headers
    )


async def _request_body(receive: Receive, kept: _Kept) -> AsyncIterator[bytes]:
    """The app's body as it streams in, kept (in part) for the judge on the way through."""
    while True:
        message: Message = await receive()
        if message["type"] == "http.disconnect":
            return
        chunk = message.get("body", b"")
        if chunk:
            kept.add(chunk)
            yield chunk
        if not message.get("more_body", False):
            return


def _reason(exc: Exception) -> str:
    text = str(exc)
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


def check_upstream(url: str) -> str:
    """The upstream's URL, or a `ConfigError` saying what a usable one looks like."""
    try:
        parsed = httpx.URL(url)
    except httpx.InvalidURL as exc:
        raise ConfigError(f"--upstream {url!r}: not a URL ({exc})") from None
    if parsed.scheme not in ("http", "https") or not parsed.host:
        raise ConfigError(f"--upstream {url!r}: expected http(s)://HOST[:PORT], e.g. staging's")
    return url
