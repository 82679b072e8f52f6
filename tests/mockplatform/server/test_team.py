"""One mock for a whole team: several `mockplatform serve` processes, one real Redis.

Process A runs two uvicorn workers (`--workers 2`), process B one; both point at the same
`redis-server`. Whatever one of them does, the others must see at once.
"""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest

from mockplatform.core.spec import Spec
from mockplatform.server.platform import CREATE_TOKEN
from mockplatform.server.world import DEFAULT_AGENT_ID, DEFAULT_API_KEY
from tests.mockplatform.processes import (
    MockProcess,
    RedisServer,
    free_port,
    issue_token,
    redeem,
    running,
)

SERVE = [sys.executable, "-m", "mockplatform.cli", "serve"]


@pytest.fixture(scope="module")
def team(
    redis_server: RedisServer, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[list[MockProcess]]:
    logs = tmp_path_factory.mktemp("team")
    store = ["--store", redis_server.url.replace("/0", "/1")]
    processes = [
        MockProcess([*store, "--workers", "2"], logs / "a.log"),
        MockProcess(store, logs / "b.log"),
    ]
    with running(processes):
        yield processes


@pytest.fixture
def http(team: list[MockProcess]) -> Iterator[httpx.Client]:
    with httpx.Client(timeout=10) as client:
        client.post(f"{team[0].url}/_mock/reset").raise_for_status()
        yield client


def test_workers_are_separate_processes(team: list[MockProcess]) -> None:
    parent = team[0].process
    assert parent is not None
    children = Path(f"/proc/{parent.pid}/task/{parent.pid}/children").read_text().split()
    commands = [Path(f"/proc/{pid}/cmdline").read_bytes() for pid in children]
    assert sum(b"spawn_main" in command for command in commands) == 2


def test_a_token_issued_by_one_process_is_redeemed_by_another(
    team: list[MockProcess], http: httpx.Client
) -> None:
    a, b = team
    issued = issue_token(http, a.url)
    started = redeem(http, b.url, issued["accessToken"])
    assert started.status_code == 201
    assert started.json()["callId"] == issued["callId"]
    assert redeem(http, a.url, issued["accessToken"]).status_code == 409
    record = http.get(f"{a.url}/_mock/calls/{issued['callId']}").json()
    assert record["status"] == "started"


def test_fifty_concurrent_redeems_across_processes_give_one_201(
    team: list[MockProcess], http: httpx.Client
) -> None:
    token = issue_token(http, team[1].url)["accessToken"]
    targets = [team[n % 2].url for n in range(50)]
    limits = httpx.Limits(max_connections=50)
    with httpx.Client(timeout=10, limits=limits) as client, ThreadPoolExecutor(25) as pool:
        statuses = list(pool.map(lambda url: redeem(client, url, token).status_code, targets))
    assert sorted(statuses) == [201] + [409] * 49


def test_the_clock_is_shared(team: list[MockProcess], http: httpx.Client, spec: Spec) -> None:
    a, b = team
    token = issue_token(http, a.url)["accessToken"]
    advanced = http.post(
        f"{b.url}/_mock/clock/advance", json={"seconds": spec.token_lifetime_seconds + 1}
    )
    assert advanced.json()["offsetSeconds"] == spec.token_lifetime_seconds + 1
    for _ in range(6):  # a new connection each time: whichever of A's workers answers
        clock = httpx.get(f"{a.url}/_mock/clock").json()
        assert clock["offsetSeconds"] == spec.token_lifetime_seconds + 1
    expired = redeem(http, a.url, token)
    assert expired.status_code == 401
    assert (
        expired.json()["error"]
        == spec.operation("redeemWidgetToken").example(401, "expired")["error"]
    )


def test_a_scenario_switch_is_seen_by_every_worker(
    team: list[MockProcess], http: httpx.Client, spec: Spec
) -> None:
    a, b = team
    for _ in range(6):  # A's workers answer under "default", which they then take unread
        with httpx.Client(timeout=10) as fresh:  # a new connection: whichever worker answers
            assert issue_token(fresh, a.url)["accessToken"]
    switched = http.put(f"{b.url}/_mock/scenario", json={"name": "platform-failure"})
    assert switched.status_code == 200
    for _ in range(6):  # a new connection each time: whichever of A's workers answers
        assert httpx.get(f"{a.url}/_mock/scenario").json()["name"] == "platform-failure"
        failed = httpx.post(
            f"{a.url}/api/widget/token",
            json={"agentId": DEFAULT_AGENT_ID},
            headers={"Authorization": f"Bearer {DEFAULT_API_KEY}"},
        )
        assert failed.status_code == 500
        assert failed.json()["error"] == spec.operation(CREATE_TOKEN).example(500)["error"]
    http.post(f"{a.url}/_mock/reset").raise_for_status()
    assert http.get(f"{b.url}/_mock/scenario").json()["name"] == "default"
    assert issue_token(http, b.url)["accessToken"]


def test_the_call_log_and_journal_are_shared(team: list[MockProcess], http: httpx.Client) -> None:
    a, b = team
    issued = [issue_token(http, process.url)["callId"] for process in (a, b, a)]
    listed = http.get(f"{b.url}/_mock/calls").json()["calls"]
    assert [call["callId"] for call in listed] == issued[::-1]
    journal = http.get(f"{a.url}/_mock/requests").json()["requests"]
    assert [entry["path"] for entry in journal] == ["/api/widget/token"] * 3
    assert len({entry["id"] for entry in journal}) == 3


def test_the_contract_harness_finds_the_team_conformant(team: list[MockProcess]) -> None:
    """Our own scripted checks (single use, unique ids, lifetime by the shared clock, every
    documented error through the scenarios) against two workers sharing Redis."""
    result = subprocess.run(
        [
            str(Path(sys.executable).parent / "contract"),
            "run",
            "--base-url",
            team[0].url,
            "--api-key",
            DEFAULT_API_KEY,
            "--inactive-key",
            "nas_test_cancelled",
            "--phases",
            "",
            "--quiet",
        ],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "CONFORMANT" in result.stdout
    assert " 0 failed, 0 warned, 0 not verified" in result.stdout
    httpx.post(f"{team[0].url}/_mock/reset").raise_for_status()


def test_redis_killed_and_restarted_gives_503_then_recovers(tmp_path: Path, spec: Spec) -> None:
    redis_server = RedisServer(tmp_path, durable=True).start()
    mock = MockProcess(["--store", redis_server.url], tmp_path / "mock.log")
    try:
        mock.start()
        with httpx.Client(timeout=10) as http:
            token = issue_token(http, mock.url)["accessToken"]
            redis_server.kill()
            refused = http.post(
                f"{mock.url}/api/widget/token",
                json={"agentId": DEFAULT_AGENT_ID},
                headers={"Authorization": f"Bearer {DEFAULT_API_KEY}"},
            )
            assert refused.status_code == 503
            assert refused.json()["store"] == redis_server.url
            down = redeem(http, mock.url, token)
            assert down.status_code == 503
            assert down.json()["store"] == redis_server.url
            assert down.json()["error"] == "Mock store unavailable"
            # the mock's own failure, never mistaken for the platform's documented 503
            assert spec.operation("redeemWidgetToken").validate_response(503, down.json())
            assert http.get(f"{mock.url}/_mock/calls").status_code == 503
            assert mock.process is not None and mock.process.poll() is None
            redis_server.start()
            # the failed redeem changed nothing: the token still starts its one call
            assert redeem(http, mock.url, token).status_code == 201
            assert redeem(http, mock.url, token).status_code == 409
            assert issue_token(http, mock.url)["accessToken"] != token
            # the refused token request left no call behind: the first token's, the last's
            assert len(http.get(f"{mock.url}/_mock/calls").json()["calls"]) == 2
    finally:
        mock.stop()
        redis_server.stop()


def _serve(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*SERVE, "--port", str(free_port()), *args],
        capture_output=True,
        text=True,
        timeout=30,
        env=env,
    )


def test_several_workers_without_a_store_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("MOCKPLATFORM_STORE", raising=False)
    result = _serve("--workers", "3")
    assert result.returncode == 2
    assert result.stderr.startswith("mockplatform: --workers 3 needs a shared store")
    assert "--store redis://" in result.stderr
    assert result.stderr.count("\n") == 1


def test_zero_workers_is_one_line() -> None:
    result = _serve("--workers", "0")
    assert result.returncode == 2
    assert result.stderr == "mockplatform: --workers 0: must be at least 1\n"


def test_an_unreachable_redis_fails_start_up_in_one_line() -> None:
    url = f"redis://127.0.0.1:{free_port()}/0"
    result = _serve("--store", url)
    assert result.returncode == 2
    assert result.stderr.startswith(f"mockplatform: the store {url} is unavailable:")
    assert result.stderr.count("\n") == 1


def test_the_store_can_come_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    url = f"redis://127.0.0.1:{free_port()}/0"
    monkeypatch.setenv("MOCKPLATFORM_STORE", url)
    result = _serve("--workers", "2")
    assert result.returncode == 2
    assert f"the store {url} is unavailable" in result.stderr


def test_a_store_that_is_not_redis_is_one_line() -> None:
    result = _serve("--store", "mysql://127.0.0.1/x")
    assert result.returncode == 2
    assert result.stderr == (
        "mockplatform: --store 'mysql://127.0.0.1/x': expected memory or redis://HOST:PORT/DB\n"
    )
