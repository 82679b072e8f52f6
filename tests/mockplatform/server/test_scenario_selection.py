"""A team's own scenarios: chosen at start-up by path or directory, reloaded when edited."""

from __future__ import annotations

import os
from pathlib import Path

import httpx

from mockplatform import create_app
from mockplatform.server.app import Settings
from mockplatform.testing import serve_in_thread

TOKEN_REQUEST = {"agentId": "550e8400-e29b-41d4-a716-446655440000"}
KEY = {"Authorization": "Bearer nas_test_active"}


def _write(path: Path, text: str) -> None:
    path.write_text(text)
    # a later mtime even on coarse clocks, so the change is seen
    stat = path.stat()
    os.utime(path, (stat.st_atime, stat.st_mtime + 1 + (stat.st_mtime % 1)))


def _status(http: httpx.Client, scenario: str) -> int:
    return http.post(
        "/api/widget/token", json=TOKEN_REQUEST, headers={**KEY, "X-Mock-Scenario": scenario}
    ).status_code


def test_team_directory_is_loaded_and_reloaded_on_edit(tmp_path: Path, spec) -> None:
    team = tmp_path / "team.yaml"
    _write(team, "description: ours\nrules:\n  - respond: {status: 500}\n")
    app = create_app(Settings(scenarios_dirs=[tmp_path], reload_interval=0), spec=spec)
    with serve_in_thread(app) as url, httpx.Client(base_url=url) as http:
        assert _status(http, "team") == 500
        _write(team, "description: ours\nrules:\n  - respond: {status: 403}\n")
        assert _status(http, "team") == 403
        _write(team, "description: ours\nrules:\n  - respond: {status: 418}\n")
        assert _status(http, "team") == 403, "a broken edit keeps the last good version"
        _write(tmp_path / "later.yaml", "description: added while running\n")
        names = {s["name"] for s in http.get("/_mock/scenarios").json()["scenarios"]}
        assert {"team", "later", "default"} <= names


def test_startup_scenario_given_as_a_path(tmp_path: Path, spec) -> None:
    mine = tmp_path / "mine.yaml"
    _write(mine, "description: mine\nrules:\n  - respond: {error: Agent not found}\n")
    app = create_app(Settings(scenario=str(mine)), spec=spec)
    with serve_in_thread(app) as url, httpx.Client(base_url=url) as http:
        assert http.get("/_mock/scenario").json()["name"] == "mine"
        response = http.post("/api/widget/token", json=TOKEN_REQUEST, headers=KEY)
        assert response.json() == {"error": "Agent not found"}
        http.put("/_mock/scenario", json={"name": "default"})
        assert http.post("/api/widget/token", json=TOKEN_REQUEST, headers=KEY).status_code == 200
        http.post("/_mock/reset")
        assert http.get("/_mock/scenario").json()["name"] == "mine"


def test_team_scenario_overrides_a_shipped_name(tmp_path: Path, spec) -> None:
    _write(tmp_path / "platform-failure.yaml", "description: ours now\n")
    app = create_app(Settings(scenarios_dirs=[tmp_path]), spec=spec)
    with serve_in_thread(app) as url, httpx.Client(base_url=url) as http:
        assert _status(http, "platform-failure") == 200


def test_a_switch_is_followed_by_the_next_token_request(spec) -> None:
    """The process answers a token request under the scenario it last knew active, unread;
    the store checks it as the token is kept, and a request answered under one no longer
    active is answered again: each answer below is the switched-to scenario's, and the
    journal and the call log name it."""
    app = create_app(spec=spec)
    with serve_in_thread(app) as url, httpx.Client(base_url=url) as http:

        def token_request() -> httpx.Response:
            return http.post("/api/widget/token", json=TOKEN_REQUEST, headers=KEY)

        assert token_request().status_code == 200  # "default", now taken unread
        http.put("/_mock/scenario", json={"name": "dropped-call"}).raise_for_status()
        dropped = token_request()  # answered under "default", then again: the token is kept
        assert dropped.status_code == 200
        http.put("/_mock/scenario", json={"name": "platform-failure"}).raise_for_status()
        assert token_request().status_code == 500  # its rules: checked before they count
        http.put("/_mock/scenario", json={"name": "expired-trial"}).raise_for_status()
        assert token_request().status_code == 403  # a refusal: checked before it goes out
        http.post("/_mock/reset").raise_for_status()
        assert token_request().status_code == 200  # (answered under "expired-trial" first)
        journal = http.get("/_mock/requests").json()["requests"]
        assert [(entry["status"], entry["scenario"]) for entry in journal] == [(200, "default")]
        http.put("/_mock/scenario", json={"name": "dropped-call"}).raise_for_status()
        assert token_request().status_code == 200
        [entry] = http.get("/_mock/requests").json()["requests"][:1]
        assert (entry["status"], entry["scenario"]) == (200, "dropped-call")
        [call] = http.get("/_mock/calls").json()["calls"][:1]
        assert call["scenario"] == "dropped-call"
