"""One exchange the proxy saw: the app's request as it came, the upstream's answer as it went.

What the judge reads and what a violation shows. The shown form masks every credential the
exchange carries (the API key, access tokens, a call's live key) wherever it appears, the
answer's body included: a platform that echoes a key must not get it printed by us.
"""

from __future__ import annotations

import json
import zlib
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from mockplatform.core.credentials import mask_secret
from mockplatform.core.redaction import SECRET_FIELDS
from mockplatform.core.spec import bearer_credential

JSON = "application/json"
MAX_KEPT_BODY = 256 * 1024  # judged bytes of a body; the app gets every byte regardless
MAX_SHOWN_BODY = 300  # characters of a body in a printed line
MIN_SECRET_LENGTH = 6  # shorter "secrets" (a test's `x`) would only scramble what is shown
NOT_JSON = object()


@dataclass(frozen=True)
class Seen:
    """A request and its answer; bodies as far as the proxy kept them (`MAX_KEPT_BODY`)."""

    method: str
    path: str
    query: str
    request_headers: tuple[tuple[str, str], ...]  # names lower-case, repeats kept
    request_body: bytes
    status: int
    response_headers: tuple[tuple[str, str], ...]
    response_body: bytes  # its content coding undone, as the app's HTTP client reads it
    at: float  # wall clock when the request came in (shown)
    sent: float  # monotonic: when the request came in
    answered: float  # monotonic: when the upstream's answer began

    def header(self, name: str) -> str | None:
        return _first(self.request_headers, name)

    def response_header(self, name: str) -> str | None:
        return _first(self.response_headers, name)

    def request_json(self) -> Any:
        return _json(self.request_body)

    def response_json(self) -> Any:
        return _json(self.response_body)

    def bearer(self) -> str | None:
        """The credential of `Authorization: Bearer <credential>`, if that is what was sent."""
        return bearer_credential(self.header("authorization") or "")

    def secrets(self) -> list[str]:
        """Every credential in the exchange: the key, tokens in either body, live-call keys."""
        authorization = (self.header("authorization") or "").strip()
        found = [authorization.partition(" ")[2].strip() or authorization]
        for body in (self.request_json(), self.response_json()):
            if isinstance(body, dict):
                found += [str(body.get(name, "")) for name in SECRET_FIELDS]
                call_url = body.get("callUrl")
                if isinstance(call_url, str):
                    found += [value for _, value in parse_qsl(urlsplit(call_url).query)]
        found += [value for _, value in parse_qsl(self.query)]
        return sorted({s for s in found if len(s) >= MIN_SECRET_LENGTH}, key=len, reverse=True)

    def to_json(self) -> dict[str, Any]:
        """The exchange as `GET /_mock/violations` shows it, every credential masked."""
        secrets = self.secrets()
        return {
            "request": {
                "method": self.method,
                "path": self.path + (f"?{self.query}" if self.query else ""),
                "headers": _masked_headers(self.request_headers, secrets),
                "body": _shown_body(self.request_body, secrets),
            },
            "response": {
                "status": self.status,
                "headers": _masked_headers(self.response_headers, secrets),
                "body": _shown_body(self.response_body, secrets),
            },
        }

    def summary(self) -> str:
        """`POST /api/widget/token {...} -> 404 {...}`, masked and shortened, for one line."""
        secrets = self.secrets()
        sent = _one_line(self.request_body, secrets)
        came = _one_line(self.response_body, secrets)
        key = self.header("authorization")
        auth = f" [{mask(key, secrets)}]" if key else ""
        return f"{self.method} {self.path}{auth} {sent} -> {self.status} {came}".replace("  ", " ")


def mask(text: str, secrets: list[str]) -> str:
    """`text` with each secret replaced by its masked form (`nas_…tive`)."""
    for secret in secrets:
        if secret in text:
            text = text.replace(secret, mask_secret(secret))
    return text


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


def media_type(content_type: str | None) -> str:
    return (content_type or "").split(";")[0].strip().lower()


def _first(headers: tuple[tuple[str, str], ...], name: str) -> str | None:
    return next((value for key, value in headers if key == name), None)


def _json(body: bytes) -> Any:
    try:
        return json.loads(body)
    except ValueError:
        return NOT_JSON


def _masked_headers(headers: tuple[tuple[str, str], ...], secrets: list[str]) -> list[list[str]]:
    return [[name, mask(value, secrets)] for name, value in headers]


def _shown_body(body: bytes, secrets: list[str]) -> Any:
    data = _json(body)
    if data is NOT_JSON:
        return mask(body.decode("utf-8", "replace"), secrets)
    return _mask_json(data, secrets)


def _mask_json(data: Any, secrets: list[str]) -> Any:
    if isinstance(data, str):
        return mask(data, secrets)
    if isinstance(data, dict):
        return {mask(str(k), secrets): _mask_json(v, secrets) for k, v in data.items()}
    if isinstance(data, list):
        return [_mask_json(item, secrets) for item in data]
    return data


def _one_line(body: bytes, secrets: list[str]) -> str:
    shown = _shown_body(body, secrets)
    text = shown if isinstance(shown, str) else json.dumps(shown, ensure_ascii=False)
    text = " ".join(text.split())
    return text if len(text) <= MAX_SHOWN_BODY else text[: MAX_SHOWN_BODY - 3] + "..."
