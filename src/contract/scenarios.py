"""documented_errors: every documented error of the token endpoint is met, as documented.

Most errors are reached by plain requests (the other checks' 401s, 403s and 404s; an invalid
body, a wrong media type, an oversized body here). A 500 cannot be provoked from outside, so
where the target is the mock and serves its scenarios (GET /_mock/scenarios), every shipped
scenario is driven with the `X-Mock-Scenario` header, and Prism's `Prefer: code=N` is tried
for every documented error of both operations (each named example too); each answer must be
exactly what the spec says. Against any other target the statuses nobody could provoke are
reported NOT VERIFIED.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from typing import Any
from urllib.parse import urlsplit

from contract.outcomes import CheckResult, Exchange
from contract.probe import Probe
from mockplatform.core.spec import Operation, RuleKind, response_kind

SCENARIO_HEADER = "X-Mock-Scenario"
REQUESTS_PER_SCENARIO = 3
MAX_PARALLEL = 16
OVERSIZED_BODY_BYTES = 1024 * 1024 + 1


def observed_errors(probe: Probe) -> set[int]:
    """Error statuses of the token endpoint seen so far in the run, with their documented body."""
    create = probe.create
    seen = set()
    for exchange in list(probe.exchanges):
        if exchange.status is None or exchange.status < 400:
            continue
        if exchange.method != create.method or urlsplit(exchange.url).path != create.path:
            continue
        if probe.expect(create, exchange, {exchange.status}) is None:
            seen.add(exchange.status)
    return seen


def documented_errors(probe: Probe, result: CheckResult) -> None:
    _malformed_requests(probe, result)
    scenarios = _scenario_names(probe)
    if scenarios is not None:
        _drive_scenarios(probe, result, scenarios)
        _prefer_each_error(probe, result)
    # An assumed error (400, 413, 415) answered otherwise was warned about, with what was sent.
    wanted = {
        status
        for status in probe.create.responses
        if status >= 400 and response_kind(probe.create, status) is not RuleKind.ASSUMED
    }
    missing = sorted(wanted - observed_errors(probe))
    if not missing:
        if scenarios is not None:
            tolerated = f"; {result.note}" if result.note else ""
            result.note = f"{len(scenarios)} scenarios driven{tolerated}"
        return
    shown = ", ".join(str(status) for status in missing)
    if scenarios is not None:
        result.fail(
            probe.violation(
                f"documented {probe.create.title} error(s) {shown} never appeared under any of "
                f"the {len(scenarios)} shipped scenarios ({', '.join(scenarios)})"
            )
        )
    elif probe.is_mock:
        result.not_verified(
            f"{shown} not provoked: the mock does not serve GET /_mock/scenarios (yet)"
        )
    else:
        result.not_verified(
            f"{shown} not provoked: only the mock's scenarios can make the target fail on purpose"
        )


def _judge(probe: Probe, result: CheckResult, exchange: Exchange, context: str) -> None:
    probe.require(result, probe.create, exchange, set(probe.create.responses), context)


def _malformed_requests(probe: Probe, result: CheckResult) -> None:
    """An invalid body, a non-JSON media type and an oversized body, with a valid key; each
    judged and reported by what was actually sent."""
    agent = probe.settings.agent_id or ""
    oversized = b'{"agentId": "%s", "callerName": "%s"}' % (
        agent.encode(),
        b"x" * OVERSIZED_BODY_BYTES,
    )
    plain = f'{{"agentId": "{agent}"}}'.encode()
    requests: list[tuple[str, set[int], dict[str, Any]]] = [
        ("a body that breaks the schema (a JSON array)", {400}, {"body": []}),
        (
            "a JSON body sent as text/plain",
            {415},
            {"headers": {**probe.auth(), "Content-Type": "text/plain"}, "content": plain},
        ),
        (
            f"an oversized body ({len(oversized):,} bytes)",
            {413},
            {"headers": {**probe.auth(), "Content-Type": "application/json"}, "content": oversized},
        ),
    ]
    for what, statuses, sent in requests:
        exchange = probe.request_token(**sent)
        if exchange.status is not None and exchange.status < 300 and "content" in sent:
            # Reading JSON sent as text/plain, or a body larger than we assumed, is the
            # target's choice where the documentation is silent: lenient, not wrong.
            result.requests += 1
            result.warn(probe.violation(f"{what}: accepted ({exchange.status})", exchange))
            continue
        probe.require(result, probe.create, exchange, statuses, f"{what} sent")


def _scenario_names(probe: Probe) -> list[str] | None:
    if not probe.is_mock:
        return None
    exchange = probe.send("GET", "/_mock/scenarios", record=False)
    body = exchange.json()
    if exchange.status != 200 or not isinstance(body, dict):
        return None
    return [item["name"] for item in body.get("scenarios", []) if isinstance(item, dict)]


def _drive_scenarios(probe: Probe, result: CheckResult, names: list[str]) -> None:
    """Every request of every scenario at once: a slow scenario costs its delay once."""

    def drive(name: str) -> Exchange:
        return probe.request_token(headers={**probe.auth(), SCENARIO_HEADER: name})

    planned = [name for name in names for _ in range(REQUESTS_PER_SCENARIO)]
    faults = 0
    with ThreadPoolExecutor(min(len(planned), MAX_PARALLEL) or 1) as pool:
        for name, exchange in zip(planned, pool.map(drive, planned), strict=True):
            # A scenario may inject network faults: a dropped connection or a broken body is
            # the scenario's point, not a contract violation.
            if exchange.status is None or exchange.json() is None:
                faults += 1
                continue
            _judge(probe, result, exchange, f"under scenario {name!r}")
    if faults:
        result.note = f"{faults} injected network faults tolerated"


def _prefer_each_error(probe: Probe, result: CheckResult) -> None:
    """Prism's convention: `Prefer: code=N[, example=NAME]` answers that documented error."""
    for operation in (probe.create, probe.redeem_op):
        for status in sorted(code for code in operation.responses if code >= 400):
            names: list[str | None] = [*operation.example_names(status)] or [None]
            for name in names:
                prefer = f"code={status}" + (f", example={name}" if name else "")
                headers = {"Prefer": prefer}
                if operation is probe.create:
                    exchange = probe.request_token(headers={**probe.auth(), **headers})
                else:
                    exchange = probe.send(
                        operation.method,
                        operation.path,
                        headers=headers,
                        json_body={"accessToken": "contract-prefer"},
                    )
                result.requests += 1
                rule = probe.expect(operation, exchange, {status}) or _named(
                    operation, exchange, status, name
                )
                if rule is not None:
                    result.fail(probe.violation(f"Prefer: {prefer}: {rule}", exchange))


def _named(operation: Operation, exchange: Exchange, status: int, name: str | None) -> str | None:
    """With `example=NAME`, the body says that example's `error`, not another's."""
    if name is None:
        return None
    wanted = operation.example(status, name).get("error")
    said = (exchange.json() or {}).get("error")
    return None if said == wanted else f"example {name!r} says error {wanted!r}, not {said!r}"
