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
from mockplatform.server.app import create_app
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


def _loaded_products(statement: str) -> list[str]:
    """The mockplatform products (server, proxy) a fresh interpreter holds after `statement`."""
    probe = (
        f"import json, sys\n{statement}\n"
        "print(json.dumps(sorted({m.split('.')[1] for m in sys.modules "
        "if m.startswith('mockplatform.') and m.count('.') >= 1})))"
    )
    result = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, timeout=60, check=True
    )
    return json.loads(result.stdout.splitlines()[-1])


def test_the_harness_and_the_proxy_load_only_the_core() -> None:
    """Each product imports the core, never another product: the harness's settings load no
    part of the mock server, and the proxy loads neither the server's store nor its journal."""
    assert _loaded_products("import contract.settings") == ["core"]
    assert _loaded_products("import mockplatform.proxy.validation_proxy") == ["core", "proxy"]
    assert "server" in _loaded_products("import mockplatform.server.app")
