"""The network-faults scenario: responses that break in transit, as a frontend must survive."""

from __future__ import annotations

import json

import httpx
import pytest

from mockplatform.server.faults import BEHAVIOURS, Fault
from mockplatform.server.scenario_loader import SCHEMA_FILE, default_scenarios_dir

TOKEN_REQUEST = {"agentId": "550e8400-e29b-41d4-a716-446655440000"}


@pytest.fixture
def faulty(mock_url: str):
    """A client that does not check responses against the spec: these are outside it."""
    with httpx.Client(base_url=mock_url) as http:
        http.post("/_mock/reset")

        def post(fault: str | None) -> httpx.Response:
            headers = {
                "Authorization": "Bearer nas_test_active",
                "X-Mock-Scenario": "network-faults",
            }
            if fault:
                headers["X-Mock-Fault"] = fault
            return http.post("/api/widget/token", json=TOKEN_REQUEST, headers=headers)

        post.http = http  # type: ignore[attr-defined]
        yield post


def test_connection_reset(faulty) -> None:
    with pytest.raises(httpx.TransportError):
        faulty("connection_reset")
    entry = faulty.http.get("/_mock/requests").json()["requests"][0]
    assert entry["fault"] == "connection_reset"
    assert entry["status"] is None


def test_empty_response(faulty) -> None:
    with pytest.raises(httpx.RemoteProtocolError):
        faulty("empty_response")


def test_malformed_json(faulty) -> None:
    response = faulty("malformed_json")
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/json"
    with pytest.raises(json.JSONDecodeError):
        response.json()


@pytest.mark.parametrize("fault", ["truncated_json", None])
def test_truncated_json(faulty, fault) -> None:
    response = faulty(fault)
    assert response.status_code == 200
    assert response.text.startswith('{"accessToken":"rt_test_')
    with pytest.raises(json.JSONDecodeError):
        response.json()


def test_slow_body_arrives_whole_in_pieces(faulty, mock_url) -> None:
    headers = {
        "Authorization": "Bearer nas_test_active",
        "X-Mock-Scenario": "network-faults",
        "X-Mock-Fault": "slow_body",
    }
    with httpx.Client(base_url=mock_url) as http:
        with http.stream("POST", "/api/widget/token", json=TOKEN_REQUEST, headers=headers) as r:
            chunks = list(r.iter_raw())
        token = json.loads(b"".join(chunks))["accessToken"]
        assert len(chunks) > 3
        redeemed = http.post("/api/widget/calls", json={"accessToken": token})
        assert redeemed.status_code == 201


def test_the_scenario_schema_names_exactly_the_faults_the_mock_has() -> None:
    schema = json.loads((default_scenarios_dir() / SCHEMA_FILE).read_text())
    assert schema["$defs"]["fault"]["enum"] == [fault.value for fault in Fault]
    assert set(BEHAVIOURS) == set(Fault)
