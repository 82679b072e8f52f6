"""`mockplatform proxy`: between an app and a platform we do not own, judging what passes.

Every request goes to the upstream and its answer comes back unchanged — status, headers
(repeats kept), body bytes as they stream, a WebSocket message by message — and only then,
off the answer's path, the exchange is judged against openapi.yaml by the core's judge
(through verdicts.py, which keeps its tokens on the watch) and, with `--record`,
remembered as a scenario (recorder.py).

As a gateway in RFC 9110's sense it drops the hop-by-hop headers each way (`Connection` and
the headers it names, `Keep-Alive`, `Transfer-Encoding`, `TE`, `Trailer`, `Upgrade`, the
`Proxy-*` pair), sends the upstream its own `Host`, and adds itself to `Via` on the way in.
Its own admin token stays with it. Where the upstream names its own address (a `Location`,
the redeem's `callUrl`) the app is given the proxy's (addresses.py), so the SDK's traffic
passes the proxy too. An answer HTTP cannot carry on (a status outside 200-599, a header no
server may send) becomes a 502 naming the upstream, outside the contract.

The proxy's own endpoint, `GET /_mock/violations`, and every other `/_mock/` path it passes
on (the upstream mock's control API), answer only callers the control API's guard lets in:
loopback, or the admin token.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import hmac
import json
import re
import time
from collections import deque
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from typing import Protocol

import httpx
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route, Router
from starlette.types import Message, Receive, Scope, Send

from mockplatform.core.errors import ConfigError
from mockplatform.core.json_text import JSON_MEDIA_TYPE, media_type
from mockplatform.core.judge import Seen, says_expired
from mockplatform.core.origins import ControlGuard
from mockplatform.core.redaction import printable
from mockplatform.core.spec import REDEEM_TOKEN, Operation, Spec
from mockplatform.proxy.addresses import public_origin, rewritten, rewritten_call_url
from mockplatform.proxy.exchanges import MAX_KEPT_BODY, decoded
from mockplatform.proxy.recorder import Recorder
from mockplatform.proxy.upstream import Headers, UpstreamError, UpstreamPool, UpstreamTimeout
from mockplatform.proxy.verdicts import Judge, Ledger

CONTROL_PREFIX = "/_mock/"
VIOLATIONS_PATH = "/_mock/violations"
CLOCK_PATH = b"/_mock/clock"  # an upstream mock's clock (its control API)
MAX_REPLAYABLE_BODY = 64 * 1024  # a request body read whole before it is sent upstream
MAX_WEBSOCKET_MESSAGE = 1024 * 1024  # bytes of one WebSocket message, either way
ADMIN_TOKEN_HEADER = b"x-mock-admin-token"
MAX_QUEUED = 1000  # exchanges waiting to be judged; past it one passes unjudged (counted)
# Judging time of one exchange past which it is counted (`Ledger.over_budget`): its input is
# bounded (`MAX_KEPT_BODY` a body), so this flags a slow rule, never a growing backlog.
JUDGE_BUDGET = 0.02
# Judging time per turn of the event loop: the exchanges waiting are judged in one go up to
# this, then requests waiting go in between. One exchange a turn (as it was) fell behind at
# 32 connections, where a turn brings in up to 32 answers: the queue filled, and most
# exchanges went unjudged.
JUDGE_SLICE = 0.005
HOP_BY_HOP = frozenset(
    {
        b"connection",
        b"keep-alive",
        b"proxy-authenticate",
        b"proxy-authorization",
        b"te",
        b"trailer",
        b"trailers",
        b"transfer-encoding",
        b"upgrade",
    }
)
# Headers the WebSocket handshake makes for itself on each leg.
WEBSOCKET_HANDSHAKE = frozenset(
    {b"host", b"sec-websocket-key", b"sec-websocket-version", b"sec-websocket-extensions",
     b"sec-websocket-protocol", b"sec-websocket-accept"}
)  # fmt: skip
VIA = b"1.1 mockplatform-proxy"
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
        # The upstream URL's own path, before every request's (httpx.URL computes it anew).
        self._base_path = self.upstream.raw_path.split(b"?")[0].rstrip(b"/")
        self._host: bytes = self.upstream.netloc.rpartition(b"@")[2]  # its Host header
        token = self.config.admin_token
        self._admin_token = token.encode() if token is not None else None
        self.judge = Judge(self.spec)
        self.ledger = Ledger(self._print)
        self._pool: UpstreamPool | None = None
        # Exchanges to judge, oldest first, each with its operation (looked up once).
        self._waiting: deque[tuple[Seen, Operation | None]] = deque()
        self._judging_scheduled = False
        self._upstream_has_clock: bool | None = None  # unknown until asked
        self._background: list[asyncio.Task[None]] = []
        self.forwarded = 0  # requests taken; each ends judged or as an upstream failure
        self._control = ControlGuard(
            Router([Route("/violations", self._violations, methods=["GET"])]),
            self.config.admin_token,
        )
        self._guarded_forward = ControlGuard(self._forward, self.config.admin_token)

    def _print(self, text: str) -> None:
        """Every line the proxy prints, each line of it made printable."""
        self.print_line("\n".join(printable(line, None) for line in text.split("\n")))

    @functools.cached_property
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
        """Stop: close the upstream connections, judge what is queued, save the recording,
        sum up."""
        if self._pool is not None:
            self._pool.close()
            self._pool = None
        for task in self._background:
            task.cancel()
        await asyncio.gather(*self._background, return_exceptions=True)
        self._background = []
        while self._waiting:
            self._judge(*self._waiting.popleft())
        if self.recorder is not None:
            self.recorder.save()
        self._print(self.ledger.summary())

    @property
    def pool(self) -> UpstreamPool:
        """The upstream's keep-alive connections. It keeps no cookie jar: each app's cookies
        travel in its own headers, never kept for every client at once."""
        if self._pool is None:  # made in the server's loop, on first use
            url = self.upstream
            port = url.port or (443 if url.scheme == "https" else 80)
            self._pool = UpstreamPool(url.scheme, url.host, port, self.config.timeout)
        return self._pool

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
        """An HTTP request that came through ASGI: the control API passed on, and what the
        relay leaves to uvicorn (relay.py: a streamed or large body, HTTP/1.0, OPTIONS *,
        `Expect: 100-continue`...)."""
        headers: Headers = scope["headers"]
        kept_request = BodyExcerpt()
        body: bytes | AsyncIterator[bytes] | None = None
        if _has_body(headers):
            body = _request_body(receive, kept_request)
            if _length(headers) <= MAX_REPLAYABLE_BODY:  # at hand, to send again if need be
                body = b"".join([chunk async for chunk in body])
        request = Outgoing(
            scope["method"],
            scope["path"],
            scope.get("raw_path") or scope["path"].encode(),
            scope.get("query_string", b""),
            headers,
            scope.get("scheme"),
            scope.get("server"),
        )
        await self.pass_on(request, body, kept_request, _Sent(send))

    async def pass_on(
        self,
        request: Outgoing,
        body: bytes | AsyncIterator[bytes] | None,
        kept_request: BodyExcerpt,
        answer: Answer,
    ) -> None:
        """Send the app's request upstream and its answer to `answer`, then queue the
        exchange to be judged (or count why it is not)."""
        sent_at, sent = time.time(), time.monotonic()
        self.forwarded += 1
        outbound_headers = _inbound(request.headers, self._host, self._admin_token)
        try:
            target = self._target(request.raw_path, request.query)
            response = await self.pool.request(request.method, target, outbound_headers, body)
        except UpstreamTimeout as exc:
            await self._upstream_failed(answer, 504, str(exc))
            return
        except UpstreamError as exc:
            await self._upstream_failed(answer, 502, str(exc))
            return
        answered = time.monotonic()
        status = response.status
        odd = _odd_answer(status, response.headers)
        if odd is not None:
            response.release()  # unread: the connection is closed, never reused
            await self._upstream_failed(answer, 502, odd)
            return
        kept_response = BodyExcerpt()
        # The answer's headers read once: names lower-case, as the judge and the rules read them.
        response_headers = tuple(
            (k.decode("latin-1").lower(), v.decode("latin-1")) for k, v in response.headers
        )
        outbound = _outbound(status, response.headers)
        if "location" in (name for name, _ in response_headers):
            outbound = [
                (name, rewritten(value.decode("latin-1"), self.upstream, request.origin).encode())
                if name.lower() == b"location"
                else (name, value)
                for name, value in outbound
            ]
        operation = self.judge.operation_of(request.method, request.path)
        try:
            names_call_url = _names_a_call_url(operation, status, response_headers)
            whole = response.whole()  # a small answer: all there with its head
            parts, read = response.stream(), []
            if whole is None and names_call_url:  # read whole, as far as the kept size
                async for chunk in parts:
                    read.append(chunk)
                    if sum(map(len, read)) > MAX_KEPT_BODY:
                        break  # too long to be a started call's: passed on as it is
                else:
                    whole, read = b"".join(read), []
            if whole is not None:
                kept_response.add(whole)
                proxied = None
                if names_call_url:
                    proxied = rewritten_call_url(whole, self.upstream, request.origin)
                if proxied is not None:
                    whole = proxied
                    outbound = [(k, v) for k, v in outbound if k.lower() != b"content-length"]
                    outbound.append((b"content-length", str(len(proxied)).encode()))
                await answer.whole(status, outbound, whole)
            else:
                await answer.start(status, outbound)
                for chunk in read:
                    kept_response.add(chunk)
                    await answer.part(chunk)
                async for chunk in parts:
                    kept_response.add(chunk)
                    await answer.part(chunk)
                await answer.end()
        except UpstreamError as exc:  # mid-answer: the status is gone, so the answer is cut
            self.ledger.upstream_failures += 1
            self._print(
                f"upstream {self.shown_upstream} broke off its answer to "
                f"{request.method} {request.path} ({exc}); outside the contract"
            )
            return
        finally:
            response.release()
        coding = next((v for k, v in response_headers if k == "content-encoding"), None)
        response_body = decoded(kept_response.body, coding)
        if kept_request.cut:  # what the app asked is unknown past the kept size: not judged
            self.ledger.not_judged["a request body past the kept size"] += 1
            return
        if kept_response.cut or response_body.cut:
            self.ledger.partly_judged += 1  # judged but for the answer's body
        # The app has its whole answer; judging starts now, in this same step of the loop,
        # so a token is on the watch before the app can possibly redeem it.
        seen = Seen(
            method=request.method,
            path=request.path,
            query=request.query.decode("latin-1"),
            request_headers=tuple(
                (k.decode("latin-1"), v.decode("latin-1")) for k, v in request.headers
            ),
            request_body=kept_request.body,
            status=status,
            response_headers=response_headers,
            response_body=response_body.body,
            at=sent_at,
            sent=sent,
            answered=answered,
            base_url=self.shown_upstream,
            response_cut=kept_response.cut or response_body.cut,
        )
        if (
            self._upstream_has_clock is not False
            and operation is not None
            and operation.operation_id == REDEEM_TOKEN
            and says_expired(operation, seen)
        ):
            await self._read_upstream_clock()  # judged first: the redeem on the target's clock
        self._wait_to_be_judged(seen, operation)

    async def _read_upstream_clock(self) -> None:
        """Where the upstream is a mock, its clock may have been moved by a test that did not
        go through the proxy: read it (`GET /_mock/clock`) before judging a token it calls
        expired. An upstream without one (the real platform: 404, or a 403) is not asked
        again. The reading is judged as an exchange of its own, in order."""
        headers = [(b"host", self._host)]
        try:
            response = await self.pool.request("GET", self._base_path + CLOCK_PATH, headers, None)
            body = b"".join([chunk async for chunk in response.stream()])
            response.release()
        except UpstreamError:
            return
        self._upstream_has_clock = response.status == 200
        if self._upstream_has_clock:
            self.forwarded += 1  # an exchange of the proxy's own, judged like the others
            now = time.monotonic()
            self._wait_to_be_judged(
                Seen(
                    method="GET",
                    path=CLOCK_PATH.decode(),
                    query="",
                    request_headers=(),
                    request_body=b"",
                    status=200,
                    response_headers=(("content-type", JSON_MEDIA_TYPE),),
                    response_body=body,
                    at=time.time(),
                    sent=now,
                    answered=now,
                    base_url=self.shown_upstream,
                ),
                None,
            )

    def _wait_to_be_judged(self, seen: Seen, operation: Operation | None) -> None:
        """Judging runs after the answer has gone, in the order answers ended, for up to
        `JUDGE_SLICE` per turn of the event loop (requests waiting go in between): a
        callback, not a task, so it costs the loop next to nothing. At most `MAX_QUEUED`
        wait; past that an exchange passes unjudged, counted."""
        if self.recorder is not None and not self._background:  # its writes, in background
            self._background.append(asyncio.create_task(self.recorder.run()))
        if len(self._waiting) >= MAX_QUEUED:
            self.ledger.not_judged["the judging queue was full"] += 1
            return
        self._waiting.append((seen, operation))
        if not self._judging_scheduled:
            self._judging_scheduled = True
            asyncio.get_running_loop().call_soon(self._judge_next)

    def _judge_next(self) -> None:
        self._judging_scheduled = False
        until = time.perf_counter() + JUDGE_SLICE
        while self._waiting and self._judge(*self._waiting.popleft()) < until:
            pass
        if self._waiting:
            self._judging_scheduled = True
            asyncio.get_running_loop().call_soon(self._judge_next)

    def _judge(self, seen: Seen, operation: Operation | None) -> float:
        """Judge one exchange; record it. Over `JUDGE_BUDGET` of time, it is counted.
        Returns when it finished (`time.perf_counter`)."""
        started = time.perf_counter()
        try:
            self.ledger.add(self.judge.judge(seen, operation))
            if self.recorder is not None and operation is not None:
                self.recorder.observe(operation, seen)
        except Exception as exc:  # a fault of ours must never reach the app's traffic
            self._print(f"proxy: could not judge {seen.method} {seen.path}: {_reason(exc)}")
            self.ledger.not_judged["a fault of the proxy's own"] += 1
        finished = time.perf_counter()
        if finished - started > JUDGE_BUDGET:
            self.ledger.over_budget += 1
        return finished

    def _target(self, raw_path: bytes, query: bytes) -> bytes:
        """The request target upstream: the upstream URL's path, then the app's, and its query."""
        if raw_path == b"*":  # OPTIONS *: the server as a whole
            return b"*"
        return self._base_path + raw_path + (b"?" + query if query else b"")

    def _url(self, scope: Scope, scheme: str) -> httpx.URL:
        base = self.upstream
        if scheme == "ws":
            base = base.copy_with(scheme="wss" if base.scheme == "https" else "ws")
        raw_path = scope.get("raw_path") or scope["path"].encode()
        return base.copy_with(raw_path=self._target(raw_path, scope.get("query_string", b"")))

    async def _upstream_failed(self, answer: Answer, status: int, what: str) -> None:
        """502/504 naming the upstream; the proxy's own answer, outside the contract."""
        self.ledger.upstream_failures += 1
        detail = (
            f"the upstream {self.shown_upstream} {what}; this answer comes from mockplatform "
            "proxy, not from the platform, and is outside the contract"
        )
        title = "Upstream timeout" if status == 504 else "Bad gateway"
        self._print(f"upstream {status}: {detail}")
        body = json.dumps(
            {
                "error": title,
                "upstream": self.shown_upstream,
                "detail": detail,
                "outsideContract": True,
            }
        ).encode()
        headers = [(b"content-type", b"application/json"), (b"content-length", b"%d" % len(body))]
        await answer.whole(status, headers, body)

    # -- WebSocket ---------------------------------------------------------------------------

    async def _websocket(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Open the same WebSocket upstream, then pass messages both ways until one side closes."""
        from websockets.asyncio.client import connect
        from websockets.exceptions import ConnectionClosed, InvalidHandshake

        connected = await receive()
        assert connected["type"] == "websocket.connect"
        offered = [
            p.strip()
            for name, value in scope["headers"]
            if name == b"sec-websocket-protocol"
            for p in value.decode("latin-1").split(",")
        ]
        passed = [
            (name.decode("latin-1"), value.decode("latin-1"))
            for name, value in _inbound(scope["headers"], self._host, self._admin_token)
            if name not in WEBSOCKET_HANDSHAKE
        ]
        try:
            upstream = await connect(
                str(self._url(scope, "ws")),
                additional_headers=passed,
                subprotocols=offered or None,
                open_timeout=self.config.timeout,
                max_size=MAX_WEBSOCKET_MESSAGE,
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


@dataclass(slots=True)
class Outgoing:
    """An app's request as the proxy passes it on, and then judges it: read off the wire
    once, by uvicorn's parser, whichever way it came (ASGI, or the relay of relay.py)."""

    method: str
    path: str  # percent-decoded, as the spec's paths and the judge read it
    raw_path: bytes  # as the app sent it (b"*": OPTIONS *)
    query: bytes
    headers: Headers  # names lower-case, repeats kept
    scheme: str | None  # the app's connection's, and the address it reached
    server: tuple[str, int | None] | None

    @property
    def origin(self) -> str:
        """`http(s)://host[:port]` as the app reached the proxy: worked out only for an
        answer that names the upstream's own address."""
        return public_origin(self.headers, self.scheme, self.server)


class Answer(Protocol):
    """Where the upstream's answer goes: the ASGI server (`_Sent`), or the app's connection
    itself (relay.py). Either whole, or started, in parts, and ended."""

    async def whole(self, status: int, headers: Headers, body: bytes) -> None: ...

    async def start(self, status: int, headers: Headers) -> None: ...

    async def part(self, chunk: bytes) -> None: ...

    async def end(self) -> None: ...


class _Sent:
    """An answer sent as ASGI messages."""

    def __init__(self, send: Send) -> None:
        self._send = send

    async def whole(self, status: int, headers: Headers, body: bytes) -> None:
        await self.start(status, headers)
        await self._send({"type": "http.response.body", "body": body, "more_body": False})

    async def start(self, status: int, headers: Headers) -> None:
        await self._send({"type": "http.response.start", "status": status, "headers": headers})

    async def part(self, chunk: bytes) -> None:
        await self._send({"type": "http.response.body", "body": chunk, "more_body": True})

    async def end(self) -> None:
        await self._send({"type": "http.response.body", "body": b"", "more_body": False})


class BodyExcerpt:
    """The first `MAX_KEPT_BODY` bytes of a body, for the judge; `cut` if there was more."""

    def __init__(self) -> None:
        self._chunks: list[bytes] = []
        self._size = 0
        self.cut = False

    def add(self, chunk: bytes) -> None:
        if self._size + len(chunk) > MAX_KEPT_BODY:
            self.cut = True
        if self._size < MAX_KEPT_BODY:
            self._chunks.append(chunk[: MAX_KEPT_BODY - self._size])
            self._size += len(self._chunks[-1])

    @property
    def body(self) -> bytes:
        return b"".join(self._chunks)


def _named_in_connection(headers: Headers) -> frozenset[bytes]:
    """The headers a `Connection` header names (hop-by-hop too: RFC 9110 7.6.1)."""
    named = [value for name, value in headers if name.lower() == b"connection"]
    return frozenset(
        token.strip().lower() for value in named for token in value.split(b",")
    )  # fmt: skip


_INBOUND_DROPPED = HOP_BY_HOP | {b"host"}


def _inbound(headers: Headers, host: bytes, admin_token: bytes | None) -> Headers:
    """The app's headers (names lower-case) as the upstream gets them: end-to-end ones as
    sent, its own Host, and this proxy added to Via. The proxy's own admin token is the
    proxy's: never passed on to an upstream that may be staging (another one, for the
    upstream mock, is)."""
    dropped = _INBOUND_DROPPED | _named_in_connection(headers)
    kept = [
        (name, value)
        for name, value in headers
        if name not in dropped
        and not (name == ADMIN_TOKEN_HEADER and _is_token(value, admin_token))
    ]
    via = b", ".join([value for name, value in kept if name == b"via"] + [VIA])
    return [(b"host", host), *[(n, v) for n, v in kept if n != b"via"], (b"via", via)]


def _is_token(value: bytes, admin_token: bytes | None) -> bool:
    return admin_token is not None and hmac.compare_digest(value, admin_token)


def _outbound(status: int, raw: Headers) -> Headers:
    """The upstream's headers as the app gets them: all of them, repeats and case as they
    came, but the hop-by-hop ones (the server frames the body to the app itself), and a
    Content-Length on an answer that has no body (204, 304: RFC 9110 8.6)."""
    dropped = HOP_BY_HOP | _named_in_connection(raw)
    if status in (204, 304):
        dropped |= {b"content-length"}
    return [(name, value) for name, value in raw if name.lower() not in dropped]


# What uvicorn refuses to send (its httptools protocol's own checks): a header name that is
# not a token, a value with a control character.
_BAD_NAME = re.compile(b'[\x00-\x1f\x7f()<>@,;:\\[\\]={} \t\\\\"]')
_BAD_VALUE = re.compile(b"[\x00-\x08\x0a-\x1f\x7f]")


def _odd_answer(status: int, headers: Headers) -> str | None:
    """Why the upstream's answer cannot be passed on as it is, if it cannot."""
    if not 200 <= status <= 599:
        return f"answered with status {status}, which is no final HTTP status (200-599)"
    # All names (then all values) searched as one string: joined without a separator, they
    # hold a refused character exactly when one of them does.
    if _BAD_NAME.search(b"".join([name for name, _ in headers])) or _BAD_VALUE.search(
        b"".join([value for _, value in headers])
    ):
        return "answered with a header that HTTP does not allow"
    return None


def _names_a_call_url(
    operation: Operation | None, status: int, headers: tuple[tuple[str, str], ...]
) -> bool:
    """Whether the answer is a started call's (the redeem's 2xx JSON, not content-coded, not
    declared longer than the kept size), whose `callUrl` may name the upstream."""
    if status >= 300 or operation is None or operation.operation_id != REDEEM_TOKEN:
        return False
    named = dict(headers)
    length = named.get("content-length", "")
    return (
        media_type(named.get("content-type")) == JSON_MEDIA_TYPE
        and "content-encoding" not in named
        and (not length.isdigit() or int(length) <= MAX_KEPT_BODY)
    )


def _length(headers: Headers) -> int:
    """The request's Content-Length, or a size past any bound if it has none (chunked)."""
    value = next((v for n, v in headers if n == b"content-length"), b"")
    return int(value) if value.strip().isdigit() else MAX_KEPT_BODY + 1


def _has_body(headers: Headers) -> bool:
    return any(
        (name == b"content-length" and value.strip() != b"0") or name == b"transfer-encoding"
        for name, value in headers
    )


async def _request_body(receive: Receive, kept: BodyExcerpt) -> AsyncIterator[bytes]:
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
