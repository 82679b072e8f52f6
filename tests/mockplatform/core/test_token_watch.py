"""The token watch's arithmetic, on given times (the real-time case is in test_proxy.py)."""

from __future__ import annotations

from mockplatform.core.token_watch import (
    PREFETCHED_TOKEN,
    SINGLE_USE,
    TOKEN_LIFETIME,
    TOKEN_REUSED,
    UNIQUE_IDS,
    TokenWatch,
)

LIFETIME = 60.0


def watched(requested: float = 100.0, answered: float = 100.5) -> TokenWatch:
    watch = TokenWatch(LIFETIME)
    assert watch.issued("rt_token_one", "call_1", requested, answered) == []
    return watch


def rules(observations: list) -> list[str]:  # type: ignore[type-arg]
    return [o.rule for o in observations]


def test_accepted_within_the_lifetime_then_reused() -> None:
    watch = watched()
    assert watch.redeemed("rt_token_one", True, False, 150.0, 150.1) == []
    assert rules(watch.redeemed("rt_token_one", False, False, 151.0, 151.1)) == [TOKEN_REUSED]
    assert rules(watch.redeemed("rt_token_one", True, False, 152.0, 152.1)) == [SINGLE_USE]


def test_ages_are_bounds_not_guesses() -> None:
    # Accepted at a least age of exactly the lifetime: it may have been younger at the platform.
    assert watched().redeemed("rt_token_one", True, False, 160.5, 160.6) == []
    late = watched().redeemed("rt_token_one", True, False, 160.6, 160.7)
    assert rules(late) == [TOKEN_LIFETIME]
    assert "at least 60.1 s old" in late[0].detail


def test_refused_late_is_the_apps_refused_early_the_platforms() -> None:
    prefetched = watched().redeemed("rt_token_one", False, True, 175.5, 175.6)
    assert rules(prefetched) == [PREFETCHED_TOKEN]
    assert "75.0 s after it was issued" in prefetched[0].detail
    early = watched().redeemed("rt_token_one", False, True, 130.0, 130.2)
    assert rules(early) == [TOKEN_LIFETIME]
    assert "at most 30.2 s old" in early[0].detail
    # Refused for another reason than expiry: not the lifetime's business.
    assert watched().redeemed("rt_token_one", False, False, 130.0, 130.2) == []


def test_a_token_it_never_saw_issued_is_not_judged() -> None:
    assert watched().redeemed("rt_elsewhere", True, False, 999.0, 999.1) == []


def test_ids_issued_twice() -> None:
    watch = watched()
    assert rules(watch.issued("rt_token_two", "call_1", 101.0, 101.1)) == [UNIQUE_IDS]
    assert rules(watch.issued("rt_token_one", "call_3", 102.0, 102.1)) == [UNIQUE_IDS]
