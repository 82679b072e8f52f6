"""The package's own data: openapi.yaml and the shipped scenarios, wherever it is installed.

They travel inside the package (a wheel holds copies; the repository keeps the real files at
its root, and links to them from here), and are found through `importlib.resources`, never by
a path relative to a checkout.
"""

from __future__ import annotations

from importlib.resources import files
from pathlib import Path

# The name pip knows the project by (`mockplatform` on PyPI is an unrelated project); the
# import packages stay `mockplatform` and `contract`.
DISTRIBUTION = "mockplatform-contract"
SPEC_FILE = "openapi.yaml"
SCENARIOS_DIR = "scenarios"


def packaged(name: str) -> Path:
    """A file or directory shipped inside the package, as a path on the file system.

    The scenario library lists and watches the shipped files like a team's own, so it needs
    real paths: the package must be installed as files (a wheel, or editable), not zipped.
    """
    resource = files("mockplatform") / name
    if not isinstance(resource, Path):
        raise RuntimeError(f"mockplatform must be installed as files to read its {name}")
    return resource
