"""The proxy's leg to the upstream: a pooled keep-alive HTTP/1.1 client on asyncio and httptools.

Chosen by measurement (`python -m bench.proxy_clients`, README "The validation proxy"): the
same parser uvicorn serves with, on a plain `asyncio.Protocol`, costs a fraction of httpx's
CPU per request, and aiohttp's is in between. What the proxy needs of a client is small:
send one request with the app's own headers (already cleaned of hop-by-hop ones), get the
status and the raw headers (repeats and order kept), then the body as it streams, with
reading paused while the app is slower than the upstream, so a large or endless answer
never piles up here.

Connections are kept open between requests (HTTP/1.1 keep-alive) and reused, at most
`MAX_IDLE` idle at once. A request sent on a reused connection that the upstream had just
closed is sent again once on a fresh one, when its body is at hand to send again.
"""

from __future__ import annotations

import asyncio
import ssl
from collections import deque
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any, cast

import httptools

MAX_IDLE = 100  # idle keep-alive connections kept
READ_HIGH_WATER = 256 * 1024  # body bytes buffered before reading from the upstream pauses
READ_LOW_WATER = 64 * 1024
MAX_HEAD_BYTES = 64 * 1024  # of an answer's status line and headers: past it, not HTTP we take
Headers = list[tuple[bytes, bytes]]


class UpstreamError(Exception):
    """The upstream could not be reached, or broke off, or sent what is not HTTP/1.1."""


class UpstreamTimeout(UpstreamError):
    pass


class _Connection(asyncio.Protocol):
    """One connection to the upstream; its parser calls back the `on_*` methods."""

    def __init__(self) -> None:
        self.transport: asyncio.Transport | None = None
        self.parser = httptools.HttpResponseParser(self)
        self.closed = False
        self._writable = asyncio.Event()
        self._writable.set()
        self._reset()

    def _reset(self) -> None:
        loop = asyncio.get_running_loop()
        self.head: asyncio.Future[tuple[int, Headers]] = loop.create_future()
        self.headers: Headers = []
        self.head_bytes = 0
        self.chunks: deque[bytes] = deque()
        self.buffered = 0
        self.waiter: asyncio.Future[None] | None = None  # a reader waiting for more
        self.complete = False
        self.error: UpstreamError | None = None
        self.received = False  # any byte of this answer
        self.keep_alive = False
        self.paused = False

    # -- asyncio.Protocol ---------------------------------------------------------------------

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.Transport, transport)  # uvloop's is not a subclass

    def data_received(self, data: bytes) -> None:
        self.received = True
        try:
            self.parser.feed_data(data)
        except httptools.HttpParserError as exc:
            self._fail(UpstreamError(f"sent an answer that is not HTTP/1.1 ({exc})"))
            self.close()

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
        self._writable.set()
        if not self.complete:
            if self.head.done() and self._until_close():
                self.on_message_complete()  # a body delimited by the connection's end
            else:
                self._fail(UpstreamError("closed the connection before its answer ended"))

    def pause_writing(self) -> None:
        self._writable.clear()

    def resume_writing(self) -> None:
        self._writable.set()

    # -- httptools callbacks -------------------------------------------------------------------

    def on_header(self, name: bytes, value: bytes) -> None:
        self.head_bytes += len(name) + len(value) + 4
        if self.head_bytes > MAX_HEAD_BYTES:
            self._fail(UpstreamError(f"sent headers past {MAX_HEAD_BYTES} bytes"))
            raise UpstreamError  # stops the parser
        self.headers.append((name, value))

    def on_headers_complete(self) -> None:
        status = self.parser.get_status_code()
        if 100 <= status < 200 and status != 101:
            self.headers = []  # an interim answer (100 Continue, 103): the final one follows
            return
        self.keep_alive = self.parser.should_keep_alive()  # read now: reset once complete
        if not self.head.done():
            self.head.set_result((status, self.headers))

    def on_body(self, body: bytes) -> None:
        self.chunks.append(body)
        self.buffered += len(body)
        if self.buffered > READ_HIGH_WATER and not self.paused and self.transport is not None:
            self.paused = True
            self.transport.pause_reading()
        self._wake()

    def on_message_complete(self) -> None:
        if self.head.done():
            self.complete = True
            self._wake()

    # -- ours -------------------------------------------------------------------------------

    def _until_close(self) -> bool:
        names = {name.lower() for name, _ in self.headers}
        return b"content-length" not in names and b"transfer-encoding" not in names

    def _fail(self, error: UpstreamError) -> None:
        if self.error is None:
            self.error = error
        if not self.head.done():
            self.head.set_exception(error)
            self.head.exception()  # seen here: no one may wait any more (a timed-out request)
        self._wake()

    def _wake(self) -> None:
        if self.waiter is not None and not self.waiter.done():
            self.waiter.set_result(None)

    def time_out(self, error: UpstreamTimeout) -> None:
        """Called by a timer (cheaper than `asyncio.wait_for`, which makes a task each time)."""
        for future in (self.head, self.waiter):
            if future is not None and not future.done():
                future.set_exception(error)
                future.exception()  # retrieved here: its waiter may be gone

    async def write(self, data: bytes) -> None:
        if self.closed or self.transport is None:
            raise UpstreamError("closed the connection while the request was sent")
        self.transport.write(data)
        if not self._writable.is_set():  # the upstream reads slower than we write
            await self._writable.wait()

    def take(self) -> bytes | None:
        """The next buffered body part, reading resumed once the buffer has drained."""
        if not self.chunks:
            return None
        chunk = self.chunks.popleft()
        self.buffered -= len(chunk)
        if self.paused and self.buffered < READ_LOW_WATER and self.transport is not None:
            self.paused = False
            self.transport.resume_reading()
        return chunk

    def reusable(self) -> bool:
        return (
            self.complete
            and not self.closed
            and self.keep_alive
            and not self.chunks
            and self.error is None
        )

    def close(self) -> None:
        self.closed = True
        if self.transport is not None:
            self.transport.close()


@dataclass
class Response:
    """The upstream's answer: status and raw headers at once, the body as it arrives."""

    status: int
    headers: Headers
    _connection: _Connection
    _pool: UpstreamPool
    _read_timeout: float
    _head_only: bool
    _done: bool = field(default=False)

    def whole(self) -> bytes | None:
        """The whole body if it has all arrived already (a small answer comes with its
        head), so it goes to the app in one piece; else None."""
        connection = self._connection
        if self._head_only:
            return b""
        if not connection.complete:
            return None
        chunks = []
        while (chunk := connection.take()) is not None:
            chunks.append(chunk)
        return b"".join(chunks)

    async def stream(self) -> AsyncIterator[bytes]:
        """The body's parts as they come (its content coding left as it is)."""
        connection = self._connection
        if self._head_only:
            return
        loop = asyncio.get_running_loop()
        while True:
            chunk = connection.take()
            if chunk is not None:
                yield chunk
                continue
            if connection.complete:
                return
            if connection.error is not None:
                raise connection.error
            connection.waiter = loop.create_future()
            silent = UpstreamTimeout(
                f"sent nothing more of its answer for {self._read_timeout:g} s"
            )
            timer = loop.call_later(self._read_timeout, connection.time_out, silent)
            try:
                await connection.waiter
            finally:
                timer.cancel()
                connection.waiter = None

    def release(self) -> None:
        """Give the connection back to the pool if its answer was read whole, else close it."""
        if self._done:
            return
        self._done = True
        if not self._head_only and self._connection.reusable():
            self._pool.put_back(self._connection)
        else:
            self._connection.close()


class UpstreamPool:
    """Keep-alive connections to one upstream (scheme, host, port)."""

    def __init__(self, scheme: str, host: str, port: int, timeout: float) -> None:
        self.host, self.port, self.timeout = host, port, timeout
        self._tls: ssl.SSLContext | None = (
            ssl.create_default_context() if scheme == "https" else None
        )
        self._idle: deque[_Connection] = deque()

    async def request(
        self,
        method: str,
        target: bytes,
        headers: Headers,
        body: bytes | AsyncIterator[bytes] | None,
    ) -> Response:
        """Send one request; return once the answer's status and headers are in.

        `headers` are sent as given, `Host` included; a streamed `body` without a
        `Content-Length` goes chunked. Raises `UpstreamTimeout` or `UpstreamError`.
        """
        head = _head(method, target, headers, body)
        reused = self._take_idle()
        connection = reused or await self._connect()
        try:
            return await self._exchange(connection, method, head, headers, body)
        except UpstreamTimeout:
            raise
        except UpstreamError:
            # A reused connection the upstream had closed meanwhile: once more, afresh.
            if reused is None or connection.received or not isinstance(body, bytes | None):
                raise
        return await self._exchange(await self._connect(), method, head, headers, body)

    async def _exchange(
        self,
        connection: _Connection,
        method: str,
        head: bytes,
        headers: Headers,
        body: bytes | AsyncIterator[bytes] | None,
    ) -> Response:
        connection._reset()
        timer: asyncio.TimerHandle | None = None
        try:
            if isinstance(body, bytes):
                await connection.write(head + body)  # one write, one system call
            elif body is None:
                await connection.write(head)
            else:
                await connection.write(head)
                chunked = _chunked(headers, body)
                async for part in body:
                    if part:
                        await connection.write(
                            b"%x\r\n%s\r\n" % (len(part), part) if chunked else part
                        )
                if chunked:
                    await connection.write(b"0\r\n\r\n")
            late = UpstreamTimeout(f"did not answer within {self.timeout:g} s")
            timer = asyncio.get_running_loop().call_later(self.timeout, connection.time_out, late)
            status, answer = await connection.head
        except BaseException:
            connection.close()
            raise
        finally:
            if timer is not None:
                timer.cancel()
        return Response(status, answer, connection, self, self.timeout, method == "HEAD")

    def _take_idle(self) -> _Connection | None:
        while self._idle:
            connection = self._idle.pop()
            if not connection.closed:
                return connection
        return None

    def put_back(self, connection: _Connection) -> None:
        if len(self._idle) >= MAX_IDLE:
            connection.close()
        else:
            self._idle.append(connection)

    async def _connect(self) -> _Connection:
        loop = asyncio.get_running_loop()
        options: dict[str, Any] = {}
        if self._tls is not None:
            options = {"ssl": self._tls, "server_hostname": self.host}
        try:
            _, connection = await asyncio.wait_for(
                loop.create_connection(_Connection, self.host, self.port, **options),
                self.timeout,
            )
        except TimeoutError:
            raise UpstreamTimeout(
                f"did not accept a connection within {self.timeout:g} s"
            ) from None
        except OSError as exc:
            raise UpstreamError(f"could not be reached ({exc.strerror or exc})") from None
        return connection

    def close(self) -> None:
        while self._idle:
            self._idle.pop().close()


def _has_length(headers: Headers) -> bool:
    return any(name.lower() == b"content-length" for name, _ in headers)


def _chunked(headers: Headers, body: bytes | AsyncIterator[bytes] | None) -> bool:
    if body is None or isinstance(body, bytes):
        return False
    return not _has_length(headers)


def _head(method: str, target: bytes, headers: Headers, body: bytes | Any | None) -> bytes:
    lines = [b"%s %s HTTP/1.1" % (method.encode("ascii"), target)]
    lines += [name + b": " + value for name, value in headers]
    if _chunked(headers, body):
        lines.append(b"transfer-encoding: chunked")
    elif isinstance(body, bytes) and body and not _has_length(headers):
        lines.append(b"content-length: %d" % len(body))
    return b"\r\n".join(lines) + b"\r\n\r\n"
