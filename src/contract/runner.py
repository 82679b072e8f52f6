"""One run of the harness: check the target is testable, then each selected check, in order.

The order is contract.registry's: the lifetime check starts first (realtime waits in the
background), the scripted checks and schemathesis run meanwhile, the fast lifetime check
finishes after them (moving the target's clock would expire the tokens others still use), and
the checks that judge the whole run's traffic come last. Only selected checks send anything.

Every request goes through one `Traffic`: when `--max-requests` is spent the checks that could
not finish are NOT VERIFIED; when a gateway throttles beyond the run's patience the run stops
(exit 2). The report is filled as the run goes, so whoever holds it can write what was found
even when the run stops early (exit 2, SIGINT, SIGTERM).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from urllib.parse import urlsplit

from contract.fuzzing import SERVER_ERROR, run_schemathesis
from contract.lifetime import LifetimeCheck
from contract.outcomes import CheckResult, Coverage, Report
from contract.probe import Probe, error_message
from contract.registry import BY_NAME, CHECKS, Check, Stage, description
from contract.settings import ContractError, CouldNotTest, Settings, request_example
from contract.traffic import BudgetExhausted, Traffic
from mockplatform.core.judge import NO_SERVER_ERROR, PREFER, RULES, SCENARIO_HEADER
from mockplatform.core.spec import CREATE_TOKEN

Progress = Callable[[str], None]
GATEWAY_ERRORS = (502, 503, 504)
INACTIVE_SUBSCRIPTIONS = ("cancelled", "trial_expired")


def _quiet(message: str) -> None:
    return None


def run(settings: Settings, progress: Progress = _quiet, report: Report | None = None) -> Report:
    """Test the target at `settings.base_url`; raises `ContractError` if it cannot be tested
    (after setting `report.could_not_test`, so a report passed in can still be written)."""
    started = time.monotonic()
    if report is None:
        report = Report(base_url=settings.base_url)
    report.strict, report.allowed = settings.strict, settings.allow
    traffic = Traffic(settings.max_requests, settings.rate)
    probe = Probe(settings, traffic)
    selected = [check for check in CHECKS if settings.wants(check.name)]
    try:
        preflight(probe)
        progress(f"checking {settings.base_url} against {settings.spec.path.name}")
        report.facts.append(
            "target: the mock (control API answers)" if probe.is_mock else "target: not the mock"
        )
        discover(probe, report)
        lifetime = LifetimeCheck(probe, settings.expiry, progress)
        if any(check.stage is Stage.LIFETIME for check in selected):
            _attempt(lambda: lifetime.start(), lifetime.result)
        fuzzed = False
        for check in selected:
            if check.stage is Stage.SCHEMATHESIS:
                if not fuzzed and settings.phases and not traffic.exhausted:
                    _fuzz(probe, report, selected, progress)
                fuzzed = True
                if traffic.exhausted and report.get(check.name) is None:
                    spent = CheckResult(check.name)
                    spent.not_verified(f"--max-requests {settings.max_requests} spent before it")
                    _record(report, spent, progress)
            elif check.stage is Stage.LIFETIME:
                _record(report, _attempt(lifetime.finish, lifetime.result), progress)
            elif check.run is not None:
                result = CheckResult(check.name)
                _attempt(lambda run=check.run, r=result: run(probe, r), result)  # type: ignore[misc]
                _record(report, result, progress)
        if settings.wants(SERVER_ERROR):
            _server_errors(probe, report, progress)
        for result in report.checks:
            result.settle()  # once every source has spoken: schemathesis's hooks, our requests
        order = {name: position for position, name in enumerate(BY_NAME)}
        report.checks.sort(key=lambda result: order.get(result.name, len(order)))
    except ContractError as exc:
        report.could_not_test = str(exc)
        raise
    finally:
        probe.close()
        report.elapsed = time.monotonic() - started
        report.counts = traffic.counts()
        report.coverage = coverage(probe, traffic)
        if traffic.exhausted:
            report.facts.append(f"--max-requests {settings.max_requests} spent: the run stopped")
        if probe.bodies.dropped:
            report.facts.append(
                f"{probe.bodies.dropped} long request bodies not written to files (the limit "
                f"is {probe.bodies.limit}): their curl shows them cut short"
            )
    return report


def _attempt(body: Callable[[], object], result: CheckResult) -> CheckResult:
    """Run one check's requests; a spent budget leaves it NOT VERIFIED (a FAIL seen stays)."""
    try:
        body()
    except BudgetExhausted as exc:
        result.not_verified(f"{exc} before this check could finish")
    return result


def _fuzz(probe: Probe, report: Report, selected: list[Check], progress: Progress) -> None:
    names = [c.name for c in selected if c.stage is Stage.SCHEMATHESIS or c.hooked]
    try:
        fuzz = run_schemathesis(
            probe.settings,
            probe.secrets,
            checks=names,
            traffic=probe.traffic,
            include_redeem=probe.redeem_available,
            progress=progress,
        )
    except BudgetExhausted:
        return  # spent before schemathesis could start: its checks are NOT VERIFIED
    if probe.traffic.gave_up:
        raise ContractError(probe.traffic.gave_up)
    report.facts.append(f"schemathesis: {fuzz.cases} generated requests")
    for error in fuzz.errors:
        report.facts.append(f"schemathesis: {error}")
    for name, result in fuzz.checks.items():
        if probe.settings.wants(name):
            _record(report, result, progress)


def _server_errors(probe: Probe, report: Report, progress: Progress) -> None:
    """not_a_server_error holds of the whole run: a 5xx that our own requests got (unless the
    request asked for it: `Prefer: code=N`, the mock's scenarios) fails it too, so that no
    PASS for it stands beside a 5xx listed under another check."""
    result = CheckResult(SERVER_ERROR)
    says = RULES[NO_SERVER_ERROR].says
    for exchange in list(probe.exchanges):
        asked = {name.lower() for name in exchange.headers} & {PREFER, SCENARIO_HEADER}
        if exchange.status is None or exchange.status < 500 or asked:
            continue
        result.requests += 1
        path = urlsplit(exchange.url).path
        rule = f"{says}: {exchange.method} {path} answered {exchange.status}"
        result.fail(probe.violation(rule, exchange))
    if result.requests:
        _record(report, result, progress)


def _record(report: Report, result: CheckResult, progress: Progress) -> None:
    if not result.description:
        result.description = description(result.name)
    merged = report.add(result)
    progress(f"{merged.name}: {merged.outcome}")


def preflight(probe: Probe) -> None:
    """Refuse to test (exit 2) when the target is down or our arguments cannot work."""
    settings = probe.settings
    exchange = probe.request_token(record=False)
    if exchange.status is None:
        raise CouldNotTest(f"cannot reach {settings.base_url}: {exchange.transport_error}")
    message = error_message(exchange)
    documented = probe.expect(probe.create, exchange, {exchange.status}) is None and message
    if exchange.status == 401 and documented:
        raise CouldNotTest(f"the target rejects --api-key (401 {message!r}); pass a key it accepts")
    if exchange.status == 403 and documented:
        raise CouldNotTest(
            f"--api-key's subscription is inactive (403 {message!r}); pass an active key"
        )
    if exchange.status == 404 and documented:
        raise CouldNotTest(
            f"the target answers 404 {message!r} for --agent-id {settings.agent_id}; "
            "pass an active agent's id"
        )
    if exchange.status in GATEWAY_ERRORS:
        raise CouldNotTest(
            f"{settings.base_url} answers {exchange.status} (a gateway's: the service behind it "
            "is down or unreachable)"
        )
    if exchange.status >= 500:
        # Nothing could be judged: every check would see the same failure and prove nothing.
        shown = f" {message!r}" if message else ""
        raise CouldNotTest(
            f"{settings.base_url} answers {exchange.status}{shown} to a valid token request; "
            "its platform side is failing"
        )
    if exchange.status in (404, 405) and not documented:
        raise CouldNotTest(
            f"{settings.base_url} has no {probe.create.title} ({exchange.status}); check --base-url"
        )
    if exchange.status not in probe.create.responses:
        raise CouldNotTest(
            f"{settings.base_url} answers {exchange.status}, which the spec does not document, "
            "to a valid token request (a gateway in front of it? see --header)"
        )


def discover(probe: Probe, report: Report) -> None:
    """Fill what was not given: from the mock's /_mock/world, else the spec's example."""
    settings = probe.settings
    world = _world(probe)
    if world is not None:
        found = []
        if not settings.inactive_keys:
            for subscription in INACTIVE_SUBSCRIPTIONS:  # one key of each kind
                key = next(
                    (
                        account.get("apiKey")
                        for account in world.get("accounts", [])
                        if account.get("subscription") == subscription and account.get("apiKey")
                    ),
                    None,
                )
                if key:
                    probe.add_inactive_key(key)
            if settings.inactive_keys:
                found.append(f"{len(settings.inactive_keys)} inactive keys")
        if settings.inactive_agent_id is None:
            settings.inactive_agent_id = next(
                (a.get("id") for a in world.get("agents", []) if a.get("active") is False), None
            )
            found += ["an inactive agent"] if settings.inactive_agent_id else []
        instances = world.get("instances", [])
        if settings.instance_id is None:
            settings.instance_id = next(
                (i.get("id") for i in instances if i.get("agentId") == settings.agent_id), None
            )
            found += ["an instance of the agent"] if settings.instance_id else []
        if settings.other_instance_id is None:
            settings.other_instance_id = next(
                (i.get("id") for i in instances if i.get("agentId") != settings.agent_id), None
            )
            found += ["an instance of another agent"] if settings.other_instance_id else []
        if found:
            report.facts.append(f"from /_mock/world: {', '.join(found)}")
    if settings.instance_id is None:
        example = request_example(settings.spec.operation(CREATE_TOKEN).document)
        settings.instance_id = example.get("instanceId")


def _world(probe: Probe) -> dict | None:
    if not probe.is_mock:
        return None
    body = probe.send("GET", "/_mock/world", record=False).json()
    return body if isinstance(body, dict) else None


def coverage(probe: Probe, traffic: Traffic) -> list[Coverage]:
    """Per operation of the spec, which documented statuses the run saw answered."""
    found = []
    for operation in probe.spec.operations.values():
        seen = {
            status
            for (method, path, status) in traffic.statuses
            if method == operation.method and path == operation.path
        }
        documented = set(operation.responses)
        found.append(
            Coverage(
                operation=operation.title,
                observed=sorted(seen & documented),
                never=sorted(documented - seen),
                undocumented=sorted(seen - documented),
            )
        )
    return found
