"""Reading a request body the way the spec says, turning every malformation into a clear 4xx.

A body goes through size (413), media type (415), UTF-8, JSON syntax, text that cannot be
encoded (a lone surrogate escaped as `\\ud800`) and the spec's schema (400) in that order;
each rejection names what is wrong. Nothing here raises anything else, and nothing that
passes can fail later stages: every string in an accepted body encodes as UTF-8.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Protocol

from starlette.types import Message, Receive

from mockplatform.core.errors import Rejection
from mockplatform.core.json_text import JSON_MEDIA_TYPE, Malformed, media_type, parse_json
from mockplatform.core.spec import Invalid

DEFAULT_MAX_BODY_BYTES = 64 * 1024
_JSON_MEDIA_TYPE = JSON_MEDIA_TYPE.encode("latin-1")


class BodyRule(Protocol):
    """What a body is read for: a spec `Operation`, or the demo backend's own (demo.py)."""

    @property
    def operation_id(self) -> str:
        """Whose documented error shape a rejection takes."""
        ...

    @property
    def request_defaults(self) -> Mapping[str, Any]: ...

    def validate_request(self, body: Any) -> Invalid | None: ...


async def read_json_body(
    headers: Mapping[bytes, bytes],
    receive: Receive,
    operation: BodyRule,
    max_bytes: int,
    seen: list[bytes],
) -> dict[str, Any]:
    """The validated body with the spec's defaults filled in (`headers` as the server gives
    them: names lower-case, latin-1 bytes). Each chunk read is added to `seen` as it comes,
    so the journal keeps what arrived even when the body is refused.

    The usual body (small, whole in its first message, a flat JSON object) is read in this
    one frame: each helper frame cost a token request more than the work done in it.
    """
    op_id = operation.operation_id
    if headers.get(b"content-type") != _JSON_MEDIA_TYPE:  # the usual case needs no parsing
        _check_media_type(headers.get(b"content-type", b"").decode("latin-1"), op_id)
    declared = headers.get(b"content-length", b"")
    if declared.isdigit() and int(declared) > max_bytes:  # refused before a byte is read
        raise _too_large(op_id, max_bytes)
    message = await receive()
    raw: bytes = message.get("body", b"")
    seen.append(raw)
    if message.get("more_body") or message["type"] != "http.request" or len(raw) > max_bytes:
        raw = await _read_rest(message, receive, op_id, max_bytes, seen)
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise Rejection(
            op_id, 400, detail=f"the body is not valid UTF-8 (byte {exc.start} cannot be decoded)"
        ) from None
    try:
        data = parse_json(text)
    except Malformed as exc:
        raise Rejection(op_id, 400, field=exc.field, detail=exc.detail) from None
    problem = operation.validate_request(data)
    if problem is not None:
        raise Rejection(op_id, 400, field=problem.field or None, detail=problem.detail)
    return {**operation.request_defaults, **data}


def _check_media_type(content_type: str, op_id: str) -> None:
    sent = media_type(content_type)
    if sent == JSON_MEDIA_TYPE or (sent.startswith("application/") and sent.endswith("+json")):
        return
    shown = f"'{sent}'" if sent else "none"
    raise Rejection(
        op_id,
        415,
        detail=f"Content-Type is {shown}; send the body as JSON with "
        "Content-Type: application/json",
    )


async def _read_rest(
    message: Message, receive: Receive, op_id: str, max_bytes: int, seen: list[bytes]
) -> bytes:
    """A body that did not come whole and small in its first `message` (already in `seen`):
    read in parts, cut off as soon as it grows too large."""
    chunks: list[bytes] = []
    size = 0
    while True:
        if message["type"] == "http.disconnect":
            # Nobody is left to answer; ending as a rejection keeps a hang-up out of the error log.
            raise Rejection(op_id, 400, detail="the client hung up before sending the whole body")
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > max_bytes:
            raise _too_large(op_id, max_bytes)
        chunks.append(chunk)
        if not message.get("more_body", False):
            return b"".join(chunks)
        message = await receive()
        seen.append(message.get("body", b""))


def _too_large(op_id: str, max_bytes: int) -> Rejection:
    return Rejection(op_id, 413, detail=f"the body is limited to {max_bytes} bytes")
