"""No crying wolf: a correct implementation that chose differently from the mock passes."""

from __future__ import annotations

from contract import Outcome
from contract.runner import run
from tests.contract.fake_platform import Behaviour
from tests.contract.targets import fake_settings

# Extra fields in every body, JWT access tokens, and 404 (unknown agent) before 403 (inactive).
DIFFERENT_BUT_CORRECT = Behaviour(extra_fields=True, jwt=True, not_found_before_forbidden=True)


def test_different_choices_pass_every_phase(serve_fake) -> None:
    report = run(fake_settings(serve_fake(DIFFERENT_BUT_CORRECT)))
    not_passed = {
        check.name: check.outcome for check in report.checks if check.outcome is not Outcome.PASS
    }
    # Only the 500 cannot be provoked outside the mock; everything else is verified and passes.
    assert not_passed == {"documented_errors": Outcome.NOT_VERIFIED}
    assert "500" in report.get("documented_errors").note
    assert report.get("stateful_links").outcome is Outcome.PASS
    assert report.exit_code == 0


def test_jwt_without_a_clock_is_read_from_its_claims(serve_fake) -> None:
    url = serve_fake(Behaviour(jwt=True, clock=False))
    lifetime = run(fake_settings(url, phases=())).get("token_lifetime")
    assert lifetime.outcome is Outcome.PASS
    assert lifetime.note.startswith("jwt mode")


def test_every_documented_error_reached_where_scenarios_exist(serve_fake) -> None:
    """400/413/415 by malformed requests, 401/403/404 by the checks, 500 by the scenario."""
    url = serve_fake(Behaviour(failure_message="Voice platform error"))
    documented = run(fake_settings(url, phases=())).get("documented_errors")
    assert documented.outcome is Outcome.PASS
    assert documented.note == "1 scenarios driven"
