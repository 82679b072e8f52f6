"""Starlette's `JSONResponse` for the platform's own answers, built in a fraction of the time.

Starlette renders with `json.dumps(content, ensure_ascii=False, ...)`, whose options make it
build a new `JSONEncoder` (and its C encoder) for every response, then works out the headers
case by case. A token request's answer is always a JSON body with its length and type, so
here the C encoder is built once and the two headers are written directly: the same bytes
and headers (tests/mockplatform/test_json_response.py holds it to that), in about a third
of the time.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from json.encoder import c_make_encoder, encode_basestring  # type: ignore[attr-defined]
from typing import Any

from starlette.responses import JSONResponse
from starlette.types import Receive, Scope, Send

_ENCODER = json.JSONEncoder(ensure_ascii=False, allow_nan=False, separators=(",", ":"))


def _build_encode() -> Callable[[Any], str]:
    """`_ENCODER.encode`, minus building its C encoder again on every call.

    The circular-reference check is left out: an answer is built fresh from plain values.
    Where CPython has no C encoder (other implementations), the plain `encode` serves.
    """
    if c_make_encoder is None:
        return _ENCODER.encode
    iterencode = c_make_encoder(
        None,  # no circular-reference markers
        _ENCODER.default,
        encode_basestring,  # ensure_ascii=False
        None,  # indent
        _ENCODER.key_separator,
        _ENCODER.item_separator,
        _ENCODER.sort_keys,
        _ENCODER.skipkeys,
        _ENCODER.allow_nan,
    )
    return lambda content: "".join(iterencode(content, 0))


_ENCODE = _build_encode()
# A str as a JSON string, as the encoder writes it (quoted, escaped, non-ASCII kept).
encode_string: Callable[[str], str] = encode_basestring
_CONTENT_TYPE = (b"content-type", JSONResponse.media_type.encode("latin-1"))


class FastJSONResponse(JSONResponse):
    def __init__(self, content: Any, status_code: int = 200, *, encoded: str | None = None) -> None:
        """`content` as JSON, or `encoded`: JSON already written out (by `encode_string`)."""
        self.status_code = status_code
        self.background = None
        self.body = (_ENCODE(content) if encoded is None else encoded).encode("utf-8")
        self.raw_headers = [(b"content-length", str(len(self.body)).encode()), _CONTENT_TYPE]

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Starlette's, for HTTP only and without a background task (this has none)."""
        await send(
            {"type": "http.response.start", "status": self.status_code, "headers": self.raw_headers}
        )
        await send({"type": "http.response.body", "body": self.body})
