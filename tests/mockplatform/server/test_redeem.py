"""Redeeming tokens: single use, and expiry after the spec's lifetime on the mock's clock."""

from __future__ import annotations


def redeem(client, token: str):
    return client.post("/api/widget/calls", json={"accessToken": token})


def test_token_redeems_once_then_409(client, request_token) -> None:
    issued = request_token().json()
    first = redeem(client, issued["accessToken"])
    assert first.status_code == 201
    assert first.json()["callId"] == issued["callId"]
    second = redeem(client, issued["accessToken"])
    assert second.status_code == 409
    assert second.json()["error"] == "Access token already used"


def test_token_valid_just_before_its_lifetime(client, request_token, spec) -> None:
    token = request_token().json()["accessToken"]
    client.post("/_mock/clock/advance", json={"seconds": spec.token_lifetime_seconds - 1})
    assert redeem(client, token).status_code == 201


def test_token_expires_after_its_lifetime(client, request_token, spec) -> None:
    token = request_token().json()["accessToken"]
    client.post("/_mock/clock/advance", json={"seconds": spec.token_lifetime_seconds + 1})
    response = redeem(client, token)
    assert response.status_code == 401
    assert response.json()["error"] == "Access token expired"


def test_long_expired_token_is_forgotten(client, request_token) -> None:
    token = request_token().json()["accessToken"]
    client.post("/_mock/clock/advance", json={"seconds": 24 * 3600})
    assert redeem(client, token).json()["error"] == "Invalid access token"


def test_unknown_token_gets_401(client) -> None:
    response = redeem(client, "rt_test_never_issued")
    assert response.status_code == 401
    assert response.json()["error"] == "Invalid access token"


def test_redeem_validates_its_body(client) -> None:
    response = client.post("/api/widget/calls", json={"token": "x"})
    assert response.status_code == 400
    assert response.json()["field"] == "accessToken"


def test_redeem_moves_the_call_to_started(client, request_token) -> None:
    issued = request_token().json()
    assert client.get(f"/_mock/calls/{issued['callId']}").json()["status"] == "token_issued"
    redeem(client, issued["accessToken"])
    record = client.get(f"/_mock/calls/{issued['callId']}").json()
    assert record["status"] == "started"
    assert record["startedAt"] >= record["tokenIssuedAt"]
