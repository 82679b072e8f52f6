"""The SDK stand-in as a vendor SDK behaves, in Chromium against the mock on a real port.

Lifecycle (connecting, a hang-up while connecting, `call_ended` once with a reason), errors
as objects with stable codes, a connection lost mid-call (a scenario's and a mock killed
outright), redeem rules that follow the token, a reset on the redeem that leaves no ghost,
mute and a refused microphone. One browser per module; calls paced in milliseconds.
"""

from __future__ import annotations

import signal
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from playwright.sync_api import Browser, Page

from mockplatform import create_app
from mockplatform.core.spec import Spec
from mockplatform.server.app import Settings
from mockplatform.server.world import DEFAULT_AGENT_ID, DEFAULT_API_KEY
from mockplatform.testing import serve_in_thread
from tests.mockplatform.processes import MockProcess

PACE_MS = 10
REDEEM_LATENCY_MS = 400
TIMEOUT_MS = 10_000
# A team's own scenarios: the redeem slowed down, or its answer reset, for tokens issued
# under them (whatever the mock's active scenario).
OWN_SCENARIOS = {
    "slow-redeem.yaml": f"""description: The SDK's redeem answers late.
rules:
  - operation: redeemWidgetToken
    latency_ms: {REDEEM_LATENCY_MS}
""",
    "reset-redeem.yaml": """description: The SDK's redeem is reset in transit.
rules:
  - operation: redeemWidgetToken
    fault: connection_reset
""",
}

RECORDER = """async (options) => {
  const { ZentrixVoiceClient } = await import("/sdk/voice-client.js");
  const client = new ZentrixVoiceClient(options);
  window.events = [];
  for (const name of ["call_started", "call_ended", "error", "update"]) {
    client.on(name, (first, second) => window.events.push(
      name === "update"
        ? [name, first.transcript.map((line) => line.role).join(",")]
        : [name, first ?? null, second ?? null]));
  }
  window.client = client;
}"""
ENDED = "() => window.events.some(([name]) => name === 'call_ended')"


@pytest.fixture(scope="module")
def url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    own = tmp_path_factory.mktemp("own-scenarios")
    for name, text in OWN_SCENARIOS.items():
        (own / name).write_text(text)
    settings = Settings(call_pace_ms=PACE_MS, scenarios_dirs=[own])
    with serve_in_thread(create_app(settings)) as url:
        yield url


@pytest.fixture(scope="module")
def tab(browser: Browser, url: str) -> Iterator[Page]:
    """One tab for the module, on a page of the mock's origin (a new one costs more than
    most tests); each test gets a new client in it."""
    context = browser.new_context()
    context.set_default_timeout(TIMEOUT_MS)
    page = context.new_page()
    page.goto(f"{url}/demo/config")
    yield page
    context.close()


@pytest.fixture
def page(tab: Page, url: str) -> Page:
    httpx.post(f"{url}/_mock/reset").raise_for_status()
    tab.evaluate(RECORDER, {})
    return tab


def token(url: str, scenario: str | None = None) -> str:
    headers = {"Authorization": f"Bearer {DEFAULT_API_KEY}"}
    if scenario:
        headers["X-Mock-Scenario"] = scenario
    response = httpx.post(
        f"{url}/api/widget/token", json={"agentId": DEFAULT_AGENT_ID}, headers=headers
    )
    assert response.status_code == 200, response.text
    return response.json()["accessToken"]


def call(page: Page, access_token: str) -> list[list[Any]]:
    """startCall, wait for call_ended; every event recorded."""
    page.evaluate("(accessToken) => window.client.startCall({ accessToken })", access_token)
    page.wait_for_function(ENDED)
    return page.evaluate("window.events")


def names(events: list[list[Any]]) -> list[str]:
    return [event[0] for event in events if event[0] != "update"]


def errors(events: list[list[Any]]) -> list[dict[str, Any]]:
    return [event[2] for event in events if event[0] == "error"]


def ended(events: list[list[Any]]) -> list[dict[str, Any]]:
    return [event[1] for event in events if event[0] == "call_ended"]


def last_call(url: str) -> dict[str, Any]:
    return httpx.get(f"{url}/_mock/calls").json()["calls"][0]


def test_a_completed_call_ends_once_as_completed(page: Page, url: str) -> None:
    events = call(page, token(url))
    assert names(events) == ["call_started", "call_ended"]
    assert ended(events) == [{"reason": "completed"}]
    assert page.evaluate("[window.client.status, window.client.isCalling]") == ["ended", False]


def test_stop_while_connecting_abandons_the_redeem(page: Page, url: str) -> None:
    """The redeem is slow for this token (its scenario's rule, the mock's active scenario
    being the default): hung up meanwhile, the call never starts, a second startCall
    meanwhile is refused, and call_ended fires once."""
    result = page.evaluate(
        """async (accessToken) => {
          const client = window.client;
          const began = performance.now();
          const pending = client.startCall({ accessToken });
          const during = [client.status, client.isCalling];
          await client.startCall({ accessToken });
          client.stopCall();
          await pending;
          const after = client.status;
          await new Promise((resolve) => setTimeout(resolve, 2 * REDEEM_LATENCY_MS));
          return { during, after };
        }""".replace("REDEEM_LATENCY_MS", str(REDEEM_LATENCY_MS)),
        token(url, "slow-redeem"),
    )
    assert result == {"during": ["connecting", True], "after": "ended"}
    events = page.evaluate("window.events")
    assert names(events) == ["error", "call_ended"]
    assert errors(events)[0]["code"] == "call_in_progress"
    assert ended(events) == [{"reason": "user_hangup"}]
    record = last_call(url)
    assert record["scenario"] == "slow-redeem"
    assert record["transcript"] == []  # no socket was opened: not a word was played
    assert httpx.get(f"{url}/_mock/scenario").json()["name"] == "default"
    (redeemed,) = [
        e
        for e in httpx.get(f"{url}/_mock/requests").json()["requests"]
        if e["path"] == "/api/widget/calls"
    ]
    assert redeemed["scenario"] == "slow-redeem"  # the token's rule slowed it
    assert redeemed["durationMs"] >= REDEEM_LATENCY_MS


def test_errors_carry_a_stable_code_and_the_platform_status(
    page: Page, url: str, spec: Spec
) -> None:
    redeem = spec.operation("redeemWidgetToken")
    used = token(url)
    call(page, used)
    expired = token(url)
    seconds = spec.token_lifetime_seconds + 1
    httpx.post(f"{url}/_mock/clock/advance", json={"seconds": seconds}).raise_for_status()
    result = page.evaluate(
        """async (tokens) => {
          const { ZentrixVoiceClient } = await import("/sdk/voice-client.js");
          const seen = [];
          for (const [accessToken, baseUrl] of tokens) {
            const client = new ZentrixVoiceClient(baseUrl ? { baseUrl } : {});
            client.on("error", (message, error) => seen.push([message, error]));
            await client.startCall({ accessToken });
          }
          return seen;
        }""",
        [
            [used, None],
            [expired, None],
            ["rt_test_never_issued", None],
            ["x", "http://127.0.0.1:9"],
        ],
    )
    codes = [(error["code"], error.get("status")) for _, error in result]
    assert codes == [
        ("token_used", 409),
        ("token_expired", 401),
        ("token_invalid", 401),
        ("unreachable", None),
    ]
    assert [message for message, _ in result[:3]] == [
        redeem.example(409)["error"],
        redeem.example(401, "expired")["error"],
        redeem.example(401, "unknown")["error"],
    ]
    assert all(message == error["message"] for message, error in result)
    assert result[1][1]["detail"] == "the access token's lifetime has passed"
    assert "http://127.0.0.1:9/api/widget/calls (from baseUrl)" in result[3][0]


def test_redeem_failures_follow_the_token_and_leave_it_unused(
    page: Page, url: str, spec: Spec
) -> None:
    """503, then 500, then the call: the same token each time, the mock's active scenario
    untouched; each scripted answer is a documented response of the redeem."""
    redeem = spec.operation("redeemWidgetToken")
    access_token = token(url, "redeem-failures")
    seen = []
    for _ in range(3):
        page.evaluate("window.events = []")
        seen.append(call(page, access_token))
    assert [(e["code"], e["status"], e["message"]) for e in errors(seen[0])] == [
        ("platform_error", 503, redeem.example(503)["error"])
    ]
    assert [(e["code"], e["status"]) for e in errors(seen[1])] == [("platform_error", 500)]
    assert ended(seen[0]) == ended(seen[1]) == [{"reason": "failed"}]
    assert names(seen[2]) == ["call_started", "call_ended"]
    journal = httpx.get(f"{url}/_mock/requests").json()["requests"]
    answers = [e for e in journal if e["path"] == redeem.path]
    for entry in answers:
        assert entry["status"] in redeem.responses
    assert httpx.get(f"{url}/_mock/scenario").json()["name"] == "default"


def test_a_connection_lost_mid_call_says_so_then_ends(page: Page, url: str) -> None:
    events = call(page, token(url, "lost-connection"))
    assert names(events) == ["call_started", "error", "call_ended"]
    assert errors(events)[0]["code"] == "connection_lost"
    assert ended(events) == [{"reason": "connection_lost"}]
    record = last_call(url)
    assert (record["status"], record["endReason"]) == ("ended", "connection_lost")


def test_a_call_the_platform_fails_is_a_platform_error(page: Page, url: str) -> None:
    events = call(page, token(url, "dropped-call"))
    assert names(events) == ["call_started", "error", "call_ended"]
    assert errors(events)[0]["code"] == "platform_error"
    assert ended(events) == [{"reason": "failed"}]


def test_a_refused_microphone_fails_the_call_before_it_starts(page: Page, url: str) -> None:
    events = call(page, token(url, "microphone-denied"))
    assert names(events) == ["error", "call_ended"]
    assert errors(events)[0]["code"] == "microphone_denied"
    assert ended(events) == [{"reason": "failed"}]
    assert last_call(url)["endReason"].startswith("failed: Microphone access denied")


def test_mute_silences_the_simulated_caller(page: Page, url: str) -> None:
    page.evaluate("window.client.mute()")
    events = call(page, token(url))
    spoken = [event[1] for event in events if event[0] == "update"]
    assert spoken and all("user" not in roles.split(",") for roles in spoken)
    transcript = last_call(url)["transcript"]
    assert transcript and {line["role"] for line in transcript} == {"agent"}
    page.evaluate("window.client.unmute(); window.events = []")
    events = call(page, token(url))
    assert any("user" in event[1] for event in events if event[0] == "update")


def test_a_reset_on_the_redeem_leaves_no_ghost(page: Page, url: str) -> None:
    events = call(page, token(url, "reset-redeem"))
    assert names(events) == ["error", "call_ended"]
    (error,) = errors(events)
    assert error["code"] == "unreachable"
    assert f"{url}/api/widget/calls (from the module's URL)" in error["message"]
    record = last_call(url)
    assert record["status"] == "ended"
    assert record["endReason"] == (
        "failed: the redeem's answer was lost in transit (connection_reset)"
    )


def test_a_mock_killed_mid_call_is_a_lost_connection(browser: Browser, tmp_path: Path) -> None:
    mock = MockProcess(["--call-pace-ms", "200"], tmp_path / "mock.log").start()
    try:
        context = browser.new_context()
        context.set_default_timeout(TIMEOUT_MS)
        page = context.new_page()
        page.goto(f"{mock.url}/demo/config")
        page.evaluate(RECORDER, {})
        page.evaluate("(t) => window.client.startCall({ accessToken: t })", token(mock.url))
        page.wait_for_function("() => window.events.some(([name]) => name === 'call_started')")
        assert mock.process is not None
        mock.process.send_signal(signal.SIGKILL)
        mock.process.wait(timeout=10)
        page.wait_for_function(ENDED)
        events = page.evaluate("window.events")
        context.close()
    finally:
        mock.stop()
    assert names(events)[-2:] == ["error", "call_ended"]
    assert errors(events)[-1]["code"] == "connection_lost"
    assert ended(events) == [{"reason": "connection_lost"}]
