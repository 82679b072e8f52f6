"""A spec-driven mock of a voice-AI platform's widget token API."""

from mockplatform.app import create_app
from mockplatform.errors import MockPlatformError, SpecError
from mockplatform.spec import Spec, load_spec
from mockplatform.world import Account, Agent, Instance, Subscription, World, default_world

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
