"""The token lifetime: accepted shortly before the spec's `x-token-lifetime-seconds`, refused after.

Two ways to observe it, chosen automatically unless `--expiry` says which:
  fast      the target exposes the mock's `POST /_mock/clock/advance`: move its clock instead
            of waiting (milliseconds);
  realtime  wait the lifetime for real; started first, it runs alongside the other checks,
            so a run costs about one lifetime, not a multiple of it.
Measured on every request shape that mints a token (the minimal body, each language,
callerName, instanceId), two tokens of each issued together, so one wait judges them all.
A JWT's claims (`exp` - `iat`) are read and reported, and a JWT that says it lives longer
fails; but what a token says is not what a server enforces, so the lifetime passes only when
a redeem after expiry was seen refused. Where no redeem can be observed (a platform whose
SDK redeems out of sight) the check is NOT VERIFIED, never passed; `--expiry jwt` reads the
claims only.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

from contract.checks import redeem_rejections, redeem_successes, valid_request_bodies
from contract.outcomes import CheckResult, Outcome
from contract.probe import Issued, Probe
from contract.settings import ExpiryMode
from contract.tokens import decode_jwt

NAME = "token_lifetime"
ISSUERS = 4  # tokens requested at once: every shape's pair within a fraction of the lifetime


def tolerance(lifetime: float) -> float:
    """How far from the lifetime we redeem: 10% of it, at least 1 s, at most half of it."""
    return min(max(1.0, 0.1 * lifetime), lifetime / 2)


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
        self.result = CheckResult(NAME)
        self.mode: ExpiryMode | None = None
        self._sample: Issued | None = None
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        self.mode = self._choose()
        if self.mode is None:
            return
        self.result.note = f"{self.mode} mode, lifetime {self.lifetime:g} s ± {self.tolerance:g} s"
        if self.mode is ExpiryMode.JWT:
            return
        if self.mode is ExpiryMode.REALTIME:
            self.progress(
                f"{NAME}: realtime mode, waiting {self.lifetime + self.tolerance:g} s "
                "in the background while the other checks run"
            )
            self._thread = threading.Thread(target=self._guarded(self._realtime), daemon=True)
            self._thread.start()

    def finish(self) -> CheckResult:
        self._guarded(self._jwt)()
        if self.mode is ExpiryMode.FAST:
            self._guarded(self._fast)()
        elif self._thread is not None:
            self._thread.join()
        if self.mode is ExpiryMode.JWT and self.result.outcome is not Outcome.FAIL:
            self.result.not_verified(
                f"{self.result.note}; claims only (--expiry jwt): enforcement not observed"
            )
        return self.result

    # -- choosing a mode ------------------------------------------------------------------

    def _choose(self) -> ExpiryMode | None:
        probe, mode = self.probe, self.requested
        self._sample = probe.issue()
        self.result.requests += 1
        is_jwt = self._sample is not None and decode_jwt(self._sample.token) is not None
        if mode is ExpiryMode.JWT:
            return ExpiryMode.JWT if is_jwt else self._unobservable("the token is not a JWT")
        if mode is ExpiryMode.FAST and not probe.has_clock:
            return self._unobservable(
                "fast mode needs the mock's POST /_mock/clock/advance, which the target lacks"
            )
        if probe.without_redeem(self.result):
            return None  # no redeem after expiry can be seen refused
        if mode is not ExpiryMode.REALTIME and probe.has_clock:
            return ExpiryMode.FAST
        return ExpiryMode.REALTIME

    def _unobservable(self, why: str) -> ExpiryMode | None:
        """No mode applies: NOT VERIFIED, saying why (returns no mode)."""
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

    def _issue_all(self) -> list[tuple[str, Timed, Timed]]:
        """An early and a late token for every request shape that mints one (each language,
        callerName, instanceId: a platform may set the lifetime per shape), issued together
        so one wait judges them all. Shapes the target issued no token for are left out
        (accepts_valid_requests fails them); none at all leaves the check NOT VERIFIED."""
        bodies = valid_request_bodies(self.probe)
        planned = [body for body in bodies for _ in range(2)]
        with ThreadPoolExecutor(ISSUERS) as pool:
            timed = list(pool.map(self._issue_timed, planned))
        self.result.requests += len(timed)
        found = []
        for position, body in enumerate(bodies):
            early, late = timed[2 * position : 2 * position + 2]
            if early is not None and late is not None:
                found.append((_shape(body), early, late))
        if not found:
            self.result.not_verified("the target issued no token")
        return found

    def _issue_timed(self, body: dict[str, Any]) -> Timed | None:
        sent_at = time.monotonic()
        issued = self.probe.issue(body=body)
        return None if issued is None else Timed(issued, sent_at, time.monotonic())

    def _fast(self) -> None:
        tokens = self._issue_all()
        if not tokens:
            return
        if not self._advance(self.lifetime - self.tolerance):
            return
        for shape, early, _ in tokens:
            self._judge_early(early.issued, self.lifetime - self.tolerance, shape)
        if not self._advance(2 * self.tolerance):
            return
        for shape, _, late in tokens:
            self._judge_late(late.issued, self.lifetime + self.tolerance, shape)

    def _advance(self, seconds: float) -> bool:
        exchange = self.probe.advance_clock(seconds)
        if exchange.status != 200:
            self.result.not_verified(f"POST /_mock/clock/advance answered {exchange.status}")
            return False
        return True

    def _realtime(self) -> None:
        tokens = self._issue_all()
        # A token's age is at most (now - sent_at) and at least (now - received_at).
        for shape, early, _ in tokens:
            _sleep_until(early.sent_at + self.lifetime - self.tolerance)
            self._judge_early(early.issued, self.lifetime - self.tolerance, shape)
        for shape, _, late in tokens:
            _sleep_until(late.received_at + self.lifetime + self.tolerance)
            self._judge_late(late.issued, self.lifetime + self.tolerance, shape)

    def _jwt(self) -> None:
        """Report what a JWT says of its lifetime; fail a JWT that says another one."""
        sample = self._sample
        claims = decode_jwt(sample.token) if sample is not None else None
        if sample is None or claims is None:
            return
        issued_at, expires = claims.get("iat"), claims.get("exp")
        if not isinstance(issued_at, int | float) or not isinstance(expires, int | float):
            self.result.note += "; the JWT carries no iat/exp to read a lifetime from"
            return
        stated = float(expires) - float(issued_at)
        self.result.note += f"; the JWT says {stated:g} s (exp - iat)"
        if abs(stated - self.lifetime) > self.tolerance:
            self.result.fail(
                self.probe.violation(
                    f"the token says it lives {stated:g} s (exp - iat); the spec's "
                    f"x-token-lifetime-seconds is {self.lifetime:g} s (± {self.tolerance:g} s)",
                    sample.exchange,
                )
            )

    def _judge_early(self, issued: Issued, age: float, shape: str) -> None:
        what = f"a token for {shape}, {age:g} s old (lifetime {self.lifetime:g} s), must redeem"
        self._judge(issued, redeem_successes(self.probe), what)

    def _judge_late(self, issued: Issued, age: float, shape: str) -> None:
        what = (
            f"a token for {shape}, {age:g} s old (lifetime {self.lifetime:g} s), must be "
            "refused as expired"
        )
        self._judge(issued, expired_statuses(self.probe), what)

    def _judge(self, issued: Issued, statuses: set[int], what: str) -> None:
        probe = self.probe
        probe.require(self.result, probe.redeem_op, probe.redeem(issued.token), statuses, what)


def _shape(body: dict[str, Any]) -> str:
    """A request shape in words: "the minimal body", "a body with language 'hi'"..."""
    fields = [
        f"{name} {value!r}" if name == "language" else name
        for name, value in body.items()
        if name != "agentId"
    ]
    return f"a body with {', '.join(fields)}" if fields else "the minimal body"


def _sleep_until(deadline: float) -> None:
    remaining = deadline - time.monotonic()
    if remaining > 0:
        time.sleep(remaining)
