"""How an exchange the proxy saw is shown: every credential in it masked (the judge's
`masks`), the answer's body included, so a platform that echoes a key does not get it
printed by us. What an exchange is, and how it is judged, is `mockplatform.core.judge`'s.
"""

from __future__ import annotations

import zlib
from dataclasses import dataclass
from typing import Any

from mockplatform.core.judge import Seen
from mockplatform.core.redaction import mask_header, mask_query, mask_text, mask_values

MAX_KEPT_BODY = 256 * 1024  # judged bytes of a body; the app gets every byte regardless
MAX_SHOWN_BODY = 300  # characters of a body in a printed line
# What a kept finding shows of its exchange, at most: with the ledger's 1,000 findings kept,
# a bound on the proxy's memory however large the bodies (2 x 2,000 characters of body,
# 2 x 40 headers of 200 characters, a curl of 4,000: about 25 KB a finding, 25 MB in all).
MAX_EXCERPT = 2000
MAX_SHOWN_HEADERS = 40
MAX_SHOWN_HEADER = 200
MAX_CURL = 4000
CREDENTIAL_ROOM = 8192  # characters past an excerpt's cut that are masked with it


def shown(seen: Seen, secrets: dict[str, str]) -> dict[str, Any]:
    """The exchange as `GET /_mock/violations` shows it: every credential masked (the
    judge's `masks` by value, and by the header's name as the journal does), each body a
    bounded excerpt of text, never the parsed body: a finding holds a few kilobytes."""
    return {
        "request": {
            "method": seen.method,
            "path": mask_values(
                seen.path + (f"?{mask_query(seen.query)}" if seen.query else ""), secrets
            ),
            "headers": _masked_headers(seen.request_headers, secrets),
            "body": excerpt(seen.request_body, secrets, MAX_EXCERPT),
        },
        "response": {
            "status": seen.status,
            "headers": _masked_headers(seen.response_headers, secrets),
            "body": excerpt(seen.response_body, secrets, MAX_EXCERPT),
        },
    }


def summary(seen: Seen, secrets: dict[str, str]) -> str:
    """`POST /api/widget/token {...} -> 404 {...}`, masked and shortened, for one line."""
    sent = excerpt(seen.request_body, secrets, MAX_SHOWN_BODY)
    came = excerpt(seen.response_body, secrets, MAX_SHOWN_BODY)
    key = seen.header("authorization")
    auth = f" [{mask_values(mask_header('authorization', key), secrets)}]" if key else ""
    return f"{seen.method} {seen.path}{auth} {sent} -> {seen.status} {came}".replace("  ", " ")


def excerpt(body: bytes, secrets: dict[str, str], limit: int) -> str:
    """The body's first `limit` characters as one line of text, every credential masked
    (the exchange's secrets, and any access token); masked whole first, then cut, so no
    cut can leave part of a secret unmasked."""
    # Only the start is masked, with room past the cut for the longest credential (a JWT),
    # so one that straddles the cut is still masked whole: a 256 KB body costs no more.
    text = body[: (limit + CREDENTIAL_ROOM) * 4].decode("utf-8", "replace")
    text = mask_values(mask_text(text[: limit + CREDENTIAL_ROOM]), secrets)
    return cut(" ".join(text.split()), limit)


def cut(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 3] + "..."


@dataclass(frozen=True)
class Decoded:
    body: bytes
    cut: bool  # it inflates past `MAX_KEPT_BODY`: only that much was inflated


def decoded(body: bytes, content_encoding: str | None) -> Decoded:
    """The body with a gzip or deflate coding undone, as the app's HTTP client will read it,
    inflated to `MAX_KEPT_BODY` bytes at most (a 10 KB gzip bomb inflates to gigabytes);
    another coding, or a broken one, is left as it came (and then is not valid JSON)."""
    coding = (content_encoding or "").strip().lower()
    wbits = {"gzip": 16 + zlib.MAX_WBITS, "x-gzip": 16 + zlib.MAX_WBITS, "deflate": zlib.MAX_WBITS}
    if coding not in wbits:
        return Decoded(body, False)
    inflater = zlib.decompressobj(wbits[coding])
    try:
        inflated = inflater.decompress(body, MAX_KEPT_BODY)
    except zlib.error:
        return Decoded(body, False)
    more = bool(inflater.unconsumed_tail) or (len(inflated) >= MAX_KEPT_BODY and not inflater.eof)
    return Decoded(inflated, more)


def _masked_headers(
    headers: tuple[tuple[str, str], ...], secrets: dict[str, str]
) -> list[list[str]]:
    listed = [
        [name, cut(mask_values(mask_header(name, value), secrets), MAX_SHOWN_HEADER)]
        for name, value in headers[:MAX_SHOWN_HEADERS]
    ]
    if len(headers) > MAX_SHOWN_HEADERS:
        listed.append(["...", f"{len(headers) - MAX_SHOWN_HEADERS} more header(s) not shown"])
    return listed
