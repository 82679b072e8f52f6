"""Network faults, OUTSIDE THE CONTRACT: what a frontend must survive, as WireMock offers them.

A fault wraps the response the mock would have sent (the token really is issued; it just
never arrives intact), and delivers it broken:

    connection_reset   the TCP connection is reset (RST), nothing is sent
    empty_response     the connection is closed, nothing is sent
    malformed_json     200 with Content-Type application/json and a body that is not JSON
    truncated_json     200 with the real body cut in half (framing intact, JSON broken)
    slow_body          the real response, trickled a few bytes at a time

Reset and close need the server's transport, which uvicorn keeps on the object whose bound
`send` method it hands to the app; `MockApp` stores that `send` in the scope for us. Under
a server without one, both degrade to a response that starts and then breaks off.
"""

from __future__ import annotations

import asyncio
import socket
import struct
from typing import Any

from starlette.responses import Response
from starlette.types import Receive, Scope, Send

RAW_SEND = "mockplatform.raw_send"
TRICKLE_CHUNK = 16


class FaultResponse(Response):
    def __init__(self, inner: Response, fault: str, trickle_ms: int) -> None:
        self.inner = inner
        self.fault = fault
        self.trickle_ms = trickle_ms
        self.status_code = inner.status_code
        self.body = inner.body
        self.raw_headers = inner.raw_headers
        self.background = None

    @property
    def status_sent(self) -> int | None:
        """The status the client gets to see; None when the connection is dropped instead."""
        if self.fault in ("connection_reset", "empty_response"):
            return None
        return 200 if self.fault == "malformed_json" else self.status_code

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        body = bytes(self.inner.body)
        status = self.status_sent
        if status is None:
            await _drop_connection(scope, send, reset=self.fault == "connection_reset")
        elif self.fault == "malformed_json":
            await _send_whole(send, status, b'{"accessToken": rt_test_, "callId": <html>502</html>')
        elif self.fault == "truncated_json":
            await _send_whole(send, status, body[: max(1, len(body) // 2)])
        else:
            await self._trickle(send, body)

    async def _trickle(self, send: Send, body: bytes) -> None:
        headers = [(k, v) for k, v in self.raw_headers if k != b"content-length"]
        await send({"type": "http.response.start", "status": self.status_code, "headers": headers})
        for start in range(0, len(body), TRICKLE_CHUNK):
            await send(
                {
                    "type": "http.response.body",
                    "body": body[start : start + TRICKLE_CHUNK],
                    "more_body": True,
                }
            )
            await asyncio.sleep(self.trickle_ms / 1000)
        await send({"type": "http.response.body", "body": b"", "more_body": False})


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


def _transport(scope: Scope) -> Any:
    raw_send = scope.get(RAW_SEND)
    owner = getattr(raw_send, "__self__", None)
    return getattr(owner, "transport", None)
