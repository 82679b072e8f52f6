"""What a run found: one `CheckResult` per named check, each with the violations it saw.

A violation carries everything a reader needs to reproduce it without the harness: the
request as a curl command, the response that came back, and the rule that response broke.
"""

from __future__ import annotations

import json
import re
import shlex
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

MAX_BODY_SHOWN = 600
MAX_VIOLATIONS_KEPT = 5
MAX_REQUEST_BODY_SHOWN = 2000


class Outcome(StrEnum):
    PASS = "PASS"
    FAIL = "FAIL"
    NOT_VERIFIED = "NOT VERIFIED"


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

    def json(self) -> Any:
        """The response body as JSON, or None when it is not JSON."""
        try:
            return json.loads(self.response_body)
        except ValueError:
            return None

    def curl(self, secrets: dict[str, str] | None = None) -> str:
        """The request as a shell command; each secret becomes the shell expression for it."""
        parts = ["curl", "-sS", "-X", self.method, self.url]
        for name, value in self.headers.items():
            parts += ["-H", f"{name}: {value}"]
        if self.body is not None:
            body = self.body.decode("utf-8", "replace")
            if len(body) > MAX_REQUEST_BODY_SHOWN:
                body = body[:MAX_REQUEST_BODY_SHOWN] + f"...({len(self.body)} bytes in all)"
            parts += ["--data-raw", body]
        return " ".join(_quote(part, secrets or {}) for part in parts)

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


@dataclass
class CheckResult:
    """One named check of the report: PASS, FAIL (with violations) or NOT VERIFIED (with why)."""

    name: str
    description: str
    outcome: Outcome = Outcome.PASS
    violations: list[Violation] = field(default_factory=list)
    note: str = ""
    requests: int = 0
    more_violations: int = 0  # seen but not kept, to keep the report readable

    def fail(self, violation: Violation) -> None:
        self.outcome = Outcome.FAIL
        if violation in self.violations:
            return
        if len(self.violations) < MAX_VIOLATIONS_KEPT:
            self.violations.append(violation)
        else:
            self.more_violations += 1

    def not_verified(self, why: str) -> None:
        if self.outcome is not Outcome.FAIL:
            self.outcome = Outcome.NOT_VERIFIED
        self.note = why

    def merge(self, other: CheckResult) -> None:
        """Fold another source's verdict on the same check into this one (FAIL wins)."""
        for violation in other.violations:
            self.fail(violation)
        self.more_violations += other.more_violations
        self.requests += other.requests
        if other.outcome is Outcome.NOT_VERIFIED and self.outcome is Outcome.PASS:
            self.not_verified(other.note)
        elif other.note and not self.note:
            self.note = other.note


@dataclass
class Report:
    """All checks of a run, in the order they are printed, and what was tested."""

    base_url: str
    checks: list[CheckResult] = field(default_factory=list)
    strict: bool = False
    elapsed: float = 0.0
    facts: list[str] = field(default_factory=list)

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
        return check.outcome is Outcome.FAIL or (
            self.strict and check.outcome is Outcome.NOT_VERIFIED
        )

    @property
    def conformant(self) -> bool:
        return not any(self.counts_as_failure(check) for check in self.checks)

    @property
    def exit_code(self) -> int:
        return 0 if self.conformant else 1


def mask(text: str, secrets: dict[str, str]) -> str:
    """Replace every secret value in `text` by the shell expression that yields it."""
    pattern = _secrets_pattern(secrets)
    return text if pattern is None else pattern.sub(lambda found: secrets[found.group()], text)


def _quote(part: str, secrets: dict[str, str]) -> str:
    """Shell-quote `part`, leaving each secret as its expression in double quotes."""
    pattern = _secrets_pattern(secrets)
    if pattern is None:
        return shlex.quote(part)
    pieces, position = [], 0
    for found in pattern.finditer(part):
        if found.start() > position:
            pieces.append(shlex.quote(part[position : found.start()]))
        pieces.append(f'"{secrets[found.group()]}"')
        position = found.end()
    if position < len(part) or not pieces:
        pieces.append(shlex.quote(part[position:]))
    return "".join(pieces)


def _secrets_pattern(secrets: dict[str, str]) -> re.Pattern[str] | None:
    """One pass over the text, longest secret first, so no expression is masked again."""
    values = sorted((value for value in secrets if value), key=len, reverse=True)
    return re.compile("|".join(re.escape(value) for value in values)) if values else None
