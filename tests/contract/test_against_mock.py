"""The harness passes the real mock, run exactly as QA and CI run it: `contract run`.

One run (fast expiry, small seeded schemathesis phases) is shared by every assertion here.
"""

from __future__ import annotations

import io
import re
import xml.etree.ElementTree as ET
from contextlib import redirect_stderr, redirect_stdout
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from contract.cli import main
from contract.registry import CHECKS
from mockplatform.core.spec import default_spec_path
from mockplatform.server.world import DEFAULT_API_KEY
from tests.contract.targets import MAX_EXAMPLES, SEED

LINE = re.compile(r"^(PASS|FAIL|WARN|NOT VERIFIED)\s+(\w+)\s", re.M)


@dataclass
class Ran:
    code: int
    out: str
    err: str
    junit: Path

    @property
    def outcomes(self) -> dict[str, str]:
        return {name: outcome for outcome, name in LINE.findall(self.out)}


def contract(*args: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    with redirect_stdout(out), redirect_stderr(err):
        code = main(["run", *args])
    return code, out.getvalue(), err.getvalue()


@pytest.fixture(scope="module")
def ran(harness_mock_url: str, tmp_path_factory) -> Ran:
    junit = tmp_path_factory.mktemp("junit") / "contract.xml"
    code, out, err = contract(
        "--base-url", harness_mock_url,
        "--api-key", DEFAULT_API_KEY,
        "--expiry", "fast",
        "--max-examples", str(MAX_EXAMPLES),
        "--seed", str(SEED),
        "--junit", str(junit),
    )  # fmt: skip
    return Ran(code, out, err, junit)


@pytest.fixture(scope="module")
def has_scenarios(harness_mock_url: str) -> bool:
    return httpx.get(f"{harness_mock_url}/_mock/scenarios").status_code == 200


def test_the_mock_is_conformant(ran: Ran) -> None:
    assert ran.code == 0, ran.out
    assert "CONFORMANT" in ran.out


def test_every_check_passes(ran: Ran, has_scenarios: bool) -> None:
    outcomes = ran.outcomes
    expected_not_verified = set() if has_scenarios else {"documented_errors"}
    failed_or_unverified = {name for name, outcome in outcomes.items() if outcome != "PASS"}
    assert failed_or_unverified == expected_not_verified, ran.out


def test_every_registered_check_reports(ran: Ran) -> None:
    assert list(ran.outcomes) == [check.name for check in CHECKS]


def test_what_was_sent_is_counted_and_every_status_seen(ran: Ran) -> None:
    sent = re.search(
        r"^Sent: (\d+) requests, (\d+) tokens issued, (\d+) calls started", ran.out, re.M
    )
    assert sent is not None and all(int(count) > 0 for count in sent.groups())
    assert "POST /api/widget/token: seen 200 400 401 403 404 413 415 500; never -" in ran.out


def test_lifetime_was_observed_in_fast_mode(ran: Ran) -> None:
    assert re.search(r"^PASS\s+token_lifetime\s+fast mode, lifetime 60 s", ran.out, re.M)


def test_the_link_to_redeem_was_followed(ran: Ran) -> None:
    assert re.search(r"^PASS\s+stateful_links\s+\d+ link steps followed", ran.out, re.M)


def test_documented_errors_checked_once_scenarios_exist(ran: Ran, has_scenarios: bool) -> None:
    """Until the mock serves GET /_mock/scenarios, the 500 cannot be provoked: NOT VERIFIED."""
    line = re.search(r"^(PASS|FAIL|NOT VERIFIED)\s+documented_errors\s+(.*)$", ran.out, re.M)
    assert line is not None
    if has_scenarios:
        assert line.group(1) == "PASS"
        shipped = list((default_spec_path().parent / "scenarios").glob("*.yaml"))
        assert f"{len(shipped)} scenarios driven" in line.group(2)
    else:
        assert line.group(1) == "NOT VERIFIED"
        assert "500" in line.group(2) and "/_mock/scenarios" in line.group(2)


def test_progress_is_shown_while_running(ran: Ran) -> None:
    assert "[contract] checking" in ran.err
    assert "[contract] schemathesis: stateful phase" in ran.err
    assert "[contract] token_lifetime: PASS" in ran.err


def test_junit_has_one_testcase_per_check(ran: Ran) -> None:
    suite = ET.parse(ran.junit).getroot().find("testsuite")
    assert suite is not None
    names = [case.get("name") for case in suite.iter("testcase")]
    assert sorted(names) == sorted(ran.outcomes)
    assert suite.get("failures") == "0"
    assert int(suite.get("skipped")) == sum(1 for o in ran.outcomes.values() if o != "PASS")


def test_no_key_is_printed(ran: Ran) -> None:
    assert DEFAULT_API_KEY not in ran.out + ran.err
    assert "nas_test_cancelled" not in ran.out + ran.err
