"""`mockplatform serve` as a user runs it: a real process on a real port."""

from __future__ import annotations

import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from tests.mockplatform.processes import free_port

SERVE = [sys.executable, "-m", "mockplatform.cli", "serve"]


def first_answer(url: str, process: subprocess.Popen, timeout: float = 20) -> httpx.Response:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        assert process.poll() is None, process.communicate()
        try:
            response = httpx.post(
                f"{url}/api/widget/token",
                json={"agentId": "550e8400-e29b-41d4-a716-446655440000"},
                headers={"Authorization": "Bearer nas_test_active"},
            )
        except httpx.TransportError:
            time.sleep(0.05)
            continue
        return response
    raise AssertionError("the mock did not answer in time")


def test_serve_prints_the_fixtures_and_answers() -> None:
    port = free_port()
    process = subprocess.Popen(
        [*SERVE, "--port", str(port), "--log-level", "warning"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert first_answer(f"http://127.0.0.1:{port}", process).status_code == 200
    finally:
        process.terminate()
        out, _ = process.communicate(timeout=10)
    assert f"http://127.0.0.1:{port}" in out
    for fixture in (
        "nas_test_active",
        "nas_test_trial_expired",
        "nas_test_cancelled",
        "550e8400-e29b-41d4-a716-446655440000",
        "660f9500-f30c-52e5-b827-557766551111",
    ):
        assert fixture in out


def _run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*SERVE, *args], capture_output=True, text=True, timeout=30)


def test_port_in_use_is_one_clear_line() -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        result = _run("--port", str(taken.getsockname()[1]))
    assert result.returncode == 2
    assert result.stderr.startswith("mockplatform: cannot listen on 127.0.0.1:")
    assert "--port" in result.stderr
    assert "Traceback" not in result.stderr


def test_bad_spec_is_one_clear_line(tmp_path: Path) -> None:
    missing = _run("--spec", str(tmp_path / "nope.yaml"))
    assert missing.returncode == 2
    assert missing.stderr.startswith(f"mockplatform: {tmp_path / 'nope.yaml'}: cannot read")
    assert missing.stderr.count("\n") == 1
    broken = tmp_path / "broken.yaml"
    broken.write_text("openapi: [unclosed\n")
    result = _run("--spec", str(broken))
    assert result.returncode == 2
    assert f"{broken}: not valid YAML" in result.stderr
    assert "Traceback" not in result.stderr


@pytest.mark.parametrize(
    ("command", "flag", "value"),
    [
        ("serve", "--header-timeout", "0"),
        ("serve", "--keep-alive-timeout", "nan"),
        ("serve", "--max-connections", "0"),
        ("proxy", "--header-timeout", "-1"),
        ("proxy", "--keep-alive-timeout", "inf"),
    ],
)
def test_a_bad_limit_is_one_line_before_anything_starts(
    command: str, flag: str, value: str
) -> None:
    extra = ["--upstream", "http://127.0.0.1:9"] if command == "proxy" else []
    result = subprocess.run(
        [sys.executable, "-m", "mockplatform.cli", command, *extra, flag, value],
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert result.returncode == 2
    assert result.stdout == ""  # no banner: nothing was started
    assert result.stderr.startswith(f"mockplatform: {flag} {value}: must be")
    assert result.stderr.count("\n") == 1


def test_serve_starts_on_a_named_scenario_from_a_team_directory(tmp_path: Path) -> None:
    (tmp_path / "staging.yaml").write_text(
        "description: staging is down\nrules:\n  - respond: {error: Voice platform error}\n"
    )
    port = free_port()
    process = subprocess.Popen(
        [
            *SERVE,
            "--port",
            str(port),
            "--log-level",
            "warning",
            "--scenarios-dir",
            str(tmp_path),
            "--scenario",
            "staging",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        response = first_answer(f"http://127.0.0.1:{port}", process)
    finally:
        process.terminate()
        out, _ = process.communicate(timeout=10)
    assert response.status_code == 500
    assert response.json() == {"error": "Voice platform error"}
    assert "(scenario: staging)" in out
