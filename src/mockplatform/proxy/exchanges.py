"""How an exchange the proxy saw is shown: every credential in it masked (the judge's
`masks`), the answer's body included, so a platform that echoes a key does not get it
printed by us. What an exchange is, and how it is judged, is `mockplatform.core.judge`'s.
"""

from __future__ import annotations

import json
import zlib
from dataclasses import dataclass
from typing import Any

from mockplatform.core.judge import NOT_JSON, Seen, json_or_not, masks
from mockplatform.core.redaction import mask_values

MAX_KEPT_BODY = 256 * 1024  # judged bytes of a body; the app gets every byte regardless
MAX_SHOWN_BODY = 300  # characters of a body in a printed line


def shown(seen: Seen) -> dict[str, Any]:
    """The exchange as `GET /_mock/violations` shows it, every credential masked."""
    secrets = masks(seen)
    return {
        "request": {
            "method": seen.method,
            "path": seen.path + (f"?{seen.query}" if seen.query else ""),
            "headers": _masked_headers(seen.request_headers, secrets),
            "body": _shown_body(seen.request_body, secrets),
        },
        "response": {
            "status": seen.status,
            "headers": _masked_headers(seen.response_headers, secrets),
            "body": _shown_body(seen.response_body, secrets),
        },
    }


def summary(seen: Seen) -> str:
    """`POST /api/widget/token {...} -> 404 {...}`, masked and shortened, for one line."""
    secrets = masks(seen)
    sent = _one_line(seen.request_body, secrets)
    came = _one_line(seen.response_body, secrets)
    key = seen.header("authorization")
    auth = f" [{mask_values(key, secrets)}]" if key else ""
    return f"{seen.method} {seen.path}{auth} {sent} -> {seen.status} {came}".replace("  ", " ")


def printable(line: str) -> str:
    """`line` as one line of a terminal: control characters (a `%0A` in a path, an escape
    sequence in a body) escaped, so nothing an app or a platform sends can forge a line."""
    return line if line.isprintable() else line.encode("unicode_escape").decode("ascii")


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
    return [[name, mask_values(value, secrets)] for name, value in headers]


def _shown_body(body: bytes, secrets: dict[str, str]) -> Any:
    data = json_or_not(body)
    if data is NOT_JSON:
        return mask_values(body.decode("utf-8", "replace"), secrets)
    return _mask_json(data, secrets)


def _mask_json(data: Any, secrets: dict[str, str]) -> Any:
    if isinstance(data, str):
        return mask_values(data, secrets)
    if isinstance(data, dict):
        return {mask_values(str(k), secrets): _mask_json(v, secrets) for k, v in data.items()}
    if isinstance(data, list):
        return [_mask_json(item, secrets) for item in data]
    return data


def _one_line(body: bytes, secrets: dict[str, str]) -> str:
    text = _shown_body(body, secrets)
    text = text if isinstance(text, str) else json.dumps(text, ensure_ascii=False)
    text = " ".join(text.split())
    return text if len(text) <= MAX_SHOWN_BODY else text[: MAX_SHOWN_BODY - 3] + "..."
