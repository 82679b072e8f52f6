"""The demo page and the SDK stand-in in real headless Chromium (Debian's, driven by Playwright).

Calls are paced in milliseconds here (`CallScript(pace_ms=...)`), so a whole call takes well
under a second; `make test` installs chromium when it is missing.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

import httpx
import pytest
from playwright.sync_api import Browser, Page, expect
from starlette.applications import Starlette

from mockplatform import create_app
from mockplatform.server.app import Settings
from mockplatform.server.scenarios import CallScript
from mockplatform.testing import serve_in_thread

PACE_MS = 5  # every call's pace (serve --call-pace-ms); each scenario keeps its own shape
SLOW = CallScript(turns=40, pace_ms=100)  # long enough to hang up in the middle
TIMEOUT_MS = 10_000
PLATFORM_FAILURE = "platform-failure"


@pytest.fixture(scope="module")
def fast_app() -> Starlette:
    return create_app(Settings(call_pace_ms=PACE_MS))


@pytest.fixture(scope="module")
def fast_url(fast_app: Starlette) -> Iterator[str]:
    with serve_in_thread(fast_app) as url:
        yield url


@pytest.fixture(scope="module")
def default_turns(fast_app: Starlette) -> int:
    return fast_app.state.platform.scenarios.get("default").call.turns


@pytest.fixture(scope="module")
def slow_url() -> Iterator[str]:
    with serve_in_thread(create_app(Settings(call_script=SLOW))) as url:
        yield url


@pytest.fixture(scope="module")
def tab(browser: Browser) -> Iterator[Page]:
    """One tab for the module (a new one costs more than the test); each test reloads it."""
    context = browser.new_context()
    context.set_default_timeout(TIMEOUT_MS)
    yield context.new_page()
    context.close()


def open_page(tab: Page, url: str) -> Iterator[Page]:
    """The demo page on a freshly reset mock; fails the test on any script error in the page."""
    httpx.post(f"{url}/_mock/reset").raise_for_status()
    errors: list[str] = []

    def keep(error: Exception) -> None:
        errors.append(str(error))

    tab.on("pageerror", keep)
    tab.goto(url)
    expect(tab.locator("body[data-ready=true]")).to_be_attached()
    yield tab
    tab.remove_listener("pageerror", keep)
    assert errors == [], errors


@pytest.fixture
def page(tab: Page, fast_url: str) -> Iterator[Page]:
    yield from open_page(tab, fast_url)


@pytest.fixture
def slow_page(tab: Page, slow_url: str) -> Iterator[Page]:
    yield from open_page(tab, slow_url)


def logged(page: Page, event: str):
    return page.locator(f"#event-log li[data-event={event}]")


def test_click_call_greets_the_caller_and_ends(page: Page, default_turns: int) -> None:
    page.get_by_label("Caller name").fill("Priya Patel")
    page.get_by_role("button", name="Call", exact=True).click()
    expect(logged(page, "call_ended")).to_have_count(1)
    expect(logged(page, "call_started")).to_have_count(1)
    expect(logged(page, "error")).to_have_count(0)
    first_line = page.locator("#transcript li").first
    expect(first_line).to_have_attribute("data-role", "agent")
    expect(first_line).to_contain_text("Hello, Priya!")
    expect(first_line).to_contain_text("Sharma Dental Clinic")
    expect(page.locator("#transcript li")).to_have_count(1 + 2 * default_turns + 1)
    expect(page.locator("#status")).to_have_text("Call ended")
    expect(page.get_by_role("button", name="Call", exact=True)).to_be_enabled()


def test_the_page_talks_to_nothing_but_the_mock(page: Page, fast_url: str) -> None:
    requested: list[str] = []

    def note(request_or_socket) -> None:  # type: ignore[no-untyped-def]
        requested.append(request_or_socket.url)

    page.on("request", note)
    page.on("websocket", note)
    try:
        page.reload()
        expect(page.locator("body[data-ready=true]")).to_be_attached()
        page.get_by_role("button", name="Call", exact=True).click()
        expect(logged(page, "call_ended")).to_have_count(1)
    finally:
        page.remove_listener("request", note)
        page.remove_listener("websocket", note)
    origin = fast_url.removeprefix("http://")
    assert any(url.startswith(f"ws://{origin}/sdk/calls/") for url in requested)
    assert any(url == f"{fast_url}/sdk/voice-client.js" for url in requested)
    strangers = [url for url in requested if url.split("/")[2] != origin]
    assert strangers == []


def test_the_form_works_from_the_keyboard(page: Page) -> None:
    page.get_by_label("Caller name").fill("Meera")
    page.get_by_label("Caller name").press("Enter")
    expect(logged(page, "call_ended")).to_have_count(1)
    expect(page.locator("#transcript li").first).to_contain_text("Hello, Meera!")


def test_auto_language_says_which_it_picked(page: Page) -> None:
    page.get_by_label("Language").select_option("auto")
    page.get_by_role("button", name="Call", exact=True).click()
    expect(logged(page, "metadata")).to_contain_text('"languageDetected":true')
    expect(logged(page, "call_ended")).to_have_count(1)
    picked = page.locator("#transcript li").first.get_attribute("lang")
    assert picked in ("en", "hi", "mr")


def test_the_call_is_in_the_chosen_language(page: Page) -> None:
    page.get_by_label("Caller name").fill("Rahul Sharma")
    page.get_by_label("Language").select_option("hi")
    page.get_by_role("button", name="Call", exact=True).click()
    expect(logged(page, "call_ended")).to_have_count(1)
    first_line = page.locator("#transcript li").first
    expect(first_line).to_contain_text("नमस्ते, Rahul!")
    expect(first_line).to_have_attribute("lang", "hi")


def test_an_expired_token_shows_the_error_and_never_starts(page: Page, spec) -> None:
    expired = spec.operation("redeemWidgetToken").example(401, "expired")["error"]
    page.get_by_text("Token expiry: the pre-fetch bug").click()
    page.get_by_role("button", name="1. Get a token now").click()
    expect(logged(page, "token")).to_have_count(1)
    page.get_by_role("button", name="2. Advance clock").click()
    seconds = spec.token_lifetime_seconds + 1
    expect(logged(page, "clock")).to_contain_text(f"advanced {seconds:g} s (200)")
    page.get_by_role("button", name="3. Call with that token").click()
    expect(logged(page, "error")).to_have_count(1)
    expect(logged(page, "error")).to_contain_text(expired)
    expect(page.locator("#status")).to_have_text(f"Error: {expired}")
    expect(page.locator("#status")).to_have_attribute("data-state", "error")
    expect(logged(page, "call_started")).to_have_count(0)
    expect(logged(page, "call_ended")).to_have_count(1)  # it was connecting: once, "failed"
    expect(logged(page, "call_ended")).to_contain_text("failed")


def test_the_api_key_picker_shows_the_documented_403(page: Page, spec) -> None:
    documented = spec.operation("createWidgetToken").example(403)["error"]
    page.get_by_label("API key the backend sends").select_option("nas_test_cancelled")
    page.get_by_role("button", name="Call", exact=True).click()
    expect(page.locator("#status")).to_have_text(f"Token request failed: 403 {documented}")
    expect(logged(page, "call_started")).to_have_count(0)


def test_platform_failure_scenario_shows_the_documented_500(page: Page, fast_url: str, spec):
    if httpx.get(f"{fast_url}/_mock/scenarios").status_code != 200:
        pytest.skip("the scenario API (issue 3) is not in this build of the mock")
    documented = spec.operation("createWidgetToken").example(500)["error"]
    page.get_by_label("Scenario").select_option(PLATFORM_FAILURE)
    expect(logged(page, "scenario")).to_contain_text(f"200 {PLATFORM_FAILURE}")
    page.get_by_role("button", name="Call", exact=True).click()
    expect(page.locator("#status")).to_have_text(f"Token request failed: 500 {documented}")
    expect(logged(page, "token")).to_contain_text(f"500 {documented}")
    expect(logged(page, "call_started")).to_have_count(0)


def test_a_call_dropped_mid_way_shows_the_error_then_ends(page: Page, fast_app: Starlette):
    dropped = fast_app.state.platform.scenarios.get("dropped-call").call
    page.get_by_label("Scenario").select_option("dropped-call")
    expect(logged(page, "scenario")).to_contain_text("200 dropped-call")
    page.get_by_role("button", name="Call", exact=True).click()
    expect(logged(page, "call_ended")).to_have_count(1)
    expect(logged(page, "call_started")).to_have_count(1)
    expect(logged(page, "error")).to_contain_text(dropped.error)
    expect(page.locator("#status")).to_have_text(f"Error: {dropped.error}")
    expect(page.locator("#transcript li")).to_have_count(1 + 2 * dropped.fail_after_turns)


def test_hang_up_and_mute_in_the_middle_of_a_call(slow_page: Page, slow_url: str) -> None:
    page = slow_page
    page.get_by_role("button", name="Call", exact=True).click()
    expect(logged(page, "call_ready")).to_have_count(1)
    mute = page.get_by_role("button", name="Mute")
    mute.click()
    expect(page.get_by_role("button", name="Unmute")).to_have_attribute("aria-pressed", "true")
    page.get_by_role("button", name="Hang up").click()
    expect(logged(page, "call_ended")).to_have_count(1)
    expect(page.locator("#status")).to_have_text("Call ended")
    call_id = re.search(r"callId (\S+)", logged(page, "token").inner_text()).group(1)
    record = httpx.get(f"{slow_url}/_mock/calls/{call_id}").json()
    for _ in range(50):
        if record["status"] == "ended":
            break
        page.wait_for_timeout(20)
        record = httpx.get(f"{slow_url}/_mock/calls/{call_id}").json()
    assert record["endReason"] == "user_hangup"
    assert len(record["transcript"]) < 1 + 2 * SLOW.turns + 1


SDK_PROBE = """async ([token, reuse]) => {
  const { ZentrixVoiceClient } = await import("/sdk/voice-client.js");
  const events = [];
  const run = async (accessToken) => {
    const client = new ZentrixVoiceClient();
    for (const name of ["call_started", "call_ended", "error"]) {
      client.on(name, (data, error) => events.push([name, data ?? null, error?.code ?? null]));
    }
    await client.startCall({ accessToken });  // must resolve, never reject
    return client.isCalling;
  };
  const calling = [await run(token)];
  if (reuse) calling.push(await run(token));
  return { events, calling };
}"""


def test_the_sdk_never_throws_on_a_bad_token(page: Page, spec) -> None:
    unknown = spec.operation("redeemWidgetToken").example(401, "unknown")["error"]
    result = page.evaluate(SDK_PROBE, ["rt_test_never_issued", False])
    assert result == {
        "events": [["error", unknown, "token_invalid"], ["call_ended", {"reason": "failed"}, None]],
        "calling": [False],
    }


def test_the_sdk_reports_a_reused_token(page: Page, spec, fast_url: str) -> None:
    used = spec.operation("redeemWidgetToken").example(409)["error"]
    token = httpx.post(f"{fast_url}/demo/start-call", json={}).json()["accessToken"]
    result = page.evaluate(SDK_PROBE, [token, True])
    assert ["error", used, "token_used"] in result["events"]
    assert [name for name, *_ in result["events"]].count("call_started") == 1


def test_the_sdk_off_removes_a_listener_and_a_throwing_one_harms_no_other(page: Page) -> None:
    result = page.evaluate(
        """async () => {
          const { ZentrixVoiceClient } = await import("/sdk/voice-client.js");
          const client = new ZentrixVoiceClient();
          const heard = [];
          const removed = () => heard.push("removed");
          client.on("error", removed).off("error", removed);
          client.on("error", () => { throw new Error("a buggy listener"); });
          client.on("error", (message) => heard.push(message));
          await client.startCall({});
          client.mute();
          const muted = client.isMuted;
          client.unmute();
          return { heard, muted, unmuted: !client.isMuted };
        }"""
    )
    assert result["heard"] == [
        "startCall needs { accessToken }: the token your backend fetched "
        "(got none: did the token request fail?)"
    ]
    assert result["muted"] and result["unmuted"]


def test_a_new_attempt_clears_the_last_calls_transcript(page: Page) -> None:
    page.get_by_role("button", name="Call", exact=True).click()
    expect(logged(page, "call_ended")).to_have_count(1)
    expect(page.locator("#transcript li").first).to_be_visible()
    page.get_by_label("API key the backend sends").select_option("nas_test_cancelled")
    page.get_by_role("button", name="Call", exact=True).click()
    expect(page.locator("#status")).to_contain_text("Token request failed: 403")
    expect(page.locator("#transcript li")).to_have_count(0)
    expect(page.locator("#transcript-empty")).to_be_visible()


def test_the_page_shows_the_clock_and_resets_the_mock(page: Page, fast_url: str, spec) -> None:
    expect(page.locator("#clock")).to_have_text("Mock clock: real time")
    page.get_by_label("Scenario").select_option("short-call")
    expect(logged(page, "scenario")).to_contain_text("200 short-call")
    page.get_by_text("Token expiry: the pre-fetch bug").click()
    page.get_by_role("button", name="1. Get a token now").click()
    expect(logged(page, "token")).to_have_count(1)
    page.get_by_role("button", name="2. Advance clock").click()
    seconds = spec.token_lifetime_seconds + 1
    expect(page.locator("#clock")).to_have_text(f"Mock clock: +{seconds:g} s ahead")
    page.get_by_role("button", name="Reset the mock").click()
    expect(logged(page, "reset")).to_contain_text("200")
    expect(page.locator("#clock")).to_have_text("Mock clock: real time")
    expect(page.get_by_label("Scenario")).to_have_value("default")
    expect(page.get_by_role("button", name="3. Call with that token")).to_be_disabled()
    assert httpx.get(f"{fast_url}/_mock/clock").json()["offsetSeconds"] == 0
    assert httpx.get(f"{fast_url}/_mock/calls").json()["calls"] == []


def test_the_page_asks_for_nothing_that_is_missing(page: Page, fast_url: str) -> None:
    """No 404 in the console: the favicon included."""
    failed: list[str] = []

    def note(response) -> None:  # type: ignore[no-untyped-def]
        if response.status >= 400:
            failed.append(f"{response.status} {response.url}")

    page.on("response", note)
    try:
        page.reload()
        expect(page.locator("body[data-ready=true]")).to_be_attached()
        expect(page.locator("#clock")).to_have_text("Mock clock: real time")
    finally:
        page.remove_listener("response", note)
    assert failed == []
    assert httpx.get(f"{fast_url}/favicon.ico").status_code == 204
