"""The simulated call over its WebSocket, against a live server: events, call log, hang-up."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Iterator
from contextlib import AbstractContextManager
from typing import Any

import httpx
import pytest
import websockets
from websockets.exceptions import ConnectionClosed

from mockplatform import create_app
from mockplatform.cli import main
from mockplatform.core.errors import StoreUnavailable
from mockplatform.server.app import Settings
from mockplatform.server.live_call import CLOSE_BUSY, CLOSE_NOT_FOUND, CLOSE_REFUSED
from mockplatform.server.scenarios import CallScript
from mockplatform.server.store import MemoryStore, Store
from mockplatform.server.world import DEFAULT_AGENT_ID, DEFAULT_API_KEY, DEFAULT_INSTANCE_ID
from mockplatform.testing import serve_in_thread

FAST = CallScript(turns=2, pace_ms=5)
AUTH = {"Authorization": f"Bearer {DEFAULT_API_KEY}"}


def serve(script: CallScript, store: Store | None = None) -> AbstractContextManager[str]:
    """The mock on a free port, its calls following `script`."""
    return serve_in_thread(create_app(Settings(call_script=script), store=store))


@pytest.fixture(scope="module")
def fast_url() -> Iterator[str]:
    with serve(FAST) as url:
        yield url


def start(url: str, **body: Any) -> dict[str, Any]:
    """Issue a token and redeem it: the redeem response, plus the token's callId."""
    with httpx.Client(base_url=url) as http:
        payload = {"agentId": DEFAULT_AGENT_ID, "callerName": "Rahul Sharma", **body}
        token = http.post("/api/widget/token", json=payload, headers=AUTH).json()
        response = http.post("/api/widget/calls", json={"accessToken": token["accessToken"]})
        assert response.status_code == 201
        return response.json()


def call_log(url: str, call_id: str) -> dict[str, Any]:
    return httpx.get(f"{url}/_mock/calls/{call_id}").json()


async def listen(call_url: str, stop_after: str | None = None) -> list[tuple[str, Any]]:
    """Every event until the server closes; with `stop_after`, hang up after that event."""
    events: list[tuple[str, Any]] = []
    async with websockets.connect(call_url) as socket:
        try:
            async for text in socket:
                message = json.loads(text)
                events.append((message["event"], message["data"]))
                if message["event"] == stop_after:
                    await socket.send(json.dumps({"type": "stop"}))
                    break
        except ConnectionClosed:
            pass
    return events


async def refused(call_url: str) -> tuple[int | None, list[Any]]:
    messages = []
    async with websockets.connect(call_url) as socket:
        with pytest.raises(ConnectionClosed):
            while True:
                messages.append(json.loads(await socket.recv()))
        return socket.close_code, messages


def test_the_call_streams_the_sdk_events_in_order(fast_url: str) -> None:
    started = start(fast_url, instanceId=DEFAULT_INSTANCE_ID)
    events = asyncio.run(listen(started["callUrl"]))
    names = [name for name, _ in events]
    assert names[:3] == ["call_started", "metadata", "call_ready"]
    assert names[-1] == "call_ended"
    agent_lines = 1 + FAST.turns + 1  # greeting, the replies, goodbye
    assert names.count("agent_start_talking") == names.count("agent_stop_talking") == agent_lines
    updates = [data for name, data in events if name == "update"]
    assert len(updates) == agent_lines + FAST.turns
    for update in updates:
        assert update["turntaking"] == f"{update['transcript'][-1]['role']}_turn"
        assert set(update["transcript"][-1]) == {"role", "content"}
    assert [len(u["transcript"]) for u in updates] == list(range(1, len(updates) + 1))
    assert updates[0]["transcript"][0]["content"].startswith("Hello, Rahul!")
    metadata = dict(events)["metadata"]
    assert metadata["callId"] == started["callId"]
    assert metadata["companyName"] == "Sharma Dental Clinic"


def test_each_agent_line_is_spoken_between_start_and_stop_talking(fast_url: str) -> None:
    events = asyncio.run(listen(start(fast_url)["callUrl"]))
    names = [name for name, _ in events]
    for index, name in enumerate(names):
        if name == "update" and events[index][1]["turntaking"] == "agent_turn":
            assert names[index - 1] == "agent_start_talking"
            assert names[index + 1] == "agent_stop_talking"


def test_the_call_log_moves_from_token_to_started_to_ended(fast_url: str) -> None:
    with httpx.Client(base_url=fast_url) as http:
        token = http.post(
            "/api/widget/token",
            json={"agentId": DEFAULT_AGENT_ID, "callerName": "Asha", "language": "mr"},
            headers=AUTH,
        ).json()
        assert call_log(fast_url, token["callId"])["status"] == "token_issued"
        started = http.post("/api/widget/calls", json={"accessToken": token["accessToken"]})
    record = call_log(fast_url, token["callId"])
    assert record["status"] == "started"
    assert record["transcript"] == []
    events = asyncio.run(listen(started.json()["callUrl"]))
    record = call_log(fast_url, token["callId"])
    assert record["status"] == "ended"
    assert record["endReason"] == "completed"
    assert record["tokenIssuedAt"] <= record["startedAt"] <= record["endedAt"]
    last_update = [data for name, data in events if name == "update"][-1]
    assert record["transcript"] == last_update["transcript"]
    assert record["transcript"][0]["content"].startswith("नमस्कार, Asha!")


def test_the_redeem_response_gives_a_websocket_url(fast_url: str, spec) -> None:
    started = start(fast_url)
    assert started["callUrl"].startswith(fast_url.replace("http://", "ws://") + "/sdk/calls/")
    problem = spec.operation("redeemWidgetToken").validate_response(201, started)
    assert problem is None


def test_hanging_up_ends_the_call_early(fast_url: str) -> None:
    started = start(fast_url)
    events = asyncio.run(listen(started["callUrl"], stop_after="call_ready"))
    assert "call_ended" not in [name for name, _ in events]
    for _ in range(100):  # the server notices the hang-up asynchronously
        record = call_log(fast_url, started["callId"])
        if record["status"] == "ended":
            break
        time.sleep(0.02)
    assert record["status"] == "ended"
    assert record["endReason"] == "user_hangup"


def test_a_wrong_key_is_refused(fast_url: str) -> None:
    started = start(fast_url)
    url = httpx.URL(started["callUrl"])
    wrong = str(url.copy_set_param("key", "not-the-key"))
    assert wrong != started["callUrl"]
    code, messages = asyncio.run(refused(wrong))
    assert code == CLOSE_REFUSED
    assert messages[0]["event"] == "error"
    assert "key" in messages[0]["data"]
    assert call_log(fast_url, started["callId"])["status"] == "started"


def test_an_unknown_call_is_refused(fast_url: str) -> None:
    code, messages = asyncio.run(refused(f"{fast_url.replace('http', 'ws')}/sdk/calls/call_nope"))
    assert code == CLOSE_NOT_FOUND
    assert messages == [{"event": "error", "data": messages[0]["data"]}]
    assert "Call not found" in messages[0]["data"]


def test_a_call_can_be_listened_to_once(fast_url: str) -> None:
    started = start(fast_url)
    asyncio.run(listen(started["callUrl"]))
    code, messages = asyncio.run(refused(started["callUrl"]))
    assert code == CLOSE_BUSY
    assert "already ended" in messages[0]["data"]


def test_a_second_listener_during_the_call_is_refused() -> None:
    with serve(CallScript(turns=50, pace_ms=20)) as url:
        started = start(url)

        async def both() -> tuple[int | None, list[Any]]:
            async with websockets.connect(started["callUrl"]) as first:
                await first.recv()  # call_started: the first listener holds the call
                return await refused(started["callUrl"])

        code, messages = asyncio.run(both())
        assert code == CLOSE_BUSY
        assert messages[0]["event"] == "error"


def test_a_scripted_failure_sends_error_mid_call() -> None:
    script = CallScript(turns=3, pace_ms=5, fail_after_turns=1, error="Voice connection lost")
    with serve(script) as url:
        started = start(url)
        events = asyncio.run(listen(started["callUrl"]))
        names = [name for name, _ in events]
        assert names[-1] == "error"
        assert events[-1][1] == "Voice connection lost"
        assert "call_ended" not in names
        assert names.count("update") == 1 + 2  # greeting, one exchange
        record = call_log(url, started["callId"])
        assert record["status"] == "ended"
        assert record["endReason"] == "failed: Voice connection lost"


def test_a_scripted_early_end_skips_the_goodbye() -> None:
    with serve(CallScript(turns=3, pace_ms=5, end_after_turns=1)) as url:
        started = start(url)
        events = asyncio.run(listen(started["callUrl"]))
        assert events[-1][0] == "call_ended"
        transcript = [data for name, data in events if name == "update"][-1]["transcript"]
        assert len(transcript) == 3
        assert "Goodbye" not in transcript[-1]["content"]
        assert call_log(url, started["callId"])["endReason"] == "ended_early"


class BrokenStore(MemoryStore):
    """A store that fails once the call has started, as Redis going away would."""

    broken = False

    async def get_call(self, call_id: str):  # type: ignore[no-untyped-def]
        if self.broken:
            raise StoreUnavailable("redis://127.0.0.1:1/0", "Connection refused")
        return await super().get_call(call_id)


def test_a_failing_store_is_reported_on_the_socket() -> None:
    store = BrokenStore()
    with serve(FAST, store=store) as url:
        started = start(url)
        store.broken = True
        code, messages = asyncio.run(refused(started["callUrl"]))
    assert code == 1011
    assert messages[0]["event"] == "error"
    assert messages[0]["data"].startswith("Mock store unavailable: the store redis://")


def test_any_worker_sharing_the_store_can_stream_the_call() -> None:
    """The socket may reach another worker than the redeem did (--workers, a load balancer)."""
    store = MemoryStore()
    with serve(FAST, store=store) as redeemer, serve(FAST, store=store) as other:
        started = start(redeemer)
        elsewhere = started["callUrl"].replace(
            redeemer.removeprefix("http://"), other.removeprefix("http://")
        )
        assert elsewhere != started["callUrl"]
        events = asyncio.run(listen(elsewhere))
        assert events[-1][0] == "call_ended"
        assert call_log(redeemer, started["callId"])["status"] == "ended"


DROPPED_CALL = """\
description: The call drops after the first exchange.
call:
  turns: 3
  pace_ms: 5
  fail_after_turns: 1
  error: Voice connection lost
"""


@pytest.fixture(scope="module")
def team_scenarios_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    directory = tmp_path_factory.mktemp("scenarios")
    (directory / "dropped-call.yaml").write_text(DROPPED_CALL)
    app = create_app(Settings(scenarios_dirs=[directory]))
    with serve_in_thread(app) as url:
        yield url


def test_the_scenarios_call_section_shapes_the_call(team_scenarios_url: str) -> None:
    url = team_scenarios_url
    httpx.put(f"{url}/_mock/scenario", json={"name": "dropped-call"}).raise_for_status()
    try:
        started = start(url)
        events = asyncio.run(listen(started["callUrl"]))
        record = call_log(url, started["callId"])
    finally:
        httpx.post(f"{url}/_mock/reset").raise_for_status()
    assert events[-1] == ("error", "Voice connection lost")
    assert [name for name, _ in events].count("update") == 3
    assert record["endReason"] == "failed: Voice connection lost"


def test_a_call_keeps_the_scenario_its_redeem_named(team_scenarios_url: str) -> None:
    """X-Mock-Scenario on the redeem reaches the call, though the active scenario differs."""
    url = team_scenarios_url
    with httpx.Client(base_url=url) as http:
        token = http.post(
            "/api/widget/token", json={"agentId": DEFAULT_AGENT_ID}, headers=AUTH
        ).json()
        started = http.post(
            "/api/widget/calls",
            json={"accessToken": token["accessToken"]},
            headers={"X-Mock-Scenario": "dropped-call"},
        ).json()
        assert http.get("/_mock/scenario").json()["name"] == "default"
    assert httpx.URL(started["callUrl"]).params["scenario"] == "dropped-call"
    events = asyncio.run(listen(started["callUrl"]))
    assert events[-1] == ("error", "Voice connection lost")


def test_the_pace_override_keeps_the_scenarios_shape() -> None:
    """`serve --call-pace-ms`: a shipped scenario's call, played fast for an e2e test."""
    with serve_in_thread(create_app(Settings(call_pace_ms=0))) as url, httpx.Client() as http:
        token = http.post(
            f"{url}/api/widget/token", json={"agentId": DEFAULT_AGENT_ID}, headers=AUTH
        ).json()
        started = http.post(
            f"{url}/api/widget/calls",
            json={"accessToken": token["accessToken"]},
            headers={"X-Mock-Scenario": "dropped-call"},
        ).json()
        events = asyncio.run(listen(started["callUrl"]))
    assert events[-1][0] == "error"
    assert [name for name, _ in events].count("update") == 3


def test_a_negative_pace_is_one_line(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["serve", "--port", "0", "--call-pace-ms", "-1"]) == 2
    assert capsys.readouterr().err == "mockplatform: --call-pace-ms -1: must be 0 or more\n"
