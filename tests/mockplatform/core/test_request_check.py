"""The compiled checks (the hot paths) never accept what jsonschema would reject.

`Operation.validate_request` and `validate_response` answer from the fast compiled check
when it says "valid" and ask jsonschema otherwise, so the two must agree on every body the
fast check accepts.
"""

from __future__ import annotations

import uuid

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mockplatform.core.spec import Spec, _first_problem

FIELDS = ["agentId", "instanceId", "language", "callerName", "accessToken", "extra"]
RESPONSE_FIELDS = [
    *FIELDS,
    *["agentName", "callId", "callUrl", "detail", "error", "field", "status"],
]
TRICKY = [
    "550e8400-e29b-41d4-a716-446655440000",
    "550E8400-E29B-41D4-A716-446655440000",
    "urn:uuid:550e8400-e29b-41d4-a716-446655440000",
    "{550e8400-e29b-41d4-a716-446655440000}",
    "550e8400e29b41d4a716446655440000",
    "550e8400-e29b-41d4-a716-44665544000g",
    "en",
    "EN",
    "hi",
    "auto",
    "",
    "Rahul\n",
    "Rahul\x00",
    "a" * 100,
    "a" * 101,
    "😀" * 100,
    "😀" * 101,
    "rt_test_x",
    "x" * 513,
    "started",
    "wss://calls.example/room",
    "ws://",
    "https://calls.example/room",
    "Access token expired",
    "Invalid access token",
]
json_scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.floats(allow_nan=False),
    st.text(),
    st.sampled_from(TRICKY),
    st.uuids().map(str),
)
json_values = st.recursive(
    json_scalars,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(), inner, max_size=3),
    max_leaves=5,
)
bodies = st.one_of(st.dictionaries(st.sampled_from(FIELDS), json_values), json_values)
response_bodies = st.one_of(
    st.dictionaries(st.sampled_from(RESPONSE_FIELDS), json_values, min_size=2), json_values
)


@pytest.mark.parametrize("operation_id", ["createWidgetToken", "redeemWidgetToken"])
@settings(max_examples=400, deadline=None)
@given(body=bodies)
def test_fast_check_accepts_only_what_jsonschema_accepts(spec: Spec, operation_id, body) -> None:
    operation = spec.operation(operation_id)
    assert operation.request_check is not None
    if operation.request_check(body):
        assert _first_problem(operation.request_validator, body) is None


@pytest.mark.parametrize("operation_id", ["createWidgetToken", "redeemWidgetToken"])
@settings(max_examples=200, deadline=None)
@given(data=st.data())
def test_response_checks_accept_only_what_jsonschema_accepts(
    spec: Spec, operation_id, data
) -> None:
    """Bodies near the documented examples (one field changed or dropped) and arbitrary ones."""
    operation = spec.operation(operation_id)
    assert operation.response_checks.keys() == operation.response_validators.keys()
    status = data.draw(st.sampled_from(sorted(operation.response_checks)))
    example = operation.example(
        status, data.draw(st.sampled_from(operation.example_choices(status)))
    )
    near = st.sampled_from(sorted(example)).flatmap(
        lambda name: st.one_of(
            json_values.map(lambda value: {**example, name: value}),
            st.just({k: v for k, v in example.items() if k != name}),
        )
    )
    body = data.draw(st.one_of(near, response_bodies))
    if operation.response_checks[status](body):
        assert _first_problem(operation.response_validators[status], body) is None


def test_response_checks_pass_the_documented_examples(spec: Spec) -> None:
    """Each documented example passes both ways: the checks are not vacuously strict."""
    checked = 0
    for operation in spec.operations.values():
        for status, check in operation.response_checks.items():
            for name in operation.example_names(status) or [None]:
                example = operation.example(status, name)
                assert check(example), (operation.operation_id, status, name)
                assert operation.validate_response(status, example) is None
                checked += 1
    assert checked > 10


def test_invalid_responses_still_get_jsonschemas_wording(spec: Spec) -> None:
    problem = spec.operation("createWidgetToken").validate_response(200, {"callId": 5})
    assert problem is not None
    assert problem.detail


def test_fast_check_is_used_for_a_valid_body(spec: Spec) -> None:
    operation = spec.operation("createWidgetToken")
    body = {"agentId": str(uuid.uuid4()), "language": "hi", "callerName": "Rahul Sharma"}
    assert operation.request_check(body) is True
    assert operation.validate_request(body) is None


def test_invalid_bodies_still_get_jsonschemas_wording(spec: Spec) -> None:
    operation = spec.operation("createWidgetToken")
    problem = operation.validate_request({"agentId": "abc"})
    assert problem is not None
    assert problem.field == "agentId"
    assert "not a valid UUID" in problem.detail
