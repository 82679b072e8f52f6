"""One run of the harness: check the target is testable, then every check, into one `Report`.

Order matters: the realtime lifetime check starts first and waits in the background; the
scripted checks and schemathesis run meanwhile; the fast lifetime check runs last because
moving the target's clock would expire the tokens other checks are still using;
`no_api_key_echo` looks at every exchange of the run, so it comes after everything else.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from contract import checks, scenarios
from contract.fuzzing import run_schemathesis
from contract.lifetime import LifetimeCheck
from contract.outcomes import CheckResult, Report
from contract.probe import Probe
from contract.settings import CouldNotTest, Settings

Progress = Callable[[str], None]
GATEWAY_ERRORS = (502, 503, 504)


def _quiet(message: str) -> None:
    return None


def run(settings: Settings, progress: Progress = _quiet) -> Report:
    """Test the target at `settings.base_url`; raises `CouldNotTest` if it cannot be tested."""
    started = time.monotonic()
    report = Report(base_url=settings.base_url, strict=settings.strict)
    probe = Probe(settings)
    try:
        preflight(probe)
        progress(f"checking {settings.base_url} against {settings.spec.path.name}")
        report.facts.append(
            "target: the mock (control API answers)" if probe.is_mock else "target: not the mock"
        )
        lifetime = LifetimeCheck(probe, settings.expiry, progress)
        if settings.wants(lifetime.result.name):
            lifetime.start()
        for check in checks.CHECKS:
            if check.name != "no_api_key_echo" and settings.wants(check.name):
                _record(report, check.run(probe), progress)
        if settings.phases and (settings.only is None or _wants_fuzzing(settings)):
            fuzz = run_schemathesis(
                settings,
                probe.secrets,
                include_redeem=probe.redeem_available,
                progress=progress,
            )
            report.facts.append(f"schemathesis: {fuzz.cases} generated requests")
            for error in fuzz.errors:
                report.facts.append(f"schemathesis error: {error}")
            for name, result in fuzz.checks.items():
                if settings.wants(name):
                    _record(report, result, progress)
        if settings.wants(scenarios.NAME):
            _record(report, scenarios.documented_errors(probe), progress)
        if settings.wants(lifetime.result.name):
            _record(report, lifetime.finish(), progress)
        if settings.wants("no_api_key_echo"):
            _record(report, checks.no_api_key_echo(probe), progress)
    finally:
        probe.close()
    report.elapsed = time.monotonic() - started
    return report


def _wants_fuzzing(settings: Settings) -> bool:
    from contract.fuzzing import DESCRIPTIONS, STATEFUL

    assert settings.only is not None
    ours = {"auth_first", "no_api_key_echo", "unique_ids"}
    return bool(settings.only & (set(DESCRIPTIONS) | {STATEFUL} | ours))


def _record(report: Report, result: CheckResult, progress: Progress) -> None:
    merged = report.add(result)
    progress(f"{merged.name}: {merged.outcome}")


def preflight(probe: Probe) -> None:
    """Refuse to test (exit 2) when the target is down or our arguments cannot work."""
    settings = probe.settings
    exchange = probe.request_token(record=False)
    if exchange.status is None:
        raise CouldNotTest(f"cannot reach {settings.base_url}: {exchange.transport_error}")
    message = (exchange.json() or {}).get("error") if isinstance(exchange.json(), dict) else None
    documented = probe.documented_message(probe.create, exchange) is None and message
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
    if exchange.status in (404, 405) and not documented:
        raise CouldNotTest(
            f"{settings.base_url} has no {probe.create.title} ({exchange.status}); check --base-url"
        )
