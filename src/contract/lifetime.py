"""The token lifetime: accepted shortly before the spec's `x-token-lifetime-seconds`, refused after.

Three ways to observe it, chosen automatically unless `--expiry` says which:
  fast      the target exposes the mock's `POST /_mock/clock/advance`: move its clock instead
            of waiting (milliseconds);
  jwt       the token is a JWT: read how long it says it lives (`exp` - `iat`);
  realtime  wait the lifetime for real; started first, it runs alongside the other checks,
            so a run costs about one lifetime, not a multiple of it.
Where none applies (no redeem endpoint, no clock, an opaque token) the check is NOT VERIFIED,
never passed.
"""

from __future__ import annotations

import base64
import json
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from contract.checks import redeem_rejections, redeem_successes
from contract.outcomes import CheckResult
from contract.probe import Issued, Probe
from contract.settings import ExpiryMode

NAME = "token_lifetime"
DESCRIPTION = (
    "a token is accepted shortly before the spec's lifetime (x-token-lifetime-seconds) and "
    "refused after it"
)


def tolerance(lifetime: float) -> float:
    """How far from the lifetime we redeem: 10% of it, at least 1 s, at most half of it."""
    return min(max(1.0, 0.1 * lifetime), lifetime / 2)


def decode_jwt(token: str) -> dict[str, Any] | None:
    """The claims of a JWT (signature not checked: we only read what it says), or None."""
    parts = token.split(".")
    if len(parts) != 3:
        return None
    try:
        header = json.loads(_b64url(parts[0]))
        claims = json.loads(_b64url(parts[1]))
    except ValueError:
        return None
    if not isinstance(header, dict) or "alg" not in header or not isinstance(claims, dict):
        return None
    return claims


def _b64url(segment: str) -> bytes:
    return base64.urlsafe_b64decode(segment + "=" * (-len(segment) % 4))


def expired_statuses(probe: Probe) -> set[int]:
    """The spec's status for an expired token: the one with an example named `expired`."""
    named = {
        status
        for status in probe.redeem_op.responses
        if "expired" in probe.redeem_op.example_names(status)
    }
    return named or redeem_rejections(probe)


@dataclass
class Timed:
    issued: Issued
    sent_at: float
    received_at: float


class LifetimeCheck:
    """Started before the other checks (realtime waits in a thread); finished after them."""

    def __init__(
        self, probe: Probe, mode: ExpiryMode, progress: Callable[[str], None] = print
    ) -> None:
        self.probe = probe
        self.requested = mode
        self.progress = progress
        self.lifetime = probe.spec.token_lifetime_seconds
        self.tolerance = tolerance(self.lifetime)
        self.result = CheckResult(NAME, DESCRIPTION)
        self.mode: ExpiryMode | None = None
        self._sample: Issued | None = None
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        self.mode = self._choose()
        if self.mode is None:
            return
        self.result.note = f"{self.mode} mode, lifetime {self.lifetime:g} s ± {self.tolerance:g} s"
        if self.mode is ExpiryMode.REALTIME:
            self.progress(
                f"{NAME}: realtime mode, waiting {self.lifetime + self.tolerance:g} s "
                "in the background while the other checks run"
            )
            self._thread = threading.Thread(target=self._guarded(self._realtime), daemon=True)
            self._thread.start()

    def finish(self) -> CheckResult:
        if self.mode is ExpiryMode.FAST:
            self._guarded(self._fast)()
        elif self.mode is ExpiryMode.JWT:
            self._guarded(self._jwt)()
        elif self._thread is not None:
            self._thread.join()
        return self.result

    # -- choosing a mode ------------------------------------------------------------------

    def _choose(self) -> ExpiryMode | None:
        probe, mode = self.probe, self.requested
        if mode in (ExpiryMode.AUTO, ExpiryMode.FAST) and probe.has_clock:
            if probe.redeem_available:
                return ExpiryMode.FAST
            if mode is ExpiryMode.FAST:
                return self._unobservable(f"the target does not serve {probe.redeem_op.title}")
        if mode is ExpiryMode.FAST:
            return self._unobservable(
                "fast mode needs the mock's POST /_mock/clock/advance, which the target lacks"
            )
        if mode in (ExpiryMode.AUTO, ExpiryMode.JWT):
            self._sample = probe.issue()
            self.result.requests += 1
            claims = decode_jwt(self._sample.token) if self._sample else None
            if claims is not None and isinstance(claims.get("exp"), int | float):
                return ExpiryMode.JWT
            if mode is ExpiryMode.JWT:
                return self._unobservable("the token is not a JWT with an `exp` claim")
        if probe.redeem_available:
            return ExpiryMode.REALTIME
        return self._unobservable(
            f"the target does not serve {probe.redeem_op.title}, has no controllable clock "
            "and its token is opaque"
        )

    def _unobservable(self, why: str) -> None:
        self.result.not_verified(why)
        return None

    def _guarded(self, body: Callable[[], None]) -> Callable[[], None]:
        def run() -> None:
            try:
                body()
            except Exception as exc:  # a harness fault must not pass for a verdict
                self.result.not_verified(f"the check could not complete: {exc}")

        return run

    # -- the three modes ------------------------------------------------------------------

    def _issue_pair(self) -> tuple[Timed, Timed] | None:
        pair = []
        for _ in range(2):
            sent_at = time.monotonic()
            issued = self.probe.issue()
            self.result.requests += 1
            if issued is None:
                self.result.not_verified("the target issued no token")
                return None
            pair.append(Timed(issued, sent_at, time.monotonic()))
        return pair[0], pair[1]

    def _fast(self) -> None:
        pair = self._issue_pair()
        if pair is None:
            return
        early, late = pair
        if not self._advance(self.lifetime - self.tolerance):
            return
        self._judge_early(early.issued, self.lifetime - self.tolerance)
        if not self._advance(2 * self.tolerance):
            return
        self._judge_late(late.issued, self.lifetime + self.tolerance)

    def _advance(self, seconds: float) -> bool:
        exchange = self.probe.advance_clock(seconds)
        if exchange.status != 200:
            self.result.not_verified(f"POST /_mock/clock/advance answered {exchange.status}")
            return False
        return True

    def _realtime(self) -> None:
        pair = self._issue_pair()
        if pair is None:
            return
        early, late = pair
        # The token's age is at most (now - sent_at) and at least (now - received_at).
        _sleep_until(early.sent_at + self.lifetime - self.tolerance)
        self._judge_early(early.issued, self.lifetime - self.tolerance)
        _sleep_until(late.received_at + self.lifetime + self.tolerance)
        self._judge_late(late.issued, self.lifetime + self.tolerance)

    def _jwt(self) -> None:
        sample = self._sample
        assert sample is not None
        claims = decode_jwt(sample.token) or {}
        issued_at = claims.get("iat")
        if not isinstance(issued_at, int | float):
            self.result.not_verified("the JWT has `exp` but no `iat` to measure its lifetime from")
            return
        stated = float(claims["exp"]) - float(issued_at)
        if abs(stated - self.lifetime) > self.tolerance:
            self.result.fail(
                self.probe.violation(
                    f"the token says it lives {stated:g} s (exp - iat); the spec's "
                    f"x-token-lifetime-seconds is {self.lifetime:g} s (± {self.tolerance:g} s)",
                    sample.exchange,
                )
            )

    def _judge_early(self, issued: Issued, age: float) -> None:
        what = f"a token {age:g} s old (lifetime {self.lifetime:g} s) must redeem"
        self._judge(issued, redeem_successes(self.probe), what)

    def _judge_late(self, issued: Issued, age: float) -> None:
        what = f"a token {age:g} s old (lifetime {self.lifetime:g} s) must be refused as expired"
        self._judge(issued, expired_statuses(self.probe), what)

    def _judge(self, issued: Issued, statuses: set[int], what: str) -> None:
        probe = self.probe
        probe.require(self.result, probe.redeem_op, probe.redeem(issued.token), statuses, what)


def _sleep_until(deadline: float) -> None:
    remaining = deadline - time.monotonic()
    if remaining > 0:
        time.sleep(remaining)
