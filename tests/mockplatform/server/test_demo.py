"""The demo's routes without a browser: the page, the SDK file, the stand-in backend."""

from __future__ import annotations

from mockplatform.server.world import DEFAULT_AGENT_ID, DEFAULT_INSTANCE_ID


def test_the_page_is_served_at_the_root(client) -> None:
    response = client.get("/")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    assert '<script type="module" src="/static/demo.js">' in response.text


def test_the_sdk_is_a_javascript_module(client) -> None:
    response = client.get("/sdk/voice-client.js")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/javascript")
    assert "export class ZentrixVoiceClient" in response.text


def test_the_sdk_can_be_imported_from_a_dev_servers_origin(client) -> None:
    response = client.get("/sdk/voice-client.js", headers={"Origin": "http://localhost:5173"})
    assert response.headers["access-control-allow-origin"] == "http://localhost:5173"


def test_the_page_uses_nothing_from_another_host(client) -> None:
    for path in ("/", "/static/demo.js", "/static/demo.css", "/sdk/voice-client.js"):
        text = client.get(path).text
        assert "https://" not in text and "//cdn" not in text, path


def test_the_backend_route_gets_a_token_with_the_test_key(client) -> None:
    response = client.post(
        "/demo/start-call",
        json={"callerName": "Rahul Sharma", "language": "hi", "instanceId": DEFAULT_INSTANCE_ID},
    )
    assert response.status_code == 200
    body = response.json()
    assert set(body) == {"accessToken", "callId", "agentName"}
    record = client.get(f"/_mock/calls/{body['callId']}").json()
    assert (record["callerName"], record["language"]) == ("Rahul Sharma", "hi")
    assert (record["agentId"], record["instanceId"]) == (DEFAULT_AGENT_ID, DEFAULT_INSTANCE_ID)
    # it went through the real token endpoint: the journal shows it, key masked
    sent = client.get("/_mock/requests").json()["requests"][0]
    assert sent["path"] == "/api/widget/token"
    assert sent["headers"]["authorization"] == "Bearer nas_…tive"


def test_the_backend_route_passes_errors_through(client, spec) -> None:
    response = client.post("/demo/start-call", json={"apiKey": "nas_test_trial_expired"})
    assert response.status_code == 403
    documented = spec.operation("createWidgetToken").example(403)["error"]
    assert response.json()["error"] == documented


def test_the_backend_route_drops_fields_the_token_request_does_not_have(client) -> None:
    response = client.post("/demo/start-call", json={"callerName": "", "evil": "x"})
    assert response.status_code == 200
    sent = client.get("/_mock/requests").json()["requests"][0]["body"]
    assert sent == {"agentId": DEFAULT_AGENT_ID}


def test_the_backend_route_wants_json(client) -> None:
    """As the token endpoint does (the same intake reads both)."""
    response = client.post("/demo/start-call", content=b"[1", headers={"Content-Type": "x"})
    assert response.status_code == 415
    response = client.post("/demo/start-call", content=b"[1", headers={"Content-Type": "x+json"})
    assert response.status_code == 415
    response = client.post(
        "/demo/start-call", content=b"[1", headers={"Content-Type": "application/json"}
    )
    assert response.status_code == 400
    assert response.json()["error"] == "Invalid request"


def test_the_page_config_comes_from_the_spec_and_world(client, spec) -> None:
    config = client.get("/demo/config").json()
    assert config["tokenLifetimeSeconds"] == spec.token_lifetime_seconds
    enum = spec.document["components"]["schemas"]["TokenRequest"]["properties"]["language"]["enum"]
    assert [language["code"] for language in config["languages"]] == enum
    assert DEFAULT_INSTANCE_ID in [instance["id"] for instance in config["instances"]]
    assert config["agentId"] == DEFAULT_AGENT_ID
