"""Every check of the harness, registered once: its name, what it holds, what it needs, its order.

The runner runs them in this order, the CLI's `--checks` / `--skip` and the pytest plugin
select from them (deciding what is *sent*, not only what is shown), the README's table is
this registry (tests/contract/test_registry.py keeps them equal), and the report lists them.

Stages:
  scripted      our own requests, run one after another in order
  schemathesis  judged inside one schemathesis run (its engine, our hooks), shared by all
  lifetime      token_lifetime: started before everything (realtime waits in the
                background) and finished in its place (fast mode moves the target's clock)
  after         judged on what the whole run sent and received so far

schemathesis's own `use_after_free`, `ensure_resource_availability` and
`object_level_authorization` are not here: this API has no resource that is deleted, read
back or owned by a caller, so they could only ever pass vacuously. Nor is its `ignored_auth`:
auth_first holds a stricter rule (401, before anything else), and ignored_auth sends its own
requests past the hooks that keep the run's budget.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from contract import checks, lifetime, scenarios
from contract.outcomes import CheckResult
from contract.probe import Probe
from contract.settings import ContractError


class Stage(StrEnum):
    SCRIPTED = "scripted"
    SCHEMATHESIS = "schemathesis"
    LIFETIME = "lifetime"
    AFTER = "after"


@dataclass(frozen=True)
class Check:
    name: str
    description: str
    stage: Stage
    needs: str = ""  # what the target or the run must offer, in words ("" = nothing more)
    run: Callable[[Probe, CheckResult], None] | None = None
    # Also judged on every schemathesis response by a hook of the same name (contract.hooks).
    hooked: bool = False
    # The rule of openapi.yaml's x-contract-universal this check holds every target to.
    universal: str | None = None


def _scripted(run: Callable[[Probe, CheckResult], None], description: str, **more: Any) -> Check:
    return Check(run.__name__, description, Stage.SCRIPTED, run=run, **more)


def _schemathesis(name: str, description: str, **more: Any) -> Check:
    return Check(name, description, Stage.SCHEMATHESIS, needs="a schemathesis phase", **more)


REDEEM = "the redeem operation (simulated)"
CHECKS: tuple[Check, ...] = (
    _scripted(
        checks.accepts_valid_requests,
        "the spec's example request and its valid variants (each language, a unicode "
        "callerName, --instance-id) get 200 with the documented body",
    ),
    _scripted(
        checks.auth_first,
        "no key, a malformed header or a wrong key gets 401 with the documented body, even "
        "when the body is invalid or the agent unknown",
        hooked=True,
        universal="auth-first",
    ),
    _scripted(checks.unknown_agent, "an unknown agent gets 404 with the documented body"),
    _scripted(
        checks.unknown_instance,
        "an unknown instanceId sent with the active agent gets 404 with the documented body "
        "(never a 5xx)",
    ),
    _scripted(
        checks.instance_of_another_agent,
        "an instance of another agent (--other-instance-id) sent with the active agent gets "
        "404; a 200 is a WARN (the spec assumes the 404), a 5xx a FAIL",
        needs="--other-instance-id",
    ),
    _scripted(
        checks.inactive_agent,
        "an inactive agent (--inactive-agent-id) gets 404 with the documented body",
        needs="--inactive-agent-id",
    ),
    _scripted(
        checks.inactive_subscription,
        "a key with an inactive subscription (--inactive-key) gets 403 with the documented body",
        needs="--inactive-key",
    ),
    _scripted(
        checks.unique_ids,
        "access tokens and call ids are unique across simultaneous requests",
        hooked=True,
        universal="unpredictable-tokens",
    ),
    _scripted(
        checks.redeem_offered,
        "the target offers the redeem operation: a freshly issued token redeems with the "
        "documented answer (a 404 or 405 for it, or --no-redeem, is absence: NOT VERIFIED, and "
        "so are the checks that need the redeem; under --strict only --allow redeem_offered "
        "excuses them)",
        needs=REDEEM,
    ),
    _scripted(
        checks.forged_tokens,
        "a token the target never issued is refused on redeem with the documented status: an "
        "arbitrary one, an issued one with one character changed, and an issued JWT with its "
        "exp moved later under the same signature",
        needs=REDEEM,
    ),
    _scripted(
        checks.single_use,
        "a token redeems once, starting its own call; a second redeem gets exactly the "
        "documented 409; of 10 simultaneous redeems exactly one succeeds",
        needs=REDEEM,
    ),
    _schemathesis("not_a_server_error", "no generated input, valid or not, gets a 5xx"),
    _schemathesis(
        "status_code_conformance", "every status code returned is documented for its operation"
    ),
    _schemathesis("content_type_conformance", "every response has a documented content type"),
    _schemathesis(
        "response_headers_conformance", "documented response headers are present and valid"
    ),
    _schemathesis(
        "response_schema_conformance",
        "every response body matches the spec's schema for its status",
    ),
    _schemathesis(
        "negative_data_rejection",
        "a request the documented contract forbids is not accepted (one only our assumptions "
        "forbid, or a null for an optional field, is a WARN)",
    ),
    _schemathesis("positive_data_acceptance", "requests that satisfy the schema are accepted"),
    _schemathesis(
        "missing_required_header", "a request missing a required header (Authorization) gets 401"
    ),
    _schemathesis("unsupported_method", "an undocumented method gets 405"),
    _schemathesis("allow_header_conformance", "a 405 lists the allowed methods in Allow"),
    _schemathesis(
        "answers_every_request",
        "every generated request gets an HTTP response (no dropped connection, no timeout)",
    ),
    _schemathesis("schemathesis_run", "schemathesis ran every phase without an error of its own"),
    Check(
        "stateful_links",
        "schemathesis follows the spec's links (createWidgetToken 200 -> redeemWidgetToken) "
        "and every response on the way conforms",
        Stage.SCHEMATHESIS,
        needs=f"the stateful phase, {REDEEM}",
    ),
    Check(
        lifetime.NAME,
        "a token is accepted shortly before the spec's lifetime (x-token-lifetime-seconds) "
        "and refused after it, for every request shape that mints one (each language, "
        "callerName, instanceId), issued together; a JWT's claims are reported, not taken "
        "for enforcement",
        Stage.LIFETIME,
        needs=f"{REDEEM}; the mock's clock, or one lifetime of waiting",
    ),
    Check(
        "documented_errors",
        "every documented error of the token endpoint is reachable and answered as the spec "
        "says; an assumed one (400, 413, 415) answered otherwise is a WARN naming what was "
        "sent (on the mock: every shipped scenario and Prefer: code=N)",
        Stage.AFTER,
        run=scenarios.documented_errors,
    ),
    Check(
        "unpredictable_tokens",
        "the tokens of the run share nothing but a fixed prefix, count nothing, and vary by "
        "at least 64 bits (estimated from the characters that vary)",
        Stage.AFTER,
        needs="8 tokens issued in the run (unique_ids issues 12)",
        run=checks.unpredictable_tokens,
        universal="unpredictable-tokens",
    ),
    Check(
        "no_credential_echo",
        "no response of the run carries a credential its request presented (key or token, "
        "valid or not, of any length)",
        Stage.AFTER,
        run=checks.no_credential_echo,
        hooked=True,
        universal="no-credential-echo",
    ),
)
BY_NAME = {check.name: check for check in CHECKS}


def description(name: str) -> str:
    check = BY_NAME.get(name)
    return check.description if check is not None else "schemathesis check"


def select(only: list[str] | None = None, skip: list[str] | None = None) -> frozenset[str]:
    """The names `--checks` and `--skip` leave; an unknown name is a clear error (exit 2)."""
    for option, names in (("--checks", only), ("--skip", skip)):
        unknown = [name for name in names or [] if name not in BY_NAME]
        if unknown:
            raise ContractError(
                f"{option}: unknown check {unknown[0]!r}; choose from {', '.join(BY_NAME)}"
            )
    chosen = set(only) if only else set(BY_NAME)
    return frozenset(chosen - set(skip or []))


def check_allowance(allowed: str) -> None:
    """An `--allow` is a check's name, or CHECK:STATUS with an HTTP status; else exit 2."""
    name, colon, status = allowed.partition(":")
    if name not in BY_NAME:
        raise ContractError(f"--allow: unknown check {name!r}; choose from {', '.join(BY_NAME)}")
    if colon and not (status.isdigit() and 100 <= int(status) <= 599):
        raise ContractError(
            f"--allow {allowed!r}: write CHECK:STATUS with an HTTP status (e.g. 422)"
        )


def markdown_table() -> str:
    """The README's table of checks, generated from this registry."""
    rows = ["| check | what it holds | needs |", "|---|---|---|"]
    for check in CHECKS:
        rows.append(f"| `{check.name}` | {check.description} | {check.needs or '-'} |")
    return "\n".join(rows)
