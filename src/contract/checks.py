"""Our own named checks: scripted requests whose answers the spec pins down exactly.

Schemathesis generates inputs and judges each response alone; these checks send the
requests that matter most for this API — authentication before anything else, an unknown
agent, an inactive subscription, many tokens in a row, a token redeemed twice — and judge
the answers against openapi.yaml. Each returns one `CheckResult` named as in the report.
"""

from __future__ import annotations

import base64
import secrets
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

from contract.outcomes import CheckResult, Exchange
from contract.probe import MIN_SECRET_LENGTH, Probe, near_miss

UNIQUE_IDS_REQUESTS = 24
UNIQUE_IDS_THREADS = 4
# A caller name in three scripts plus an emoji: a correct server treats it as any other text.
UNICODE_CALLER = "Rāhul Śarmā — राहुल शर्मा 李雷 😀"


@dataclass(frozen=True)
class ScriptedCheck:
    name: str
    description: str
    run: Callable[[Probe], CheckResult]


def request_schema(probe: Probe) -> dict[str, Any]:
    """The token request's JSON schema, `$ref`s to components resolved."""
    media = probe.create.document["requestBody"]["content"]["application/json"]
    return _resolve(probe.spec.document, media["schema"])


def _resolve(document: dict[str, Any], node: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in node:
        target: Any = document
        for part in node["$ref"].removeprefix("#/").split("/"):
            target = target[part.replace("~1", "/").replace("~0", "~")]
        node = target
    return node


def _result(name: str) -> CheckResult:
    check = CHECKS_BY_NAME[name]
    return CheckResult(name=check.name, description=check.description)


# -- accepts_valid_requests -------------------------------------------------------------------


def valid_request_bodies(probe: Probe) -> list[dict[str, Any]]:
    """The spec's valid variants: minimal, each language, a unicode and a longest callerName."""
    properties = request_schema(probe).get("properties", {})
    bodies: list[dict[str, Any]] = [probe.token_body()]
    for language in properties.get("language", {}).get("enum", []):
        bodies.append(probe.token_body(language=language))
    caller = properties.get("callerName", {})
    if caller:
        longest = caller.get("maxLength", 100)
        bodies.append(probe.token_body(callerName=UNICODE_CALLER[:longest]))
        bodies.append(probe.token_body(callerName=("Ñandú " * longest)[:longest]))
    return bodies


def accepts_valid_requests(probe: Probe) -> CheckResult:
    result = _result("accepts_valid_requests")
    for body in valid_request_bodies(probe):
        exchange = probe.request_token(body=body)
        probe.require(result, probe.create, exchange, {200}, "a valid request must get 200")
    return result


# -- auth_first -------------------------------------------------------------------------------


def bad_credentials(probe: Probe) -> dict[str, dict[str, str]]:
    """Authorization headers that must all get 401: none, malformed, and wrong keys."""
    key = probe.settings.api_key
    basic = base64.b64encode(b"contract:not-a-bearer-key").decode()
    return {
        "no Authorization header": {},
        "Basic scheme": {"Authorization": f"Basic {basic}"},
        "Bearer without a key": {"Authorization": "Bearer"},
        "the key without the Bearer scheme": {"Authorization": key},
        "an unknown key": {"Authorization": f"Bearer nas_contract_{secrets.token_hex(8)}"},
        "a key one character off": {"Authorization": f"Bearer {near_miss(key)}"},
    }


def troublesome_bodies(probe: Probe) -> dict[str, dict[str, Any]]:
    """Bodies that would get 400 or 404 from an authenticated caller."""
    return {
        "a valid body": {"body": probe.token_body()},
        "an unknown agent": {"body": probe.token_body(agentId=str(uuid.uuid4()))},
        "a body that breaks the schema": {"body": []},
        "a body that is not JSON": {"content": b"{not json"},
    }


def auth_first(probe: Probe) -> CheckResult:
    result = _result("auth_first")
    for credential, headers in bad_credentials(probe).items():
        for what, body in troublesome_bodies(probe).items():
            sent = dict(headers)
            if "content" in body:
                sent["Content-Type"] = "application/json"
            exchange = probe.request_token(headers=sent, **body)
            rule = f"{credential} with {what} must get 401 before anything else"
            probe.require(result, probe.create, exchange, {401}, rule)
    return result


# -- unknown_agent, inactive_subscription -----------------------------------------------------


def unknown_agent(probe: Probe) -> CheckResult:
    result = _result("unknown_agent")
    for body in (probe.token_body(agentId=str(uuid.uuid4())) for _ in range(2)):
        exchange = probe.request_token(body=body)
        probe.require(result, probe.create, exchange, {404}, "an unknown agentId must get 404")
    return result


def inactive_subscription(probe: Probe) -> CheckResult:
    result = _result("inactive_subscription")
    key = probe.settings.inactive_key
    if not key:
        result.not_verified("no --inactive-key given")
        return result
    exchange = probe.request_token(headers=probe.auth(key))
    probe.require(result, probe.create, exchange, {403}, "an inactive subscription must get 403")
    # Either order of 403 and 404 is legitimate when both apply; 401 or 200 is not.
    exchange = probe.request_token(
        headers=probe.auth(key), body=probe.token_body(agentId=str(uuid.uuid4()))
    )
    probe.require(
        result,
        probe.create,
        exchange,
        {403, 404},
        "an inactive subscription asking for an unknown agent must get 403 or 404",
    )
    return result


# -- unique_ids -------------------------------------------------------------------------------


def unique_ids(probe: Probe) -> CheckResult:
    result = _result("unique_ids")
    with ThreadPoolExecutor(UNIQUE_IDS_THREADS) as pool:
        exchanges = list(pool.map(lambda _: probe.request_token(), range(UNIQUE_IDS_REQUESTS)))
    result.requests += len(exchanges)
    seen: dict[str, dict[str, Exchange]] = {"accessToken": {}, "callId": {}}
    for exchange in exchanges:
        body = exchange.json()
        # Whether the body is complete is response_schema_conformance's business, not ours.
        if exchange.status != 200 or not isinstance(body, dict):
            result.fail(probe.violation("a valid request must get 200 with a JSON body", exchange))
            continue
        for name, values in seen.items():
            value = body.get(name)
            if not isinstance(value, str):
                continue
            if value in values:
                result.fail(
                    probe.violation(
                        f"every {name} must be unique: {value!r} was issued twice "
                        f"in {len(exchanges)} requests",
                        exchange,
                    )
                )
                break
            values[value] = exchange
    return result


# -- single_use -------------------------------------------------------------------------------


def redeem_rejections(probe: Probe) -> set[int]:
    """Statuses with which the spec lets the redeem operation refuse a well-formed request."""
    request_faults = {400, 413, 415}
    return {status for status in probe.redeem_op.responses if 400 <= status < 500} - request_faults


def redeem_successes(probe: Probe) -> set[int]:
    return {status for status in probe.redeem_op.responses if 200 <= status < 300}


def single_use(probe: Probe) -> CheckResult:
    result = _result("single_use")
    if not probe.redeem_available:
        result.not_verified(f"the target does not serve {probe.redeem_op.title}")
        return result
    issued = probe.issue()
    result.requests += 1
    if issued is None:
        result.not_verified("the target issued no token to redeem")
        return result
    first = probe.redeem(issued.token)
    fresh = "a fresh token must be redeemable once"
    if not probe.require(result, probe.redeem_op, first, redeem_successes(probe), fresh):
        return result
    call_id = (first.json() or {}).get("callId")
    if issued.call_id and call_id != issued.call_id:
        result.fail(
            probe.violation(
                f"redeeming starts the call the token was issued for: callId {call_id!r}, "
                f"but the token was issued for {issued.call_id!r}",
                first,
            )
        )
    second = probe.redeem(issued.token)
    again = "a token is single use; the second redeem"
    probe.require(result, probe.redeem_op, second, redeem_rejections(probe), again)
    return result


# -- no_api_key_echo --------------------------------------------------------------------------


def no_api_key_echo(probe: Probe) -> CheckResult:
    """No response to any request of the run carries a key we sent (body or headers)."""
    result = _result("no_api_key_echo")
    keys = [key for key in probe.settings.secrets if len(key) >= MIN_SECRET_LENGTH]
    for exchange in list(probe.exchanges):
        result.requests += 1
        if exchange.status is None:
            continue
        haystack = exchange.response_body + b"\n" + repr(exchange.response_headers).encode()
        for key in keys:
            if key.encode() in haystack:
                result.fail(probe.violation("a response must never echo the API key", exchange))
                break
    return result


CHECKS = [
    ScriptedCheck(
        "accepts_valid_requests",
        "the spec's example request and its valid variants (each language, a unicode and a "
        "longest callerName) get 200 with the documented body",
        accepts_valid_requests,
    ),
    ScriptedCheck(
        "auth_first",
        "no key, a malformed header or a wrong key gets 401 with the documented body, even "
        "when the body is invalid or the agent unknown",
        auth_first,
    ),
    ScriptedCheck(
        "unknown_agent", "an unknown agent gets 404 with the documented body", unknown_agent
    ),
    ScriptedCheck(
        "inactive_subscription",
        "a key with an inactive subscription (--inactive-key) gets 403 with the documented body",
        inactive_subscription,
    ),
    ScriptedCheck(
        "unique_ids", "access tokens and call ids are unique across many requests", unique_ids
    ),
    ScriptedCheck(
        "single_use",
        "a token redeems once (starting its own call) and is refused the second time",
        single_use,
    ),
    ScriptedCheck(
        "no_api_key_echo", "no response ever carries the API key it was sent", no_api_key_echo
    ),
]
CHECKS_BY_NAME = {check.name: check for check in CHECKS}
