"""Issue 21's harness holes: each one caught, against a fake with exactly that defect, and the
correct fakes (their legitimate choices included) still pass.

What a single knob makes one check FAIL is in test_faults.py; here are the holes that need
more than one run, a command line, or the report's bookkeeping to show.
"""

from __future__ import annotations

import json
import subprocess
import xml.etree.ElementTree as ET

from contract import Outcome
from contract.cli import main
from contract.outcomes import MAX_VIOLATIONS_KEPT, CheckResult, Report, Violation
from contract.runner import run
from tests.contract.conftest import started
from tests.contract.fake_platform import ACTIVE_KEY, CANCELLED_KEY, INACTIVE_KEY, Behaviour
from tests.contract.targets import NO_SCHEMATHESIS, fake_settings
from tests.contract.test_example_gate import gate_command, staging_environment

REDEEM_NEEDED = ("single_use", "forged_tokens", "token_lifetime")


def run_gate(url: str, tmp_path, monkeypatch, *extra: str) -> tuple[int, dict]:
    """examples/contract-gate.yml's command, as is, against the fake at `url`."""
    for name, value in staging_environment(url).items():
        monkeypatch.setenv(name, value)
    monkeypatch.chdir(tmp_path)
    code = main([*gate_command(), "--quiet", *extra])
    return code, json.loads((tmp_path / "reports" / "contract.json").read_text())


def outcomes(report: dict) -> dict[str, str]:
    return {check["name"]: check["outcome"] for check in report["checks"]}


# -- 1. the redeem's presence ------------------------------------------------------------------


def test_a_redeem_that_answers_a_never_issued_token_404_fails_the_strict_gate(
    serve_fake, tmp_path, monkeypatch
) -> None:
    """Its presence is decided by a fresh token (201): offered, so the 404 is a FAIL."""
    url = serve_fake(Behaviour(unknown_token_404=True))  # its clock: no real waiting
    code, report = run_gate(url, tmp_path, monkeypatch)
    assert code == 1
    seen = outcomes(report)
    assert seen["redeem_offered"] == "PASS"
    assert seen["forged_tokens"] == "FAIL"
    assert seen["single_use"] == "PASS"


def test_an_absent_redeem_is_excused_only_by_allowing_redeem_offered(serve_fake) -> None:
    url = serve_fake(Behaviour(no_redeem=True, clock=False))
    dependents = frozenset({*REDEEM_NEEDED, "stateful_links"})
    old_gate = fake_settings(url, phases=("stateful",), strict=True, allow=dependents)
    report = run(old_gate)
    assert report.get("redeem_offered").outcome is Outcome.NOT_VERIFIED
    assert "404 for a fresh token" in report.get("redeem_offered").note
    for name in dependents:
        check = report.get(name)
        assert check.outcome is Outcome.NOT_VERIFIED and check.blocked_by == "redeem_offered"
        assert report.counts_as_failure(check), name  # allowing the check itself is not enough
    assert report.exit_code == 1
    allowed = fake_settings(url, phases=NO_SCHEMATHESIS, strict=True, allow=EXCUSED)
    assert run(allowed).exit_code == 0


EXCUSED = frozenset({"redeem_offered", "documented_errors"})  # a 500 cannot be provoked


def test_no_redeem_declares_none_and_sends_none(serve_fake) -> None:
    url = serve_fake(Behaviour(clock=False))  # it does serve one: --no-redeem sends it nothing
    report = run(fake_settings(url, phases=NO_SCHEMATHESIS, no_redeem=True, strict=True))
    for name in ("redeem_offered", *REDEEM_NEEDED):
        assert report.get(name).outcome is Outcome.NOT_VERIFIED
        assert "--no-redeem" in report.get(name).note
    assert not started[url].tokens or not any(t.used for t in started[url].tokens.values())
    assert report.exit_code == 1  # --strict: the absence must be allowed by name
    allowed = fake_settings(url, phases=NO_SCHEMATHESIS, no_redeem=True, strict=True, allow=EXCUSED)
    assert run(allowed).exit_code == 0


# -- 5. every --inactive-key -------------------------------------------------------------------


def test_every_inactive_key_is_checked(serve_fake, capsys) -> None:
    """The docs name two causes of a 403; a platform that forgets one fails, whichever order
    the keys are given in (one given twice used to keep only the last)."""
    url = serve_fake(Behaviour(cancelled_ok=True))
    base = ["run", "--base-url", url, "--api-key", ACTIVE_KEY, "--phases", "", "--quiet"]
    base += ["--checks", "inactive_subscription"]
    for first, second in ((CANCELLED_KEY, INACTIVE_KEY), (INACTIVE_KEY, CANCELLED_KEY)):
        code = main([*base, "--inactive-key", first, "--inactive-key", second])
        out = capsys.readouterr().out
        assert code == 1
        assert CANCELLED_KEY not in out and INACTIVE_KEY not in out
        variable = "$CONTRACT_INACTIVE_KEY" + ("" if first == CANCELLED_KEY else "_2")
        assert f'Bearer \'"{variable}"' in out  # the cancelled key's request, replayable
    correct = serve_fake(Behaviour())
    base[2] = correct
    assert main([*base, "--inactive-key", INACTIVE_KEY, "--inactive-key", CANCELLED_KEY]) == 0


# -- 3. instances sent with the real agent -----------------------------------------------------


def test_another_agents_instance_is_judged_by_the_specs_kind(serve_fake) -> None:
    """Accepting another agent's instance is a legitimate choice the spec assumes against:
    WARN; `--allow CHECK:200` spares exactly that answer under --strict."""
    name = "instance_of_another_agent"
    settings = {"phases": NO_SCHEMATHESIS, "only": frozenset({name, "unknown_instance"})}
    assert run(fake_settings(serve_fake(), **settings)).get(name).outcome is Outcome.PASS
    lenient = serve_fake(Behaviour(any_instance=True))
    report = run(fake_settings(lenient, **settings))
    check = report.get(name)
    assert check.outcome is Outcome.WARN and "expected 404, got 200" in check.warnings[0].rule
    assert report.get("unknown_instance").outcome is Outcome.PASS
    assert report.exit_code == 0
    assert run(fake_settings(lenient, strict=True, **settings)).exit_code == 1
    spared = run(fake_settings(lenient, strict=True, allow={f"{name}:200"}, **settings))
    assert spared.exit_code == 0
    at_404 = run(fake_settings(lenient, strict=True, allow={f"{name}:404"}, **settings))
    assert at_404.exit_code == 1


# -- 4. the lifetime of every shape that mints a token -----------------------------------------


def test_the_lifetime_is_measured_on_every_shape(serve_fake) -> None:
    """Only the tokens minted for an instance outlive the spec's 60 s: named, and only they."""
    only = {"phases": NO_SCHEMATHESIS, "only": frozenset({"token_lifetime"})}
    lifetime = run(fake_settings(serve_fake(Behaviour(instance_lifetime=300)), **only))
    check = lifetime.get("token_lifetime")
    assert check.outcome is Outcome.FAIL
    assert all("a body with instanceId, callerName" in v.rule for v in check.violations)
    assert "must be refused as expired" in check.violations[0].rule
    correct = run(fake_settings(serve_fake(), **only)).get("token_lifetime")
    assert correct.outcome is Outcome.PASS
    shapes = 7  # minimal, 4 languages, a unicode callerName, instanceId with callerName
    assert correct.requests == 1 + 2 * shapes + 2 * shapes  # a sample, then issued and redeemed


# -- 8. reports that agree with themselves -----------------------------------------------------


def test_no_pass_for_not_a_server_error_beside_a_5xx(serve_fake) -> None:
    """schemathesis's examples (an ASCII callerName) see no 5xx; our unicode callerName does."""
    url = serve_fake(Behaviour(unicode_crash=True))
    only = frozenset({"accepts_valid_requests", "not_a_server_error"})
    report = run(fake_settings(url, phases=("examples",), only=only))
    assert "500" in report.get("accepts_valid_requests").violations[0].rule
    server_error = report.get("not_a_server_error")
    assert server_error.outcome is Outcome.FAIL
    assert any("POST /api/widget/token answered 500" in v.rule for v in server_error.violations)
    correct = run(fake_settings(serve_fake(), phases=("examples",), only=only))
    assert correct.get("not_a_server_error").outcome is Outcome.PASS


def test_a_warn_is_a_junit_property_and_said_first(serve_fake, capsys, tmp_path) -> None:
    url = serve_fake(Behaviour(size_as_400=True))
    junit = tmp_path / "reports" / "contract.xml"
    args = ["run", "--base-url", url, "--api-key", ACTIVE_KEY, "--phases", "", "--quiet"]
    code = main([*args, "--checks", "documented_errors", "--junit", str(junit)])
    assert code == 0
    case = next(c for c in ET.parse(junit).iter("testcase") if c.get("name") == "documented_errors")
    assert case.find("failure") is None and case.find("skipped") is None  # a WARN passes
    properties = [p.get("value") for p in case.iter("property") if p.get("name") == "contract WARN"]
    assert properties and properties[0].startswith("an oversized body")
    assert case.findtext("system-out").startswith(f"WARN: {properties[0]}")


def test_allowing_a_check_at_one_status_does_not_hide_another() -> None:
    """A legitimate 422 allowed; a 404 the same check warned about still fails --strict."""

    def report_of(*statuses: int) -> Report:
        check = CheckResult("status_code_conformance")
        for status in statuses:
            check.warn(Violation(f"UndefinedStatusCode: {status}", status=status))
        allowed = frozenset({"status_code_conformance:422"})
        return Report(base_url="http://x", checks=[check], strict=True, allowed=allowed)

    assert report_of(422, 422).exit_code == 0
    assert report_of(422, 404).exit_code == 1
    # Beyond the warnings kept for the report, every status still counts.
    assert report_of(*[422] * MAX_VIOLATIONS_KEPT, 404).exit_code == 1


# -- 7. every failure's curl replays as printed ------------------------------------------------


def replay(curl: str) -> int:
    """Run a report's curl as printed, the key exported as the hint says: the status it got."""
    environment = {"CONTRACT_API_KEY": ACTIVE_KEY, "PATH": "/usr/bin:/bin"}
    script = f"{curl} -o /dev/null -w '%{{http_code}}'"
    ran = subprocess.run(
        ["sh", "-c", script], env=environment, capture_output=True, text=True, timeout=10
    )
    return int(ran.stdout or 0)


def test_every_failure_replays_as_printed(serve_fake, tmp_path) -> None:
    """Scripted and schemathesis failures alike: the key as $CONTRACT_API_KEY (a prefix of it
    as ${CONTRACT_API_KEY%?}), an oversized body from a file beside the reports."""
    url = serve_fake(Behaviour(unicode_crash=True, key_match="prefix", size_as_400=True))
    reports = tmp_path / "reports"
    checks = "accepts_valid_requests,auth_first,documented_errors,not_a_server_error"
    args = ["run", "--base-url", url, "--api-key", ACTIVE_KEY, "--quiet", "--checks", checks]
    args += ["--phases", "examples,fuzzing", "--max-examples", "25"]
    assert main([*args, "--json", str(reports / "contract.json")]) == 1
    text = (reports / "contract.json").read_text()
    assert ACTIVE_KEY not in text and "[Filtered]" not in text
    shown = [
        (check["name"], violation["curl"], violation["status"])
        for check in json.loads(text)["checks"]
        for violation in check["violations"] + check["warnings"]
    ]
    assert {name for name, _, _ in shown} == set(checks.split(","))
    for name, curl, status in shown:
        assert curl.startswith("curl "), name
        assert replay(curl) == status, (name, curl[:300])
    from_files = [curl for _, curl, _ in shown if f"--data-binary @{reports}/body-" in curl]
    assert from_files and all(len(curl) < 1000 for curl in from_files)
