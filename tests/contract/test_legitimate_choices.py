"""No crying wolf: a correct implementation that chose differently from the mock passes (exit 0).

Each choice is one knob of the fake platform (tests/contract/fake_platform.py), run with our
scripted checks; one run with every choice at once adds schemathesis's generated requests.
"""

from __future__ import annotations

import pytest

from contract import ExpiryMode, Outcome
from contract.runner import run
from tests.contract.fake_platform import Behaviour
from tests.contract.targets import NO_SCHEMATHESIS, fake_settings

LEGITIMATE = {
    "extra response fields and headers": Behaviour(extra_fields=True),
    "application/json; charset=utf-8": Behaviour(charset=True),
    "JWT tokens": Behaviour(jwt=True),
    "opaque tokens": Behaviour(),
    "404 before 403 for an authenticated caller": Behaviour(not_found_before_forbidden=True),
    "the Bearer scheme in any letter case": Behaviour(),
    "only the Bearer scheme as written": Behaviour(exact_bearer=True),
    "an instance of another agent accepted": Behaviour(any_instance=True),
    "callerName of any length and characters": Behaviour(documented_only=True),
    "a null optional field read as absent": Behaviour(null_as_absent=True),
    "422 with its own body for an invalid request": Behaviour(unprocessable=True),
    "400 for an oversized body": Behaviour(size_as_400=True),
    "a gateway's 429 with Retry-After": Behaviour(throttle_every=7),
    "no redeem operation (the SDK redeems out of sight)": Behaviour(no_redeem=True, clock=False),
}
EVERY_CHOICE = Behaviour(
    extra_fields=True,
    charset=True,
    jwt=True,
    not_found_before_forbidden=True,
    documented_only=True,
    null_as_absent=True,
    unprocessable=True,
    size_as_400=True,
    throttle_every=7,
)


@pytest.mark.parametrize("behaviour", LEGITIMATE.values(), ids=list(LEGITIMATE))
def test_legitimate_choice_passes(serve_fake, behaviour) -> None:
    report = run(fake_settings(serve_fake(behaviour), phases=NO_SCHEMATHESIS))
    failed = {c.name: c.violations[0].rule for c in report.checks if c.outcome is Outcome.FAIL}
    assert failed == {}
    assert report.exit_code == 0


def test_every_choice_at_once_passes_schemathesis_too(serve_fake) -> None:
    settings = fake_settings(serve_fake(EVERY_CHOICE), phases=("coverage",), max_examples=30)
    report = run(settings)
    failed = {c.name: c.violations[0].rule for c in report.checks if c.outcome is Outcome.FAIL}
    assert failed == {}
    assert report.exit_code == 0
    # What only our assumptions forbid (a 101-character callerName, a control character, a
    # null language) was accepted, and the 400 we assume came as 422: warned, not failed.
    assert report.get("negative_data_rejection").outcome is Outcome.WARN
    assert report.counts["throttled (429)"] > 0
    # 413 was not provoked, and the report says what was sent and what came back instead.
    documented = report.get("documented_errors")
    assert documented.outcome is Outcome.WARN
    assert any(
        "an oversized body (1,048,6" in w.rule and "got 422" in w.rule for w in documented.warnings
    )


def test_a_jwt_lifetime_read_from_its_claims_is_not_verified(serve_fake) -> None:
    """What a token says is not what a server enforces: claims alone never PASS."""
    url = serve_fake(Behaviour(jwt=True, clock=False))
    settings = fake_settings(url, phases=(), only=frozenset({"token_lifetime"}))
    settings.expiry = ExpiryMode.JWT
    lifetime = run(settings).get("token_lifetime")
    assert lifetime.outcome is Outcome.NOT_VERIFIED
    assert "the JWT says 60 s" in lifetime.note and "enforcement not observed" in lifetime.note


def test_every_documented_error_reached_where_scenarios_exist(serve_fake) -> None:
    """400/413/415 by malformed requests, 401/403/404 by the checks, 500 by the scenario."""
    url = serve_fake(Behaviour(failure_message="Voice platform error"))
    documented = run(fake_settings(url, phases=())).get("documented_errors")
    assert documented.outcome is Outcome.PASS
    assert documented.note == "1 scenarios driven"
