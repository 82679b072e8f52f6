"""Judging one exchange against openapi.yaml, and saying whose fault a broken rule is.

Every rule is registered once in `RULES` with its side: `platform` (the upstream's answer
breaks the contract) or `client` (the app's request does). What a rule holds comes from the
spec through `mockplatform.core.spec` — the documented statuses, the compiled request and
response validators, the error bodies, `x-token-lifetime-seconds` — never from a copy here.

How much a broken rule weighs is `standing()`'s alone: a rule the platform's docs state, or
one held of every implementation (authentication first, no credential echoed, no 5xx for a
client's input, unique ids), makes a violation; a rule that is only the project's assumption
makes a note, never a violation.
"""

from __future__ import annotations

from collections import Counter, deque
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

from mockplatform.core.spec import (
    CREATE_TOKEN,
    REDEEM_TOKEN,
    Invalid,
    Operation,
    RuleKind,
    Spec,
    documented_request_problem,
    response_kind,
)
from mockplatform.core.token_watch import (
    MAX_WATCHED,
    PREFETCHED_TOKEN,
    SINGLE_USE,
    TOKEN_LIFETIME,
    TOKEN_REUSED,
    UNIQUE_IDS,
    Observation,
    TokenWatch,
    digest,
)
from mockplatform.proxy.exchanges import JSON, MIN_SECRET_LENGTH, NOT_JSON, Seen, media_type

UNAUTHENTICATED = 401  # HTTP's status for a request without valid credentials (RFC 9110)
EXPIRED_EXAMPLE = "expired"  # the spec's name for the example of an expired token


class Side(StrEnum):
    PLATFORM = "platform"
    CLIENT = "client"


@dataclass(frozen=True)
class Rule:
    name: str
    side: Side
    says: str
    standing: RuleKind = RuleKind.DOCUMENTED


RULES: dict[str, Rule] = {}


def _register(name: str, side: Side, says: str, standing: RuleKind = RuleKind.DOCUMENTED) -> str:
    RULES[name] = Rule(name, side, says, standing)
    return name


# The app's side.
MISSING_CREDENTIALS = _register(
    "missing_credentials", Side.CLIENT, "send the API key as `Authorization: Bearer <key>`"
)
REQUEST_CONTENT_TYPE = _register("request_content_type", Side.CLIENT, f"send the body as {JSON}")
REQUEST_SCHEMA = _register("request_schema", Side.CLIENT, "the body matches the request schema")
_register(PREFETCHED_TOKEN, Side.CLIENT, "redeem a token within its lifetime")
_register(TOKEN_REUSED, Side.CLIENT, "redeem a token once")
# The platform's side.
AUTH_FIRST = _register(
    "auth_first",
    Side.PLATFORM,
    f"a request without a valid key gets {UNAUTHENTICATED}, before anything else is judged",
    RuleKind.UNIVERSAL,
)
DOCUMENTED_STATUS = _register(
    "documented_status", Side.PLATFORM, "the status is documented for the operation"
)
CONTENT_TYPE = _register("content_type", Side.PLATFORM, f"the answer is {JSON}")
RESPONSE_SCHEMA = _register(
    "response_schema", Side.PLATFORM, "the body matches the documented schema for its status"
)
ACCEPTS_INVALID = _register(
    "rejects_invalid_request", Side.PLATFORM, "a request that breaks the schema is refused"
)
NO_SERVER_ERROR = _register(
    "no_server_error",
    Side.PLATFORM,
    "no 5xx for a client's input",
    RuleKind.UNIVERSAL,
)
NO_CREDENTIAL_ECHO = _register(
    "no_credential_echo",
    Side.PLATFORM,
    "the API key never comes back in an answer",
    RuleKind.UNIVERSAL,
)
_register(UNIQUE_IDS, Side.PLATFORM, "tokens and call ids are unique", RuleKind.UNIVERSAL)
_register(TOKEN_LIFETIME, Side.PLATFORM, "a token lives x-token-lifetime-seconds, no more")
_register(SINGLE_USE, Side.PLATFORM, "a token is redeemed once (x-token-single-use)")


@dataclass(frozen=True)
class Finding:
    """A broken rule in one exchange: a violation, or a note where the rule is an assumption."""

    rule: Rule
    operation: Operation
    detail: str
    seen: Seen
    standing: RuleKind

    @property
    def side(self) -> Side:
        return self.rule.side

    @property
    def is_violation(self) -> bool:
        return self.standing is not RuleKind.ASSUMED

    def to_json(self) -> dict[str, Any]:
        return {
            "side": str(self.side),
            "rule": self.rule.name,
            "operation": self.operation.operation_id,
            "at": datetime.fromtimestamp(self.seen.at, UTC).isoformat(timespec="milliseconds"),
            "detail": self.detail,
            "expected": self.rule.says,
            "standing": str(self.standing),
            "violation": self.is_violation,
            "exchange": self.seen.to_json(),
        }

    def line(self) -> str:
        kind = "VIOLATION" if self.is_violation else "note"
        where = f"{self.side} {self.rule.name} {self.operation.operation_id}"
        return f"{kind} {where}: {self.seen.summary()}: {self.detail}"


def standing(rule: Rule, operation: Operation, seen: Seen, request_valid: bool) -> RuleKind:
    """How much breaking `rule` in this exchange weighs: the one place that decides it.

    A rule held of every implementation stays so. A response the spec marks as the
    project's assumption (`x-contract: assumed`, e.g. the 400/413/415 answers) is judged
    as a note; and while the request itself broke the contract, what the platform answers
    it (which 4xx, which body: the docs leave it open) is a note too — only the universal
    rules judge that answer.
    """
    if rule.standing is not RuleKind.DOCUMENTED:
        return rule.standing
    if response_kind(operation, seen.status) is RuleKind.ASSUMED:
        return RuleKind.ASSUMED
    if rule.side is Side.PLATFORM and not request_valid and rule.name != ACCEPTS_INVALID:
        return RuleKind.ASSUMED
    return RuleKind.DOCUMENTED


@dataclass
class Judge:
    """Judges exchanges in the order they complete; keeps the token watch between them."""

    spec: Spec
    watch: TokenWatch = field(init=False)
    _routes: dict[tuple[str, str], Operation] = field(init=False, repr=False)

    def __post_init__(self) -> None:
        self.watch = TokenWatch(self.spec.token_lifetime_seconds)
        self._routes = {(op.method, op.path): op for op in self.spec.operations.values()}
        self._refused_keys: set[bytes] = set()  # digests: no key is kept

    def operation_of(self, method: str, path: str) -> Operation | None:
        return self._routes.get((method, path))

    def judge(self, seen: Seen) -> list[Finding]:
        operation = self.operation_of(seen.method, seen.path)
        if operation is None:
            return []  # not an operation of the contract (the SDK's files, its WebSocket...)
        client = self._client_faults(operation, seen)
        # A request valid by the platform's docs, whatever our assumptions say of it.
        request_valid = all(assumed for _, _, assumed in client)
        broken = [(name, detail) for name, detail, _ in client]
        broken += self._auth_first(operation, seen)
        broken += self._answer(operation, seen, request_valid)
        broken += self._echo(seen)
        if request_valid:
            broken += [(o.rule, o.detail) for o in self._tokens(operation, seen)]
        assumed_faults = {name for name, _, assumed in client if assumed}
        findings = []
        for name, detail in broken:
            rule = RULES[name]
            weight = (
                RuleKind.ASSUMED
                if name in assumed_faults
                else standing(rule, operation, seen, request_valid)
            )
            findings.append(Finding(rule, operation, detail, seen, weight))
        return findings

    # -- the app's side ----------------------------------------------------------------------

    def _client_faults(self, operation: Operation, seen: Seen) -> list[tuple[str, str, bool]]:
        """What the app got wrong: (rule, what, whether only an assumption of ours says so)."""
        faults = []
        if operation.requires_auth and seen.bearer() is None:
            sent = (
                "no Authorization header"
                if seen.header("authorization") is None
                else ("an Authorization header that is not `Bearer <key>`")
            )
            faults.append((MISSING_CREDENTIALS, f"the request has {sent}", False))
        if operation.request_validator is None:
            return faults
        sent_type = media_type(seen.header("content-type"))
        if sent_type != JSON:
            problem = f"Content-Type is {sent_type or 'missing'}, not {JSON}"
            faults.append((REQUEST_CONTENT_TYPE, problem, False))
        body = seen.request_json()
        if body is NOT_JSON:
            faults.append((REQUEST_SCHEMA, "the body is not JSON", False))
        elif (invalid := operation.validate_request(body)) is not None:
            documented = self._documented_problem(operation, body)
            faults.append((REQUEST_SCHEMA, (documented or invalid).detail, documented is None))
        return faults

    def _documented_problem(self, operation: Operation, body: Any) -> Invalid | None:
        """Why `body` breaks the request schema by the platform's docs alone (our assumed
        keywords, `x-contract`, left out)."""
        return documented_request_problem(operation, self.spec, body)

    # -- the platform's side -----------------------------------------------------------------

    def _auth_first(self, operation: Operation, seen: Seen) -> list[tuple[str, str]]:
        """No valid key, no other answer than 401: a missing or malformed credential, or a
        key this upstream has already refused with 401."""
        if not operation.requires_auth:
            return []
        key = seen.bearer()
        if key is None:
            if seen.status == UNAUTHENTICATED:
                return []
            return [(AUTH_FIRST, f"a request without a key got {seen.status}")]
        key_digest = digest(key)
        if seen.status == UNAUTHENTICATED:
            if len(self._refused_keys) >= MAX_WATCHED:  # a flood of wrong keys stays bounded
                self._refused_keys.clear()
            self._refused_keys.add(key_digest)
            return []
        if key_digest in self._refused_keys:
            if seen.status < 300:
                self._refused_keys.discard(key_digest)  # the key works again: not ours to judge
                return []
            return [(AUTH_FIRST, f"a key this platform refused with 401 got {seen.status} instead")]
        return []

    def _answer(
        self, operation: Operation, seen: Seen, request_valid: bool
    ) -> list[tuple[str, str]]:
        if not request_valid and seen.status >= 500:
            return [(NO_SERVER_ERROR, f"a request the app got wrong got {seen.status}")]
        if not request_valid and seen.status < 300:
            return [(ACCEPTS_INVALID, f"a request that breaks the schema got {seen.status}")]
        if seen.status not in operation.responses:
            documented = ", ".join(str(status) for status in sorted(operation.responses))
            return [
                (DOCUMENTED_STATUS, f"{seen.status} is not documented (documented: {documented})")
            ]
        if "content" not in operation.responses[seen.status]:
            return []
        answered = media_type(seen.response_header("content-type"))
        if answered != JSON:
            return [(CONTENT_TYPE, f"Content-Type is {answered or 'missing'}, not {JSON}")]
        body = seen.response_json()
        if body is NOT_JSON:
            return [(RESPONSE_SCHEMA, "the body is not JSON")]
        invalid = operation.validate_response(seen.status, body)
        if invalid is not None:
            return [(RESPONSE_SCHEMA, invalid.detail)]
        return []

    def _echo(self, seen: Seen) -> list[tuple[str, str]]:
        key = seen.bearer()
        if key is None or len(key) < MIN_SECRET_LENGTH:
            return []
        answer = seen.response_body.decode("utf-8", "replace")
        headers = " ".join(value for _, value in seen.response_headers)
        if key in answer or key in headers:
            return [(NO_CREDENTIAL_ECHO, "the answer contains the API key it was sent")]
        return []

    def _tokens(self, operation: Operation, seen: Seen) -> list[Observation]:
        body = seen.response_json()
        if operation.operation_id == CREATE_TOKEN and seen.status < 300 and isinstance(body, dict):
            token, call_id = body.get("accessToken"), body.get("callId")
            if isinstance(token, str):
                call = call_id if isinstance(call_id, str) else None
                return self.watch.issued(token, call, seen.sent, seen.answered)
        sent = seen.request_json()
        if operation.operation_id == REDEEM_TOKEN and isinstance(sent, dict):
            token = sent.get("accessToken")
            if isinstance(token, str):
                accepted = seen.status < 300
                return self.watch.redeemed(
                    token, accepted, _says_expired(operation, seen), seen.sent, seen.answered
                )
        return []


def _says_expired(operation: Operation, seen: Seen) -> bool:
    """Whether the answer is the spec's example named `expired` (its status and message)."""
    if EXPIRED_EXAMPLE not in operation.example_names(seen.status):
        return False
    body = seen.response_json()
    message = operation.example(seen.status, EXPIRED_EXAMPLE).get("error")
    return isinstance(body, dict) and body.get("error") == message


@dataclass
class Ledger:
    """The findings of a run: printed as they happen, the newest kept, all of them counted.

    A finding is kept as it is shown (`Finding.to_json`, every credential masked), never with
    the exchange itself: the proxy holds no key or token past the request that carried it.
    """

    print_line: Callable[[str], None]
    keep: int = 1000
    exchanges: int = 0
    upstream_failures: int = 0
    not_judged: Counter[str] = field(default_factory=Counter)  # exchanges passed on, by why
    kept: deque[dict[str, Any]] = field(init=False)
    counts: Counter[tuple[str, str, bool]] = field(default_factory=Counter)

    def __post_init__(self) -> None:
        self.kept = deque(maxlen=self.keep)

    def add(self, findings: list[Finding]) -> None:
        for finding in findings:
            self.kept.append(finding.to_json())
            self.counts[(str(finding.side), finding.rule.name, finding.is_violation)] += 1
            self.print_line(finding.line())
        # Counted last: an exchange counted as judged has all its findings kept and shown.
        self.exchanges += 1

    def listed(self, *, notes: bool = False) -> list[dict[str, Any]]:
        return [entry for entry in self.kept if notes or entry["violation"]]

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
        for why, n in sorted(self.not_judged.items()):
            text += f"\n  {n} exchange(s) passed on but not judged: {why}"
        if self.upstream_failures:
            text += f"\n  {self.upstream_failures} request(s) the upstream did not answer (502/504)"
        return text
