"""The mock's speed shortcuts, each held to the plain way by a differential test.

Why they exist: the mock stands in for the platform under a team's load tests and CI suites,
where token requests are the whole traffic, and the plain way spends more on Starlette's
JSON and response building than on the mock's own stages. Each shortcut here produces what
the plain way produces; tests/mockplatform/server/test_fast_path.py runs the same inputs both
ways and compares. (The other shortcut, routing a platform operation straight to its
endpoint, is `pipeline.Pipeline`'s, under the same test.)

`json_response`: Starlette's `JSONResponse`, with the encoder built once and the two headers
written directly, where Starlette builds an encoder per response and works the headers out
case by case. `token_response`: the token request's answer the same way, its three strings
written into the object's text (the C encoder costs a token request about 1 us for it, this
a tenth of that).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from json.encoder import c_make_encoder, encode_basestring  # type: ignore[attr-defined]
from typing import Any

from starlette.responses import JSONResponse
from starlette.types import Receive, Scope, Send

_ENCODER = json.JSONEncoder(ensure_ascii=False, allow_nan=False, separators=(",", ":"))
_CONTENT_TYPE = (b"content-type", JSONResponse.media_type.encode("latin-1"))


def _build_encode() -> Callable[[Any], str]:
    """`_ENCODER.encode`, without building its C encoder again for every response.

    The circular-reference check is left out: an answer is built fresh from plain values.
    Where Python has no C encoder (other implementations), the plain `encode` serves.
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


class _JSONAnswer(JSONResponse):
    """A `JSONResponse` of JSON already written out (as `_ENCODER` writes it), sent over
    HTTP (a platform operation's answer: never a WebSocket's) with no background task."""

    def __init__(self, text: str, status_code: int) -> None:
        self.status_code = status_code
        self.background = None
        self.body = body = text.encode("utf-8")
        self.raw_headers = [(b"content-length", b"%d" % len(body)), _CONTENT_TYPE]

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        await send(
            {"type": "http.response.start", "status": self.status_code, "headers": self.raw_headers}
        )
        await send({"type": "http.response.body", "body": self.body})


def json_response(content: Any, status_code: int = 200) -> JSONResponse:
    """`JSONResponse(content, status_code)`: the same body and headers."""
    return _JSONAnswer(_ENCODE(content), status_code)


def token_response(access_token: str, call_id: str, agent_name: str) -> JSONResponse:
    """`json_response({"accessToken": access_token, "callId": call_id, "agentName":
    agent_name})`: the same body and headers.

    `access_token` and `call_id` are the mock's own identifiers (tokens.py: a prefix, then
    URL-safe base64 or hex), which JSON writes as they are: only the agent's name is escaped
    (escaping all three cost a token request ~0.2 us)."""
    return _JSONAnswer(
        f'{{"accessToken":"{access_token}","callId":"{call_id}",'
        f'"agentName":{encode_basestring(agent_name)}}}',
        200,
    )
