"""The token lifetime in each mode, and NOT VERIFIED (never PASS) where it cannot be observed."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

from contract import ExpiryMode, Outcome
from contract.lifetime import decode_jwt, tolerance
from contract.runner import run
from tests.conftest import SHORT_LIFETIME  # realtime mode really waits it
from tests.contract.fake_platform import Behaviour
from tests.contract.targets import fake_settings


def lifetime_check(url, **settings):
    report = run(fake_settings(url, phases=(), only=frozenset({"token_lifetime"}), **settings))
    return report.get("token_lifetime")


def test_realtime_mode_waits_the_lifetime(serve_fake, short_spec) -> None:
    """Opaque tokens and no clock: the harness waits. A right and a wrong target, side by side."""
    right = serve_fake(Behaviour(clock=False, lifetime=SHORT_LIFETIME), fake_spec=short_spec)
    wrong = serve_fake(Behaviour(clock=False, lifetime=30), fake_spec=short_spec)
    with ThreadPoolExecutor(2) as pool:
        passed, failed = pool.map(
            lambda url: lifetime_check(url, spec_path=short_spec.path), (right, wrong)
        )
    assert passed.note.startswith("realtime mode") and passed.outcome is Outcome.PASS
    assert failed.note.startswith("realtime mode") and failed.outcome is Outcome.FAIL
    assert "must be refused as expired" in failed.violations[0].rule


def test_fast_mode_needs_the_clock(serve_fake) -> None:
    result = lifetime_check(serve_fake(Behaviour(clock=False)), expiry=ExpiryMode.FAST)
    assert result.outcome is Outcome.NOT_VERIFIED
    assert "/_mock/clock/advance" in result.note


def test_jwt_mode_needs_a_jwt(serve_fake) -> None:
    result = lifetime_check(serve_fake(Behaviour(clock=False)), expiry=ExpiryMode.JWT)
    assert result.outcome is Outcome.NOT_VERIFIED
    assert "not a JWT" in result.note


def test_unobservable_lifetime_is_not_verified_and_fails_when_strict(serve_fake) -> None:
    """Opaque tokens, no clock, and the redeem endpoint is gone: nothing to observe."""
    url = serve_fake(Behaviour(clock=False, no_redeem=True))
    report = run(fake_settings(url, phases=()))
    assert report.get("token_lifetime").outcome is Outcome.NOT_VERIFIED
    assert report.get("single_use").outcome is Outcome.NOT_VERIFIED
    assert report.exit_code == 0
    strict = run(fake_settings(url, phases=(), strict=True))
    assert strict.exit_code == 1


def test_tolerance_is_a_tenth_of_the_lifetime_within_bounds() -> None:
    assert tolerance(60) == 6
    assert tolerance(2) == 1
    assert tolerance(1) == 0.5


def test_decode_jwt_reads_claims_and_refuses_opaque_tokens() -> None:
    token = "eyJhbGciOiJIUzI1NiJ9.eyJpYXQiOjEsImV4cCI6NjF9.c2ln"
    assert decode_jwt(token) == {"iat": 1, "exp": 61}
    assert decode_jwt("rt_live_abc.def.ghi") is None
    assert decode_jwt("rt_live_abcdef") is None
