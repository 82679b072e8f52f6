"""Platforms the proxy tests stand in front of, written as another team would from the seed.

`faulty_platform` is a small Starlette app by a team that read the seed's docs and got a few
things wrong, each behind its own agent id so a test can provoke one at a time; its tokens
never expire and redeem any number of times. `streaming_upstream` answers one fixed,
byte-exact response in parts, with repeated headers, waiting between parts until told to go
on — so a test can see the proxy pass a part before the next exists.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import re
import secrets
import threading
from collections.abc import Callable

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import Route
from starlette.types import Receive, Scope, Send

KEY = "live_key_7f3a9c1e5b2d"
GOOD_AGENT = "550e8400-e29b-41d4-a716-446655440000"
# One agent id per defect.
NAMELESS_AGENT = "aaaaaaaa-0000-4000-8000-000000000001"  # 200 without agentName
PLAIN_TEXT_AGENT = "aaaaaaaa-0000-4000-8000-000000000002"  # 403 as text/plain
TEAPOT_AGENT = "aaaaaaaa-0000-4000-8000-000000000003"  # 418, which nobody documented
ECHO_AGENT = "aaaaaaaa-0000-4000-8000-000000000004"  # 500 that repeats the key back
SAME_CALL_AGENT = "aaaaaaaa-0000-4000-8000-000000000005"  # the same callId every time
UNKNOWN_AGENT = "bbbbbbbb-0000-4000-8000-000000000000"


def faulty_platform() -> Starlette:
    counter = itertools.count()

    async def token(request: Request) -> Response:
        try:
            body = await request.json()
        except ValueError:
            return JSONResponse({"error": "Internal error"}, 500)  # a 5xx for bad input
        agent = body.get("agentId") if isinstance(body, dict) else None
        if agent == UNKNOWN_AGENT:  # looked up before the key: leaks the agent's absence
            return JSONResponse({"error": "Agent not found"}, 404)
        key = request.headers.get("authorization", "").removeprefix("Bearer ")
        if key != KEY:
            return JSONResponse({"error": "Invalid API key"}, 401)
        if body.get("language", "en") not in ("en", "hi", "mr", "auto"):
            # A legitimate choice the docs leave open: its own status and body for bad input.
            return JSONResponse({"message": "unsupported language"}, 422)
        if agent == PLAIN_TEXT_AGENT:
            return PlainTextResponse("Subscription inactive", 403)
        if agent == TEAPOT_AGENT:
            return JSONResponse({"error": "I'm a teapot"}, 418)
        if agent == ECHO_AGENT:
            return JSONResponse({"error": "Voice platform error", "detail": f"key {key}"}, 500)
        call_id = "call_same" if agent == SAME_CALL_AGENT else f"call_{next(counter)}"
        answer = {"accessToken": "rt_" + secrets.token_urlsafe(24), "callId": call_id}
        if agent != NAMELESS_AGENT:
            answer["agentName"] = "Support"
        return JSONResponse(answer)

    async def redeem(request: Request) -> Response:
        body = await request.json()
        return JSONResponse(
            {"callId": "call_x", "status": "started", "token": body["accessToken"][:3]}, 201
        )

    return Starlette(
        routes=[
            Route("/api/widget/token", token, methods=["POST"]),
            Route("/api/widget/calls", redeem, methods=["POST"]),
        ]
    )


STREAMED_HEADERS = [
    (b"content-type", b"application/octet-stream"),
    (b"set-cookie", b"a=1; Path=/"),
    (b"set-cookie", b"b=2; Path=/"),
    (b"x-trace", b"one"),
    (b"x-trace", b"two"),
]
STREAMED_PARTS = [b"first part|", b"second part|", b"\x00\xffbinary end"]


class StreamingUpstream:
    """An ASGI app sending `STREAMED_PARTS` one by one, each after `go_on` is set."""

    def __init__(self) -> None:
        self.go_on = threading.Event()
        self.request_headers: list[tuple[bytes, bytes]] = []

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        self.request_headers = list(scope["headers"])
        await send({"type": "http.response.start", "status": 207, "headers": STREAMED_HEADERS})
        for index, part in enumerate(STREAMED_PARTS):
            if index:
                while not self.go_on.is_set():
                    await asyncio.sleep(0.01)
            await send({"type": "http.response.body", "body": part, "more_body": True})
        await send({"type": "http.response.body", "body": b""})


class SlowUpstream:
    """An ASGI app that answers after `seconds`."""

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        await asyncio.sleep(self.seconds)
        await Response(b"late")(scope, receive, send)


class RawUpstream:
    """An upstream written byte by byte: whatever `answer` returns for a request's head is
    written back as it is, so every byte the proxy meets is the test's own.

    `answer(head)` gets the request line and headers (the body, by its Content-Length, is
    read and dropped) and returns the bytes to send; the connection is then closed unless
    `keep_alive`. Each request's head is kept in `heads`.
    """

    def __init__(self, answer: Callable[[bytes], bytes], keep_alive: bool = False) -> None:
        self.answer = answer
        self.keep_alive = keep_alive
        self.heads: list[bytes] = []
        self.connections = 0
        self.url = ""
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)

    def __enter__(self) -> RawUpstream:
        self._thread.start()
        server = asyncio.run_coroutine_threadsafe(
            asyncio.start_server(self._serve, "127.0.0.1", 0), self._loop
        ).result(5)
        self._server = server
        self.url = f"http://127.0.0.1:{server.sockets[0].getsockname()[1]}"
        return self

    def __exit__(self, *exc: object) -> None:
        asyncio.run_coroutine_threadsafe(self._stop(), self._loop).result(5)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(5)
        self._loop.close()

    async def _stop(self) -> None:
        self._server.close()
        serving = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
        for task in serving:
            task.cancel()
        await asyncio.gather(*serving, return_exceptions=True)

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                self.heads.append(head)
                length = re.search(rb"(?im)^content-length:\s*(\d+)", head)
                if length:
                    await reader.readexactly(int(length[1]))
                writer.write(self.answer(head))
                await writer.drain()
                if not self.keep_alive:
                    break
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            writer.close()


def raw_answer(status: bytes, headers: list[bytes], body: bytes = b"") -> bytes:
    """An HTTP/1.1 answer from its parts, exactly as given (no header added)."""
    return b"HTTP/1.1 " + status + b"\r\n" + b"".join(h + b"\r\n" for h in headers) + b"\r\n" + body


def issuing_platform(
    token: str, redeem_status: bytes, redeem_error: str
) -> Callable[[bytes], bytes]:
    """A `RawUpstream` answer: every token request gets `token` (documented 200 body), every
    other request `redeem_status` with `{"error": redeem_error}`, as JSON."""
    issued = {"accessToken": token, "callId": "call_1", "agentName": "Support"}

    def answer(head: bytes) -> bytes:
        if b"/token " in head:
            return json_answer(b"200 OK", issued)
        return json_answer(redeem_status, {"error": redeem_error})

    return answer


def json_answer(status: bytes, data: object) -> bytes:
    body = json.dumps(data).encode()
    headers = [b"Content-Type: application/json", b"Content-Length: %d" % len(body)]
    return raw_answer(status, headers, body)
