"""A simulated call when a team shares one mock: two `mockplatform serve` processes, one Redis.

The browser's WebSocket may reach another process than the one that redeemed the token (a
load balancer, `--workers`): the call's key and state live in the store, so it still plays.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator

import httpx
import pytest

from tests.mockplatform.processes import MockProcess, RedisServer, issue_token, redeem, running
from tests.mockplatform.server.test_live_call import listen

DATABASE = "/7"  # apart from the other shared-store tests' databases


@pytest.fixture(scope="module")
def pair(
    redis_server: RedisServer, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[list[MockProcess]]:
    logs = tmp_path_factory.mktemp("live-team")
    args = ["--store", redis_server.url.replace("/0", DATABASE), "--call-pace-ms", "0"]
    processes = [MockProcess(args, logs / "a.log"), MockProcess(args, logs / "b.log")]
    with running(processes):
        yield processes


def test_a_call_redeemed_on_one_process_streams_from_another(pair: list[MockProcess]) -> None:
    first, second = pair
    with httpx.Client(timeout=10) as http:
        http.post(f"{first.url}/_mock/reset").raise_for_status()
        token = issue_token(http, first.url)
        started = redeem(http, first.url, token["accessToken"]).json()
        call_url = started["callUrl"].replace(f":{first.port}/", f":{second.port}/")
        assert f":{second.port}/" in call_url
        events = asyncio.run(listen(call_url))
        assert [name for name, _ in events][:3] == ["call_started", "metadata", "call_ready"]
        assert events[-1][0] == "call_ended"
        record = http.get(f"{first.url}/_mock/calls/{token['callId']}").json()
        assert record["status"] == "ended"
        assert record["transcript"] == [d for n, d in events if n == "update"][-1]["transcript"]
        # and the call, now ended, cannot be replayed through either process
        again = asyncio.run(listen(started["callUrl"]))
        assert again[0][0] == "error"
        assert "already ended" in again[0][1]
