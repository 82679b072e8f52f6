"""The proxy's side of judging: live traffic handed to the core's judge, its findings kept.

What an exchange broke, on whose side and how much it weighs is `mockplatform.core.judge`'s
alone (the harness asks the same judge). Here: the memory the judge keeps across the live
exchanges of one upstream (its tokens, the keys it refused, how far a run moved its clock,
read from the mock's control API as it passes), and the `Ledger` of what was found.
"""

from __future__ import annotations

from collections import Counter, deque
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import Any

from mockplatform.core.judge import (
    Finding,
    Memory,
    Seen,
    Side,
    curl,
    judge,
    masks,
    operation_of,
)
from mockplatform.core.spec import Operation, Spec
from mockplatform.proxy.exchanges import MAX_CURL, cut, shown, summary

# The mock's clock (its control API): an answer says how far a run has moved it.
CLOCK_PATHS = ("/_mock/clock", "/_mock/clock/advance")
CLOCK_OFFSET = "offsetSeconds"
RESET_PATH = "/_mock/reset"


@dataclass
class Judge:
    """Judges exchanges in the order they complete, with one memory of the upstream."""

    spec: Spec
    memory: Memory = field(init=False)

    def __post_init__(self) -> None:
        self.memory = Memory(self.spec)

    def operation_of(self, method: str, path: str) -> Operation | None:
        return operation_of(self.spec, method, path)

    def judge(self, seen: Seen, operation: Operation | None = None) -> list[Finding]:
        """The exchange's findings; `operation`, where the caller looked it up already."""
        if seen.path in CLOCK_PATHS and seen.status == 200:
            body = seen.response_json()
            offset = body.get(CLOCK_OFFSET) if isinstance(body, dict) else None
            if isinstance(offset, int | float):
                self.memory.clock_offset = float(offset)
            return []
        if seen.path == RESET_PATH and seen.method == "POST" and seen.status == 200:
            self.memory.clock_offset = 0.0  # a reset mock's clock is back with ours
            return []
        return judge(self.spec, seen, self.memory, operation=operation)


def entry(finding: Finding, secrets: dict[str, str]) -> dict[str, Any]:
    """A finding as `GET /_mock/violations` lists it, every credential (`secrets`: the
    judge's `masks` of its exchange) masked."""
    seen = finding.exchange
    return {
        "side": str(finding.side),
        "rule": finding.rule,
        "operation": finding.operation,
        "at": datetime.fromtimestamp(seen.at, UTC).isoformat(timespec="milliseconds"),
        "detail": finding.seen,
        "expected": finding.expected,
        "kind": str(finding.kind),
        "violation": finding.is_violation,
        "curl": cut(
            curl(replace(seen, request_body=seen.request_body[:MAX_CURL]), secrets), MAX_CURL
        ),
        "exchange": shown(seen, secrets),
    }


def line(finding: Finding, secrets: dict[str, str]) -> str:
    kind = "VIOLATION" if finding.is_violation else "note"
    return (
        f"{kind} {finding.side} {finding.rule} {finding.operation} ({finding.kind}): "
        f"{summary(finding.exchange, secrets)}: {finding.seen}"
    )


@dataclass
class Ledger:
    """The findings of a run: printed as they happen, the newest kept, all of them counted.

    A finding is kept as it is shown (`entry`, every credential masked), never with the
    exchange itself: the proxy holds no key or token past the request that carried it.
    """

    print_line: Callable[[str], None]
    keep: int = 1000
    exchanges: int = 0
    upstream_failures: int = 0
    not_judged: Counter[str] = field(default_factory=Counter)  # exchanges passed on, by why
    over_budget: int = 0  # exchanges whose judging took more than the proxy's budget
    partly_judged: int = 0  # exchanges whose answer's body was past the kept size: not judged
    kept: deque[dict[str, Any]] = field(init=False)
    counts: Counter[tuple[str, str, bool]] = field(default_factory=Counter)

    def __post_init__(self) -> None:
        self.kept = deque(maxlen=self.keep)

    def add(self, findings: list[Finding]) -> None:
        # One exchange's findings: its credentials found once (a body may be 256 KB).
        secrets = masks(findings[0].exchange) if findings else {}
        for finding in findings:
            self.kept.append(entry(finding, secrets))
            self.counts[(str(finding.side), finding.rule, finding.is_violation)] += 1
            self.print_line(line(finding, secrets))
        # Counted last: an exchange counted as judged has all its findings kept and shown.
        self.exchanges += 1

    def listed(self, *, notes: bool = False) -> list[dict[str, Any]]:
        return [item for item in self.kept if notes or item["violation"]]

    def summary(self) -> str:
        """`proxy: 12 exchanges judged; 2 violations (platform: token_lifetime 1; ...)`."""
        violations = sum(n for (_, _, v), n in self.counts.items() if v)
        notes = sum(n for (_, _, v), n in self.counts.items() if not v)
        text = f"proxy: {self.exchanges} exchanges judged; {violations} violation(s)"
        for side in Side:
            rules = [
                f"{rule} {n}" for (s, rule, v), n in sorted(self.counts.items()) if s == side and v
            ]
            if rules:
                text += f"\n  {side}: {', '.join(rules)}"
        if notes:
            text += f"\n  {notes} note(s) on the project's assumptions (not violations)"
        if self.partly_judged:
            text += (
                f"\n  {self.partly_judged} exchange(s) with an answer past the kept size: "
                "judged but for its body"
            )
        if self.over_budget:
            text += f"\n  {self.over_budget} exchange(s) took longer to judge than the budget"
        for why, n in sorted(self.not_judged.items()):
            text += f"\n  {n} exchange(s) passed on but not judged: {why}"
        if self.upstream_failures:
            text += f"\n  {self.upstream_failures} request(s) the upstream did not answer (502/504)"
        return text
