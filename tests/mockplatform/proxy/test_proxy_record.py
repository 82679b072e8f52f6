"""`mockplatform proxy --record` as a user runs it, and the recording replayed by `serve`."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from mockplatform import create_app
from mockplatform.core.credentials import key_digest
from mockplatform.core.spec import Spec
from mockplatform.server.world import (
    DEFAULT_AGENT_ID,
    DEFAULT_API_KEY,
    DEFAULT_INSTANCE_ID,
    INACTIVE_AGENT_ID,
    mask_secret,
)
from mockplatform.testing import serve_in_thread
from tests.mockplatform.processes import MockProcess, ProxyProcess, free_port

CLI = [sys.executable, "-m", "mockplatform.cli"]
CANCELLED, FAILING, WRONG = "nas_test_cancelled", "nas_test_platform_error", "nas_wrong_key_42"


@pytest.fixture(scope="module")
def upstream(spec: Spec) -> Iterator[str]:
    with serve_in_thread(create_app(spec=spec)) as url:
        yield url


def post_token(base: str, key: str | None, agent: str, **body: str) -> httpx.Response:
    headers = {"Authorization": f"Bearer {key}"} if key else {}
    return httpx.post(
        f"{base}/api/widget/token", json={"agentId": agent, **body}, headers=headers, timeout=10
    )


def run_proxy(upstream: str, record: Path, log: Path) -> ProxyProcess:
    """The CLI proxy in front of `upstream`, recording it to `record`."""
    return ProxyProcess(["--upstream", upstream, "--record", str(record)], log).start()


def test_a_recording_replays_the_platform_without_a_key(upstream: str, tmp_path: Path) -> None:
    other_agent = next(
        agent
        for agent in httpx.get(f"{upstream}/_mock/world").json()["agents"]
        if agent["active"] and agent["id"] != DEFAULT_AGENT_ID
    )
    recording, log = tmp_path / "staging.yaml", tmp_path / "proxy.log"
    recorder = run_proxy(upstream, recording, log)
    proxy = recorder.url
    try:
        seen = {
            (DEFAULT_API_KEY, DEFAULT_AGENT_ID): post_token(
                proxy, DEFAULT_API_KEY, DEFAULT_AGENT_ID
            ),
            (DEFAULT_API_KEY, other_agent["id"]): post_token(
                proxy, DEFAULT_API_KEY, other_agent["id"]
            ),
            (DEFAULT_API_KEY, INACTIVE_AGENT_ID): post_token(
                proxy, DEFAULT_API_KEY, INACTIVE_AGENT_ID
            ),
            (CANCELLED, DEFAULT_AGENT_ID): post_token(proxy, CANCELLED, DEFAULT_AGENT_ID),
            (FAILING, DEFAULT_AGENT_ID): post_token(proxy, FAILING, DEFAULT_AGENT_ID),
            (WRONG, DEFAULT_AGENT_ID): post_token(proxy, WRONG, DEFAULT_AGENT_ID),
        }
        with_instance = post_token(
            proxy, DEFAULT_API_KEY, DEFAULT_AGENT_ID, instanceId=DEFAULT_INSTANCE_ID
        )
        assert with_instance.status_code == 200
        post_token(proxy, None, DEFAULT_AGENT_ID)  # the app forgot its key: a client violation
        listed = httpx.get(f"{proxy}/_mock/violations").json()
    finally:
        recorder.stop()
    # The platform's documented 500 to a valid request is a 5xx all the same: its side.
    assert [(v["side"], v["rule"]) for v in listed] == [
        ("platform", "no_server_error"),
        ("client", "missing_credentials"),
    ]
    printed = log.read_text()
    assert "VIOLATION client missing_credentials createWidgetToken" in printed
    assert "proxy: 8 exchanges judged; 2 violation(s)" in printed  # the summary, on stop
    assert [s for (_, _), s in ((k, r.status_code) for k, r in seen.items())] == [
        200, 200, 404, 403, 500, 401,
    ]  # fmt: skip

    text = recording.read_text()
    for key in (DEFAULT_API_KEY, CANCELLED, FAILING, WRONG):
        assert key not in text and key not in printed
        # How the recording knows a key with an account (the refused one has none).
        assert (key_digest(key) in text) is (key != WRONG)
        assert any(
            (line.startswith("#") and line.endswith(f"the key {mask_secret(key)}"))
            or line.endswith(f"the key {mask_secret(key)} (refused with 401: no account)")
            for line in text.splitlines()
        ), text

    validated = subprocess.run(
        [*CLI, "validate", str(recording)], capture_output=True, text=True, timeout=60
    )
    assert validated.returncode == 0, validated.stderr
    replay = MockProcess(["--scenario", str(recording)], tmp_path / "replay.log").start()
    try:
        for (key, agent), original in seen.items():
            again = post_token(replay.url, key, agent)  # the app unchanged: its own key
            assert again.status_code == original.status_code, (key, agent, again.text)
            if original.status_code == 200:
                assert again.json()["agentName"] == original.json()["agentName"]
            else:
                assert again.json()["error"] == original.json()["error"]
        again = post_token(
            replay.url, DEFAULT_API_KEY, DEFAULT_AGENT_ID, instanceId=DEFAULT_INSTANCE_ID
        )
        assert again.json()["agentName"] == with_instance.json()["agentName"]
        # A key the recording never saw has no account there.
        assert post_token(replay.url, "nas_never_seen_key", DEFAULT_AGENT_ID).status_code == 401
    finally:
        replay.stop()


@pytest.mark.parametrize(
    ("arguments", "says"),
    [
        (
            ["--upstream", "staging.example.com"],
            "--upstream 'staging.example.com': expected http(s)://",
        ),
        (["--upstream", "http://127.0.0.1:9", "--upstream-timeout", "0"], "--upstream-timeout 0"),
        (["--upstream", "http://127.0.0.1:9", "--record", "/nonexistent/dir/x.yaml"], "--record"),
    ],
)
def test_bad_arguments_are_one_clear_line(arguments: list[str], says: str) -> None:
    result = subprocess.run(
        [*CLI, "proxy", "--port", str(free_port()), *arguments],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 2
    assert result.stderr.startswith(f"mockplatform: {says}"), result.stderr
    assert "Traceback" not in result.stderr


def test_keys_with_odd_bytes_still_record_a_valid_file(upstream: str, tmp_path: Path) -> None:
    """Keys as an app may send them, any byte (read as latin-1): a NEL (\\x85) is a line
    break to YAML, \\x80 no UTF-8 at all. The file stays one `validate` accepts."""
    recording, log = tmp_path / "odd.yaml", tmp_path / "proxy.log"
    recorder = run_proxy(upstream, recording, log)
    proxy = recorder.url
    try:
        for key in (b"nas_\x80\x80\x80\x80_key", b"nas_key_ab\x85\x85", b"nas_\x85key\x85"):
            answer = httpx.post(
                f"{proxy}/api/widget/token",
                json={"agentId": DEFAULT_AGENT_ID},
                headers={"Authorization": b"Bearer " + key},
                timeout=10,
            )
            assert answer.status_code == 401  # no such account on the mock
    finally:
        recorder.stop()
    validated = subprocess.run(
        [*CLI, "validate", str(recording)], capture_output=True, text=True, timeout=60
    )
    assert validated.returncode == 0, validated.stderr + recording.read_text()
    assert "Traceback" not in validated.stderr
    assert recording.read_text().count("refused with 401: no account") == 3
