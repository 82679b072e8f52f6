"""examples/contract-gate.yml passes against a correct staging: its command line, run as is.

The staging is the fake platform as a real one is: no redeem operation (the SDK redeems out of
sight), no controllable clock, a 500 that cannot be provoked. Everything else is correct.
"""

from __future__ import annotations

import json
import os
import shlex
from pathlib import Path

import yaml

from contract.cli import main
from mockplatform.server.world import DEFAULT_AGENT_ID
from tests.contract.fake_platform import (
    ACTIVE_KEY,
    CANCELLED_KEY,
    INACTIVE_AGENT_ID,
    INACTIVE_KEY,
    INSTANCE_ID,
    OTHER_INSTANCE_ID,
    Behaviour,
)

GATE = Path(__file__).resolve().parents[2] / "examples" / "contract-gate.yml"
STEP = "Check staging against openapi.yaml"


def gate_command() -> list[str]:
    workflow = yaml.safe_load(GATE.read_text())
    steps = workflow["jobs"]["contract"]["steps"]
    command = next(step["run"] for step in steps if step.get("name") == STEP)
    words = shlex.split(command)
    assert words[:2] == ["contract", "run"]
    return [os.path.expandvars(word) if "$" in word else word for word in words[1:]]


def staging_environment(url: str) -> dict[str, str]:
    """The variables the gate reads, for the fake at `url` with its keys and ids."""
    return {
        "CONTRACT_BASE_URL": url,
        "CONTRACT_API_KEY": ACTIVE_KEY,
        "CONTRACT_INACTIVE_KEY": INACTIVE_KEY,
        "CONTRACT_INACTIVE_KEY_2": CANCELLED_KEY,
        "CONTRACT_AGENT_ID": DEFAULT_AGENT_ID,
        "CONTRACT_INSTANCE_ID": INSTANCE_ID,
        "CONTRACT_INACTIVE_AGENT_ID": INACTIVE_AGENT_ID,
        "CONTRACT_OTHER_INSTANCE_ID": OTHER_INSTANCE_ID,
        "CONTRACT_RATE": "500",  # the repository variable: a local fake takes more than 20/s
    }


def test_the_gate_passes_a_correct_staging(serve_fake, tmp_path, monkeypatch) -> None:
    url = serve_fake(Behaviour(no_redeem=True, clock=False))
    for name, value in staging_environment(url).items():
        monkeypatch.setenv(name, value)
    monkeypatch.chdir(tmp_path)
    code = main([*gate_command(), "--quiet"])
    report = json.loads((tmp_path / "reports" / "contract.json").read_text())
    assert code == 0, [(c["name"], c["outcome"], c["note"]) for c in report["checks"]]
    assert "--strict" in report["verdict"] and report["exitCode"] == 0
    assert (tmp_path / "reports" / "contract.xml").is_file()
    assert (tmp_path / "reports" / "contract.html").is_file()
