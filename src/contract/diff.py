"""`contract diff`: the same requests to two live implementations, and what differs by the contract.

QA's question is rarely "does staging conform?" alone: it is "does our mock still behave like
staging?", "does the release candidate behave like production?". Every request here (a
`Case`) goes alike to A and to B, and the two answers are compared on what the contract
documents: the status, the documented `error` message, the body's documented fields and
their JSON types, and the documented headers. Values are never compared (tokens, call ids
and timestamps differ by nature), and whatever differs between two answers of A to the same
request is noise (Diffy's way: ask the primary twice), so it never counts.

A difference is weighed by the core's one judge, never here: where one side breaks a rule the
other keeps, the difference has that rule's kind (documented, universal, or simulated where
both offer the redeem) and fails the run; where both keep every rule, the contract leaves the
choice open (400 or 422 to an invalid body): an assumed difference, listed, exit 0.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from functools import partial
from typing import Any

from contract.fuzzing import Generated
from contract.outcomes import CheckResult, Exchange, Report, Violation
from contract.probe import UNROUTED, Probe, wrong_keys
from contract.runner import Progress, discover, preflight
from contract.settings import Settings
from contract.traffic import Traffic
from mockplatform.core.json_text import JSON_MEDIA_TYPE, media_type
from mockplatform.core.judge import Asked, Finding, Memory, Seen, Side, judge, masks, operation_of
from mockplatform.core.spec import (
    CREATE_TOKEN,
    REDEEM_TOKEN,
    Operation,
    RuleKind,
    json_type,
    resolve_ref,
)

# The groups of requests, in the order they are sent and reported (the lifecycle last: it
# moves the targets' clocks, which would expire tokens the others still use).
GROUPS = {
    "diff_documented_requests": "valid token requests: minimal, with an instance, each "
    "language, with a caller's name",
    "diff_wrong_keys": "requests without a valid key: none, wrong, near misses, other schemes",
    "diff_documented_errors": "inactive keys, unknown and inactive agents, unknown instances",
    "diff_invalid_bodies": "requests that break the documented request rules",
    "diff_generated": "schemathesis's generated requests, the same seed for both",
    "diff_token_lifecycle": "redeem, reuse, a never-issued token, and expiry",
}
# Worst first: the kind a difference takes when one side breaks several rules.
SEVERITY = (RuleKind.UNIVERSAL, RuleKind.DOCUMENTED, RuleKind.SIMULATED, RuleKind.ASSUMED)
UNKNOWN_ID = "7d0f5c0e-8f7b-4c4e-9a43-2f1f3c0b9a11"  # a well-formed UUID neither side issued
# Each written from the side's valid body: the documented rules it breaks, and two of ours.
INVALID_BODIES: dict[str, Callable[[dict[str, Any]], dict[str, Any]]] = {
    "agentId not a string": lambda body: {**body, "agentId": 5},
    "agentId missing": lambda body: {k: v for k, v in body.items() if k != "agentId"},
    "agentId not a UUID": lambda body: {**body, "agentId": "not-a-uuid"},
    "an unlisted language": lambda body: {**body, "language": "fr"},
    "language null": lambda body: {**body, "language": None},
    "callerName of 101 characters": lambda body: {**body, "callerName": "x" * 101},
}
AGAINST_VARIABLE = "CONTRACT_AGAINST_"
KINDS_TABLE = "differences by kind"


@dataclass(frozen=True)
class Request:
    method: str
    path: str
    headers: dict[str, str]
    body: bytes | None = None
    json_body: Any = None


@dataclass(frozen=True)
class Case:
    """One request, written for each side from that side's world (its key, its agent)."""

    group: str
    name: str
    build: Callable[[Probe], Request]
    asked: Asked | None = None
    repeat: bool = True  # ask A twice to learn what varies


@dataclass
class Answer:
    """What one side answered to a case, and what the judge found in it."""

    exchange: Exchange
    seen: Seen
    findings: list[Finding]

    @property
    def violations(self) -> list[Finding]:
        return [f for f in self.findings if f.side is Side.PLATFORM and f.is_violation]


@dataclass
class Target:
    """One target: its probe (traffic gate, masking) and the judge's memory of it."""

    label: str
    probe: Probe
    memory: Memory

    def shown(self, answer: Answer) -> dict[str, str]:
        """How each secret of an exchange is shown: the run's keys as the shell variables that
        yield them (a curl replays as printed), every other credential (a token) masked."""
        return {**masks(answer.seen), **self.probe.secrets}

    def send(self, request: Request, asked: Asked | None = None) -> Answer:
        sent = time.monotonic()
        exchange = self.probe.send(
            request.method,
            request.path,
            headers=request.headers,
            content=request.body,
            json_body=request.json_body,
        )
        answered = time.monotonic()
        seen = exchange.seen(sent, answered)
        return Answer(exchange, seen, judge(self.probe.spec, seen, self.memory, asked))


@dataclass
class Difference:
    name: str  # the request's
    kind: RuleKind
    aspects: list[str]
    conforming: str  # which side keeps the rules the other breaks: "A", "B", "neither", "both"
    broken: list[tuple[str, Finding]] = field(default_factory=list)  # (side, rule it broke)


def run_diff(
    a: Settings,
    b: Settings,
    progress: Progress,
    report: Report,
    sleep: Callable[[float], None] = time.sleep,
) -> Report:
    """Send every case to both, compare, and fill `report`: one check per group, and the
    table of differences per kind (which sets the exit code: only assumed ones pass)."""
    started = time.monotonic()
    tally = report.tables.setdefault(KINDS_TABLE, {str(kind): 0 for kind in SEVERITY})
    sides = [_side("A", a), _side("B", b)]
    for side in sides[1:]:  # B's keys are shown as variables of their own
        side.probe.secrets = {
            value: shown.replace("CONTRACT_", AGAINST_VARIABLE)
            for value, shown in side.probe.secrets.items()
        }
    results = {name: CheckResult(name, description) for name, description in GROUPS.items()}
    try:
        for side in sides:
            preflight(side.probe)
            discover(side.probe, report)
        progress(f"comparing {a.base_url} (A) with {b.base_url} (B)")
        for case in cases(a, b):
            _compare(case, sides, results[case.group], tally)
        _lifecycle(sides, results["diff_token_lifecycle"], tally, progress, sleep)
    finally:
        for result in results.values():
            result.settle()
            report.add(result)
        for side in sides:
            side.probe.close()
            counts = side.probe.traffic.counts()
            report.facts.append(
                f"{side.label} {side.probe.settings.base_url}: "
                + ", ".join(f"{value} {name}" for name, value in counts.items())
            )
        report.elapsed = time.monotonic() - started
    return report


def _side(label: str, settings: Settings) -> Target:
    return Target(
        label, Probe(settings, Traffic(settings.max_requests, settings.rate)), Memory(settings.spec)
    )


# -- the requests ----------------------------------------------------------------------------


def cases(settings: Settings, against: Settings) -> Iterator[Case]:
    """Every case but the lifecycle, each written per side by its `build` (the inactive keys:
    as many as both sides have)."""
    spec = settings.spec
    create = spec.operation(CREATE_TOKEN)

    def token(
        body: Callable[[Probe], Any], headers: Callable[[Probe], dict[str, str]] | None = None
    ) -> Callable[[Probe], Request]:
        def build(probe: Probe) -> Request:
            sent = probe.auth() if headers is None else headers(probe)
            return Request(create.method, create.path, sent, json_body=body(probe))

        return build

    ok = Asked(frozenset({200}), "a valid request gets its token")
    yield Case("diff_documented_requests", "minimal", token(_minimal), ok)
    yield Case(
        "diff_documented_requests",
        "with an instance",
        token(lambda p: p.token_body(instanceId=p.settings.instance_id)),
        ok,
    )
    for language in _enum(create, "language"):
        yield Case(
            "diff_documented_requests",
            f"language {language}",
            token(partial(_overridden, {"language": language})),
            ok,
        )
    yield Case(
        "diff_documented_requests",
        "with a caller's name",
        token(partial(_overridden, {"callerName": "Rahul Sharma"})),
        ok,
    )

    wrong = Asked(frozenset({401}), "a request without a valid key gets 401", wrong_key=True)
    for name, headers in {
        "no Authorization": lambda p: {},
        "the key under another scheme": lambda p: {"Authorization": f"Basic {p.settings.api_key}"},
    }.items():
        yield Case("diff_wrong_keys", name, token(_minimal, headers), wrong)
    for name in wrong_keys(settings.api_key):
        yield Case(
            "diff_wrong_keys",
            name,
            token(_minimal, partial(_wrong_key, name)),
            wrong,
        )

    inactive = Asked(frozenset({403}), "an inactive subscription gets 403")
    for position in range(min(len(settings.inactive_keys), len(against.inactive_keys))):
        yield Case(
            "diff_documented_errors",
            f"inactive key #{position + 1}",
            token(_minimal, partial(_inactive_key, position)),
            inactive,
        )
    yield Case(
        "diff_documented_errors",
        "an unknown agent",
        token(partial(_overridden, {"agentId": UNKNOWN_ID})),
        Asked(frozenset({404}), "an unknown agent gets 404"),
    )
    if settings.inactive_agent_id and against.inactive_agent_id:
        yield Case(
            "diff_documented_errors",
            "an inactive agent",
            token(lambda p: p.token_body(agentId=p.settings.inactive_agent_id)),
            Asked(frozenset({404}), "an inactive agent gets 404"),
        )
    yield Case(
        "diff_documented_errors",
        "an unknown instance of the agent",
        token(partial(_overridden, {"instanceId": UNKNOWN_ID})),
    )

    for name, invalid in INVALID_BODIES.items():
        yield Case("diff_invalid_bodies", name, token(partial(_invalid, invalid)))
    yield Case(
        "diff_invalid_bodies",
        "a body that is not JSON",
        lambda p: Request(
            create.method,
            create.path,
            {**p.auth(), "Content-Type": JSON_MEDIA_TYPE},
            body=b"{agentId",
        ),
    )
    yield Case(
        "diff_invalid_bodies",
        "a body sent as text/plain",
        lambda p: Request(
            create.method,
            create.path,
            {**p.auth(), "Content-Type": "text/plain"},
            body=f'{{"agentId": "{p.settings.agent_id}"}}'.encode(),
        ),
    )
    yield from _generated(settings)


def _minimal(probe: Probe) -> dict[str, Any]:
    return probe.token_body()


def _overridden(overrides: dict[str, Any], probe: Probe) -> dict[str, Any]:
    return probe.token_body(**overrides)


def _invalid(invalid: Callable[[dict[str, Any]], dict[str, Any]], probe: Probe) -> dict[str, Any]:
    return invalid(probe.token_body())


def _wrong_key(name: str, probe: Probe) -> dict[str, str]:
    return probe.auth(wrong_keys(probe.settings.api_key)[name][0])


def _inactive_key(position: int, probe: Probe) -> dict[str, str]:
    return probe.auth(probe.settings.inactive_keys[position])


def _generated(settings: Settings) -> Iterator[Case]:
    """schemathesis's generated token requests, valid and invalid, from the run's seed: the
    same requests for A and B. A valid one is sent with each side's own agent."""
    from contract.fuzzing import generated_requests

    create = settings.spec.operation(CREATE_TOKEN)
    generated = generated_requests(settings, create, settings.max_examples)
    for number, request in enumerate(generated, 1):

        def build(probe: Probe, request: Generated = request) -> Request:
            headers = probe.auth()
            if request.media_type:
                headers["Content-Type"] = request.media_type
            body = request.body
            if request.mode == "positive" and isinstance(body, dict):
                body = {**body, "agentId": probe.settings.agent_id}
            if isinstance(body, bytes):
                return Request(create.method, create.path, headers, body=body)
            return Request(create.method, create.path, headers, json_body=body)

        yield Case("diff_generated", f"{request.mode} #{number}", build, repeat=False)


def _enum(operation: Operation, name: str) -> list[str]:
    schema = resolve_ref(
        operation.root, operation.document["requestBody"]["content"][JSON_MEDIA_TYPE]["schema"]
    )
    prop = resolve_ref(operation.root, schema.get("properties", {}).get(name, {}))
    return [value for value in prop.get("enum", []) if isinstance(value, str)]


# -- comparing -------------------------------------------------------------------------------


def _compare(case: Case, sides: list[Target], result: CheckResult, tally: dict[str, int]) -> None:
    a, b = sides
    with ThreadPoolExecutor(2) as pool:
        first = pool.submit(a.send, case.build(a.probe), case.asked)
        other = pool.submit(b.send, case.build(b.probe), case.asked)
        answer_a, answer_b = first.result(), other.result()
    noise: set[str] = set()
    if case.repeat:
        again = a.send(case.build(a.probe), case.asked)
        noise = _differing(shape(a.probe, answer_a.seen), shape(a.probe, again.seen))
    _record(case.name, answer_a, answer_b, noise, sides, result, tally)


def _record(
    name: str,
    answer_a: Answer,
    answer_b: Answer,
    noise: set[str],
    sides: list[Target],
    result: CheckResult,
    tally: dict[str, int],
) -> None:
    """Compare two answers to one request; a difference goes into `result`, weighed."""
    a, b = sides
    result.requests += 1
    shape_a, shape_b = shape(a.probe, answer_a.seen), shape(b.probe, answer_b.seen)
    differing = _differing(shape_a, shape_b) - noise
    if not differing:
        return
    difference = weigh(name, answer_a, answer_b, differing)
    shown_a, shown_b = a.shown(answer_a), b.shown(answer_b)
    violation = Violation(
        rule=describe(difference, shape_a, shape_b),
        curl=f"A: {answer_a.exchange.curl(shown_a)}\nB: {answer_b.exchange.curl(shown_b)}",
        response=f"A: {answer_a.exchange.response_text(shown_a)}\n"
        f"B: {answer_b.exchange.response_text(shown_b)}",
    )
    tally[str(difference.kind)] += 1
    if difference.kind is RuleKind.ASSUMED:
        result.warn(violation)
    else:
        result.fail(violation)


def shape(probe: Probe, seen: Seen) -> dict[str, str]:
    """What the contract documents of an answer, as aspect -> value: its status, its media
    type, its documented `error` message, each documented body field's JSON type, each
    documented header's presence. Never a value that varies by nature."""
    if seen.status is None:
        return {"status": "no answer"}
    aspects = {"status": str(seen.status)}
    operation = operation_of(probe.spec, seen.method, seen.path)
    response = operation.responses.get(seen.status) if operation else None
    if operation is None or response is None:
        return aspects
    for name in response.get("headers", {}):
        aspects[f"header {name}"] = "present" if seen.response_header(name.lower()) else "absent"
    media = response.get("content", {}).get(JSON_MEDIA_TYPE)
    if media is None:
        return aspects
    aspects["content type"] = media_type(seen.response_header("content-type")) or "none"
    body = seen.response_json()
    if not isinstance(body, dict):
        aspects["body"] = "not a JSON object"
        return aspects
    schema = resolve_ref(operation.root, media.get("schema", {}))
    for name in schema.get("properties", {}):
        aspects[f"field {name}"] = json_type(body[name]) if name in body else "absent"
    if operation.documented_errors(seen.status):
        aspects["error"] = repr(body.get("error"))
    return aspects


def _differing(one: dict[str, str], other: dict[str, str]) -> set[str]:
    if one.get("status") != other.get("status"):
        return {"status"}  # the rest follows from it
    return {key for key in one.keys() | other.keys() if one.get(key) != other.get(key)}


def weigh(
    name: str,
    answer_a: Answer,
    answer_b: Answer,
    differing: set[str],
) -> Difference:
    """The judge's verdicts on the two answers decide the difference's kind: the worst kind
    of the rules one side broke and the other kept; none: both legitimate (assumed)."""
    rules_a = {f.rule for f in answer_a.violations}
    rules_b = {f.rule for f in answer_b.violations}
    broken = [("A", f) for f in answer_a.violations if f.rule not in rules_b]
    broken += [("B", f) for f in answer_b.violations if f.rule not in rules_a]
    if not broken:
        return Difference(name, RuleKind.ASSUMED, sorted(differing), "both")
    kind = min((finding.kind for _, finding in broken), key=SEVERITY.index)
    breakers = {label for label, _ in broken}
    conforming = "neither" if len(breakers) == 2 else "B" if "A" in breakers else "A"
    return Difference(name, kind, sorted(differing), conforming, broken)


def describe(difference: Difference, shape_a: dict[str, str], shape_b: dict[str, str]) -> str:
    aspects = "; ".join(
        f"{aspect}: A {shape_a.get(aspect, '-')}, B {shape_b.get(aspect, '-')}"
        for aspect in difference.aspects
    )
    head = f"[{difference.kind}] {difference.name}: {aspects}"
    if difference.conforming == "both":
        return f"{head} (both keep the contract: a choice it leaves open)"
    rules = "; ".join(
        f"{label} broke {finding.rule}: expected {finding.expected}, seen {finding.seen}"
        for label, finding in difference.broken
    )
    who = {"A": "A conforms, B does not", "B": "B conforms, A does not"}.get(
        difference.conforming, "neither conforms"
    )
    return f"{head} ({who}: {rules})"


# -- the token lifecycle ---------------------------------------------------------------------


def _lifecycle(
    sides: list[Target],
    result: CheckResult,
    tally: dict[str, int],
    progress: Progress,
    sleep: Callable[[float], None],
) -> None:
    """Redeem, reuse, a never-issued token and expiry, alike on both, where both offer the
    redeem (a simulated operation: judged only where offered)."""
    redeem = sides[0].probe.spec.operation(REDEEM_TOKEN)

    def both(name: str, tokens: list[str], asked: Asked) -> None:
        answers = [
            side.send(_redeem(redeem, token), asked)
            for side, token in zip(sides, tokens, strict=True)
        ]
        _record(name, answers[0], answers[1], set(), sides, result, tally)

    tokens = _issue(sides)
    if tokens is None:
        result.not_verified("a side issued no token to a valid request")
        return
    first = [side.send(_redeem(redeem, token)) for side, token in zip(sides, tokens, strict=True)]
    missing = [side.label for side, answer in zip(sides, first, strict=True) if not _offers(answer)]
    if missing:
        result.not_verified(
            f"{' and '.join(missing)} does not offer the redeem: the lifecycle is not compared"
        )
        return
    _record("redeem a fresh token", first[0], first[1], set(), sides, result, tally)
    both("redeem the same token again", tokens, Asked(frozenset({409}), "a token is redeemed once"))
    never = [f"rt_contract_never_issued_{uuid.uuid4().hex}" for _ in sides]
    both(
        "redeem a token never issued", never, Asked(frozenset({401}), "an unknown token is refused")
    )
    tokens = _issue(sides)
    if tokens is None:
        result.not_verified("a side issued no token for the expiry")
        return
    lifetime = sides[0].probe.spec.token_lifetime_seconds
    past = lifetime + max(1.0, lifetime * 0.1)
    if all(side.probe.has_clock for side in sides):
        for side in sides:
            side.probe.advance_clock(past)
            side.memory.clock_offset += past
        how = f"both clocks moved {past:g} s"
    else:
        progress(f"waiting {past:g} s in real time for both sides' tokens to expire")
        sleep(past)
        how = f"waited {past:g} s in real time"
    expired = Asked(frozenset({401}), f"a token lives {lifetime:g} s, no more")
    both(f"redeem a token past its lifetime ({how})", tokens, expired)


def _issue(sides: list[Target]) -> list[str] | None:
    """A fresh token from each side, through the judge (so its memory dates it)."""
    tokens = []
    for side in sides:
        create = side.probe.create
        answer = side.send(
            Request(
                create.method, create.path, side.probe.auth(), json_body=side.probe.token_body()
            )
        )
        body = answer.seen.response_json()
        token = body.get("accessToken") if isinstance(body, dict) else None
        if answer.seen.status != 200 or not isinstance(token, str):
            return None
        tokens.append(token)
    return tokens


def _redeem(operation: Operation, token: str) -> Request:
    return Request(operation.method, operation.path, {}, json_body={"accessToken": token})


def _offers(answer: Answer) -> bool:
    """A side offers the redeem when a fresh token's redeem gets an answer other than an
    unrouted path's (`probe.UNROUTED`): the harness's `redeem_available` rule."""
    return answer.seen.status is not None and answer.seen.status not in UNROUTED
