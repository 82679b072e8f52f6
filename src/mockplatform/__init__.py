"""A spec-driven mock of a voice-AI platform's widget token API.

The public names load on first use, so that importing the contract core (as the harness and
the proxy do) never loads the mock server.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from mockplatform.core.errors import MockPlatformError, SpecError
    from mockplatform.core.spec import Spec, load_spec
    from mockplatform.server.app import create_app
    from mockplatform.server.world import (
        Account,
        Agent,
        Instance,
        Subscription,
        World,
        default_world,
    )

_WHERE = {
    "Account": "mockplatform.server.world",
    "Agent": "mockplatform.server.world",
    "Instance": "mockplatform.server.world",
    "MockPlatformError": "mockplatform.core.errors",
    "Spec": "mockplatform.core.spec",
    "SpecError": "mockplatform.core.errors",
    "Subscription": "mockplatform.server.world",
    "World": "mockplatform.server.world",
    "create_app": "mockplatform.server.app",
    "default_world": "mockplatform.server.world",
    "load_spec": "mockplatform.core.spec",
}
__all__ = [
    "Account",
    "Agent",
    "Instance",
    "MockPlatformError",
    "Spec",
    "SpecError",
    "Subscription",
    "World",
    "create_app",
    "default_world",
    "load_spec",
]


def __getattr__(name: str) -> Any:
    if name not in _WHERE:
        raise AttributeError(f"module 'mockplatform' has no attribute {name!r}")
    return getattr(importlib.import_module(_WHERE[name]), name)
