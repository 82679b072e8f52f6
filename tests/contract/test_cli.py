"""`contract run`'s promises: exit 0 / 1 / 2, a one-line reason on 2, a readable failure report."""

from __future__ import annotations

import socket
import xml.etree.ElementTree as ET

import pytest
from starlette.applications import Starlette
from starlette.responses import PlainTextResponse
from starlette.routing import Route

from contract.cli import main
from mockplatform.testing import serve_in_thread
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
    assert "-- and 1 more violations of this check" in details
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
    assert "NOT VERIFIED counts as failure" in out
