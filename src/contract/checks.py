"""Our own named checks: scripted requests whose answers the spec pins down exactly.

Schemathesis generates inputs and judges each response alone; these checks send the
requests that matter most for this API — authentication before anything else, an unknown or
inactive agent, an inactive subscription, many tokens at once, a token redeemed twice and ten
times at once — and judge the answers against openapi.yaml. Each fills the `CheckResult` the
runner hands it; contract.registry says in which order they run and what each needs.
"""

from __future__ import annotations

import base64
import secrets
import threading
import uuid
from concurrent.futures import ThreadPoolExecutor
from typing import Any
from urllib.parse import urlsplit

from contract.outcomes import CheckResult, Exchange
from contract.probe import Issued, Probe, wrong_keys
from contract.tokens import (
    one_character_changed,
    predictability,
    random_part,
    with_later_expiry,
)
from mockplatform.core.judge import echoed
from mockplatform.core.spec import resolve_ref

# The spec's named rule (x-contract on instanceId) that an instance must be the agent's own.
OWNED_INSTANCE = "instance-of-the-agent"
UNIQUE_IDS_REQUESTS = 12
UNIQUE_IDS_THREADS = 4
CONCURRENT_REDEEMS = 10
# A caller name in three scripts plus an emoji: a correct server treats it as any other text.
UNICODE_CALLER = "Rāhul Śarmā — राहुल शर्मा 李雷 😀"
MIN_TOKENS_JUDGED = 8  # unpredictable_tokens needs this many samples to say anything


def request_schema(probe: Probe) -> dict[str, Any]:
    """The token request's JSON schema, `$ref`s to components resolved."""
    media = probe.create.document["requestBody"]["content"]["application/json"]
    return resolve_ref(probe.spec.document, media["schema"])


# -- accepts_valid_requests -------------------------------------------------------------------


def valid_request_bodies(probe: Probe) -> list[dict[str, Any]]:
    """The spec's valid variants: minimal, each language, a unicode callerName, and every
    field at once with --instance-id (the request the spec's example shows)."""
    properties = request_schema(probe).get("properties", {})
    bodies: list[dict[str, Any]] = [probe.token_body()]
    for language in properties.get("language", {}).get("enum", []):
        bodies.append(probe.token_body(language=language))
    if "callerName" in properties:
        bodies.append(probe.token_body(callerName=UNICODE_CALLER))
    instance = probe.settings.instance_id
    if instance and "instanceId" in properties:
        bodies.append(probe.token_body(instanceId=instance, callerName="Rahul Sharma"))
    return bodies


def accepts_valid_requests(probe: Probe, result: CheckResult) -> None:
    for body in valid_request_bodies(probe):
        exchange = probe.request_token(body=body)
        probe.require(result, probe.create, exchange, {200}, "a valid request must get 200")


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
        **{
            what: {"Authorization": f"Bearer {wrong}"}
            for what, (wrong, _) in wrong_keys(key).items()
        },
    }


def troublesome_bodies(probe: Probe) -> dict[str, dict[str, Any]]:
    """Bodies that would get 400 or 404 from an authenticated caller."""
    return {
        "a valid body": {"body": probe.token_body()},
        "an unknown agent": {"body": probe.token_body(agentId=str(uuid.uuid4()))},
        "a body that breaks the schema": {"body": []},
        "a body that is not JSON": {"content": b"{not json"},
    }


def auth_first(probe: Probe, result: CheckResult) -> None:
    for credential, headers in bad_credentials(probe).items():
        for what, body in troublesome_bodies(probe).items():
            sent = dict(headers)
            if "content" in body:
                sent["Content-Type"] = "application/json"
            exchange = probe.request_token(headers=sent, **body)
            rule = f"{credential} with {what} must get 401 before anything else"
            probe.require(result, probe.create, exchange, {401}, rule, wrong_key=True)


# -- unknown_agent, inactive_agent, inactive_subscription -------------------------------------


def unknown_agent(probe: Probe, result: CheckResult) -> None:
    exchange = probe.request_token(body=probe.token_body(agentId=str(uuid.uuid4())))
    probe.require(result, probe.create, exchange, {404}, "an unknown agentId must get 404")


def unknown_instance(probe: Probe, result: CheckResult) -> None:
    """An instanceId nobody has, sent with the active agent (a generated agentId would be
    refused first, so schemathesis never reaches the instance)."""
    if _no_instance_field(probe, result):
        return
    exchange = probe.request_token(body=probe.token_body(instanceId=str(uuid.uuid4())))
    what = "an unknown instanceId with the active agent must get 404"
    probe.require(result, probe.create, exchange, {404}, what)


def instance_of_another_agent(probe: Probe, result: CheckResult) -> None:
    """Another agent's instance, sent with the active agent: 404 rests on the spec's named
    rule `instance-of-the-agent`, whose kind the core's judge reads (assumed: a 200 is a
    WARN); a 5xx or a wrong body is a FAIL."""
    instance = probe.settings.other_instance_id
    if _no_instance_field(probe, result):
        return
    if not instance:
        result.not_verified("no --other-instance-id given (nor found in /_mock/world)")
        return
    exchange = probe.request_token(body=probe.token_body(instanceId=instance))
    what = f"an instance of another agent, with the active agent, must get 404 ({OWNED_INSTANCE})"
    probe.require(result, probe.create, exchange, {404}, what, rule=OWNED_INSTANCE)


def _no_instance_field(probe: Probe, result: CheckResult) -> bool:
    if "instanceId" in request_schema(probe).get("properties", {}):
        return False
    result.not_verified("the spec's token request has no instanceId")
    return True


def inactive_agent(probe: Probe, result: CheckResult) -> None:
    agent = probe.settings.inactive_agent_id
    if not agent:
        result.not_verified("no --inactive-agent-id given (nor found in /_mock/world)")
        return
    exchange = probe.request_token(body=probe.token_body(agentId=agent))
    probe.require(result, probe.create, exchange, {404}, "an inactive agent must get 404")


def inactive_subscription(probe: Probe, result: CheckResult) -> None:
    """Every inactive key given (the docs name two causes: trial expired, cancelled)."""
    keys = probe.settings.inactive_keys
    if not keys:
        result.not_verified("no --inactive-key given (nor found in /_mock/world)")
        return
    for key in keys:
        _inactive_key(probe, result, key)


def _inactive_key(probe: Probe, result: CheckResult, key: str) -> None:
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


# -- unique_ids, unpredictable_tokens ---------------------------------------------------------


def unique_ids(probe: Probe, result: CheckResult) -> None:
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


def issued_tokens(probe: Probe) -> list[tuple[str, Exchange]]:
    """Every access token the target issued in the run so far, in the order received."""
    found = []
    for exchange in list(probe.exchanges):
        body = exchange.json()
        if exchange.status == 200 and urlsplit(exchange.url).path == probe.create.path:
            token = body.get("accessToken") if isinstance(body, dict) else None
            if isinstance(token, str) and token:
                found.append((token, exchange))
    return found


def unpredictable_tokens(probe: Probe, result: CheckResult) -> None:
    """Judged on every token the run was issued (unique_ids' among them)."""
    tokens = issued_tokens(probe)
    if len(tokens) < MIN_TOKENS_JUDGED:
        result.not_verified(
            f"{len(tokens)} tokens issued in the run; at least {MIN_TOKENS_JUDGED} are needed"
        )
        return
    result.requests += len(tokens)
    why = predictability([random_part(token) for token, _ in tokens])
    if why is not None:
        result.fail(probe.violation(f"access tokens must be unpredictable: {why}", tokens[-1][1]))
    else:
        result.note = f"{len(tokens)} tokens judged"


# -- single_use -------------------------------------------------------------------------------


def redeem_rejections(probe: Probe) -> set[int]:
    """Statuses with which the spec lets the redeem operation refuse a well-formed request."""
    request_faults = {400, 413, 415}
    return {status for status in probe.redeem_op.responses if 400 <= status < 500} - request_faults


def redeem_successes(probe: Probe) -> set[int]:
    return {status for status in probe.redeem_op.responses if 200 <= status < 300}


def reuse_statuses(probe: Probe) -> set[int]:
    """The spec's refusal of a token already used: the refusal that is not the one for an
    unknown or expired token (whose examples are named so)."""
    op = probe.redeem_op
    named = {s for s in op.responses if {"expired", "unknown"} & set(op.example_names(s))}
    return redeem_rejections(probe) - named or redeem_rejections(probe)


def unknown_statuses(probe: Probe) -> set[int]:
    """The spec's refusal of a token never issued: the one with an example named `unknown`."""
    op = probe.redeem_op
    named = {status for status in op.responses if "unknown" in op.example_names(status)}
    return named or redeem_rejections(probe)


def redeem_offered(probe: Probe, result: CheckResult) -> None:
    """Whether the target offers the redeem, decided by a freshly issued token's; once it
    does, that redeem is judged like any other (an undocumented status is a FAIL)."""
    presence = probe.redeem_presence
    if presence is None or not probe.redeem_available:
        result.not_verified(probe.redeem_absence())
        return
    fresh = "a freshly issued token must redeem"
    probe.require(result, probe.redeem_op, presence, redeem_successes(probe), fresh)


def _token_to_redeem(probe: Probe, result: CheckResult) -> Issued | None:
    """A fresh token for a check of the redeem; None (NOT VERIFIED, saying why) without one."""
    if probe.without_redeem(result):
        return None
    issued = probe.issue()
    result.requests += 1
    if issued is None:
        result.not_verified("the target issued no token to redeem")
    return issued


def forged_tokens(probe: Probe, result: CheckResult) -> None:
    """Tokens the target never issued, some shaped like its own, must be refused."""
    issued = _token_to_redeem(probe, result)
    if issued is None:
        return
    forged = {
        "a token never issued": f"contract-never-issued-{secrets.token_hex(12)}",
        "an issued token with one character changed": one_character_changed(issued.token),
    }
    later = with_later_expiry(issued.token)
    if later is not None:
        forged["the issued JWT with its exp moved later, the same signature"] = later
    refused = unknown_statuses(probe)
    for what, token in forged.items():
        rule = f"{what} must be refused on redeem"
        probe.require(result, probe.redeem_op, probe.redeem(token), refused, rule)


def single_use(probe: Probe, result: CheckResult) -> None:
    issued = _token_to_redeem(probe, result)
    if issued is None:
        return
    first = probe.redeem(issued.token)
    fresh = "a fresh token must be redeemable once"
    if not probe.require(result, probe.redeem_op, first, redeem_successes(probe), fresh):
        return
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
    probe.require(result, probe.redeem_op, second, reuse_statuses(probe), again)
    _redeemed_at_once(probe, result)


def _redeemed_at_once(probe: Probe, result: CheckResult) -> None:
    """Ten redeems of one fresh token at the same moment: exactly one starts a call."""
    issued = probe.issue()
    result.requests += 1
    if issued is None:
        return
    start = threading.Barrier(CONCURRENT_REDEEMS)

    def redeem(_: int) -> Exchange:
        start.wait()  # all ten leave together
        return probe.redeem(issued.token)

    with ThreadPoolExecutor(CONCURRENT_REDEEMS) as pool:
        answers = list(pool.map(redeem, range(CONCURRENT_REDEEMS)))
    successes = [a for a in answers if a.status in redeem_successes(probe)]
    result.requests += len(answers)
    if len(successes) != 1:
        result.fail(
            probe.violation(
                f"{CONCURRENT_REDEEMS} simultaneous redeems of one token must start exactly one "
                f"call, not {len(successes)}",
                (successes or answers)[-1],
            )
        )
        return
    refused = reuse_statuses(probe)
    for answer in answers:
        if answer is not successes[0]:
            what = "a simultaneous redeem of a token being used"
            probe.require(result, probe.redeem_op, answer, refused, what)


# -- no_credential_echo -----------------------------------------------------------------------


def no_credential_echo(probe: Probe, result: CheckResult) -> None:
    """No response of the run carries a credential its request presented, valid or not (the
    core's rule: `mockplatform.core.judge.echoed`, the proxy's too)."""
    for exchange in list(probe.exchanges):
        if exchange.status is None:
            continue
        result.requests += 1
        if echoed(exchange.seen()):
            rule = "a response must never carry a credential the caller presented"
            result.fail(probe.violation(rule, exchange))
