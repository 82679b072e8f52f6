"""The server's own limits, explicit: how many connections, how large a request's head, how
long a client may take to send it, and how long an idle connection is kept.

uvicorn's defaults leave these open: 20,100 idle connections used up the process's file
descriptors (service fell to nothing, with nothing logged), a megabyte header was read
whole, a client dripping a header's bytes held its connection for ever, and one client
holding the connection cap's worth of idle connections locked every other client out.
`LimitedHttpToolsProtocol` is uvicorn's httptools protocol with these bounds, each answered
at once and plainly:

- a request line and headers past the limit get a 431 and the connection is closed, the
  rest unread;
- the request line and headers must arrive within `header_timeout` seconds of the
  connection opening or of the request's first byte (a drip is closed, with a 408);
- a connection idle after its answer is closed after `timeout_keep_alive` seconds;
- at the connection cap, a new connection closes the connection that has been idle (or
  sending a head) longest; only when every connection is busy with a request is the new
  one refused, with a 503 before its request is read (logged at most every 10 s).

The two timeouts are checked by one sweep per server every fraction of the shorter, not by
a timer per request (a request pays for two float stores). The bounds travel in the
`Config` (uvicorn's `limit_concurrency`, `h11_max_incomplete_event_size` (the same limit
for uvicorn's other HTTP protocol) and `timeout_keep_alive`, and `LimitedConfig`'s
`header_timeout`), which `--workers` processes receive pickled, so they get them too.

`SafeLogRecords` keeps secrets and forged lines out of uvicorn's log: its WebSocket lines
print the path with the query, which for a live call holds `?key=`.
"""

from __future__ import annotations

import asyncio
import json
import logging
import math
import time
from typing import Any

from uvicorn.config import Config
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

from mockplatform.core.redaction import mask_query, printable

DEFAULT_MAX_CONNECTIONS = 1000
DEFAULT_MAX_HEADER_BYTES = 16 * 1024
DEFAULT_HEADER_TIMEOUT = 10.0
DEFAULT_KEEP_ALIVE_TIMEOUT = 5.0  # uvicorn's own default, made explicit
_SWEEPS_PER_TIMEOUT = 5  # a timed-out connection is closed within a fifth of its timeout
_MAX_SWEEP_SECONDS = 1.0
_SERVING = math.inf  # `_waiting_since` while a request is being served: no timeout runs
# Bytes of a head still arriving that are buffered before the parser has said where it ends.
_HEAD_SLACK = 64 * 1024
_WARN_EVERY_SECONDS = 10.0

logger = logging.getLogger("mockplatform")


class _HeadTooLarge(Exception):
    """Raised from a parser callback: stops httptools reading any further."""


def _plain_response(status: bytes, error: str, detail: str) -> bytes:
    body = json.dumps({"error": error, "detail": detail}).encode()
    return (
        b"HTTP/1.1 " + status + b"\r\ncontent-type: application/json\r\n"
        b"content-length: " + str(len(body)).encode() + b"\r\nconnection: close\r\n\r\n" + body
    )


class LimitedConfig(Config):
    """uvicorn's `Config`, plus the time a client has to send a request's line and headers."""

    def __init__(self, app: Any, *, header_timeout: float = DEFAULT_HEADER_TIMEOUT, **kwargs: Any):
        super().__init__(app, **kwargs)
        self.header_timeout = header_timeout


class LimitedHttpToolsProtocol(HttpToolsProtocol):
    _last_warning = 0.0

    def __init__(self, config: Any, *args: Any, **kwargs: Any) -> None:
        super().__init__(config, *args, **kwargs)
        limit = config.limit_concurrency  # ours plus one: see cli.server_options
        self.max_connections: int | None = None if limit is None else limit - 1
        self.max_head: int = config.h11_max_incomplete_event_size or DEFAULT_MAX_HEADER_BYTES
        self.header_timeout: float = getattr(config, "header_timeout", DEFAULT_HEADER_TIMEOUT)
        self._head_bytes = 0  # of the request line and headers parsed so far
        self._unparsed_head = 0  # bytes fed while the head is still incomplete
        self._in_head = True
        self._heads_completed = 0  # in the chunk being parsed
        self._refused = False
        # Since when (loop time) the connection has waited for a request's head, and for how
        # long it may: the header timeout, or the keep-alive one between requests.
        self._waiting_since = _SERVING
        self._may_wait = self.header_timeout
        self._head_begun = False  # a byte of the awaited request has come

    def connection_made(self, transport: Any) -> None:
        super().connection_made(transport)
        self._waiting_since = self.loop.time()
        _Sweep.ensure(self)
        full = self.max_connections is not None and len(self.connections) > self.max_connections
        if full and not self._close_longest_idle():
            self._refuse(
                b"503 Service Unavailable",
                "Too many connections",
                f"this server serves at most {self.max_connections} connections at once, "
                "each busy with a request (--max-connections); retry shortly",
            )

    def _close_longest_idle(self) -> bool:
        """Close the connection waiting longest for a request (idle, or dripping a head), to
        make room for this one; False if every other connection is serving a request."""
        waiting = [
            other
            for other in self.connections
            if other is not self
            and isinstance(other, LimitedHttpToolsProtocol)
            and other._waiting_since != _SERVING
            and not other.transport.is_closing()
        ]
        if not waiting:
            return False
        min(waiting, key=_waiting_since)._close_waiting()
        return True

    def _close_waiting(self) -> None:
        """Close a connection no request is being served on (its head, if begun, unanswered:
        408; an idle one is closed silently, as a keep-alive timeout does)."""
        self._refused = True
        self._waiting_since = _SERVING
        self.connections.discard(self)  # at once: uvicorn counts them before it is lost
        if self._head_begun:
            self.transport.write(
                _plain_response(
                    b"408 Request Timeout",
                    "Request timeout",
                    f"the request line and headers must arrive within {self.header_timeout:g} s",
                )
            )
        self.transport.close()

    def timed_out(self, now: float) -> bool:
        """Whether this connection has waited for a request's head longer than it may."""
        return now - self._waiting_since > self._may_wait

    def on_response_complete(self) -> None:
        # uvicorn's, with the keep-alive timeout left to the sweep instead of a timer per request.
        self.server_state.total_requests += 1
        if self.transport.is_closing():
            return
        self.flow.resume_reading()
        if self.pipeline:
            cycle, app = self.pipeline.pop()
            self._start_asgi_task(cycle, app)
        else:  # idle, or a head begun behind the request just answered: its time starts now
            self._waiting_since = self.loop.time()
            self._may_wait = self.header_timeout if self._head_begun else self.timeout_keep_alive

    def data_received(self, data: bytes) -> None:
        if self._refused:
            return
        self._heads_completed = 0
        super().data_received(data)
        # A chunk in which no head was completed belonged to the head still arriving (one in
        # which some head was, to whole requests first: pipelined, not counted).
        if self._in_head and not self._refused and not self._heads_completed:
            self._unparsed_head += len(data)
            if self._unparsed_head > self.max_head + _HEAD_SLACK:
                self._refuse_head()

    def on_message_begin(self) -> None:
        super().on_message_begin()
        self._head_bytes, self._in_head, self._head_begun = 0, True, True
        if self._waiting_since != _SERVING:  # not pipelined behind a request being served
            self._waiting_since, self._may_wait = self.loop.time(), self.header_timeout

    def on_url(self, url: bytes) -> None:
        self._count(len(url))
        super().on_url(url)

    def on_header(self, name: bytes, value: bytes) -> None:
        self._count(len(name) + len(value) + 4)
        super().on_header(name, value)

    def on_headers_complete(self) -> None:
        self._in_head, self._unparsed_head, self._head_begun = False, 0, False
        self._waiting_since = _SERVING
        self._heads_completed += 1
        super().on_headers_complete()

    def on_message_complete(self) -> None:
        super().on_message_complete()
        self._in_head = True

    def send_400_response(self, msg: str) -> None:
        if not self._refused:  # the parser stopped because we refused: answered already
            super().send_400_response(msg)

    def _count(self, size: int) -> None:
        self._head_bytes += size
        if self._head_bytes > self.max_head:
            self._refuse_head()
            raise _HeadTooLarge

    def _refuse_head(self) -> None:
        self._refuse(
            b"431 Request Header Fields Too Large",
            "Request header fields too large",
            f"the request line and headers are limited to {self.max_head} bytes "
            "(--max-header-bytes)",
        )

    def _refuse(self, status: bytes, error: str, detail: str) -> None:
        self._refused = True
        self.transport.write(_plain_response(status, error, detail))
        self.transport.close()
        now = time.monotonic()
        if now - LimitedHttpToolsProtocol._last_warning > _WARN_EVERY_SECONDS:
            LimitedHttpToolsProtocol._last_warning = now
            logger.warning("refused a connection: %s (%s)", error, detail)


def _waiting_since(connection: LimitedHttpToolsProtocol) -> float:
    return connection._waiting_since


class _Sweep:
    """Closes the connections that waited for a request's head longer than they may; one per
    server (its `server_state`), running while it has connections."""

    def __init__(self, protocol: LimitedHttpToolsProtocol) -> None:
        self.connections = protocol.connections
        self.loop = protocol.loop
        shortest = min(protocol.header_timeout, protocol.timeout_keep_alive)
        self.interval = min(shortest / _SWEEPS_PER_TIMEOUT, _MAX_SWEEP_SECONDS)
        self.handle: asyncio.TimerHandle | None = None

    @staticmethod
    def ensure(protocol: LimitedHttpToolsProtocol) -> None:
        state = protocol.server_state
        sweep: _Sweep | None = getattr(state, "mock_sweep", None)
        if sweep is None:
            sweep = _Sweep(protocol)
            state.mock_sweep = sweep  # type: ignore[attr-defined]
        if sweep.handle is None:
            sweep.handle = sweep.loop.call_later(sweep.interval, sweep.run)

    def run(self) -> None:
        now = self.loop.time()
        ours = [c for c in self.connections if isinstance(c, LimitedHttpToolsProtocol)]
        for connection in ours:
            if connection.timed_out(now) and not connection.transport.is_closing():
                connection._close_waiting()
        self.handle = self.loop.call_later(self.interval, self.run) if ours else None


class SafeLogRecords(logging.Filter):
    """Every text argument of a record made `printable`, with credential query params and
    tokens masked (`journal.mask_query`)."""

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.args, tuple):
            record.args = tuple(_safe(arg) for arg in record.args)
        return True


def _safe(value: Any) -> Any:
    if not isinstance(value, str):
        return value
    path, question, query = value.partition("?")
    return printable(path + question + mask_query(query))


def guard_logs() -> None:
    """Install `SafeLogRecords` on uvicorn's loggers (the mock's own lines are made
    `printable` where they are written)."""
    for name in ("uvicorn.error", "uvicorn.access"):
        logging.getLogger(name).addFilter(SafeLogRecords())
