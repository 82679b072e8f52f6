"""The schemathesis part of a run: generated requests, its built-in checks and ours, and the links.

Runs schemathesis's own engine (the one behind `schemathesis run`) over openapi.yaml against
the target — examples, coverage, fuzzing and stateful phases — with our hooks loaded, and
folds what it found into one `CheckResult` per check name, plus `stateful_links` for the
spec's link from createWidgetToken to redeemWidgetToken.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field

from contract.outcomes import CheckResult, Violation, mask
from contract.settings import PHASES, ContractError, Settings
from mockplatform.spec import REDEEM_TOKEN

ALL_PHASES = PHASES
STATEFUL = "stateful_links"
STATEFUL_DESCRIPTION = (
    "schemathesis follows the spec's links (createWidgetToken 200 -> redeemWidgetToken) and "
    "every response on the way conforms"
)
# Errors that say the target stopped answering, as opposed to schemathesis's own trouble.
TARGET_ERRORS = {"Network Error", "Unresponsive Operation", "Unhealthy API", "Server Unavailable"}
ANSWERS = "answers_every_request"
RUN = "schemathesis_run"
DESCRIPTIONS = {
    "not_a_server_error": "no generated input, valid or not, gets a 5xx",
    "status_code_conformance": "every status code returned is documented for its operation",
    "content_type_conformance": "every response has a documented content type",
    "response_headers_conformance": "documented response headers are present and valid",
    "response_schema_conformance": "every response body matches the spec's schema for its status",
    "negative_data_rejection": "requests that break the schema are rejected with a 4xx",
    "positive_data_acceptance": "requests that satisfy the schema are accepted",
    "missing_required_header": "a request missing a required header (Authorization) is refused",
    "unsupported_method": "an undocumented method gets 405 with Allow",
    "ignored_auth": "an operation that requires authentication enforces it",
    "allow_header_conformance": "a 405 lists the allowed methods in Allow",
    ANSWERS: "every generated request gets an HTTP response (no dropped connection, no timeout)",
    RUN: "schemathesis ran every phase without an error of its own",
    "use_after_free": "a deleted resource stays gone",
    "ensure_resource_availability": "a created resource is available",
    "object_level_authorization": "one caller cannot read another's objects",
}


@dataclass
class FuzzOutcome:
    checks: dict[str, CheckResult] = field(default_factory=dict)
    cases: int = 0
    links_followed: int = 0
    errors: list[str] = field(default_factory=list)


def run_schemathesis(
    settings: Settings,
    secrets: dict[str, str],
    *,
    include_redeem: bool,
    progress: Callable[[str], None],
) -> FuzzOutcome:
    """Run schemathesis's engine against the target and collect its verdicts by check name."""
    from contract import hooks

    previous = hooks.configure(settings.api_key)
    try:
        return _run_engine(settings, secrets, include_redeem, progress)
    finally:
        hooks.configure(previous)  # schemathesis's check registry is process-wide: leave no key


def _run_engine(
    settings: Settings,
    secrets: dict[str, str],
    include_redeem: bool,
    progress: Callable[[str], None],
) -> FuzzOutcome:
    import schemathesis
    from schemathesis.engine import events, from_schema

    config = schemathesis.Config.from_dict(
        {
            "seed": settings.seed,
            # No crash cache: a run depends on its arguments only, not on what an earlier run
            # left in the working directory.
            "cache": {"enabled": False},
            "base-url": settings.base_url,
            "headers": {"Authorization": f"Bearer {settings.api_key}"},
            "request-timeout": settings.timeout,
            # Nor a Hypothesis example database: the seed alone decides what is generated.
            "generation": {"max-examples": settings.max_examples, "database": "none"},
            # The link leads to the redeem operation: without it there is nothing to follow.
            "phases": {
                name: {
                    "enabled": name in settings.phases and (include_redeem or name != "stateful")
                }
                for name in ALL_PHASES
            },
        }
    )
    try:
        schema = schemathesis.openapi.from_path(settings.spec.path, config=config)
    except Exception as exc:  # schemathesis's loader errors share no public base class
        raise ContractError(f"{settings.spec.path}: schemathesis cannot load it: {exc}") from None
    if not include_redeem:
        schema = schema.exclude(operation_id=REDEEM_TOKEN)

    outcome = FuzzOutcome()
    stateful_ran = False
    for event in from_schema(schema).execute():
        if isinstance(event, events.PhaseStarted) and event.phase.name.value in ALL_PHASES:
            progress(f"schemathesis: {event.phase.name.value} phase")
        elif isinstance(event, events.PhaseFinished) and event.phase.name.value == "stateful":
            stateful_ran = event.status.value != "skip"
        elif isinstance(event, events.ScenarioFinished):
            _collect(outcome, event, secrets)
        elif isinstance(event, events.NonFatalError):
            _error(outcome, event, secrets)
        elif isinstance(event, events.FatalError):
            raise ContractError(f"schemathesis stopped: {event.exception}")
        elif isinstance(event, events.EngineFinished):
            for failure in event.failures or []:
                name = getattr(failure, "check_name", None) or "after_run"
                _result(outcome, name).fail(Violation(rule=_rule(failure)))
    links = CheckResult(STATEFUL, STATEFUL_DESCRIPTION, requests=outcome.links_followed)
    if "stateful" not in settings.phases:
        links.not_verified("the stateful phase was not run")
    elif not include_redeem:
        links.not_verified("the target does not serve redeemWidgetToken")
    elif not stateful_ran or outcome.links_followed == 0:
        links.not_verified("schemathesis followed no link")
    else:
        links.note = f"{outcome.links_followed} link steps followed"
    outcome.checks[STATEFUL] = links
    return outcome


def _error(outcome: FuzzOutcome, event, secrets: dict[str, str]) -> None:  # type: ignore[no-untyped-def]
    """A target that stops answering is a violation; schemathesis's own trouble is not a PASS."""
    info = event.info
    text = mask(f"{event.label}: {info.title}: {info.message}".strip(), secrets)
    outcome.errors.append(text)
    if info.title in TARGET_ERRORS:
        curl = _mask_curl(info.code_sample, secrets) if info.code_sample else ""
        _result(outcome, ANSWERS).fail(Violation(rule=text, curl=curl))
    else:
        _result(outcome, RUN).not_verified(f"schemathesis reported an error of its own: {text}")


def _result(outcome: FuzzOutcome, name: str) -> CheckResult:
    if name not in outcome.checks:
        description = DESCRIPTIONS.get(name, "schemathesis check")
        outcome.checks[name] = CheckResult(name, description)
    return outcome.checks[name]


def _collect(outcome: FuzzOutcome, event, secrets: dict[str, str]) -> None:  # type: ignore[no-untyped-def]
    recorder = event.recorder
    outcome.cases += len(recorder.cases)
    is_stateful = event.phase.value == "stateful"
    for case_id, node in recorder.cases.items():
        if is_stateful and node.transition is not None and node.is_transition_applied:
            outcome.links_followed += 1
        for check in recorder.checks.get(case_id, []):
            result = _result(outcome, check.name)
            result.requests += 1
            info = check.failure_info
            if info is None or check.status.value != "failure":
                continue
            response = recorder.find_response(case_id=info.failure.case_id or case_id)
            result.fail(
                Violation(
                    rule=mask(_rule(info.failure), secrets),
                    curl=_mask_curl(info.code_sample, secrets),
                    response=mask(_response_text(response), secrets),
                )
            )


def _rule(failure) -> str:  # type: ignore[no-untyped-def]
    message = (getattr(failure, "message", "") or "").strip()
    title = getattr(failure, "title", "") or type(failure).__name__
    return f"{title}: {message}" if message else title


def _mask_curl(sample: str, secrets: dict[str, str]) -> str:
    sample = re.sub(r"^.*?(curl )", r"\1", sample.strip(), count=1, flags=re.S)
    for value, expression in secrets.items():
        sample = sample.replace(
            f"'Authorization: Bearer {value}'", f'"Authorization: Bearer {expression}"'
        )
    return mask(sample, secrets)


def _response_text(response) -> str:  # type: ignore[no-untyped-def]
    if response is None:
        return "(no response)"
    content_type = response.headers.get("content-type", [""])
    content_type = content_type[0] if isinstance(content_type, list) else content_type
    body = response.content.decode("utf-8", "replace")
    if len(body) > 600:
        body = body[:600] + f"... ({len(response.content)} bytes)"
    return f"HTTP {response.status_code} {content_type}\n{body}".rstrip()
