"""The request journal: what did my backend send, and what did the mock answer?

Kept by `pipeline.Pipeline` through `Journal.keep`, with the body as the handler read it
(or as `KeptBody` saw it stream in), never buffered for the handler. Entries keep the
request as it came; secrets are masked whenever an entry leaves the process (the control
API, the log line): the API key in `Authorization` and any credential-carrying header (the
admin token too), credential-carrying query parameters, and access tokens in bodies of any
shape (at any depth, and in text that is not JSON). What an entry keeps is bounded: the
body's first `MAX_KEPT_BODY` bytes, at most `MAX_KEPT_HEADERS` headers of
`MAX_KEPT_HEADER_BYTES` in all.
"""

from __future__ import annotations

import asyncio
import itertools
import logging
import time
from collections.abc import Awaitable, Iterable, Iterator
from dataclasses import dataclass, field

from starlette.types import Message, Receive, Scope

from mockplatform.server.journal_entry import JournalEntry, log_line
from mockplatform.server.store import Store

logger = logging.getLogger("mockplatform")

JOURNALED_PREFIX = "/api/"
MAX_KEPT_BODY = 4096
MAX_KEPT_HEADERS = 32
MAX_KEPT_HEADER_BYTES = 4096  # names and values together; a longer value is cut short
_CUT = b"..."
_NO_STATE: dict[str, str] = {}  # (never written to)


class RequestLog:
    """The one INFO line per request, cheap under load.

    A log record costs about as much as the rest of a token request together. A request
    after a quiet spell (a developer clicking, a test) is logged at once; when requests come
    faster than every `QUIET_SECONDS`, their lines are gathered for `BATCH_SECONDS` and go
    out as one record, written in one go, a run of identical lines as one line with its
    count. A request that finds a batch open only joins it (one append: no clock reading, no
    level check); the batch counts as activity until it goes.
    """

    QUIET_SECONDS = 0.005
    BATCH_SECONDS = 0.05

    def __init__(self) -> None:
        self._pending: list[JournalEntry] = []
        self._last = 0.0

    def add(self, entry: JournalEntry) -> None:
        if self._pending:
            self._pending.append(entry)
            return
        if not logger.isEnabledFor(logging.INFO):
            return
        now = time.monotonic()
        quiet, self._last = now - self._last > self.QUIET_SECONDS, now
        if quiet:
            logger.info("%s", log_line(entry))
            return
        asyncio.get_running_loop().call_later(self.BATCH_SECONDS, self._flush)
        self._pending.append(entry)

    def _flush(self) -> None:
        entries, self._pending = self._pending, []
        self._last = time.monotonic()
        logger.info("%s", "\n".join(collapsed_lines(log_line(entry) for entry in entries)))


def collapsed_lines(lines: Iterable[str]) -> list[str]:
    """A run of identical lines as one, with its count: a test suite's 500 requests in
    50 ms read as a few lines, and a terminal is not handed 10,000 lines a second."""
    shown = []
    for line, run in itertools.groupby(lines):
        count = sum(1 for _ in run)
        shown.append(line if count == 1 else f"{line} (x{count})")
    return shown


@dataclass
class Journal:
    """The journal's one id sequence and log, shared by every path a request can take."""

    store: Store
    ids: Iterator[int] = field(default_factory=lambda: itertools.count(1))
    log: RequestLog = field(default_factory=RequestLog)

    def keep(self, entry: JournalEntry) -> Awaitable[None]:
        """Log the entry's line and keep it: await the result, the store's own step."""
        self.log.add(entry)
        return self.store.record_request(entry)

    def entry(
        self,
        scope: Scope,
        body: bytes,
        status: int | None,
        started: float,
        headers: dict[bytes, bytes],
    ) -> JournalEntry:
        """The request's entry (`started` from `time.perf_counter`; `headers` the request's,
        as `headers.header_dict` gathers them), neither logged nor kept yet: its `time` is
        None until a store keeps it."""
        seconds = time.perf_counter() - started
        if len(headers) > MAX_KEPT_HEADERS or sum(map(len, headers.values())) > (
            MAX_KEPT_HEADER_BYTES
        ):
            headers = bounded_headers(headers)
        state = scope.get("state") or _NO_STATE
        entry: JournalEntry = {
            "id": next(self.ids),
            "time": None,  # the store's clock, read as the store keeps the entry
            "method": scope["method"],
            "path": scope["path"],
            "query": scope.get("query_string", b""),
            "headers": headers,
            "body": body,
            "status": status,
            "seconds": seconds,
            "scenario": state.get("scenario"),
            "fault": state.get("fault"),
            "warning": state.get("warning"),  # cors.WARNING_NOTE: a page called the token endpoint
        }
        return entry


def bounded_headers(headers: dict[bytes, bytes]) -> dict[bytes, bytes]:
    """The first `MAX_KEPT_HEADERS` headers, cut to `MAX_KEPT_HEADER_BYTES` in all: 150
    requests with a megabyte header each must not hold 150 MB until the next reset."""
    kept: dict[bytes, bytes] = {}
    budget = MAX_KEPT_HEADER_BYTES
    for name, value in itertools.islice(headers.items(), MAX_KEPT_HEADERS):
        name = name[:budget]
        budget -= len(name)
        kept[name] = value if len(value) <= budget else value[: max(budget, 0)] + _CUT
        budget -= len(value)
        if budget <= 0:
            break
    return kept


class KeptBody:
    """An ASGI `receive` that keeps the first `MAX_KEPT_BODY` bytes of the body it passes on.

    It keeps the chunks themselves and joins them once, at the end: a small body, which
    comes in one chunk, is kept without a copy.
    """

    __slots__ = ("_chunks", "_receive", "_size")

    def __init__(self, receive: Receive) -> None:
        self._receive = receive
        self._chunks: list[bytes] = []
        self._size = 0

    async def __call__(self) -> Message:
        message = await self._receive()
        if self._size < MAX_KEPT_BODY and message["type"] == "http.request":
            chunk = message.get("body", b"")
            self._chunks.append(chunk)
            self._size += len(chunk)
        return message

    def kept(self) -> bytes:
        return kept_body(self._chunks)


def is_journaled(path: str) -> bool:
    """Whether requests to `path` are kept: the platform's API, not the control API or demo."""
    return path.startswith(JOURNALED_PREFIX)


def kept_body(chunks: list[bytes]) -> bytes:
    """What the journal keeps of a body that came in `chunks`: its first `MAX_KEPT_BODY` bytes."""
    return b"".join(chunks)[:MAX_KEPT_BODY]  # one short chunk: that very object
