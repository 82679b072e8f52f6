"""Cold start stays fast: serving the mock never imports the harness's heavy dependencies.

Nor httpx, which the demo page uses for one request (with its command line it pulls in
rich: ~0.15 s of start-up). Checked in a fresh interpreter, since this test process has
schemathesis (and hypothesis) loaded as pytest plugins.
"""

from __future__ import annotations

import json
import subprocess
import sys

HEAVY = ("schemathesis", "hypothesis", "contract", "httpx", "rich")

PROBE = f"""
import json, sys
import mockplatform.cli
from mockplatform.app import create_app
create_app()
print(json.dumps(sorted(m for m in sys.modules if m.split(".")[0] in {HEAVY!r})))
"""


def test_building_the_app_imports_no_harness_dependency() -> None:
    result = subprocess.run(
        [sys.executable, "-c", PROBE], capture_output=True, text=True, timeout=60, check=True
    )
    assert json.loads(result.stdout.splitlines()[-1]) == []


def test_the_probe_would_notice_a_heavy_import() -> None:
    """The check above can fail: the same probe sees hypothesis once something imports it."""
    probe = PROBE.replace("create_app()", "create_app()\nimport hypothesis")
    result = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, timeout=60, check=True
    )
    assert "hypothesis" in json.loads(result.stdout.splitlines()[-1])
