"""What a run found: one `CheckResult` per named check, each with the violations it saw.

A violation carries everything a reader needs to reproduce it without the harness: the
request as a curl command, the response that came back, and the rule that response broke.

Four outcomes, from worst to best: FAIL (a documented, universal or offered simulated rule
broken: exit 1), WARN (a target chose otherwise where the spec marks our assumption, or was
lenient), NOT VERIFIED (no request could show the rule), PASS.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field, replace
from enum import StrEnum
from typing import Any
from urllib.parse import urlsplit

from mockplatform.core.judge import BodyFiles, Seen, curl
from mockplatform.core.redaction import mask_values

MAX_BODY_SHOWN = 600
MAX_VIOLATIONS_KEPT = 5
MAX_SENT_KEPT = 20


# `contract run`'s exit codes: CI tells these three apart.
EXIT_CONFORMANT = 0
EXIT_VIOLATED = 1
EXIT_COULD_NOT_TEST = 2


class Outcome(StrEnum):
    PASS = "PASS"
    FAIL = "FAIL"
    WARN = "WARN"
    NOT_VERIFIED = "NOT VERIFIED"


# Which outcome wins when two sources judge one check.
_SEVERITY = {Outcome.PASS: 0, Outcome.NOT_VERIFIED: 1, Outcome.WARN: 2, Outcome.FAIL: 3}


@dataclass(frozen=True)
class Exchange:
    """One request and what came back (`status` None when the transport failed)."""

    method: str
    url: str
    headers: dict[str, str]
    body: bytes | None
    status: int | None = None
    response_headers: dict[str, str] = field(default_factory=dict)
    response_body: bytes = b""
    transport_error: str | None = None

    def seen(self, sent: float = 0.0, answered: float = 0.0) -> Seen:
        """The exchange as the core's judge reads it (`sent`, `answered`: monotonic times
        where the token's age matters)."""
        url = urlsplit(self.url)
        return Seen(
            method=self.method,
            path=url.path,
            query=url.query,
            request_headers=tuple((name.lower(), value) for name, value in self.headers.items()),
            request_body=self.body or b"",
            status=self.status,
            response_headers=tuple(self.response_headers.items()),
            response_body=self.response_body,
            sent=sent,
            answered=answered,
            base_url=f"{url.scheme}://{url.netloc}",
            transport_error=self.transport_error or "",
        )

    def json(self) -> Any:
        """The response body as JSON, or None when it is not JSON."""
        try:
            return json.loads(self.response_body)
        except ValueError:
            return None

    def curl(self, secrets: dict[str, str] | None = None, bodies: BodyFiles | None = None) -> str:
        """The request as a shell command that replays it as printed (the core's curl): each
        secret becomes the shell expression for it; every other credential we sent is one we
        made up, shown as sent; with `bodies`, a long body is read from a file."""
        sent = replace(self.seen(), request_headers=tuple(self.headers.items()))  # as written
        return curl(sent, secrets or {}, bodies, mask_other_credentials=False)

    def response_text(self, secrets: dict[str, str] | None = None) -> str:
        if self.status is None:
            return f"(no response: {self.transport_error})"
        content_type = self.response_headers.get("content-type", "")
        body = mask(self.response_body.decode("utf-8", "replace"), secrets or {})
        if len(body) > MAX_BODY_SHOWN:
            body = body[:MAX_BODY_SHOWN] + f"... ({len(self.response_body)} bytes)"
        return f"HTTP {self.status} {content_type}\n{body}".rstrip()


@dataclass(frozen=True)
class Violation:
    """A rule of the contract broken by one response (curl/response pre-rendered, keys masked)."""

    rule: str
    curl: str = ""
    response: str = ""
    status: int | None = None  # the response's status, which `--allow CHECK:STATUS` names


@dataclass
class CheckResult:
    """One named check of the report: its outcome, the violations (FAIL) or warnings (WARN)
    it saw, and a note (why NOT VERIFIED, or what was observed). `requests` counts the
    requests that could show the rule: a check left at 0 is NOT VERIFIED, never PASS."""

    name: str
    description: str = ""
    outcome: Outcome = Outcome.PASS
    violations: list[Violation] = field(default_factory=list)
    warnings: list[Violation] = field(default_factory=list)
    note: str = ""
    requests: int = 0
    more_violations: int = 0  # seen but not kept, to keep the report readable
    # What the check sent and got back, as (curl, response), keys masked: the HTML report's.
    sent: list[tuple[str, str]] = field(default_factory=list, repr=False)
    # NOT VERIFIED because another check's subject is absent (the redeem operation): under
    # --strict only allowing that check excuses it.
    blocked_by: str = ""
    # The status of every warning's response, those not kept included (None: no response).
    warned_statuses: set[int | None] = field(default_factory=set, repr=False)

    def _raise_to(self, outcome: Outcome) -> None:
        if _SEVERITY[outcome] > _SEVERITY[self.outcome]:
            self.outcome = outcome

    def fail(self, violation: Violation) -> None:
        self._raise_to(Outcome.FAIL)
        self._keep(self.violations, violation)

    def warn(self, violation: Violation) -> None:
        """A target's choice differs from our assumption, or it was lenient: not a violation."""
        self._raise_to(Outcome.WARN)
        self.warned_statuses.add(violation.status)
        self._keep(self.warnings, violation)

    def _keep(self, kept: list[Violation], violation: Violation) -> None:
        if violation in kept:
            return
        if len(kept) < MAX_VIOLATIONS_KEPT:
            kept.append(violation)
        else:
            self.more_violations += 1

    def not_verified(self, why: str) -> None:
        self._raise_to(Outcome.NOT_VERIFIED)
        self.note = why

    def settle(self) -> None:
        """A check that passed without one request able to show its rule proved nothing."""
        if self.outcome is Outcome.PASS and self.requests == 0:
            self.not_verified(self.note or "no request could show this rule")

    def merge(self, other: CheckResult) -> None:
        """Fold another source's verdict on the same check into this one (the worst wins)."""
        for violation in other.violations:
            self.fail(violation)
        for warning in other.warnings:
            self.warn(warning)
        self.more_violations += other.more_violations
        self.requests += other.requests
        self.sent += other.sent[: MAX_SENT_KEPT - len(self.sent)]
        self.warned_statuses |= other.warned_statuses
        self.blocked_by = self.blocked_by or other.blocked_by
        if other.outcome is Outcome.NOT_VERIFIED and self.outcome is Outcome.PASS:
            self.not_verified(other.note)
        elif other.note and not self.note:
            self.note = other.note


@dataclass
class Coverage:
    """Per operation: the documented statuses observed, those never observed, and any other."""

    operation: str
    observed: list[int]
    never: list[int]
    undocumented: list[int]


@dataclass
class Report:
    """All checks of a run, in the order they are printed, and what was tested.

    `could_not_test` is set when the run stopped before a verdict (exit 2); the checks that
    ran until then are still reported."""

    base_url: str
    checks: list[CheckResult] = field(default_factory=list)
    strict: bool = False
    allowed: frozenset[str] = frozenset()  # --allow: not failed by --strict
    elapsed: float = 0.0
    facts: list[str] = field(default_factory=list)
    counts: dict[str, int] = field(default_factory=dict)  # requests, tokens, calls, throttled
    coverage: list[Coverage] = field(default_factory=list)
    # Named tallies a command adds to its report (contract diff: differences per kind).
    tables: dict[str, dict[str, int]] = field(default_factory=dict)
    could_not_test: str | None = None

    def add(self, result: CheckResult) -> CheckResult:
        for existing in self.checks:
            if existing.name == result.name:
                existing.merge(result)
                return existing
        self.checks.append(result)
        return result

    def get(self, name: str) -> CheckResult | None:
        return next((check for check in self.checks if check.name == name), None)

    def counts_as_failure(self, check: CheckResult) -> bool:
        """FAIL always; WARN and NOT VERIFIED too under --strict, unless --allow names the check
        (a check NOT VERIFIED for want of what another check looks for: unless it names that
        one), or names it at the status of every response it warned about."""
        if check.outcome is Outcome.FAIL:
            return True
        if not self.strict or check.outcome is Outcome.PASS:
            return False
        if check.blocked_by:
            return check.blocked_by not in self.allowed
        if check.name in self.allowed:
            return False
        return not (
            check.outcome is Outcome.WARN
            and all(f"{check.name}:{status}" in self.allowed for status in check.warned_statuses)
        )

    @property
    def conformant(self) -> bool:
        return not any(self.counts_as_failure(check) for check in self.checks)

    @property
    def exit_code(self) -> int:
        if self.could_not_test is not None:
            return EXIT_COULD_NOT_TEST
        return EXIT_CONFORMANT if self.conformant else EXIT_VIOLATED


def mask(text: str, secrets: dict[str, str]) -> str:
    """Replace every secret value in `text` by the shell expression that yields it."""
    return mask_values(text, secrets)
