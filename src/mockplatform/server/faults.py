"""Network faults, OUTSIDE THE CONTRACT: what a frontend must survive, as WireMock offers them.

A fault wraps the response the mock would have sent (the token really is issued; it just
never arrives intact), and delivers it broken:

    connection_reset   the TCP connection is reset (RST), nothing is sent
    empty_response     the connection is closed, nothing is sent
    malformed_json     200 with Content-Type application/json and a body that is not JSON
    truncated_json     the real status, its body cut in half (framing intact, JSON broken)
    slow_body          the real response, trickled a few bytes at a time

Reset and close need the server's transport, which uvicorn keeps on the object whose bound
`send` method it hands to the app; the pipeline keeps that `send` in the scope for us. Under
a server without one, both degrade to a response that starts and then breaks off.
"""

from __future__ import annotations

import asyncio
import socket
import struct
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from starlette.responses import Response
from starlette.types import Receive, Scope, Send

RAW_SEND = "mockplatform.raw_send"
TRICKLE_CHUNK = 16
MALFORMED_BODY = b'{"accessToken": rt_test_, "callId": <html>502</html>'


class Fault(StrEnum):
    """The network faults a scenario rule may name (`fault:` in scenario.schema.json)."""

    CONNECTION_RESET = "connection_reset"
    EMPTY_RESPONSE = "empty_response"
    MALFORMED_JSON = "malformed_json"
    TRUNCATED_JSON = "truncated_json"
    SLOW_BODY = "slow_body"


def loses_answer(fault: Fault) -> bool:
    """Whether the client never gets the answer whole (all but a slow body, which arrives)."""
    return fault is not Fault.SLOW_BODY


class FaultResponse(Response):
    """The response the mock would have sent, delivered broken as its `fault` says."""

    def __init__(self, inner: Response, fault: Fault, trickle_ms: int) -> None:
        super().__init__(inner.body, inner.status_code)
        self.raw_headers = inner.raw_headers
        self.fault = fault
        self.trickle_ms = trickle_ms

    @property
    def status_sent(self) -> int | None:
        """The status the client gets to see; None when the connection is dropped instead."""
        return BEHAVIOURS[self.fault].status_sent(self.status_code)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        await BEHAVIOURS[self.fault].deliver(self, scope, send)


async def _reset(response: FaultResponse, scope: Scope, send: Send) -> None:
    await _drop_connection(scope, send, reset=True)


async def _close(response: FaultResponse, scope: Scope, send: Send) -> None:
    await _drop_connection(scope, send, reset=False)


async def _malformed(response: FaultResponse, scope: Scope, send: Send) -> None:
    await _send_whole(send, 200, MALFORMED_BODY)


async def _truncated(response: FaultResponse, scope: Scope, send: Send) -> None:
    body = bytes(response.body)
    await _send_whole(send, response.status_code, body[: max(1, len(body) // 2)])


async def _trickle(response: FaultResponse, scope: Scope, send: Send) -> None:
    body = bytes(response.body)
    headers = [(k, v) for k, v in response.raw_headers if k != b"content-length"]
    await send({"type": "http.response.start", "status": response.status_code, "headers": headers})
    for start in range(0, len(body), TRICKLE_CHUNK):
        chunk = body[start : start + TRICKLE_CHUNK]
        await send({"type": "http.response.body", "body": chunk, "more_body": True})
        await asyncio.sleep(response.trickle_ms / 1000)
    await send({"type": "http.response.body", "body": b"", "more_body": False})


@dataclass(frozen=True)
class Behaviour:
    """What a fault does: how it delivers the response, and which status the client sees."""

    deliver: Callable[[FaultResponse, Scope, Send], Awaitable[None]]
    status_sent: Callable[[int], int | None]


def _nothing(status: int) -> int | None:
    return None


def _as_is(status: int) -> int | None:
    return status


BEHAVIOURS: dict[Fault, Behaviour] = {
    Fault.CONNECTION_RESET: Behaviour(_reset, _nothing),
    Fault.EMPTY_RESPONSE: Behaviour(_close, _nothing),
    Fault.MALFORMED_JSON: Behaviour(_malformed, lambda status: 200),
    Fault.TRUNCATED_JSON: Behaviour(_truncated, _as_is),
    Fault.SLOW_BODY: Behaviour(_trickle, _as_is),
}


async def _send_whole(send: Send, status: int, body: bytes) -> None:
    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


async def _drop_connection(scope: Scope, send: Send, *, reset: bool) -> None:
    transport = _transport(scope)
    if transport is None:
        # No transport to drop: start a response and break off, which every client sees as
        # a connection that failed mid-response.
        await send({"type": "http.response.start", "status": 200, "headers": []})
        raise ConnectionAbortedError("network fault: connection dropped")
    if reset:
        sock = transport.get_extra_info("socket")
        if sock is not None:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        transport.abort()
    else:
        transport.close()
    for _ in range(2):  # let the server notice the disconnect before the app returns
        await asyncio.sleep(0)


async def drop_connection(scope: Scope) -> bool:
    """Drop the connection under a request or a WebSocket at once, as a network that went
    away does: no response, no close frame. False when the server offers no transport."""
    transport = _transport(scope)
    if transport is None:
        return False
    transport.abort()
    for _ in range(2):  # let the server notice the disconnect before the app returns
        await asyncio.sleep(0)
    return True


def _transport(scope: Scope) -> Any:
    raw_send = scope.get(RAW_SEND)
    owner = getattr(raw_send, "__self__", None)
    return getattr(owner, "transport", None)
