"""Scenarios: a world plus rules that decide how the mock answers a request.

A scenario is data (a YAML file, see `scenario_loader`); this module holds what it becomes
and how a request picks its rule. Rule state that must hold across workers (how many
requests a `fail_first` rule has seen, which draw a `probability` rule is at) lives in the
Store, so a flaky scenario fails the same requests however many processes serve it.
"""

from __future__ import annotations

import random
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from mockplatform.core.credentials import key_digest
from mockplatform.core.errors import Rejection
from mockplatform.core.spec import CREATE_TOKEN
from mockplatform.server.faults import Fault
from mockplatform.server.store import Store
from mockplatform.server.world import World

DEFAULT_OPERATION = CREATE_TOKEN
DEFAULT_TRICKLE_MS = 250


@dataclass(frozen=True)
class Match:
    """Conditions on the request; a condition left out matches anything."""

    api_key: str | None = None
    api_key_digest: str | None = None  # a recording's: the key by `credentials.key_digest`
    agent_id: str | None = None
    instance_id: str | None = None
    language: str | None = None
    caller_name: str | None = None
    header: Mapping[str, str] = field(default_factory=dict)

    def matches(self, view: RequestView) -> bool:
        wanted = (
            (self.api_key, view.api_key),
            (self.agent_id, view.body.get("agentId")),
            (self.instance_id, view.body.get("instanceId")),
            (self.language, view.body.get("language")),
            (self.caller_name, view.body.get("callerName")),
        )
        if any(expected is not None and expected != actual for expected, actual in wanted):
            return False
        if self.api_key_digest is not None and not self._digest_matches(view.api_key):
            return False
        return all(view.headers.get(name.lower()) == value for name, value in self.header.items())

    def _digest_matches(self, key: str | None) -> bool:
        """`key` is the account's digest itself (an account known by it alone), or a key
        whose digest it is."""
        if key is None:
            return False
        return key == self.api_key_digest or key_digest(key) == self.api_key_digest


@dataclass(frozen=True)
class Respond:
    """A documented response of the rule's operation; its body comes from openapi.yaml."""

    status: int
    example: str | None = None
    detail: str | None = None

    def rejection(self, operation_id: str) -> Rejection:
        return Rejection(operation_id, self.status, example=self.example, detail=self.detail)


@dataclass(frozen=True)
class Rule:
    operation: str = DEFAULT_OPERATION
    match: Match = field(default_factory=Match)
    respond: Respond | None = None
    latency_ms: int = 0
    fail_first: int | None = None
    probability: float | None = None
    token_lifetime_seconds: float | None = None
    fault: Fault | None = None  # outside the contract: see faults.py
    trickle_ms: int = DEFAULT_TRICKLE_MS
    name: str | None = None


@dataclass(frozen=True)
class CallScript:
    """How the simulated call behaves once its token is redeemed."""

    turns: int = 3
    pace_ms: int = 300
    end_after_turns: int | None = None
    fail_after_turns: int | None = None
    error: str = "Voice platform connection lost"
    # The connection drops after this many exchanges: no error, no call_ended, no close frame.
    drop_after_turns: int | None = None
    microphone: Literal["granted", "denied"] = "granted"  # denied: the call fails at once


@dataclass(frozen=True)
class Scenario:
    name: str
    description: str
    world: World
    rules: tuple[Rule, ...] = ()
    seed: int = 0
    call: CallScript = field(default_factory=CallScript)
    source: str | None = None  # the file it was loaded from

    def describe(self) -> dict[str, Any]:
        return {"name": self.name, "description": self.description, "file": self.source}


@dataclass(frozen=True)
class RequestView:
    """What rules may look at: the API key, the body's fields, the headers (lower-cased)."""

    api_key: str | None
    body: Mapping[str, Any]
    headers: Mapping[str, str]


async def select_rule(
    scenario: Scenario, operation_id: str, view: RequestView, store: Store
) -> Rule | None:
    """The first rule that matches the request and triggers for it, if any."""
    for index, rule in enumerate(scenario.rules):
        if rule.operation != operation_id or not rule.match.matches(view):
            continue
        if rule.fail_first is None and rule.probability is None:
            return rule
        seen = await store.next_count(f"{scenario.name}:{index}")
        if rule.fail_first is not None and seen > rule.fail_first:
            continue
        draw = random.Random(f"{scenario.seed}:{index}:{seen}").random()
        if rule.probability is not None and draw >= rule.probability:
            continue
        return rule
    return None
