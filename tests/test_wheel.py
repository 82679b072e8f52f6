"""Installed is the real thing: the wheel, in fresh virtual environments, run from elsewhere.

The wheel is built once, and installed in one fresh virtual environment outside the
checkout, filled by pip from that wheel (its dependencies from pip's usual index and cache):
the mock alone first, checked, then the `contract` extra added to the same environment, as a
team adding the harness later would. Every command runs from a directory of its own, with
nothing of the checkout on its path: what works only from the checkout fails.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from mockplatform.server.world import DEFAULT_AGENT_ID, DEFAULT_API_KEY
from tests.mockplatform.processes import MockProcess, ProxyProcess, running

ROOT = Path(__file__).resolve().parents[1]
SEED_REQUEST = {"agentId": DEFAULT_AGENT_ID, "callerName": "Rahul", "language": "en"}


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("wheel")
    run([sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(out), str(ROOT)])
    (built,) = out.glob("mockplatform_contract-*.whl")
    return built


def install(wheel: Path, directory: Path) -> Path:
    """A fresh virtual environment in `directory` with `wheel` installed.

    The wheel is named by its path: an index may hold an unrelated project of the same name.
    """
    run([sys.executable, "-m", "venv", "--without-pip", str(directory)])
    bin_dir = directory / "bin"
    pip_install(bin_dir, str(wheel))
    return bin_dir


def pip_install(bin_dir: Path, *args: str) -> None:
    """This environment's pip, run for the other one (which has none of its own)."""
    run([sys.executable, "-m", "pip", "--python", str(bin_dir / "python"), "install", "-q", *args])


def contract_run(
    bin_dir: Path, url: str, cwd: Path, *args: str
) -> subprocess.CompletedProcess[str]:
    command = [str(bin_dir / "contract"), "run", "--base-url", url, "--api-key", DEFAULT_API_KEY]
    return subprocess.run(
        [*command, *args], cwd=cwd, env=clean_env(), capture_output=True, text=True
    )


def run(command: list[str], cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    result = subprocess.run(command, cwd=cwd, env=clean_env(), capture_output=True, text=True)
    assert result.returncode == 0, f"{command}: {result.stdout}{result.stderr}"
    return result


def clean_env() -> dict[str, str]:
    """This process's environment without anything that points into the checkout."""
    return {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}


def installed(process: type[MockProcess], bin_dir: Path, cwd: Path, *args: str) -> MockProcess:
    """`mockplatform serve` (or `proxy`) as the wheel installed it, run from `cwd`."""
    name = process.command[0]
    return process(
        list(args),
        cwd / f"{name}.log",
        cli=(str(bin_dir / "mockplatform"),),
        cwd=cwd,
        env=clean_env(),
    )


def seed_request(url: str) -> httpx.Response:
    return httpx.post(
        f"{url}/api/widget/token",
        json=SEED_REQUEST,
        headers={"Authorization": f"Bearer {DEFAULT_API_KEY}"},
    )


def judged_keyless(proxy_url: str) -> bool:
    """Whether the proxy lists the keyless request as the client's fault (judging runs off
    the request path: within a few seconds)."""
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        listed = httpx.get(f"{proxy_url}/_mock/violations").json()
        if [(v["side"], v["rule"]) for v in listed] == [("client", "missing_credentials")]:
            return True
        time.sleep(0.05)
    return False


def test_the_mock_alone_then_with_the_contract_extra(wheel: Path, tmp_path: Path) -> None:
    bin_dir = install(wheel, tmp_path / "venv")
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    listed = run([str(bin_dir / "mockplatform"), "scenarios"], cwd=elsewhere).stdout
    assert "default" in listed and "network-faults" in listed
    with running([installed(MockProcess, bin_dir, elsewhere)]) as (mock,):
        url = mock.url
        response = seed_request(url)
        assert response.status_code == 200, response.text
        assert set(response.json()) == {"accessToken", "callId", "agentName"}
        refused = contract_run(bin_dir, url, elsewhere)
        # The proxy in front of it, as installed: it passes requests on and judges them.
        with running([installed(ProxyProcess, bin_dir, elsewhere, "--upstream", url)]) as (proxy,):
            assert seed_request(proxy.url).status_code == 200
            keyless = httpx.post(f"{proxy.url}/api/widget/token", json=SEED_REQUEST)
            assert keyless.status_code == 401
            assert judged_keyless(proxy.url)
    assert refused.returncode == 2
    assert refused.stderr.count("\n") == 1
    assert "mockplatform-contract[contract]" in refused.stderr
    # QA's own pytest, without the extra: the plugin (registered under pytest11) loads,
    # adds its options, and leaves an unrelated run alone.
    pip_install(bin_dir, "pytest")
    (elsewhere / "test_plain.py").write_text("def test_plain():\n    assert True\n")
    pytest_run = [str(bin_dir / "python"), "-m", "pytest", "-p", "no:cacheprovider"]
    assert "--contract-base-url" in run([*pytest_run, "--help"], cwd=elsewhere).stdout
    assert "1 passed" in run([*pytest_run, "-q", "test_plain.py"], cwd=elsewhere).stdout

    # The harness added: it passes the installed mock.
    pip_install(bin_dir, f"{wheel}[contract]")
    with running([installed(MockProcess, bin_dir, elsewhere)]) as (mock,):
        url = mock.url
        assert seed_request(url).status_code == 200
        checked = contract_run(bin_dir, url, elsewhere, "--max-examples", "5", "--quiet")
        compare = [str(bin_dir / "contract"), "diff", "--base-url", url, "--api-key"]
        compare += [DEFAULT_API_KEY, "--against", url, "--against-api-key", DEFAULT_API_KEY]
        compared = subprocess.run(
            [*compare, "--max-examples", "3", "--quiet"],
            cwd=elsewhere,
            env=clean_env(),
            capture_output=True,
            text=True,
        )
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert compared.returncode == 0, compared.stdout + compared.stderr
    # The SDK stand-in a team vendors, packed from the installed package's own files.
    run([str(bin_dir / "mockplatform"), "sdk", "pack", "--out", "vendor"], cwd=elsewhere)
    assert len(list((elsewhere / "vendor").glob("zentrix-voice-sdk-*.tgz"))) == 1
