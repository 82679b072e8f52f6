"""The judge's weights, each on one exchange (no server: the exchanges are written out)."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest
import yaml

from mockplatform.core.json_text import media_type
from mockplatform.core.judge import (
    MIN_CREDENTIAL_LENGTH,
    Asked,
    Memory,
    Seen,
    Side,
    contains_credential,
    judge,
)
from mockplatform.core.spec import RuleKind, Spec, load_spec, walk_pointer

KEY = "live_key_7f3a9c1e5b2d"
AGENT = "550e8400-e29b-41d4-a716-446655440000"
TOKEN_PATH, REDEEM_PATH = "/api/widget/token", "/api/widget/calls"
ISSUED = {"accessToken": "rt_live_abcdefgh12345678", "callId": "call_1", "agentName": "Support"}


def exchange(
    body: Any = None,
    status: int = 200,
    answer: Any = ISSUED,
    *,
    path: str = TOKEN_PATH,
    content: bytes | None = None,
    content_type: str = "application/json",
    key: str | None = KEY,
    headers: tuple[tuple[str, str], ...] = (),
    answer_headers: tuple[tuple[str, str], ...] = (("content-type", "application/json"),),
    at: float = 0.0,
) -> Seen:
    sent = [("content-type", content_type), *headers]
    if key is not None:
        sent.append(("authorization", f"Bearer {key}"))
    raw = content if content is not None else json.dumps(body or {"agentId": AGENT}).encode()
    return Seen(
        method="POST",
        path=path,
        query="",
        request_headers=tuple(sent),
        request_body=raw,
        status=status,
        response_headers=answer_headers,
        response_body=answer if isinstance(answer, bytes) else json.dumps(answer).encode(),
        sent=at,
        answered=at,
    )


def found(spec: Spec, seen: Seen, **options: Any) -> set[tuple[str, str, bool]]:
    return {(f.side, f.rule, f.is_violation) for f in judge(spec, seen, **options)}


INVALID_REQUEST = {"error": "Invalid request", "field": "agentId", "detail": "bad"}
CLIENT_FAULTS = {
    "agentId is a number": {"body": {"agentId": 5}},
    "agentId missing": {"body": {"language": "en"}},
    "a language outside the options": {"body": {"agentId": AGENT, "language": "fr"}},
    "a body that is not JSON": {"content": b"{not json"},
    "text/plain": {"content_type": "text/plain"},
}


@pytest.mark.parametrize("sent", CLIENT_FAULTS.values(), ids=list(CLIENT_FAULTS))
@pytest.mark.parametrize(
    ("status", "answer"),
    [(400, INVALID_REQUEST), (422, {"message": "no"}), (200, ISSUED)],
    ids=["400", "422", "200"],
)
def test_a_client_fault_weighs_by_its_rule_not_by_the_answer(
    spec: Spec, sent: dict[str, Any], status: int, answer: Any
) -> None:
    findings = judge(spec, exchange(status=status, answer=answer, **sent))
    client = [f for f in findings if f.side is Side.CLIENT]
    assert client and all(f.kind is RuleKind.DOCUMENTED and f.is_violation for f in client)
    # The platform's answer to it is held only to the universal rules: notes at most.
    assert not [f for f in findings if f.side is Side.PLATFORM and f.is_violation]


def test_a_null_language_is_a_client_fault_and_its_acceptance_a_note(spec: Spec) -> None:
    seen = exchange({"agentId": AGENT, "language": None})
    assert found(spec, seen) == {
        ("client", "request_schema", True),
        ("platform", "rejects_invalid_request", False),
    }


@pytest.mark.parametrize("status", [400, 422, 200])
def test_a_long_caller_name_breaks_only_an_assumption(spec: Spec, status: int) -> None:
    answer = ISSUED if status == 200 else {"message": "too long"}
    findings = judge(spec, exchange({"agentId": AGENT, "callerName": "R" * 101}, status, answer))
    assert findings and not any(f.is_violation for f in findings)
    assert {f.kind for f in findings} == {RuleKind.ASSUMED}


def test_a_throttle_is_no_finding_on_either_side(spec: Spec) -> None:
    throttled = exchange(
        {"agentId": 5}, 429, {"message": "slow down"}, answer_headers=(("retry-after", "1"),)
    )
    assert judge(spec, throttled) == []


def test_auth_first_comes_before_the_body(spec: Spec) -> None:
    keyless = exchange({"agentId": 5}, 400, INVALID_REQUEST, key=None)
    assert ("platform", "auth_first", True) in found(spec, keyless)
    refused = exchange({"agentId": 5}, 401, {"error": "Invalid API key"}, key=None)
    assert found(spec, refused) == {
        ("client", "missing_credentials", True),
        ("client", "request_schema", True),
    }
    wrong = exchange(status=404, answer={"error": "Agent not found"})
    asked = Asked(frozenset({401}), wrong_key=True)
    assert ("platform", "auth_first", True) in found(spec, wrong, asked=asked)


def test_a_5xx_is_the_platforms_even_when_documented(spec: Spec) -> None:
    failed = exchange(status=500, answer={"error": "Voice platform error"})
    assert found(spec, failed) == {("platform", "no_server_error", True)}
    bad_input = exchange(content=b"{oops", status=500, answer={"error": "Voice platform error"})
    assert ("platform", "no_server_error", True) in found(spec, bad_input)
    # ...unless the request asked for it.
    asked = exchange(
        status=500, answer={"error": "Voice platform error"}, headers=(("prefer", "code=500"),)
    )
    assert found(spec, asked) == set()


def test_media_types_are_read_case_insensitively(spec: Spec) -> None:
    seen = exchange(content_type="Application/JSON; charset=UTF-8")
    assert found(spec, seen) == set()
    assert media_type(" Application/JSON ; charset=utf-8") == "application/json"


def test_a_documented_response_without_a_body_has_no_body_to_judge(
    spec: Spec, tmp_path: Path
) -> None:
    document = copy.deepcopy(spec.document)
    del document["paths"][REDEEM_PATH]["post"]["responses"]["409"]["content"]
    bodiless = tmp_path / "openapi.yaml"
    bodiless.write_text(yaml.safe_dump(document), encoding="utf-8")
    seen = exchange(
        {"accessToken": "rt_live_whatever_1234"}, 409, b"", path=REDEEM_PATH, answer_headers=()
    )
    assert found(load_spec(bodiless), seen) == set()
    assert ("platform", "content_type", True) in found(spec, seen)


def test_an_echoed_credential_is_found_whole_and_long_enough(spec: Spec) -> None:
    echo = exchange(status=401, answer={"error": "Invalid API key", "detail": f"key {KEY}"})
    assert ("platform", "no_credential_echo", True) in found(spec, echo)
    token = {"accessToken": "rt_live_presented_token_1"}
    redeem_echo = exchange(
        token,
        401,
        {"error": "Invalid access token", "detail": token["accessToken"]},
        path=REDEEM_PATH,
        key=None,
    )
    assert ("platform", "no_credential_echo", True) in found(spec, redeem_echo)
    assert not contains_credential(f"x{KEY}y", KEY)  # inside a longer token: not the key
    assert not contains_credential("the code 0", "0" * (MIN_CREDENTIAL_LENGTH - 7))


def test_a_tokens_age_follows_the_targets_clock(spec: Spec) -> None:
    memory = Memory(spec)
    lifetime = spec.token_lifetime_seconds
    judge(spec, exchange(at=0.0), memory)
    memory.clock_offset = lifetime + 5  # the run moved the target's clock past the lifetime
    expired = exchange(
        {"accessToken": ISSUED["accessToken"]},
        401,
        {"error": "Access token expired"},
        path=REDEEM_PATH,
        at=1.0,
    )
    # The platform is right; the app redeemed late (on the target's clock).
    assert found(spec, expired, memory=memory) == {("client", "prefetched_token", True)}
    # Without the move, the same answer one second later calls a fresh token expired.
    memory = Memory(spec)
    judge(spec, exchange(at=0.0), memory)
    assert ("platform", "token_lifetime", True) in found(spec, expired, memory=memory)


def test_a_json_pointer_is_walked_one_way(spec: Spec) -> None:
    assert walk_pointer({"a/b": [{"~c": 1}]}, "/a~1b/0/~0c") == 1
    assert walk_pointer(spec.document, "#/components/schemas/TokenRequest")["required"] == [
        "agentId"
    ]


def test_a_status_resting_on_a_named_rule_weighs_by_its_kind(spec: Spec) -> None:
    """instanceId's `instance-of-the-agent` is assumed: a 200 for another agent's instance
    is a note; the same wrong status resting on no named rule is a violation."""
    other = exchange({"agentId": AGENT, "instanceId": "660f9500-f30c-52e5-b827-557766551111"})
    owned = Asked(frozenset({404}), rule="instance-of-the-agent")
    assert found(spec, other, asked=owned) == {("platform", "expected_status", False)}
    assert found(spec, other, asked=Asked(frozenset({404}))) == {
        ("platform", "expected_status", True)
    }
