"""libyaml reads openapi.yaml and the shipped scenarios exactly as PyYAML's own loader does.

The mock reads them with the fast loader at start-up (cold start), so any difference
between the two would change the contract the mock serves.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from mockplatform.core.spec import YAML_LOADER, default_spec_path
from mockplatform.server.scenario_loader import default_scenarios_dir

FILES = [default_spec_path(), *sorted(Path(default_scenarios_dir()).glob("*.yaml"))]


@pytest.mark.parametrize("path", FILES, ids=[p.name for p in FILES])
def test_same_document_as_pyyamls_loader(path: Path) -> None:
    text = path.read_text(encoding="utf-8")
    assert yaml.load(text, Loader=YAML_LOADER) == yaml.safe_load(text)


def test_the_fast_loader_is_libyaml_here() -> None:
    """Where PyYAML has libyaml (Debian's and PyPI's wheels do), start-up uses it."""
    assert yaml.__with_libyaml__
    assert YAML_LOADER is yaml.CSafeLoader
