"""openapi.yaml itself: a valid OpenAPI document whose examples obey its own schemas."""

from __future__ import annotations

import pytest
from openapi_spec_validator import validate

from mockplatform.core.spec import Spec, load_spec

SEED_ERRORS = {
    401: "Invalid API key",
    403: "Subscription inactive",
    404: "Agent not found",
    500: "Voice platform error",
}


def test_spec_passes_a_real_openapi_validator(spec: Spec) -> None:
    validate(spec.document)


EXAMPLES = [
    pytest.param(op.operation_id, status, name, id=f"{op.operation_id}-{status}-{name}")
    for op in load_spec().operations.values()
    for status in op.responses
    for name in op.example_names(status) or [None]
]


@pytest.mark.parametrize(("operation_id", "status", "name"), EXAMPLES)
def test_every_response_example_obeys_its_schema(
    spec: Spec, operation_id: str, status: int, name: str | None
) -> None:
    operation = spec.operation(operation_id)
    assert operation.validate_response(status, operation.example(status, name)) is None


def test_seed_error_messages_are_the_documented_ones(spec: Spec) -> None:
    token = spec.operation("createWidgetToken")
    for status, message in SEED_ERRORS.items():
        assert token.example(status)["error"] == message
        assert token.validate_response(status, {"error": message}) is None
        assert token.validate_response(status, {"error": message + "!"}) is not None


def test_request_contract_matches_the_seed(spec: Spec) -> None:
    token = spec.operation("createWidgetToken")
    assert token.request_defaults == {"language": "en"}
    assert token.validate_request({"agentId": "550e8400-e29b-41d4-a716-446655440000"}) is None
    for language in ("en", "hi", "mr", "auto"):
        body = {"agentId": "550e8400-e29b-41d4-a716-446655440000", "language": language}
        assert token.validate_request(body) is None
    assert token.validate_request({"agentId": "x"}).field == "agentId"
    problem = token.validate_request(
        {"agentId": "550e8400-e29b-41d4-a716-446655440000", "language": "fr"}
    )
    assert problem.field == "language"
    assert token.requires_auth
    assert not spec.operation("redeemWidgetToken").requires_auth


def test_token_lifetime_and_single_use_are_machine_readable(spec: Spec) -> None:
    token = spec.operation("createWidgetToken")
    assert spec.token_lifetime_seconds == 60
    assert token.extension("x-token-single-use") is True


def test_token_response_links_to_redeem(spec: Spec) -> None:
    link = spec.operation("createWidgetToken").responses[200]["links"]["RedeemToken"]
    assert link["operationId"] == "redeemWidgetToken"
    assert link["requestBody"] == {"accessToken": "$response.body#/accessToken"}
    redeem = spec.operation("redeemWidgetToken")
    assert redeem.document["tags"] != spec.operation("createWidgetToken").document["tags"]
    assert {201, 401, 409} <= set(redeem.responses)
