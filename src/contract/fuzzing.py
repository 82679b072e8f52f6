"""The schemathesis part of a run: generated requests, its built-in checks and ours, and the links.

Runs schemathesis's own engine (the one behind `schemathesis run`) over openapi.yaml against
the target — examples, coverage, fuzzing and stateful phases — with our hooks loaded and only
the selected checks on, and folds what it found into one `CheckResult` per check name, plus
`stateful_links` for the spec's link from createWidgetToken to redeemWidgetToken.

Judged by the core's judge (`mockplatform.core.judge`), as the validation proxy judges the
same exchange: a failure stands only where the judge finds a platform-side violation;
otherwise (our assumptions, a lenient answer to a request that broke a documented rule, a
rule the judge does not hold) it is a WARN. A response
that could not show a check's rule (a 5xx to anything but not_a_server_error, a 429) does not
count for it: a check left with none is NOT VERIFIED.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from contract.outcomes import CheckResult, Violation, mask
from contract.probe import REDEEM_OFFERED
from contract.settings import PHASES, ContractError, Settings
from contract.traffic import THROTTLED, Traffic
from mockplatform.core.spec import REDEEM_TOKEN, Operation, Spec

if TYPE_CHECKING:  # schemathesis is imported only when a run needs it
    from schemathesis import Response
    from schemathesis.core.failures import Failure
    from schemathesis.engine.events import NonFatalError, ScenarioFinished

ALL_PHASES = PHASES
STATEFUL = "stateful_links"
# Errors that say the target stopped answering, as opposed to schemathesis's own trouble.
TARGET_ERRORS = {"Network Error", "Unresponsive Operation", "Unhealthy API", "Server Unavailable"}
ANSWERS = "answers_every_request"
RUN = "schemathesis_run"
SERVER_ERROR = "not_a_server_error"
CAPABILITY_PROBES = 2  # schemathesis.engine.run.probes.PROBES in 4.32
# Ours, not schemathesis's: results it produces by other means than a check of that name.
DERIVED = {ANSWERS, RUN, STATEFUL}


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
    checks: Iterable[str],
    traffic: Traffic,
    include_redeem: bool,
    progress: Callable[[str], None],
) -> FuzzOutcome:
    """Run schemathesis's engine against the target with only `checks` on, every request
    through `traffic`, and collect its verdicts by check name."""
    from contract import hooks

    outcome = FuzzOutcome()
    judged = _judge(outcome, settings.spec, secrets)
    previous = hooks.configure(settings.api_key, traffic, judged, settings.spec)
    try:
        return _run_engine(
            outcome, settings, secrets, set(checks), traffic, include_redeem, progress
        )
    finally:
        hooks.configure(previous)  # schemathesis's registries are process-wide: leave no key


def _run_engine(
    outcome: FuzzOutcome,
    settings: Settings,
    secrets: dict[str, str],
    checks: set[str],
    traffic: Traffic,
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
            # No "[Filtered]" in its code samples: a curl must replay as printed, so the key
            # is written as $CONTRACT_API_KEY by our masking instead (_mask_curl).
            "output": {"sanitization": {"enabled": False}},
            "base-url": settings.base_url,
            "headers": {**settings.headers, "Authorization": f"Bearer {settings.api_key}"},
            "request-timeout": settings.timeout,
            # Only the selected checks: schemathesis's and our hooks alike.
            "checks": {
                "enabled": False,
                **{name: {"enabled": True} for name in checks - DERIVED},
            },
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
    schema: schemathesis.BaseSchema
    try:
        schema = schemathesis.openapi.from_path(settings.spec.path, config=config)
    except Exception as exc:  # schemathesis's loader errors share no public base class
        raise ContractError(f"{settings.spec.path}: schemathesis cannot load it: {exc}") from None
    if not include_redeem:
        schema = schema.exclude(operation_id=REDEEM_TOKEN)

    # schemathesis first probes the server's capabilities with requests of its own, past
    # the hooks: they are taken from the budget here (an upper bound: some never leave).
    for _ in range(CAPABILITY_PROBES):
        traffic.admit()
    stateful_ran = False
    stream = from_schema(schema).execute()
    for event in stream:
        if traffic.exhausted or traffic.gave_up:
            stream.stop()  # the budget is spent or the gateway keeps refusing: send no more
        if isinstance(event, events.PhaseStarted) and event.phase.name.value in ALL_PHASES:
            progress(f"schemathesis: {event.phase.name.value} phase")
        elif isinstance(event, events.PhaseFinished) and event.phase.name.value == "stateful":
            stateful_ran = event.status.value != "skip"
        elif isinstance(event, events.ScenarioFinished):
            _collect(outcome, event, secrets)
        elif isinstance(event, events.NonFatalError):
            if not (traffic.exhausted or traffic.gave_up):
                _error(outcome, event, secrets)
        elif isinstance(event, events.FatalError):
            raise ContractError(f"schemathesis stopped: {event.exception}")
        elif isinstance(event, events.EngineFinished):
            for failure in event.failures or []:
                name = getattr(failure, "check_name", None) or "after_run"
                _result(outcome, name).fail(Violation(rule=_rule(failure)))
    if traffic.exhausted:
        outcome.errors.append(f"stopped: --max-requests {traffic.max_requests} spent")
    for name in checks - {STATEFUL}:
        _result(outcome, name)  # a selected check that saw nothing is reported, not dropped
    for name in (ANSWERS, RUN):
        if name in checks:
            _result(outcome, name).requests += outcome.cases
    links = CheckResult(STATEFUL, requests=outcome.links_followed)
    if "stateful" not in settings.phases:
        links.not_verified("the stateful phase was not run")
    elif not include_redeem:
        links.not_verified("the target does not serve redeemWidgetToken")
        links.blocked_by = REDEEM_OFFERED
    elif not stateful_ran or outcome.links_followed == 0:
        links.not_verified("schemathesis followed no link")
    else:
        links.note = f"{outcome.links_followed} link steps followed"
    outcome.checks[STATEFUL] = links
    return outcome


def _error(outcome: FuzzOutcome, event: NonFatalError, secrets: dict[str, str]) -> None:
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
        outcome.checks[name] = CheckResult(name)
    return outcome.checks[name]


def _collect(outcome: FuzzOutcome, event: ScenarioFinished, secrets: dict[str, str]) -> None:
    recorder = event.recorder
    outcome.cases += len(recorder.cases)
    is_stateful = event.phase.value == "stateful"
    for case_id, node in recorder.cases.items():
        if is_stateful and node.transition is not None and node.is_transition_applied:
            outcome.links_followed += 1
        for check in recorder.checks.get(case_id, []):
            result = _result(outcome, check.name)
            info = check.failure_info
            response = recorder.find_response(case_id=(info and info.failure.case_id) or case_id)
            status = getattr(response, "status_code", None)
            if status == THROTTLED or (
                status is not None and status >= 500 and check.name != SERVER_ERROR
            ):
                continue  # an answer that cannot show this check's rule
            result.requests += 1
            if info is None or check.status.value != "failure":
                continue
            result.fail(
                Violation(
                    rule=mask(_rule(info.failure), secrets),
                    curl=_mask_curl(info.code_sample, secrets),
                    response=mask(_response_text(response), secrets),
                    status=status,
                )
            )


# schemathesis's failure classes, by the check that raises them (where a class lists several).
FAILURE_CHECKS = {
    "AcceptedNegativeData": "negative_data_rejection",
    "UndefinedStatusCode": "status_code_conformance",
    "UndefinedContentType": "content_type_conformance",
    "MalformedMediaType": "content_type_conformance",
    "MissingContentType": "content_type_conformance",
    "JsonSchemaError": "response_schema_conformance",
    "MalformedJson": "response_schema_conformance",
}
# Ours: judged by the core's judge already (contract.hooks), or across exchanges.
OWN_CHECKS = {"auth_first", "no_credential_echo", "unique_ids"}
NOT_BROKEN = "the contract's judge finds no broken rule in this exchange"


def _judge(
    outcome: FuzzOutcome, spec: Spec, secrets: dict[str, str]
) -> Callable[[Any, Any, Any], bool]:
    """The run's judge of each schemathesis failure: it stands (a FAIL) only where the core's
    judge finds a platform-side violation in the same exchange, as the validation proxy
    would; otherwise it becomes a WARN of its check (kept here, with the request, the
    response and the judge's notes) and is dropped from schemathesis."""
    from contract import hooks

    def keep(failure: Any, case: Any, response: Any) -> bool:
        checks = getattr(type(failure), "checks", ())
        name = FAILURE_CHECKS.get(type(failure).__name__) or next(iter(checks), None)
        if response is None or name is None or name in OWN_CHECKS:
            return True
        operation = spec.operations.get(case.operation.definition.raw.get("operationId", ""))
        seen = hooks.seen(case, response)
        if operation is None or seen.method != operation.method:
            return True  # a method the spec does not have: nothing the judge could weigh
        found = hooks.platform_findings(case, response)
        if any(finding.is_violation for finding in found):
            return True
        why = "; ".join(f"{f.rule} ({f.kind}): {f.seen}" for f in found) or NOT_BROKEN
        curl = _mask_curl(case.as_curl_command(), secrets)
        text = mask(_response_text(response), secrets)
        rule = f"{mask(why, secrets)}: {mask(_rule(failure), secrets)}"
        _result(outcome, name).warn(Violation(rule, curl, text, response.status_code))
        return False

    return keep


def _rule(failure: Failure) -> str:
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


def _response_text(response: Response | None) -> str:
    if response is None:
        return "(no response)"
    values = response.headers.get("content-type", [""])
    content_type = values[0] if isinstance(values, list) and values else str(values)
    body = response.content.decode("utf-8", "replace")
    if len(body) > 600:
        body = body[:600] + f"... ({len(response.content)} bytes)"
    return f"HTTP {response.status_code} {content_type}\n{body}".rstrip()


def generated_requests(settings: Settings, operation: Operation, count: int) -> list[Generated]:
    """`count` valid and `count` invalid requests schemathesis generates for `operation` from
    the run's seed: the same list every time, so two targets get the same requests
    (`contract diff`). Generated, not sent: the caller sends them."""
    import schemathesis
    from schemathesis.generation.modes import GenerationMode

    schema = schemathesis.openapi.from_path(settings.spec.path)
    api_operation = schema[operation.path][operation.method]
    return [
        Generated(str(mode), case.media_type, case.body)
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE)
        for case in _examples(api_operation.as_strategy(generation_mode=mode), count, settings.seed)
    ]


def _examples(strategy: Any, count: int, seed: int) -> list[Any]:
    """`count` examples of a hypothesis strategy, the same ones for the same seed."""
    import hypothesis

    found: list[Any] = []

    @hypothesis.settings(
        max_examples=count,
        database=None,
        deadline=None,
        phases=[hypothesis.Phase.generate],
        suppress_health_check=list(hypothesis.HealthCheck),
    )
    @hypothesis.seed(seed)
    @hypothesis.given(strategy)
    def collect(example: Any) -> None:
        found.append(example)

    collect()
    return found


@dataclass(frozen=True)
class Generated:
    """One generated request body: its mode (positive or negative), media type and body."""

    mode: str
    media_type: str | None
    body: Any
