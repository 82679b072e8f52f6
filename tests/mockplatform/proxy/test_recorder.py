"""The recording's rules from what a case met, and the file the mock loads (no server here)."""

from __future__ import annotations

import json
import uuid
from pathlib import Path

import yaml

from mockplatform.core.credentials import key_digest
from mockplatform.core.judge import Seen
from mockplatform.core.spec import CREATE_TOKEN, Spec, bearer_credential
from mockplatform.proxy.recorder import MAX_CASES, Recorder
from mockplatform.server.scenario_loader import load_scenario
from mockplatform.server.world import DEFAULT_AGENT_ID, default_world

KEY, REVOKED = "live_key_flaky_0123", "live_key_revoked_4567"


def token_exchange(
    key: str, status: int, answer: dict[str, str], agent: str = DEFAULT_AGENT_ID
) -> Seen:
    return Seen(
        method="POST",
        path="/api/widget/token",
        query="",
        request_headers=(("authorization", f"Bearer {key}"), ("content-type", "application/json")),
        request_body=json.dumps({"agentId": agent}).encode(),
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
    recorder.save()

    text = (tmp_path / "seen.yaml").read_text()
    assert KEY not in text and REVOKED not in text
    document = yaml.safe_load(text)
    assert [a["api_key_digest"] for a in document["world"]["accounts"]] == [key_digest(KEY)]
    assert document["world"]["agents"] == [{"id": DEFAULT_AGENT_ID, "name": "Front Desk"}]
    # 403 once in four; then 500 once in the three the first rule lets by.
    assert [(r["respond"]["status"], r.get("probability")) for r in document["rules"]] == [
        (403, 0.25),
        (500, round(1 / 3, 4)),
    ]
    scenario = load_scenario(tmp_path / "seen.yaml", spec, default_world())
    assert [rule.respond.status for rule in scenario.rules if rule.respond] == [403, 500]


def test_keys_with_odd_bytes_still_make_a_valid_file(spec: Spec, tmp_path: Path) -> None:
    """A key is whatever bytes an app sends (read as latin-1): a NEL (\\x85) is a line break
    to YAML, a \\x80 no character at all in UTF-8. Neither may break the file."""
    recorder = Recorder(tmp_path / "odd.yaml", "https://staging.example.com")
    operation = spec.operation(CREATE_TOKEN)
    odd_keys = ["live_key_\x80\x80\x80\x80", "live_key_ab\x85\x85", "live_\u2028key_x\u2028"]
    for key in odd_keys:
        recorder.observe(operation, token_exchange(key, 403, {"error": "Subscription inactive"}))
    recorder.save()
    text = (tmp_path / "odd.yaml").read_text(encoding="utf-8")
    assert not any(key in text for key in odd_keys)
    assert all(line.startswith("#") or not line.startswith(" #") for line in text.splitlines())
    scenario = load_scenario(tmp_path / "odd.yaml", spec, default_world())
    assert len(scenario.world.accounts) == 3
    presented = [bearer_credential(f"Bearer {key}") for key in odd_keys]  # as the mock reads it
    assert all(scenario.world.account_for_key(key or "") is not None for key in presented)


def test_cases_past_the_cap_are_counted_not_kept(spec: Spec, tmp_path: Path) -> None:
    recorder = Recorder(tmp_path / "many.yaml", "https://staging.example.com")
    operation = spec.operation(CREATE_TOKEN)
    refused = {"error": "Agent not found"}
    for n in range(MAX_CASES + 5):
        agent = str(uuid.UUID(int=n, version=4))
        recorder.observe(operation, token_exchange(KEY, 404, refused, agent))
    assert len(recorder.seen.cases) == MAX_CASES
    assert recorder.seen.dropped == 5
    recorder.save()
    assert "5 more observation(s) past the cap" in (tmp_path / "many.yaml").read_text()
