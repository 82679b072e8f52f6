"""The server's own limits, explicit: how many connections, how large a request's head.

uvicorn's defaults leave both open: 20,100 idle connections used up the process's file
descriptors (service fell to nothing, with nothing logged), and a megabyte header was read
whole. `LimitedHttpToolsProtocol` is uvicorn's httptools protocol with both bounds, each
answered at once and plainly: a connection past the cap gets a 503 and is closed before
its request is read (and logged, at most every 10 s); a request line and headers past the
limit get a 431 and the connection is closed, the rest unread. The bounds travel in
uvicorn's own `Config` fields (`limit_concurrency`, and `h11_max_incomplete_event_size`, the
same limit for uvicorn's other HTTP protocol), so `--workers` processes, which rebuild the
config, get them too.

`SafeLogRecords` keeps secrets and forged lines out of uvicorn's log: its WebSocket lines
print the path with the query, which for a live call holds `?key=`.
"""

from __future__ import annotations

import json
import logging
import time
from typing import Any

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

from mockplatform.core.redaction import mask_query, printable

DEFAULT_MAX_CONNECTIONS = 1000
DEFAULT_MAX_HEADER_BYTES = 16 * 1024
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


class LimitedHttpToolsProtocol(HttpToolsProtocol):
    _last_warning = 0.0

    def __init__(self, config: Any, *args: Any, **kwargs: Any) -> None:
        super().__init__(config, *args, **kwargs)
        limit = config.limit_concurrency  # ours plus one: see cli.server_options
        self.max_connections: int | None = None if limit is None else limit - 1
        self.max_head: int = config.h11_max_incomplete_event_size or DEFAULT_MAX_HEADER_BYTES
        self._head_bytes = 0  # of the request line and headers parsed so far
        self._unparsed_head = 0  # bytes fed while the head is still incomplete
        self._in_head = True
        self._heads_completed = 0  # in the chunk being parsed
        self._refused = False

    def connection_made(self, transport: Any) -> None:
        super().connection_made(transport)
        if self.max_connections is not None and len(self.connections) > self.max_connections:
            self._refuse(
                b"503 Service Unavailable",
                "Too many connections",
                f"the mock serves at most {self.max_connections} connections at once "
                "(--max-connections); retry shortly",
            )

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
        self._head_bytes, self._in_head = 0, True

    def on_url(self, url: bytes) -> None:
        self._count(len(url))
        super().on_url(url)

    def on_header(self, name: bytes, value: bytes) -> None:
        self._count(len(name) + len(value) + 4)
        super().on_header(name, value)

    def on_headers_complete(self) -> None:
        self._in_head, self._unparsed_head = False, 0
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
