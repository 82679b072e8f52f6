"""Reading a request body the way the spec says, turning every malformation into a clear 4xx.

A body goes through size (413), media type (415), UTF-8, JSON syntax and the spec's schema
(400) in that order; each rejection names what is wrong. Nothing here raises anything else.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from starlette.types import Receive

from mockplatform.errors import Rejection
from mockplatform.spec import Operation

DEFAULT_MAX_BODY_BYTES = 64 * 1024
JSON_MEDIA_TYPE = "application/json"
_JSON_MEDIA_TYPE = JSON_MEDIA_TYPE.encode("latin-1")


class _DuplicateKey(ValueError):
    def __init__(self, key: str) -> None:
        super().__init__(key)
        self.key = key


async def read_json_body(
    headers: Mapping[bytes, bytes],
    receive: Receive,
    operation: Operation,
    max_bytes: int,
    seen: list[bytes],
) -> dict[str, Any]:
    """The validated body with the spec's defaults filled in (`headers` as the server gives
    them: names lower-case, latin-1 bytes). Each chunk read is added to `seen` as it comes,
    so the journal keeps what arrived even when the body is refused."""
    op_id = operation.operation_id
    if headers.get(b"content-type") != _JSON_MEDIA_TYPE:  # the usual case needs no parsing
        _check_media_type(headers.get(b"content-type", b"").decode("latin-1"), op_id)
    raw = await _read_limited(headers, receive, op_id, max_bytes, seen)
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise Rejection(
            op_id, 400, detail=f"the body is not valid UTF-8 (byte {exc.start} cannot be decoded)"
        ) from None
    data = _parse_json(text, op_id)
    problem = operation.validate_request(data)
    if problem is not None:
        raise Rejection(op_id, 400, field=problem.field or None, detail=problem.detail)
    return {**operation.request_defaults, **data}


def _check_media_type(content_type: str, op_id: str) -> None:
    media_type = content_type.partition(";")[0].strip().lower()
    if media_type == JSON_MEDIA_TYPE or (
        media_type.startswith("application/") and media_type.endswith("+json")
    ):
        return
    shown = f"'{media_type}'" if media_type else "none"
    raise Rejection(
        op_id,
        415,
        detail=f"Content-Type is {shown}; send the body as JSON with "
        "Content-Type: application/json",
    )


async def _read_limited(
    headers: Mapping[bytes, bytes], receive: Receive, op_id: str, max_bytes: int, seen: list[bytes]
) -> bytes:
    declared = headers.get(b"content-length", b"")
    if declared.isdigit() and int(declared) > max_bytes:
        raise _too_large(op_id, max_bytes)
    message = await receive()
    if message["type"] == "http.request" and not message.get("more_body"):
        body: bytes = message.get("body", b"")  # the whole body at once, as a small one comes
        seen.append(body)
        if len(body) > max_bytes:
            raise _too_large(op_id, max_bytes)
        return body
    chunks: list[bytes] = []
    size = 0
    while True:  # a body in parts is cut off as soon as it grows too large
        if message["type"] == "http.disconnect":
            # Nobody is left to answer; ending as a rejection keeps a hang-up out of the error log.
            raise Rejection(op_id, 400, detail="the client hung up before sending the whole body")
        chunk = message.get("body", b"")
        seen.append(chunk)
        size += len(chunk)
        if size > max_bytes:
            raise _too_large(op_id, max_bytes)
        chunks.append(chunk)
        if not message.get("more_body", False):
            return b"".join(chunks)
        message = await receive()


def _too_large(op_id: str, max_bytes: int) -> Rejection:
    return Rejection(op_id, 413, detail=f"the body is limited to {max_bytes} bytes")


def _parse_json(text: str, op_id: str) -> Any:
    """The body's JSON value; `_parse_json_checked` words any problem with it.

    The usual body (an object of plain values, no whitespace around it) is scanned with
    the C scanner alone, which builds dicts itself and keeps the last of repeated keys; it
    stands only if it saw no key twice. Each key in the text is followed by a colon, so
    when the text holds no more colons than the object has keys, every key was distinct
    and none sat in a nested object. Anything else takes the checked path.
    """
    try:
        data, end = _SCAN(text, 0)
    except (StopIteration, ValueError, RecursionError):
        return _parse_json_checked(text, op_id)
    if end == len(text) and type(data) is dict and text.count(":") == len(data):
        return data
    return _parse_json_checked(text, op_id)


def _parse_json_checked(text: str, op_id: str) -> Any:
    if not text.strip():
        raise Rejection(op_id, 400, detail="the body is empty; send a JSON object")
    try:
        if text.startswith("\ufeff"):  # as json.loads says it
            raise json.JSONDecodeError("Unexpected UTF-8 BOM (decode using utf-8-sig)", text, 0)
        return _DECODER.decode(text)
    except _DuplicateKey as exc:
        raise Rejection(
            op_id, 400, field=exc.key, detail=f"{exc.key}: appears more than once in the body"
        ) from None
    except json.JSONDecodeError as exc:
        raise Rejection(
            op_id,
            400,
            detail=f"the body is not valid JSON: {exc.msg} at line {exc.lineno} column {exc.colno}",
        ) from None
    except ValueError as exc:  # NaN / Infinity
        raise Rejection(op_id, 400, detail=f"the body is not valid JSON: {exc}") from None
    except RecursionError:
        raise Rejection(op_id, 400, detail="the body is nested too deeply") from None


def _no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    result: dict[str, Any] = {}
    for key, value in pairs:
        if key in result:
            raise _DuplicateKey(key)
        result[key] = value
    return result


def _no_constants(name: str) -> Any:
    raise ValueError(f"{name} is not a JSON number")


# Built once: json.loads with hooks would build a new decoder for every request.
_DECODER = json.JSONDecoder(object_pairs_hook=_no_duplicates, parse_constant=_no_constants)
_SCAN = json.JSONDecoder(parse_constant=_no_constants).scan_once
