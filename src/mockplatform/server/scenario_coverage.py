"""Which documented responses the scenarios produce on demand, and which none does.

"On demand" means by the scenario's own configuration — a rule's response, or its world
(an inactive subscription gives 403, an inactive agent 404) — as opposed to responses any
scenario gives to a bad request (a malformed body, a wrong key, a reused token).
"""

from __future__ import annotations

from dataclasses import dataclass

from mockplatform.core.spec import CREATE_TOKEN, Spec
from mockplatform.server.scenario_library import DEFAULT_SCENARIO
from mockplatform.server.scenarios import Match, Rule, Scenario
from mockplatform.server.world import World


@dataclass(frozen=True)
class Coverage:
    operation_id: str
    title: str
    status: int
    example: str | None
    scenarios: tuple[str, ...]

    @property
    def label(self) -> str:
        return f"{self.title} {self.status}" + (f" ({self.example})" if self.example else "")


def scenario_coverage(spec: Spec, scenarios: list[Scenario], base: World) -> list[Coverage]:
    """`base` is the world scenarios extend: its fixtures count for the default scenario only."""
    rows = []
    for operation in spec.operations.values():
        for status in operation.responses:
            for example in operation.example_choices(status):
                producers = tuple(
                    s.name
                    for s in scenarios
                    if _produces(s, operation.operation_id, status, example, spec, base)
                )
                rows.append(
                    Coverage(operation.operation_id, operation.title, status, example, producers)
                )
    return rows


def _produces(
    scenario: Scenario,
    operation_id: str,
    status: int,
    example: str | None,
    spec: Spec,
    base: World,
) -> bool:
    rules = [rule for rule in scenario.rules if rule.operation == operation_id]
    if status < 400:
        return not any(_catches_all(rule) for rule in rules)
    for rule in rules:
        if rule.respond is not None and rule.respond.status == status:
            names = spec.operation(operation_id).example_names(status)
            chosen = rule.respond.example or (names[0] if names else None)
            if chosen == example:
                return True
    inherited = base if scenario.name != DEFAULT_SCENARIO else World([], {}, {})
    if operation_id == CREATE_TOKEN and status == 403:
        blocked = {a.api_key for a in scenario.world.accounts if not a.subscription.allows_calls}
        return bool(
            blocked - {a.api_key for a in inherited.accounts if not a.subscription.allows_calls}
        )
    if operation_id == CREATE_TOKEN and status == 404:
        inactive = {a.id for a in scenario.world.agents.values() if not a.active}
        return bool(inactive - {a.id for a in inherited.agents.values() if not a.active})
    return False


def _catches_all(rule: Rule) -> bool:
    unconditional = rule.fail_first is None and rule.probability is None
    return unconditional and rule.match == Match() and (rule.respond or rule.fault) is not None
