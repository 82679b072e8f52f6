"""One request as the journal keeps it, and as it is shown: its secrets masked.

The store keeps entries (`Store.record_request`) and hands them back masked
(`Store.list_requests`): a shared store is outside the process, so what it keeps of a
request is already the shown form. The control API renders them; the log line masks the
key the same way.
"""

from __future__ import annotations

import functools
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
        "method": entry["method"],
        "path": entry["path"],
        "query": mask_query(entry["query"].decode("latin-1")),
        "headers": mask_headers(decode_headers(entry["headers"])),
        "body": mask_body(entry["body"]),
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
