"""What a run may send, and what it did send: one `Traffic` shared by every request of a run.

Against a server we do not own, every request costs someone something: on a staging wired to
the real platform, an issued token is a real call session. So every request of a run, from a
scripted check or from schemathesis, passes through one gate that
  - keeps a hard budget (`--max-requests`): a request beyond it is never sent;
  - keeps a pace (`--rate`, requests per second);
  - honours a gateway's 429 and its Retry-After, backing off; a run throttled beyond its
    patience stops (exit 2, "throttled"), never blaming a check;
and counts what was sent, the tokens issued and the calls started, and which status each
operation answered (the coverage in the summary).
"""

from __future__ import annotations

import threading
import time
from collections import Counter
from email.utils import parsedate_to_datetime

from contract.settings import ContractError

THROTTLED = 429
# How long a run waits in all for a gateway's Retry-After before it gives up (exit 2).
PATIENCE_SECONDS = 60.0
# Back-off when a 429 names no Retry-After: 1 s, doubling per 429 in a row, at most 16 s.
FIRST_BACKOFF = 1.0
MAX_BACKOFF = 16.0
# A gateway that answers 429 this many times in a row (even with Retry-After: 0) is refusing.
MAX_THROTTLED_IN_A_ROW = 20


class BudgetExhausted(Exception):
    """`--max-requests` is spent: the request was not sent."""


class Throttled(ContractError):
    """The target kept answering 429 beyond the run's patience."""


class Traffic:
    """The gate every request of a run passes through (thread-safe)."""

    def __init__(self, max_requests: int | None = None, rate: float | None = None) -> None:
        self.max_requests = max_requests
        self.interval = 1.0 / rate if rate else 0.0
        self.sent = 0
        self.tokens = 0
        self.calls = 0
        self.throttled = 0
        self.waited = 0.0
        self.statuses: Counter[tuple[str, str, int]] = Counter()
        self._lock = threading.Lock()
        self._next_at = 0.0
        self._backoff = FIRST_BACKOFF
        self._in_a_row = 0
        self.exhausted = False
        self.gave_up: str | None = None

    def admit(self) -> None:
        """Wait for the pace and any Retry-After, then take one request from the budget."""
        with self._lock:
            if self.gave_up is not None:
                raise Throttled(self.gave_up)
            if self.max_requests is not None and self.sent >= self.max_requests:
                self.exhausted = True
                raise BudgetExhausted(f"--max-requests {self.max_requests} spent")
            self.sent += 1
            now = time.monotonic()
            start = max(now, self._next_at)
            self._next_at = start + self.interval
        if start > now:
            time.sleep(start - now)

    def answered(
        self,
        method: str,
        path: str,
        status: int,
        retry_after: str | None = None,
        *,
        issued: bool = False,
        started: bool = False,
    ) -> None:
        """Count an answer; a 429 pushes every later request back by its Retry-After."""
        with self._lock:
            self.statuses[(method, path, status)] += 1
            if status != THROTTLED:
                self._backoff = FIRST_BACKOFF
                self._in_a_row = 0
                self.tokens += issued
                self.calls += started
                return
            self.throttled += 1
            self._in_a_row += 1
            wait = _retry_after_seconds(retry_after)
            if wait is None:
                wait, self._backoff = self._backoff, min(self._backoff * 2, MAX_BACKOFF)
            if self.waited + wait > PATIENCE_SECONDS or self._in_a_row > MAX_THROTTLED_IN_A_ROW:
                self.gave_up = (
                    f"throttled: the target answered 429 {self.throttled} times "
                    f"({self._in_a_row} in a row) and asked to wait {wait:g} s more, beyond the "
                    f"run's patience ({PATIENCE_SECONDS:g} s in all, {MAX_THROTTLED_IN_A_ROW} "
                    "refusals in a row); try a lower --rate or a smaller --max-requests"
                )
                return
            self.waited += wait
            self._next_at = max(self._next_at, time.monotonic() + wait)

    def counts(self) -> dict[str, int]:
        return {
            "requests": self.sent,
            "tokens issued": self.tokens,
            "calls started": self.calls,
            "throttled (429)": self.throttled,
        }


def _retry_after_seconds(value: str | None) -> float | None:
    """Retry-After as seconds: a number of seconds or an HTTP date (RFC 9110 10.2.3)."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        return max(0.0, parsedate_to_datetime(value).timestamp() - time.time())
    except (TypeError, ValueError):
        return None
