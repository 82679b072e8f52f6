"""`mockplatform proxy --record FILE`: what the platform showed, as a scenario the mock replays.

From the token requests that pass (and that the app got right: a malformed request tells
nothing about the platform's world) it keeps the agents met — id and display name — the
instances seen working, and for each case (key, agent, instance) the documented errors the
platform answered. Keys become placeholders (`nas_recorded_key_1`, ...): the file names no
API key, only the masked form in a comment, so a developer can tell which was which.

The file is a scenario like the shipped ones (`world: replace: true`, `rules:`), rewritten
whenever what was seen changes, so it is usable while the proxy still runs:
`mockplatform validate FILE` accepts it and `mockplatform serve --scenario FILE` replays it —
the same agent id gets the same name, the same failing case the same documented error.
"""

from __future__ import annotations

import datetime
import os
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from mockplatform.core.credentials import mask_secret
from mockplatform.core.json_text import JSON_MEDIA_TYPE, media_type
from mockplatform.core.judge import UNAUTHENTICATED, Seen
from mockplatform.core.spec import CREATE_TOKEN, Operation
from mockplatform.core.token_watch import digest

PLACEHOLDER = "nas_recorded_key_{}"

Case = tuple[str, str, str | None]  # placeholder, agentId, instanceId
Outcome = tuple[int, str | None]  # status, named example


@dataclass
class Recorder:
    path: Path
    upstream: str  # as shown: scheme, host and port only
    keys: dict[bytes, str] = field(default_factory=dict)  # a key's digest -> its placeholder
    masked: dict[str, str] = field(default_factory=dict)  # placeholder -> the masked key
    agents: dict[str, str] = field(default_factory=dict)
    instances: dict[str, str] = field(default_factory=dict)  # instance -> its agent
    cases: dict[Case, Counter[Outcome]] = field(default_factory=dict)
    started: str = field(
        default_factory=lambda: datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%d %H:%M UTC")
    )
    _written: str | None = None

    def observe(self, operation: Operation, seen: Seen) -> None:
        """Remember what a token request showed of the platform's world; save if it changed."""
        if operation.operation_id != CREATE_TOKEN or seen.status not in operation.responses:
            return
        body, key = seen.request_json(), seen.bearer()
        if key is None or media_type(seen.header("content-type")) != JSON_MEDIA_TYPE:
            return
        if not isinstance(body, dict) or operation.validate_request(body) is not None:
            return
        agent_id, instance_id = body["agentId"], body.get("instanceId")
        answer = seen.response_json()
        if seen.status < 300:
            if not isinstance(answer, dict) or not isinstance(answer.get("agentName"), str):
                return
            self.agents[agent_id] = answer["agentName"]
            if instance_id is not None:
                self.instances[instance_id] = agent_id
        case = (self._placeholder(key), agent_id, instance_id)
        self.cases.setdefault(case, Counter())[(seen.status, _example(operation, seen))] += 1
        self.save()

    def save(self) -> None:
        text = self.render()
        if text == self._written:
            return
        partial = self.path.with_name(self.path.name + ".partial")
        partial.write_text(text, encoding="utf-8")
        os.replace(partial, self.path)
        self._written = text

    def render(self) -> str:
        refused_only = {
            placeholder
            for placeholder in self.masked
            if all(
                status == UNAUTHENTICATED
                for (p, _, _), outcomes in self.cases.items()
                if p == placeholder
                for status, _ in outcomes
            )
        }
        rules = [
            rule
            for case in sorted(self.cases, key=lambda c: (c[2] is None, c))
            if case[0] not in refused_only
            for rule in _rules(case, self.cases[case])
        ]
        document: dict[str, Any] = {
            "description": (
                f"Recorded by mockplatform proxy from {self.upstream} since {self.started}: "
                f"{len(self.agents)} agent(s), {len(self.masked)} key(s), "
                f"{len(rules)} documented error(s) seen."
            ),
            "world": {
                "replace": True,
                "accounts": [
                    {"api_key": p, "name": f"Recorded account {p.rsplit('_', 1)[1]}"}
                    for p in self.masked
                    if p not in refused_only
                ],
                "agents": [{"id": i, "name": name} for i, name in sorted(self.agents.items())],
                "instances": [
                    {
                        "id": instance,
                        "agent_id": agent,
                        "company_name": f"Recorded instance {instance[:8]}",
                    }
                    for instance, agent in sorted(self.instances.items())
                ],
            },
            "rules": rules,
        }
        header = [
            f"# Recorded by `mockplatform proxy --record` from {self.upstream}.",
            "# Replay: mockplatform serve --scenario THIS_FILE, with each placeholder as the key:",
            *(f"#   {p}: stands for the key {masked}" for p, masked in self.masked.items()),
            *(f"#   ({p} was refused with 401: no account)" for p in sorted(refused_only)),
        ]
        body: str = yaml.safe_dump(document, sort_keys=False, allow_unicode=True, width=100)
        return "\n".join(header) + "\n" + body

    def _placeholder(self, key: str) -> str:
        found = self.keys.get(digest(key))
        if found is None:
            found = PLACEHOLDER.format(len(self.keys) + 1)
            self.keys[digest(key)] = found
            self.masked[found] = mask_secret(key)
        return found


def _example(operation: Operation, seen: Seen) -> str | None:
    """Which named example of the status the answer is (by its `error`), where there are several."""
    status, body = seen.status, seen.response_json()
    names = operation.example_names(status) if status is not None else []
    if len(names) < 2 or status is None or not isinstance(body, dict):
        return None
    return next(
        (n for n in names if operation.example(status, n).get("error") == body.get("error")),
        None,
    )


def _rules(case: Case, outcomes: Counter[Outcome]) -> list[dict[str, Any]]:
    """One rule per documented error the case met; where it also met others, each with the
    share it was seen (a rule's probability is of the requests the rules before it let by)."""
    placeholder, agent_id, instance_id = case
    match = {"api_key": placeholder, "agent_id": agent_id}
    if instance_id is not None:
        match["instance_id"] = instance_id
    rules = []
    left = sum(outcomes.values())
    errors = [(outcome, n) for outcome, n in sorted(outcomes.items()) if outcome[0] >= 400]
    for (status, example), count in errors:
        respond: dict[str, Any] = {"status": status}
        if example is not None:
            respond["example"] = example
        rule: dict[str, Any] = {
            "name": f"seen {count} of {sum(outcomes.values())}: {status}",
            "match": dict(match),
            "respond": respond,
        }
        if count < left:
            rule["probability"] = round(count / left, 4)
        rules.append(rule)
        left -= count
    return rules
