"""Plain `schemathesis run` with our checks loaded (SCHEMATHESIS_HOOKS=contract.hooks).

That the same checks stay quiet on a correct implementation is shown by every full run in
test_against_mock and test_legitimate_choices: `contract run` loads these hooks too.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from tests.contract.fake_platform import ACTIVE_KEY, Behaviour

SCHEMATHESIS = Path(sys.executable).with_name("schemathesis")


def schemathesis_run(spec_path: Path, url: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "SCHEMATHESIS_HOOKS": "contract.hooks", "CONTRACT_API_KEY": ACTIVE_KEY}
    command = [
        str(SCHEMATHESIS), "run", str(spec_path), "--url", url,
        "-H", f"Authorization: Bearer {ACTIVE_KEY}",
        "--checks", "auth_first,no_credential_echo,unique_ids,not_a_server_error",
        "--phases", "examples,coverage", "--max-examples", "3", "--seed", "1", "--no-color",
    ]  # fmt: skip
    return subprocess.run(command, env=env, cwd=cwd, capture_output=True, text=True, timeout=120)


def test_our_checks_catch_a_keyless_implementation(spec, serve_fake, tmp_path) -> None:
    ran = schemathesis_run(spec.path, serve_fake(Behaviour(keyless=True)), tmp_path)
    assert ran.returncode == 1, ran.stdout + ran.stderr
    assert "Custom check failed: `auth_first`" in ran.stdout
    # The core judge's rule and what it saw: the keyless request got 200.
    assert "a request without a valid key gets 401, before anything else is judged: 200" in (
        ran.stdout
    )
