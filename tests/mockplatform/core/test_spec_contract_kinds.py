"""openapi.yaml's `x-contract` classification and its one reader (mockplatform.core.spec)."""

from __future__ import annotations

import pytest
import yaml

from mockplatform.core.errors import SpecError
from mockplatform.core.spec import (
    CREATE_TOKEN,
    REDEEM_TOKEN,
    RuleKind,
    documented_request_problem,
    load_spec,
    operation_kind,
    response_kind,
    rule_kind,
)

AGENT = "550e8400-e29b-41d4-a716-446655440000"


def test_what_the_platform_documented_and_what_we_assumed(spec) -> None:
    create, redeem = spec.operation(CREATE_TOKEN), spec.operation(REDEEM_TOKEN)
    assert operation_kind(create) is RuleKind.DOCUMENTED
    assert operation_kind(redeem) is RuleKind.SIMULATED
    assert {s: response_kind(create, s) for s in (400, 401, 403, 404, 413, 415, 500)} == {
        400: RuleKind.ASSUMED,
        401: RuleKind.DOCUMENTED,
        403: RuleKind.DOCUMENTED,
        404: RuleKind.DOCUMENTED,
        413: RuleKind.ASSUMED,
        415: RuleKind.ASSUMED,
        500: RuleKind.DOCUMENTED,
    }
    assert response_kind(redeem, 409) is RuleKind.SIMULATED  # inherited from the operation
    assert response_kind(redeem, 400) is RuleKind.ASSUMED


def test_keyword_marks() -> None:
    schema = {"type": "string", "maxLength": 3, "x-contract": {"maxLength": "assumed"}}
    assert rule_kind(schema, "maxLength") is RuleKind.ASSUMED
    assert rule_kind(schema, "type") is RuleKind.DOCUMENTED


def test_the_documented_request_leaves_assumptions_out(spec) -> None:
    create = spec.operation(CREATE_TOKEN)
    long_name = {"agentId": AGENT, "callerName": "x" * 101}
    control = {"agentId": AGENT, "callerName": "a\u007fb"}
    for body in (long_name, control):
        assert create.validate_request(body) is not None  # the mock still enforces them
        assert documented_request_problem(create, spec, body) is None
    for body in ({"agentId": "abc"}, {"agentId": AGENT, "language": "xx"}, {}):
        assert documented_request_problem(create, spec, body) is not None


def test_a_mark_that_names_no_kind_is_refused(spec, tmp_path) -> None:
    document = yaml.safe_load(spec.path.read_text())
    document["paths"]["/api/widget/calls"]["post"]["x-contract"] = "simulatd"
    path = tmp_path / "openapi.yaml"
    path.write_text(yaml.safe_dump(document))
    with pytest.raises(SpecError, match="/paths/~1api~1widget~1calls/post/x-contract: 'simulatd'"):
        load_spec(path)
