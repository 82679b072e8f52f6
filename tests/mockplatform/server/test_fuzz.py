"""schemathesis against the live mock: generated valid and invalid requests, built-in checks.

A small run of what `python -m bench.fuzz` does with 5,000+ requests: positive and negative
data for both operations, each response checked against openapi.yaml (status, content
type, schema, headers) and never a 5xx. Seeded, so a failure reproduces. Only
schemathesis's own checks run here: the harness's checks (tests/contract/) keep global
settings of their own.
"""

from __future__ import annotations

import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    ignored_auth,
    missing_required_header,
    negative_data_rejection,
    positive_data_acceptance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
    unsupported_method,
)

from mockplatform.core.spec import default_spec_path
from mockplatform.server.world import DEFAULT_API_KEY

schema = schemathesis.openapi.from_path(default_spec_path())
AUTH = {"Authorization": f"Bearer {DEFAULT_API_KEY}"}
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    negative_data_rejection,
    positive_data_acceptance,
    missing_required_header,
    unsupported_method,
    ignored_auth,
]


@schema.parametrize()
@settings(max_examples=40, deadline=None, derandomize=True, suppress_health_check=list(HealthCheck))
def test_generated_requests_conform(case, mock_url) -> None:
    response = case.call(base_url=mock_url, headers=AUTH)
    assert response.status_code < 500, f"{case.method} {case.path}: {response.status_code}"
    case.validate_response(response, checks=CHECKS, headers=AUTH)
