"""`contract run`'s promises: exit 0 / 1 / 2, a one-line reason on 2, a readable failure report."""

from __future__ import annotations

import json
import os
import re
import signal
import socket
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
from starlette.applications import Starlette
from starlette.responses import PlainTextResponse
from starlette.routing import Route

from contract import Settings
from contract.cli import main
from contract.probe import Probe
from mockplatform.testing import serve_in_thread
from tests.contract.conftest import started
from tests.contract.fake_platform import ACTIVE_KEY, Behaviour


def contract(capsys, *args: str) -> tuple[int, str, str]:
    try:
        code = main(["run", *args])
    except SystemExit as exc:  # argparse's own refusals
        code = int(exc.code or 0)
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_unreachable_target_exits_2_with_one_line(capsys) -> None:
    url = f"http://127.0.0.1:{closed_port()}"
    code, out, err = contract(capsys, "--base-url", url, "--api-key", "k")
    assert code == 2
    assert out == ""
    assert err.count("\n") == 1
    assert err.startswith(f"contract: could not test: cannot reach {url}")
    assert "Traceback" not in err


@pytest.mark.parametrize(
    ("args", "said"),
    [
        (["--api-key", "k"], "--base-url"),
        (["--base-url", "ftp://x", "--api-key", "k"], "not an http(s) URL"),
        (["--base-url", "http://127.0.0.1:1", "--api-key", "k", "--expiry", "soon"], "--expiry"),
        (["--base-url", "http://127.0.0.1:1", "--api-key", "k", "--spec", "/no/such.yaml"], "spec"),
        (["--base-url", "http://127.0.0.1:1", "--api-key", "k", "--max-examples", "0"], "1"),
        (["--base-url", "http://127.0.0.1:1", "--api-key", "k", "--phases", "warp"], "warp"),
        (["--base-url", "http://127.0.0.1:1", "--api-key", "k", "--agent-id", "7"], "valid UUID"),
    ],
)
def test_bad_arguments_exit_2_with_one_line(capsys, args, said) -> None:
    code, _, err = contract(capsys, *args)
    assert code == 2
    assert err.count("\n") == 1 and said in err
    assert "Traceback" not in err


@pytest.mark.parametrize(
    ("status", "said"),
    [
        (404, "has no POST /api/widget/token (404); check --base-url"),
        (405, "has no POST /api/widget/token (405); check --base-url"),
        (502, "answers 502 (a gateway's: the service behind it is down or unreachable)"),
    ],
)
def test_a_base_url_without_the_api_is_could_not_test(capsys, status, said) -> None:
    """Not our API at all (another service, a proxy's error page): exit 2, not 1."""

    async def elsewhere(request):
        return PlainTextResponse("not here", status_code=status)

    app = Starlette(routes=[Route("/{path:path}", elsewhere, methods=["POST"])])
    with serve_in_thread(app) as url:
        code, _, err = contract(capsys, "--base-url", url, "--api-key", "k", "--phases", "")
    assert code == 2
    assert err.splitlines()[-1].endswith(said)


def test_rejected_key_is_could_not_test(capsys, harness_mock_url) -> None:
    code, _, err = contract(capsys, "--base-url", harness_mock_url, "--api-key", "nas_nobody")
    assert code == 2
    assert "rejects --api-key (401 'Invalid API key')" in err.splitlines()[-1]


def test_violation_report_shows_rule_curl_and_response(capsys, serve_fake, tmp_path) -> None:
    url = serve_fake(Behaviour(agent_before_auth=True))
    junit = tmp_path / "reports" / "contract.xml"
    code, out, err = contract(
        capsys, "--base-url", url, "--api-key", ACTIVE_KEY, "--phases", "", "--junit", str(junit)
    )
    assert code == 1
    assert "CONTRACT VIOLATED" in out
    assert "\nFAIL          auth_first " in out
    details = out[out.index("== FAIL auth_first") :]
    assert (
        "rule broken: no Authorization header with an unknown agent must get 401 before "
        "anything else: expected 401, got 404 'Agent not found'"
    ) in details
    assert "-- and 3 more violations of this check" in details
    assert "request:\n     curl -sS -X POST " in details
    assert 'response:\n     HTTP 404 application/json\n     {"error":"Agent not found"}' in details
    assert ACTIVE_KEY not in out + err
    case = next(
        case for case in ET.parse(junit).iter("testcase") if case.get("name") == "auth_first"
    )
    failure = case.find("failure")
    assert failure is not None and "must get 401" in failure.get("message")


def test_strict_makes_not_verified_fail(capsys, serve_fake) -> None:
    """Without --inactive-key the 403 check is NOT VERIFIED: fine, unless --strict."""
    args = ["--base-url", serve_fake(), "--api-key", ACTIVE_KEY, "--phases", ""]
    code, out, _ = contract(capsys, *args)
    assert "NOT VERIFIED  inactive_subscription" in out
    assert "\nFAIL" not in out
    assert code == 0
    code, out, _ = contract(capsys, *args, "--strict")
    assert code == 1
    assert "WARN and NOT VERIFIED count as failures" in out


def test_strict_fails_unless_allowed(capsys, serve_fake) -> None:
    """A real platform cannot be made to answer 500, nor offers the redeem: --allow those (the
    redeem's absence by its own name: allowing the checks that need it does not excuse it)."""
    url = serve_fake(Behaviour(no_redeem=True, clock=False))
    args = ["--base-url", url, "--api-key", ACTIVE_KEY, "--phases", "", "--strict"]
    code, out, _ = contract(capsys, *args)
    assert code == 1
    allowed = ["inactive_subscription", "inactive_agent", "instance_of_another_agent"]
    allowed += ["documented_errors"]
    allowed_args = [f"--allow={name}" for name in allowed]
    code, out, _ = contract(
        capsys, *args, *allowed_args, "--allow", "single_use", "--allow", "token_lifetime"
    )
    assert code == 1, out
    code, out, _ = contract(capsys, *args, *allowed_args, "--allow", "redeem_offered")
    assert code == 0, out
    assert "except documented_errors, inactive_agent" in out


def test_reports_are_written_when_it_could_not_test(capsys, serve_fake, tmp_path) -> None:
    url = serve_fake(Behaviour(always_500=True))
    files = {kind: tmp_path / "out" / f"contract.{kind}" for kind in ("xml", "json", "html")}
    code, out, err = contract(
        capsys, "--base-url", url, "--api-key", ACTIVE_KEY,
        "--junit", str(files["xml"]), "--json", str(files["json"]), "--html", str(files["html"]),
    )  # fmt: skip
    assert code == 2
    assert "answers 500 'Voice platform error' to a valid token request" in err
    assert "PASS" not in out  # a target failing everything earns no PASS
    report = json.loads(files["json"].read_text())
    assert report["exitCode"] == 2 and "answers 500" in report["couldNotTest"]
    assert report["counts"]["requests"] == 1
    error = ET.parse(files["xml"]).getroot().find("testsuite/testcase/error")
    assert error is not None and "answers 500" in error.get("message")
    assert "COULD NOT TEST" in files["html"].read_text()


def test_a_gateway_throttling_beyond_patience_exits_2_saying_so(capsys, serve_fake) -> None:
    url = serve_fake(Behaviour(throttle_forever=True))
    code, _, err = contract(capsys, "--base-url", url, "--api-key", ACTIVE_KEY, "--phases", "")
    assert code == 2
    assert "throttled: the target answered 429" in err and "--rate" in err


def test_the_budget_is_hard_and_counted(capsys, serve_fake, tmp_path) -> None:
    url = serve_fake()
    report_file = tmp_path / "report.json"
    code, out, _ = contract(
        capsys, "--base-url", url, "--api-key", ACTIVE_KEY, "--max-requests", "100",
        "--json", str(report_file),
    )  # fmt: skip
    report = json.loads(report_file.read_text())
    assert report["counts"]["requests"] == 100
    # What the target itself received, schemathesis's requests included (one of its two
    # capability probes never leaves the client, but is counted).
    assert 99 <= started[url].sent <= 100
    outcomes = {check["name"]: check for check in report["checks"]}
    assert outcomes["token_lifetime"]["outcome"] == "NOT VERIFIED"
    assert "--max-requests 100 spent" in outcomes["token_lifetime"]["note"]
    assert "--max-requests 100 spent: the run stopped" in out
    assert "schemathesis: stopped: --max-requests 100 spent" in out  # spent inside it
    assert code == 0  # nothing broken, only less verified
    assert "Sent: 100 requests" in out


def test_checks_decide_what_is_sent(capsys, serve_fake) -> None:
    url = serve_fake()
    code, out, _ = contract(
        capsys, "--base-url", url, "--api-key", ACTIVE_KEY, "--checks", "unknown_agent,auth_first",
        "--skip", "auth_first",
    )  # fmt: skip
    assert code == 0
    assert [line.split()[1] for line in out.splitlines() if line.startswith("PASS")] == [
        "unknown_agent"
    ]
    platform = started[url]
    assert len(platform.tokens) == 1  # the preflight's: no other check issued one
    assert platform.sent <= 4  # preflight, the mock's control API and redeem probes, one 404


def test_key_from_the_environment_and_gateway_headers(capsys, serve_fake, monkeypatch) -> None:
    url = serve_fake(Behaviour(gateway_header="X-Gateway-Pass"))
    monkeypatch.setenv("STAGING_KEY", ACTIVE_KEY)
    args = ["--base-url", url, "--api-key-env", "STAGING_KEY", "--phases", ""]
    code, _, err = contract(capsys, *args, "--checks", "unknown_agent")
    assert code == 2 and "answers 407" in err  # the gateway refuses a request without it
    code, out, err = contract(
        capsys, *args, "--checks", "unknown_agent", "--header", "X-Gateway-Pass: open-sesame"
    )
    gateway = {"X-Gateway-Pass": "open-sesame"}
    assert code == 0, out + err
    # The gateway's header is a credential too: a failure's curl line names it as a variable.
    probe = Probe(Settings(base_url=url, api_key=ACTIVE_KEY, headers=gateway))
    try:
        curl = probe.violation("x", probe.request_token(body=[])).curl
    finally:
        probe.close()
    assert "open-sesame" not in curl and '"$CONTRACT_HEADER_X_GATEWAY_PASS"' in curl
    monkeypatch.delenv("STAGING_KEY")
    code, _, err = contract(capsys, *args)
    assert code == 2 and "--api-key-env STAGING_KEY: the variable is not set" in err


@pytest.mark.parametrize(
    ("args", "said"),
    [
        (["--checks", "warp_drive"], "--checks: unknown check 'warp_drive'"),
        (["--allow", "warp_drive"], "--allow: unknown check 'warp_drive'"),
        (["--header", "no colon"], "write it as 'Name: value'"),
        (["--header", "Authorization: Bearer x"], "--header cannot set Authorization"),
        (["--max-requests", "0"], "--max-requests must be at least 1"),
        (["--rate", "0"], "--rate must be a positive number"),
    ],
)
def test_staging_options_are_checked(capsys, args, said) -> None:
    code, _, err = contract(capsys, "--base-url", "http://127.0.0.1:1", "--api-key", "k", *args)
    assert code == 2 and said in err


def test_output_paths_are_checked_before_the_run(capsys, serve_fake, tmp_path) -> None:
    url = serve_fake()
    code, _, err = contract(capsys, "--base-url", url, "--api-key", "k", "--html", str(tmp_path))
    assert code == 2 and "is a directory; name a file" in err
    assert started[url].sent == 0


def test_html_report_is_self_contained_and_masks_keys(capsys, serve_fake, tmp_path) -> None:
    url = serve_fake(Behaviour(echo_key=True))
    page = tmp_path / "report.html"
    code, _, _ = contract(
        capsys, "--base-url", url, "--api-key", ACTIVE_KEY, "--phases", "", "--html", str(page)
    )
    assert code == 1
    text = page.read_text()
    assert "FAIL no_credential_echo" in text and "requests judged" in text
    assert "curl -sS -X POST" in text and "$CONTRACT_API_KEY" in text
    assert ACTIVE_KEY not in text
    assert not re.search(r"<(script|link|img)\b|src=|url\(", text)


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "SIGINT"])
def test_reports_are_written_when_interrupted(serve_fake, tmp_path, signum) -> None:
    """Stopped while the lifetime is watched in real time: exit 2, the reports say so."""
    url = serve_fake(Behaviour(clock=False))
    report_file = tmp_path / "report.json"
    command = [
        str(Path(sys.executable).with_name("contract")), "run", "--base-url", url,
        "--api-key-env", "KEY", "--phases", "", "--json", str(report_file),
    ]  # fmt: skip
    env = {**os.environ, "KEY": ACTIVE_KEY}
    with subprocess.Popen(command, env=env, stderr=subprocess.PIPE, text=True) as process:
        assert process.stderr is not None
        for line in process.stderr:
            if "single_use:" in line:  # the realtime wait has begun in the background
                break
        process.send_signal(signum)
        _, err = process.communicate(timeout=30)
    assert process.returncode == 2
    assert "interrupted (SIGINT or SIGTERM)" in err
    report = json.loads(report_file.read_text())
    assert report["exitCode"] == 2 and report["couldNotTest"].startswith("interrupted")
    assert {"auth_first", "single_use"} <= {check["name"] for check in report["checks"]}
