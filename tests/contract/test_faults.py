"""The harness fails a faulty implementation, naming the check whose rule it broke.

Each fault is one knob of the fake platform; everything else about it is correct.
"""

from __future__ import annotations

import pytest

from contract import Outcome, hooks
from contract.runner import run
from tests.contract.fake_platform import ACTIVE_KEY, Behaviour
from tests.contract.targets import NO_SCHEMATHESIS, fake_settings

# fault -> the check that must FAIL; only our scripted checks run (phases=()), so these are fast.
SCRIPTED_FAULTS = {
    "200 for an unknown agent": (Behaviour(any_agent=True), "unknown_agent"),
    "a request without a key accepted": (Behaviour(keyless=True), "auth_first"),
    "404 before 401": (Behaviour(agent_before_auth=True), "auth_first"),
    "500 on a unicode callerName": (Behaviour(unicode_crash=True), "accepts_valid_requests"),
    "a token that lives 300 s": (Behaviour(lifetime=300), "token_lifetime"),
    "a token minted for an instance lives 300 s": (
        Behaviour(instance_lifetime=300),
        "token_lifetime",
    ),
    "a token usable twice": (Behaviour(reusable=True), "single_use"),
    "a fixed token for every call": (Behaviour(fixed_token=True), "unique_ids"),
    "a JWT that says it lives 300 s": (Behaviour(jwt=True, lifetime=300), "token_lifetime"),
    "a second redeem answered 401, not 409": (Behaviour(reuse_status=401), "single_use"),
    "two simultaneous redeems both start the call": (Behaviour(racy_redeem=True), "single_use"),
    "a JWT whose expiry no redeem checks": (
        Behaviour(jwt=True, never_expires=True),
        "token_lifetime",
    ),
    "404 for every request naming an instance": (
        Behaviour(instance_not_found=True),
        "accepts_valid_requests",
    ),
    "an inactive agent gets a token": (Behaviour(inactive_agent_ok=True), "inactive_agent"),
    "sequential tokens": (Behaviour(sequential_tokens=True), "unpredictable_tokens"),
    "a 401 that echoes the key it was sent": (Behaviour(echo_key=True), "no_credential_echo"),
    "a key that starts with the key accepted": (Behaviour(key_match="starts_with"), "auth_first"),
    "a prefix of the key accepted": (Behaviour(key_match="prefix"), "auth_first"),
    "any instanceId accepted, an unknown one too": (
        Behaviour(instance_unchecked=True),
        "unknown_instance",
    ),
    "500 for an unknown instanceId": (Behaviour(instance_crash=True), "unknown_instance"),
    "a cancelled subscription gets tokens": (Behaviour(cancelled_ok=True), "inactive_subscription"),
    "a never-issued token answered 404": (Behaviour(unknown_token_404=True), "forged_tokens"),
    "tokens found by their first characters": (
        Behaviour(token_prefix_match=True),
        "forged_tokens",
    ),
    "a JWT redeemed without checking its signature": (
        Behaviour(jwt=True, unverified_jwt=True),
        "forged_tokens",
    ),
}


@pytest.mark.parametrize(
    ("behaviour", "check"), SCRIPTED_FAULTS.values(), ids=list(SCRIPTED_FAULTS)
)
def test_fault_fails_the_named_check(serve_fake, behaviour, check) -> None:
    report = run(fake_settings(serve_fake(behaviour), phases=NO_SCHEMATHESIS))
    failed = {result.name for result in report.checks if result.outcome is Outcome.FAIL}
    assert check in failed
    assert report.exit_code == 1
    violation = report.get(check).violations[0]
    assert violation.rule
    assert violation.curl.startswith("curl ")
    assert violation.response.startswith("HTTP ")
    assert ACTIVE_KEY not in violation.curl + violation.response


def test_missing_response_field_fails_schema_conformance(serve_fake) -> None:
    """A 200 without agentName: schemathesis's response_schema_conformance names it."""
    url = serve_fake(Behaviour(drop_field="agentName"))
    report = run(fake_settings(url, phases=("examples",)))
    schema = report.get("response_schema_conformance")
    assert schema is not None and schema.outcome is Outcome.FAIL
    assert any("agentName" in violation.rule for violation in schema.violations)
    assert report.get("accepts_valid_requests").outcome is Outcome.FAIL
    # Uniqueness is about ids, not completeness: it does not cry wolf over a missing field.
    assert report.get("unique_ids").outcome is Outcome.PASS
    assert report.exit_code == 1
    # schemathesis's check registry is process-wide: the run's key must not outlive it.
    assert hooks.expected_key() is None


def test_accepting_what_the_documentation_forbids_is_lenient_not_a_failure(serve_fake) -> None:
    """A language outside the documented options is the client's documented fault; the
    platform's answer to it is held only to the universal rules (the core judge's weights),
    so accepting it is a WARN, as the proxy makes it a note, beside the other leniencies."""
    url = serve_fake(Behaviour(any_language=True, documented_only=True, null_as_absent=True))
    report = run(fake_settings(url, phases=("coverage",), max_examples=30))
    rejection = report.get("negative_data_rejection")
    assert rejection is not None and rejection.outcome is Outcome.WARN
    assert any("rejects_invalid_request" in warning.rule for warning in rejection.warnings)
    assert report.exit_code == 0


def test_unicode_crash_is_also_a_server_error_for_schemathesis(serve_fake) -> None:
    url = serve_fake(Behaviour(unicode_crash=True))
    report = run(fake_settings(url, phases=("examples", "fuzzing"), max_examples=25))
    assert report.get("not_a_server_error").outcome is Outcome.FAIL


def test_a_scenario_error_with_the_wrong_body_fails_documented_errors(serve_fake) -> None:
    url = serve_fake(Behaviour(failure_message="Internal Server Error"))
    documented = run(fake_settings(url, phases=NO_SCHEMATHESIS)).get("documented_errors")
    assert documented.outcome is Outcome.FAIL
    rule = documented.violations[0].rule
    assert rule.startswith("under scenario 'platform-failure': ")
    assert "500: the body does not match the spec's schema" in rule
    assert "'Voice platform error' was expected" in rule


def test_a_dropped_connection_fails_answers_every_request(serve_fake) -> None:
    """Hanging up mid-response is no HTTP answer at all: schemathesis reports it, we name it."""
    url = serve_fake(Behaviour(hangup_language="mr"))  # coverage tries every enum value
    report = run(fake_settings(url, phases=("coverage",)))
    answers = report.get("answers_every_request")
    assert answers is not None and answers.outcome is Outcome.FAIL
    assert "Network Error" in answers.violations[0].rule
    assert "must answer" in report.get("accepts_valid_requests").violations[0].rule
