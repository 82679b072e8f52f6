"""Settings for the harness's test runs: small and seeded (tests prove behaviour, not speed)."""

from __future__ import annotations

from typing import Any

from contract import Settings
from mockplatform.server.world import DEFAULT_API_KEY
from tests.contract.fake_platform import (
    ACTIVE_KEY,
    CANCELLED_KEY,
    INACTIVE_AGENT_ID,
    INACTIVE_KEY,
    INSTANCE_ID,
    OTHER_INSTANCE_ID,
)

SEED = 7
MAX_EXAMPLES = 5
NO_SCHEMATHESIS: tuple[
    str, ...
] = ()  # phases=(): only our scripted checks, in a fraction of a second


def fake_settings(url: str, **overrides: Any) -> Settings:
    """The fake platform with its active and inactive keys."""
    options: dict[str, Any] = {
        "api_key": ACTIVE_KEY,
        "inactive_keys": (INACTIVE_KEY, CANCELLED_KEY),
        "instance_id": INSTANCE_ID,
        "inactive_agent_id": INACTIVE_AGENT_ID,
        "other_instance_id": OTHER_INSTANCE_ID,
    }
    options |= {"seed": SEED, "max_examples": MAX_EXAMPLES, **overrides}
    return Settings(base_url=url, **options)


def mock_settings(url: str, **overrides: Any) -> Settings:
    """The mock with its default key."""
    options: dict[str, Any] = {"api_key": DEFAULT_API_KEY, "seed": SEED}
    options |= {"max_examples": MAX_EXAMPLES, **overrides}
    return Settings(base_url=url, **options)
