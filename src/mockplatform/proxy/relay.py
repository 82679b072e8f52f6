"""The proxy's server side: uvicorn's httptools protocol, with a plain request relayed.

A request the proxy only passes on does not need ASGI: uvicorn's parser has read its line
and headers already, and turning them into a scope, a request-response cycle with its
event, a task running the app, message dicts each way and the answer's headers checked
and encoded again cost the proxy about as much CPU as the mock spends on the whole token
request. So once a request's head is in (`on_headers_complete`), one the proxy forwards
as it is (HTTP/1.1, a body of known length up to `MAX_REPLAYABLE_BODY`, no upgrade, no
`Expect`, not `/_mock/`, nothing in flight before it on the connection) is taken here: its
body gathered as it is parsed, then `ValidationProxy.pass_on` sends it upstream and the
answer is written to the connection as bytes (`_Written`), framed as uvicorn frames an
answer. Every other request (the control API and the proxy's own endpoint, a WebSocket,
a chunked or large body, HTTP/1.0, OPTIONS *, a request pipelined behind one in flight)
takes uvicorn's ASGI path, unchanged.

The connection is still uvicorn's, under the server's limits (`ProxyProtocol`: the core's
`server_limits.LimitedHttpToolsProtocol`, the header timeout, the idle keep-alive timeout,
the idle-first eviction at the connection cap, over this class), so they hold for relayed
requests too; a relayed request is counted in uvicorn's tasks (a graceful shutdown
waits for it) and ends in `on_response_complete`, as an ASGI one does.
"""

from __future__ import annotations

import logging
import urllib.parse
from typing import Any

import httptools
from uvicorn.protocols.http.httptools_impl import STATUS_LINE, HttpToolsProtocol

from mockplatform.core.server_limits import LimitedHttpToolsProtocol
from mockplatform.proxy.upstream import Headers
from mockplatform.proxy.validation_proxy import (
    CONTROL_PREFIX,
    MAX_REPLAYABLE_BODY,
    MAX_WEBSOCKET_MESSAGE,
    BodyExcerpt,
    Outgoing,
    ValidationProxy,
)

logger = logging.getLogger("uvicorn.error")

_NO_BODY_STATUSES = (204, 304)


class _Relayed:
    """A relayed request on its connection, where uvicorn keeps its request-response cycle
    (`protocol.cycle`): uvicorn's `shutdown` and pipelining read these two attributes."""

    __slots__ = ("chunks", "disconnected", "keep_alive", "request", "response_complete")

    def __init__(self, request: Outgoing, keep_alive: bool) -> None:
        self.request = request
        self.chunks: list[bytes] = []
        self.keep_alive = keep_alive
        self.response_complete = False
        self.disconnected = False


class RelayProtocol(HttpToolsProtocol):
    """uvicorn's httptools protocol; the requests `_relayable` picks are relayed."""

    def __init__(self, config: Any, server_state: Any, *args: Any, **kwargs: Any) -> None:
        super().__init__(config, server_state, *args, **kwargs)
        app = config.loaded_app  # served bare (SERVER_OPTIONS): no middleware between
        self.proxy = app if isinstance(app, ValidationProxy) and not config.root_path else None
        self.relayed: _Relayed | None = None  # the request whose body is being read

    # -- the parser's callbacks --------------------------------------------------------------

    def on_headers_complete(self) -> None:
        request = self._relayable()
        if request is None:
            super().on_headers_complete()  # uvicorn's ASGI path
            return
        relayed = _Relayed(request, self.parser.should_keep_alive())
        self.cycle = self.relayed = relayed  # type: ignore[assignment]

    def on_body(self, body: bytes) -> None:
        if self.relayed is None:
            super().on_body(body)
        else:  # at most MAX_REPLAYABLE_BODY: its Content-Length said so, and llhttp holds it
            self.relayed.chunks.append(body)

    def on_message_complete(self) -> None:
        relayed = self.relayed
        if relayed is None:
            super().on_message_complete()
            return
        self.relayed = None
        task = self.loop.create_task(self._relay(relayed))
        task.add_done_callback(self.tasks.discard)
        self.tasks.add(task)

    def connection_lost(self, exc: Exception | None) -> None:
        cycle: Any = self.cycle
        if isinstance(cycle, _Relayed):
            cycle.disconnected = not cycle.response_complete
            self.cycle = None  # type: ignore[assignment]  # uvicorn's would set its event
        super().connection_lost(exc)

    # -- ours --------------------------------------------------------------------------------

    def _relayable(self) -> Outgoing | None:
        """The request as the proxy passes it on, if this is one to relay; else None."""
        parser = self.parser
        if (
            self.proxy is None
            or self.expect_100_continue
            or parser.should_upgrade()
            or (self.cycle is not None and not self.cycle.response_complete)  # pipelined
            or parser.get_http_version() != "1.1"
            or self.url == b"*"
        ):
            return None
        limit = self.limit_concurrency  # uvicorn's own 503 past it
        if limit is not None and (len(self.connections) >= limit or len(self.tasks) >= limit):
            return None
        for name, value in self.headers:
            if name == b"transfer-encoding":
                return None
            if name == b"content-length" and not (
                value.isdigit() and int(value) <= MAX_REPLAYABLE_BODY
            ):
                return None
        try:
            url = httptools.parse_url(self.url)
            path = url.path.decode("ascii")
        except (httptools.HttpParserInvalidURLError, UnicodeDecodeError):
            return None  # uvicorn's path answers it as it would
        if "%" in path:
            path = urllib.parse.unquote(path)
        if path.startswith(CONTROL_PREFIX):
            return None
        return Outgoing(
            parser.get_method().decode("ascii"),
            path,
            url.path,
            url.query or b"",
            self.headers,
            self.scheme,
            self.server,
        )

    async def _relay(self, relayed: _Relayed) -> None:
        proxy = self.proxy
        assert proxy is not None
        kept = BodyExcerpt()
        body = b"".join(relayed.chunks) if relayed.chunks else None
        if body is not None:
            kept.add(body)
        written = _Written(self, relayed)
        try:
            await proxy.pass_on(relayed.request, body, kept, written)
        except Exception:  # a fault of ours: the app gets a 500, as uvicorn would give it
            logger.exception("the proxy failed to relay %s", relayed.request.method)
            if not written.started:
                relayed.keep_alive = False
                await written.whole(500, [(b"content-type", b"text/plain")], b"proxy error")
        finally:
            relayed.response_complete = True
            if not written.complete or not relayed.keep_alive:  # a cut answer ends its connection
                self.transport.close()
            self.on_response_complete()


class _Written:
    """An answer written to the app's connection as bytes, framed as uvicorn frames one: a
    Content-Length kept, else chunked (no body to a HEAD, a 204, a 304); names lower-case;
    `connection: close` where the connection ends after it. Head and a whole body go in one
    write."""

    def __init__(self, protocol: RelayProtocol, relayed: _Relayed) -> None:
        self.protocol = protocol
        self.relayed = relayed
        self.bodiless = relayed.request.method == "HEAD"
        self.chunked = False
        self.started = False
        self.complete = False

    def _head(self, status: int, headers: Headers) -> list[bytes]:
        self.started = True
        content = [STATUS_LINE[status]]
        length = False
        for name, value in headers:
            name = name.lower()
            length = length or name == b"content-length"
            content += [name, b": ", value, b"\r\n"]
        if not self.relayed.keep_alive:
            content.append(b"connection: close\r\n")
        if status in _NO_BODY_STATUSES:
            self.bodiless = True
        elif not length and not self.bodiless:
            self.chunked = True
            content.append(b"transfer-encoding: chunked\r\n")
        content.append(b"\r\n")
        return content

    def _write(self, data: bytes) -> None:
        transport = self.protocol.transport
        if not self.relayed.disconnected and not transport.is_closing():
            transport.write(data)

    def _framed(self, chunk: bytes) -> list[bytes]:
        if self.bodiless or not chunk:
            return []
        return [b"%x\r\n" % len(chunk), chunk, b"\r\n"] if self.chunked else [chunk]

    async def whole(self, status: int, headers: Headers, body: bytes) -> None:
        content = self._head(status, headers) + self._framed(body)
        if self.chunked:
            content.append(b"0\r\n\r\n")
        self._write(b"".join(content))
        self.complete = True

    async def start(self, status: int, headers: Headers) -> None:
        self._write(b"".join(self._head(status, headers)))

    async def part(self, chunk: bytes) -> None:
        flow = self.protocol.flow
        if flow.write_paused and not self.relayed.disconnected:
            await flow.drain()  # the app reads slower than the upstream answers
        self._write(b"".join(self._framed(chunk)))

    async def end(self) -> None:
        if self.chunked:
            self._write(b"0\r\n\r\n")
        self.complete = True


class ProxyProtocol(LimitedHttpToolsProtocol, RelayProtocol):
    """The server's limits (header timeout, idle keep-alive, idle-first eviction at the
    cap) over the relay: they hold for relayed requests as for ASGI ones."""


# uvicorn's settings for serving the proxy: its protocol, the app served bare (no
# X-Forwarded-* rewriting: the proxy trusts no one's), the answers the upstream's (no Server
# or Date header of the proxy's own), and an app's WebSocket message bounded as the
# upstream's is.
SERVER_OPTIONS: dict[str, Any] = {
    "http": ProxyProtocol,
    "proxy_headers": False,
    "server_header": False,
    "date_header": False,
    "ws_max_size": MAX_WEBSOCKET_MESSAGE,
}
