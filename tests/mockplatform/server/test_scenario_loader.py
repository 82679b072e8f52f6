"""Scenario files: each kind of mistake gets its own error naming the file, line and column."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from mockplatform.server import scenario_loader
from mockplatform.server.scenario_library import build_library
from mockplatform.server.scenario_loader import ScenarioError, default_scenarios_dir, load_scenario
from mockplatform.server.world import default_world

# (file text, expected "line:column: path: problem" after the file name)
BAD_FILES = {
    "bad-yaml": (
        "description: broken\nrules:\n  - respond: {status: 500\n",
        "4:1: not valid YAML: expected ',' or '}', but got '<stream end>'",
    ),
    "wrong-type": (
        "description: x\nrules:\n  respond: 500\n",
        "3:3: rules: must be of type array, not mapping",
    ),
    "unknown-field": (
        "description: x\nrules:\n  - respnd:\n      status: 500\n",
        "3:5: rules[0].respnd: unknown field (allowed here: fail_first, fault, latency_ms, "
        "match, name, operation, probability, respond, token_lifetime_seconds, trickle_ms)",
    ),
    "undocumented-status": (
        "description: x\nrules:\n  - match: {language: hi}\n    respond:\n      status: 418\n",
        "5:15: rules[0].respond.status: 418 is not a documented response of POST /api/widget/token",
    ),
    "unknown-agent": (
        "description: x\nworld:\n  instances:\n    - id: 0a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d\n"
        "      agent_id: 99999999-9999-4999-8999-999999999999\n      company_name: Acme\n",
        "5:17: world.instances[0].agent_id: 99999999-9999-4999-8999-999999999999 is not an "
        "agent of this scenario's world",
    ),
    "unknown-message": (
        "description: x\nrules:\n  - respond: {error: Server on fire}\n",
        "3:22: rules[0].respond.error: 'Server on fire' is not a documented error of "
        "POST /api/widget/token (documented: Agent not found, Invalid API key, Invalid request, "
        "Request body too large, Subscription inactive, Unsupported media type, "
        "Voice platform error)",
    ),
    "unknown-example": (
        "description: x\nrules:\n  - operation: redeemWidgetToken\n"
        "    respond: {status: 401, example: stale}\n",
        "4:37: rules[0].respond.example: 'stale' is not a named example of 401 in "
        "POST /api/widget/calls (named: expired, unknown)",
    ),
    "unknown-operation": (
        "description: x\nrules:\n  - operation: deleteAgent\n",
        "3:16: rules[0].operation: 'deleteAgent' is not an operation of openapi.yaml "
        "(known: createWidgetToken, redeemWidgetToken)",
    ),
    "success-status": (
        "description: x\nrules:\n  - respond: {status: 200}\n",
        "3:23: rules[0].respond.status: 200 is a success; a rule responds with errors "
        "(leave respond out to let the request through)",
    ),
    "no-description": ("rules: []\n", "1:1: 'description' is required"),
    "bad-enum": (
        "description: x\nrules:\n  - fault: meltdown\n",
        "3:12: rules[0].fault: 'meltdown' is not one of connection_reset, empty_response, "
        "malformed_json, truncated_json, slow_body",
    ),
    "bad-uuid": (
        "description: x\nworld:\n  agents:\n    - id: not-a-uuid\n",
        "4:11: world.agents[0].id: 'not-a-uuid' is not a 'uuid'",
    ),
}


@pytest.mark.parametrize("name", BAD_FILES)
def test_bad_file_gets_its_named_error(tmp_path: Path, spec, name: str) -> None:
    text, expected = BAD_FILES[name]
    path = tmp_path / f"{name}.yaml"
    path.write_text(text)
    with pytest.raises(ScenarioError) as caught:
        load_scenario(path, spec, default_world())
    assert str(caught.value) == f"{path}:{expected}"


@pytest.mark.parametrize(
    "path", sorted(default_scenarios_dir().glob("*.yaml")), ids=lambda p: p.stem
)
def test_shipped_scenarios_are_valid(spec, path: Path) -> None:
    scenario = load_scenario(path, spec, default_world())
    assert scenario.name == path.stem
    assert scenario.description


def _cli(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "mockplatform.cli", *args],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=cwd,
    )


def test_validate_command_stops_at_the_first_bad_file(tmp_path: Path) -> None:
    good = tmp_path / "good.yaml"
    good.write_text("description: fine\n")
    bad = tmp_path / "bad.yaml"
    bad.write_text("description: x\nrules:\n  - respond:\n      status: 418\n")
    result = _cli("validate", "good.yaml", "bad.yaml", "good.yaml", cwd=tmp_path)
    assert result.returncode == 1
    assert result.stdout == "good.yaml: ok\n"
    assert result.stderr == (
        "bad.yaml:4:15: rules[0].respond.status: 418 is not a documented response of "
        "POST /api/widget/token\n"
    )


def test_validate_checks_account_bindings(tmp_path: Path) -> None:
    bound = tmp_path / "bound.yaml"
    bound.write_text(
        "description: x\nworld:\n  accounts:\n    - api_key: nas_x\n      scenario: nowhere\n"
    )
    result = _cli("validate", str(bound))
    assert result.returncode == 1
    assert result.stderr == (
        f"{bound}:5:17: world.accounts[0].scenario: 'nowhere' is not a known scenario\n"
    )
    bound.write_text(
        "description: x\nworld:\n  accounts:\n    - api_key: nas_x\n"
        "      scenario: platform-failure\n"
    )
    assert _cli("validate", str(bound)).returncode == 0


def test_scenarios_command_lists_and_reports_coverage() -> None:
    result = _cli("scenarios", "--coverage")
    assert result.returncode == 0
    lines = result.stdout.splitlines()
    assert any(line.startswith("platform-failure ") and "500" in line for line in lines)
    assert any(
        line.split()[:3] == ["POST", "/api/widget/token", "500"] and "platform-failure" in line
        for line in lines
    )
    missing = result.stdout.split("produced by no scenario")[1]
    assert "POST /api/widget/calls 409" in missing
    assert "POST /api/widget/token 500" not in missing


def test_serve_refuses_a_bad_scenario_with_one_line(tmp_path: Path) -> None:
    bad = tmp_path / "mine.yaml"
    bad.write_text("description: x\nrules: 5\n")
    result = _cli("serve", "--port", "0", "--scenario", str(bad))
    assert result.returncode == 2
    assert result.stderr == f"mockplatform: {bad}:2:8: rules: must be of type array, not int\n"
    unknown = _cli("serve", "--port", "0", "--scenario", "nope")
    assert unknown.returncode == 2
    assert unknown.stderr.startswith("mockplatform: no scenario named 'nope' (known: ")


def test_the_readme_worked_example_is_valid(tmp_path: Path, spec) -> None:
    readme = (default_scenarios_dir() / "README.md").read_text()
    example = readme.split("## The format, by a worked example")[1].split("```yaml\n")[1]
    path = tmp_path / "worked.yaml"
    path.write_text(example.split("```")[0])
    scenario = load_scenario(path, spec, default_world())
    assert [rule.name for rule in scenario.rules][:2] == [
        "Hindi calls fail twice, then work",
        "a third of the rest are slow",
    ]
    assert scenario.call.fail_after_turns == 2


def test_each_scenario_file_is_parsed_once_at_start_up(monkeypatch, spec) -> None:
    parsed: list[str] = []
    parse = scenario_loader._parse

    def counting(path: Path):  # type: ignore[no-untyped-def]
        parsed.append(path.name)
        return parse(path)

    monkeypatch.setattr(scenario_loader, "_parse", counting)
    build_library(spec, default_world())
    assert sorted(parsed) == sorted(p.name for p in default_scenarios_dir().glob("*.yaml"))
