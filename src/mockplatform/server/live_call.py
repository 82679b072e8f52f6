"""The live side of a started call: its events, streamed to the browser over a WebSocket.

Redeeming a token (platform.py) answers with a `callUrl` carrying a one-off key; the SDK
stand-in (static/voice-client.js) opens it and receives the conversation as the platform
SDK family's events — `call_started`, `metadata`, `call_ready`, `agent_start_talking`,
`update` with the transcript, `agent_stop_talking`, `call_ended`, `error` — each one JSON
message `{"event": NAME, "data": PAYLOAD}`. The call log follows along: the transcript after
every line, then `ended` with its time and reason. The browser may send `{"type": "stop"}`
(or just close) to hang up.
"""

from __future__ import annotations

import asyncio
import contextlib
import hmac
import json
import logging
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from typing import Any

from starlette.routing import WebSocketRoute
from starlette.websockets import WebSocket, WebSocketDisconnect

from mockplatform.core.errors import StoreUnavailable
from mockplatform.core.redaction import printable
from mockplatform.server.calls import CallRecord, CallStatus
from mockplatform.server.conversation import Conversation, build_conversation
from mockplatform.server.faults import drop_connection
from mockplatform.server.platform import LIVE_CALL_ROUTE, SCENARIO_PARAM, Platform
from mockplatform.server.scenarios import CallScript, Scenario
from mockplatform.server.store_guard import STORE_UNAVAILABLE
from mockplatform.server.tokens import key_digest

logger = logging.getLogger("mockplatform")

CLOSE_INTERNAL_ERROR = 1011
# Close codes in the 4000-4999 range an application may use; the browser sees them on close.
CLOSE_REFUSED = 4403
CLOSE_NOT_FOUND = 4404
CLOSE_BUSY = 4409

FINAL_EVENTS = ("call_ended", "error")
# The SDK's error `code` for an `error` event, by the conversation's outcome.
ERROR_CODES = {"failed": "platform_error", "microphone_denied": "microphone_denied"}

Event = tuple[str, Any]


def call_events(conversation: Conversation, muted: Callable[[], bool] = bool) -> Iterator[Event]:
    """Every event of the call, in order, with the payloads the platform's web SDK emits.

    `muted()` is asked before each of the caller's turns: while the browser has muted its
    microphone, the caller says nothing and the transcript stays as it was. A refused
    microphone ends the call before it starts; a dropped call just stops (no final event).
    """
    if conversation.outcome == "microphone_denied":
        yield "error", conversation.error
        return
    yield "call_started", None
    yield "metadata", conversation.metadata
    yield "call_ready", None
    transcript: list[dict[str, str]] = []
    for utterance in conversation.utterances:
        if utterance.role == "user" and muted():
            continue
        transcript = [*transcript, utterance.to_json()]
        update = {"transcript": transcript, "turntaking": f"{utterance.role}_turn"}
        if utterance.role == "agent":
            yield "agent_start_talking", None
            yield "update", update
            yield "agent_stop_talking", None
        else:
            yield "update", update
    if conversation.outcome == "failed":
        yield "error", conversation.error
    elif conversation.outcome != "dropped":
        yield "call_ended", None


def end_reason(conversation: Conversation) -> str:
    if conversation.error is not None:
        return f"failed: {conversation.error}"
    if conversation.outcome == "dropped":
        return "connection_lost"
    return conversation.outcome


class LiveCalls:
    """How this process plays calls. (Which socket may listen to a call is the store's to
    say, `Store.claim_listener`: the "once" rule holds across workers and hosts.)

    `script`, when set (`Settings.call_script`), overrides every scenario's `call:` section;
    `pace_ms` (`serve --call-pace-ms`) only its pace, so end-to-end tests run calls fast.
    """

    def __init__(self, script: CallScript | None = None, pace_ms: int | None = None) -> None:
        self.script = script
        self.pace_ms = pace_ms

    def script_for(self, scenario: Scenario) -> CallScript:
        script = self.script or scenario.call
        return script if self.pace_ms is None else replace(script, pace_ms=self.pace_ms)


async def scenario_of(websocket: WebSocket, platform: Platform) -> Scenario:
    """The scenario the call follows (named in the callUrl: its token's, or the redeem's own
    header), else the active one."""
    name = websocket.query_params.get(SCENARIO_PARAM)
    named = platform.scenarios.get(name) if name else None
    return named or await platform.active_scenario()


def _platform(websocket: WebSocket) -> Platform:
    return websocket.app.state.platform


def _live_calls(websocket: WebSocket) -> LiveCalls:
    return websocket.app.state.live_calls


async def live_call(websocket: WebSocket) -> None:
    await websocket.accept()
    try:
        await _serve_call(websocket)
    except StoreUnavailable as exc:  # the mock's own failure: say so, as HTTP gets a 503
        logger.warning("live call %s: %s", printable(websocket.url.path), exc)
        if await _send(websocket, "error", f"{STORE_UNAVAILABLE}: {exc}"):
            await websocket.close(code=CLOSE_INTERNAL_ERROR, reason=STORE_UNAVAILABLE)


async def _serve_call(websocket: WebSocket) -> None:
    platform, live = _platform(websocket), _live_calls(websocket)
    call_id = websocket.path_params["call_id"]
    call = await platform.store.get_call(call_id)
    refusal = _refusal(call, websocket.query_params.get("key", ""))
    if refusal is None and not await platform.store.claim_listener(call_id):
        refusal = CLOSE_BUSY, "Call already being listened to: a call can be listened to once"
    if refusal is not None:
        code, message = refusal
        await _send(websocket, "error", message)
        await websocket.close(code=code, reason=message[:120])
        return
    assert call is not None
    scenario = await scenario_of(websocket, platform)
    script = live.script_for(scenario)
    instance = None
    if call.instance_id:
        instance = scenario.world.instances.get(call.instance_id) or platform.world.instances.get(
            call.instance_id
        )
    conversation = build_conversation(call, instance, script)
    reason = await _play(websocket, platform, call, conversation, script)
    call.status = CallStatus.ENDED
    call.ended_at = await platform.store.now()
    call.end_reason = reason
    await platform.store.save_call(call)
    with contextlib.suppress(RuntimeError, WebSocketDisconnect):
        await websocket.close()


def _refusal(call: CallRecord | None, key: str) -> tuple[int, str] | None:
    """Why this socket may not listen to the call, or None when it may."""
    if call is None or call.live_key_digest is None:
        return CLOSE_NOT_FOUND, "Call not found: no started call with this id"
    if not hmac.compare_digest(key_digest(key), call.live_key_digest):
        return CLOSE_REFUSED, "Invalid call key: use the callUrl the redeem response gave"
    if call.status != CallStatus.STARTED:
        return CLOSE_BUSY, f"Call already {call.status}: a call can be listened to once"
    return None


async def _play(
    websocket: WebSocket,
    platform: Platform,
    call: CallRecord,
    conversation: Conversation,
    script: CallScript,
) -> str:
    """Send the events at the script's pace until the end, or until the browser hangs up."""
    hung_up = asyncio.Event()
    browser = _Browser()
    listener = asyncio.create_task(_listen(websocket, hung_up, browser))
    pause = max(0, script.pace_ms) / 1000
    code = ERROR_CODES.get(conversation.outcome)
    try:
        for name, data in call_events(conversation, lambda: browser.muted):
            sent = await _send(websocket, name, data, code if name == "error" else None)
            if hung_up.is_set() or not sent:
                return "user_hangup"
            if name == "update":
                call.transcript = tuple(data["transcript"])
                await platform.store.save_call(call)
            if name in FINAL_EVENTS:
                break
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(hung_up.wait(), pause)
        if conversation.outcome == "dropped" and not await drop_connection(websocket.scope):
            await websocket.close(code=CLOSE_INTERNAL_ERROR)  # a server without a transport
        return end_reason(conversation)
    finally:
        listener.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await listener


@dataclass
class _Browser:
    """What the browser said during the call: only whether its microphone is muted."""

    muted: bool = False


async def _listen(websocket: WebSocket, hung_up: asyncio.Event, browser: _Browser) -> None:
    """The browser says `{"type": "stop"}` or closes the socket (a hang-up), or
    `{"type": "mute"}` / `{"type": "unmute"}`; anything else is ignored."""
    while True:
        message = await websocket.receive()
        if message["type"] == "websocket.disconnect":
            break
        kind = _message_type(message.get("text"))
        if kind == "stop":
            break
        if kind in ("mute", "unmute"):
            browser.muted = kind == "mute"
    hung_up.set()


def _message_type(text: str | None) -> str | None:
    try:
        message = json.loads(text or "")
    except ValueError:
        return None
    kind = message.get("type") if isinstance(message, dict) else None
    return kind if isinstance(kind, str) else None


async def _send(websocket: WebSocket, name: str, data: Any, code: str | None = None) -> bool:
    """Send one event (an `error` with the SDK's `code` where one is known); False when the
    browser has already gone."""
    message = {"event": name, "data": data}
    if code is not None:
        message["code"] = code
    try:
        await websocket.send_json(message)
    except (WebSocketDisconnect, RuntimeError, OSError):
        return False
    return True


ROUTES = [WebSocketRoute("/sdk/calls/{call_id}", live_call, name=LIVE_CALL_ROUTE)]
