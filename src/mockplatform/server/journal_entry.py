"""One request as the journal keeps it, and as it is shown: its secrets masked.

The store keeps entries (`Store.record_request`) and hands them back masked
(`Store.list_requests`): a shared store is outside the process, so what it keeps of a
request is already the shown form. The control API renders them; the log line masks the
key the same way.
"""

from __future__ import annotations

import functools
import json
from typing import Any, TypedDict

from mockplatform.core.headers import decode_headers
from mockplatform.core.redaction import (
    mask_authorization,
    mask_body,
    mask_headers,
    mask_query,
    printable,
)

_AUTHORIZATION = b"authorization"


class JournalEntry(TypedDict):
    """One request as the journal keeps it, masked whenever it leaves the process.

    Most entries are never read, so an entry keeps the request as it came, undecoded, and
    `entry_json` (the control API) masks the API key in `Authorization` and secret fields in
    the body as it decodes them. The log line masks the key the same way.

    A plain dict, with the headers in a dict of bytes: one object for the garbage collector
    to walk, where an entry object holding the server's header list and its pairs was six,
    and every object kept lengthens its pauses (p99 latency under load).
    """

    id: int
    time: float | None  # the mock's clock when the store kept the entry (`record_request`)
    method: str
    path: str
    query: bytes
    headers: dict[bytes, bytes]  # as received (a repeated header: its first value)
    body: bytes  # as received, up to MAX_KEPT_BODY
    status: int | None  # None when a network fault sent nothing
    seconds: float
    scenario: str | None
    fault: str | None
    warning: str | None  # e.g. the API key exposed to a web page (cors.SERVER_ONLY_WARNING)


class ShownEntry(TypedDict, total=False):
    """An entry as it leaves the process: text, its secrets masked (`fault`, `warning` only
    if any)."""

    id: int
    time: float | None
    method: str
    path: str
    query: str
    headers: dict[str, str]
    body: Any  # the JSON body where it parses, else its text
    status: int | None
    durationMs: float
    scenario: str | None
    fault: str
    warning: str


def entry_json(entry: JournalEntry) -> ShownEntry:
    """The entry as it is shown (the control API, a shared store), its secrets masked;
    every string encodable."""
    shown: ShownEntry = {
        "id": entry["id"],
        "time": entry["time"],
        **_request(entry["method"], entry["path"], entry["query"], entry["headers"], entry["body"]),
    }
    shown.update(_outcome(entry))
    return shown


def shown_parts(entry: JournalEntry) -> tuple[bytes, bytes]:
    """`entry_json(entry)` as compact JSON in UTF-8, less its opening brace, its id and its
    time (a shared store writes those as it keeps the entry), in two parts: the request's,
    masked, and what became of it. The request's part is made once per request sent again
    (the very same bytes object each time): a client sends the same request again and
    again, and masking it anew (the body parsed again, each of its strings and each
    header's name searched) was most of what a team worker spent on an entry, and a store
    can send one text for many entries (bench/HISTORY.md round 9)."""
    request = _request_text(
        entry["method"],
        entry["path"],
        entry["query"],
        tuple(entry["headers"].items()),
        entry["body"],
    )
    return request, compact_json(_outcome(entry))[1:].encode()


# Each part is bounded: the headers and body by the journal (`journal.MAX_KEPT_*`), the
# path and query by the server's header limit.
@functools.lru_cache(maxsize=256)
def _request_text(
    method: str, path: str, query: bytes, headers: tuple[tuple[bytes, bytes], ...], body: bytes
) -> bytes:
    return (compact_json(_request(method, path, query, dict(headers), body))[1:-1] + ",").encode()


def _request(
    method: str, path: str, query: bytes, headers: dict[bytes, bytes], body: bytes
) -> ShownEntry:
    """The request as it is shown, its secrets masked (`mockplatform.core.redaction`)."""
    return {
        "method": method,
        "path": path,
        "query": mask_query(query.decode("latin-1")),
        "headers": mask_headers(decode_headers(headers)),
        "body": mask_body(body),
    }


def _outcome(entry: JournalEntry) -> ShownEntry:
    """What became of the request (`fault`, `warning` only if any)."""
    shown: ShownEntry = {
        "status": entry["status"],
        "durationMs": round(entry["seconds"] * 1000, 3),
        "scenario": entry["scenario"],
    }
    if entry["fault"]:
        shown["fault"] = entry["fault"]
    warning = entry.get("warning")
    if warning:
        shown["warning"] = warning
    return shown


# Compact JSON, text as it is (one encoder: `json.dumps` with options makes one per call);
# the shared store writes its records with it too.
compact_json = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False).encode


def log_line(entry: JournalEntry) -> str:
    """`POST /api/widget/token -> 200 (key Bearer nas_…tive)`: the key masked, as always,
    and every field `printable`."""
    return _line(
        entry["method"], entry["path"], entry["status"], entry["headers"].get(_AUTHORIZATION)
    )


@functools.lru_cache(maxsize=256)  # a client sends the same request again and again
def _line(method: str, path: str, status: int | None, authorization: bytes | None) -> str:
    key = "none" if authorization is None else mask_authorization(authorization.decode("latin-1"))
    return f"{printable(method)} {printable(path)} -> {status} (key {printable(key)})"
