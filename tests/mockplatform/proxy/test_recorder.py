"""The recording's rules from what a case met, and the file the mock loads (no server here)."""

from __future__ import annotations

import json
from pathlib import Path

import yaml

from mockplatform.core.judge import Seen
from mockplatform.core.spec import CREATE_TOKEN, Spec
from mockplatform.proxy.recorder import Recorder
from mockplatform.server.scenario_loader import load_scenario
from mockplatform.server.world import DEFAULT_AGENT_ID, default_world

KEY, REVOKED = "live_key_flaky_0123", "live_key_revoked_4567"


def token_exchange(key: str, status: int, answer: dict[str, str]) -> Seen:
    return Seen(
        method="POST",
        path="/api/widget/token",
        query="",
        request_headers=(("authorization", f"Bearer {key}"), ("content-type", "application/json")),
        request_body=json.dumps({"agentId": DEFAULT_AGENT_ID}).encode(),
        status=status,
        response_headers=(("content-type", "application/json"),),
        response_body=json.dumps(answer).encode(),
        at=0.0,
        sent=0.0,
        answered=0.0,
    )


def test_a_case_that_failed_some_of_the_time_fails_as_often(spec: Spec, tmp_path: Path) -> None:
    recorder = Recorder(tmp_path / "seen.yaml", "https://staging.example.com")
    operation = spec.operation(CREATE_TOKEN)
    ok = {"accessToken": "rt_x", "callId": "call_x", "agentName": "Front Desk"}
    for status, answer in [
        (200, ok),
        (500, {"error": "Voice platform error"}),
        (200, ok),
        (403, {"error": "Subscription inactive"}),
    ]:
        recorder.observe(operation, token_exchange(KEY, status, answer))
    recorder.observe(operation, token_exchange(REVOKED, 401, {"error": "Invalid API key"}))

    text = (tmp_path / "seen.yaml").read_text()
    assert KEY not in text and REVOKED not in text
    document = yaml.safe_load(text)
    assert [a["api_key"] for a in document["world"]["accounts"]] == ["nas_recorded_key_1"]
    assert document["world"]["agents"] == [{"id": DEFAULT_AGENT_ID, "name": "Front Desk"}]
    # 403 once in four; then 500 once in the three the first rule lets by.
    assert [(r["respond"]["status"], r.get("probability")) for r in document["rules"]] == [
        (403, 0.25),
        (500, round(1 / 3, 4)),
    ]
    scenario = load_scenario(tmp_path / "seen.yaml", spec, default_world())
    assert [rule.respond.status for rule in scenario.rules if rule.respond] == [403, 500]
