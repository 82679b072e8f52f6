"""`mockplatform proxy --record FILE`: what the platform showed, as a scenario the mock replays.

From the token requests that pass (and that the app got right: a malformed request tells
nothing about the platform's world) it keeps the agents met — id and display name — the
instances seen working, and for each case (key, agent, instance) the documented errors the
platform answered. A key is kept as its digest (`credentials.key_digest`), never the key: the
file's accounts and rules name it by `api_key_digest`, and the mock replaying the file
recognises the key the app presents by that digest, so the same app, unchanged, gets the
recorded answers offline. Only the masked form of a key appears, in a comment, escaped so no
byte of a key (a `\x85`, a line break to YAML) can break the file.

Recording costs the request path nothing: `observe` only counts (at most `MAX_CASES` cases;
more are counted as dropped), and `run`, in the background, writes the file at most every
`SAVE_EVERY` seconds when something changed — rendered from a copy, in a thread, the file
replaced whole (`.partial`, then rename), so it is usable while the proxy still runs:
`mockplatform validate FILE` accepts it and `mockplatform serve --scenario FILE` replays it.
"""

from __future__ import annotations

import asyncio
import contextlib
import copy
import datetime
import os
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from mockplatform.core.credentials import key_digest, mask_secret
from mockplatform.core.json_text import JSON_MEDIA_TYPE, media_type
from mockplatform.core.judge import UNAUTHENTICATED, Seen
from mockplatform.core.redaction import printable
from mockplatform.core.spec import CREATE_TOKEN, Operation

MAX_CASES = 1000  # (key, agent, instance) cases kept; past it a new case is counted, not kept
MAX_KEYS = 100
MAX_AGENTS = 1000
SAVE_EVERY = 1.0  # seconds between writes of the file, at most

Case = tuple[str, str, str | None]  # the key's digest, agentId, instanceId
Outcome = tuple[int, str | None]  # status, named example


@dataclass
class Recorded:
    """What was seen so far: a copy of it is what a write renders."""

    keys: dict[str, str] = field(default_factory=dict)  # a key's digest -> the masked key
    agents: dict[str, str] = field(default_factory=dict)
    instances: dict[str, str] = field(default_factory=dict)  # instance -> its agent
    cases: dict[Case, Counter[Outcome]] = field(default_factory=dict)
    dropped: int = 0  # observations of a case past `MAX_CASES` (or keys, agents past theirs)


@dataclass
class Recorder:
    path: Path
    upstream: str  # as shown: scheme, host and port only
    seen: Recorded = field(default_factory=Recorded)
    started: str = field(
        default_factory=lambda: datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%d %H:%M UTC")
    )
    changed: bool = True
    _written: str | None = None

    def observe(self, operation: Operation, seen: Seen) -> None:
        """Remember what a token request showed of the platform's world (written later)."""
        if operation.operation_id != CREATE_TOKEN or seen.status not in operation.responses:
            return
        body, key = seen.request_json(), seen.bearer()
        if key is None or media_type(seen.header("content-type")) != JSON_MEDIA_TYPE:
            return
        if not isinstance(body, dict) or operation.validate_request(body) is not None:
            return
        agent_id, instance_id = body["agentId"], body.get("instanceId")
        answer, recorded = seen.response_json(), self.seen
        case = (key_digest(key), agent_id, instance_id)
        if case not in recorded.cases and (
            len(recorded.cases) >= MAX_CASES
            or (case[0] not in recorded.keys and len(recorded.keys) >= MAX_KEYS)
        ):
            recorded.dropped += 1
            return
        if seen.status < 300:
            if not isinstance(answer, dict) or not isinstance(answer.get("agentName"), str):
                return
            if agent_id in recorded.agents or len(recorded.agents) < MAX_AGENTS:
                recorded.agents[agent_id] = answer["agentName"]
            if instance_id is not None and len(recorded.instances) < MAX_AGENTS:
                recorded.instances[instance_id] = agent_id
        recorded.keys.setdefault(case[0], mask_secret(key))
        recorded.cases.setdefault(case, Counter())[(seen.status, _example(operation, seen))] += 1
        self.changed = True

    async def run(self) -> None:
        """Write the file whenever something changed, at most every `SAVE_EVERY` seconds,
        off the event loop; until cancelled (then `save` writes the last of it)."""
        while True:
            await asyncio.sleep(SAVE_EVERY)
            if self.changed:
                self.changed = False
                snapshot = copy.deepcopy(self.seen)  # bounded: at most MAX_CASES cases
                with contextlib.suppress(OSError):  # a full disk: tried again on the next change
                    await asyncio.to_thread(self._write, render(self, snapshot))

    def save(self) -> None:
        """Write the file now (at start, to prove it can be written; and at stop)."""
        self.changed = False
        self._write(render(self, self.seen))

    def _write(self, text: str) -> None:
        if text == self._written:
            return
        partial = self.path.with_name(self.path.name + ".partial")
        partial.write_text(text, encoding="utf-8")
        os.replace(partial, self.path)
        self._written = text


def render(recorder: Recorder, seen: Recorded) -> str:
    """The scenario file for what was `seen`."""
    number = {digest: index for index, digest in enumerate(seen.keys, start=1)}
    refused_only = {
        digest
        for digest in seen.keys
        if all(
            status == UNAUTHENTICATED
            for (d, _, _), outcomes in seen.cases.items()
            if d == digest
            for status, _ in outcomes
        )
    }
    rules = [
        rule
        for case in sorted(seen.cases, key=lambda c: (c[2] is None, c))
        if case[0] not in refused_only
        for rule in _rules(case, seen.cases[case])
    ]
    dropped = f" {seen.dropped} more observation(s) past the cap, not kept." if seen.dropped else ""
    document: dict[str, Any] = {
        "description": (
            f"Recorded by mockplatform proxy from {recorder.upstream} since {recorder.started}: "
            f"{len(seen.agents)} agent(s), {len(seen.keys)} key(s), "
            f"{len(rules)} documented error(s) seen.{dropped}"
        ),
        "world": {
            "replace": True,
            "accounts": [
                {"api_key_digest": digest, "name": f"Recorded account {number[digest]}"}
                for digest in seen.keys
                if digest not in refused_only
            ],
            "agents": [{"id": i, "name": name} for i, name in sorted(seen.agents.items())],
            "instances": [
                {
                    "id": instance,
                    "agent_id": agent,
                    "company_name": f"Recorded instance {instance[:8]}",
                }
                for instance, agent in sorted(seen.instances.items())
            ],
        },
        "rules": rules,
    }
    header = [
        f"# Recorded by `mockplatform proxy --record` from {recorder.upstream}.",
        "# Replay: mockplatform serve --scenario THIS_FILE; the app keeps its own key(s), each",
        "# known here by its digest alone:",
        *(
            f"#   Recorded account {number[d]}: the key {printable(masked)}"
            + (" (refused with 401: no account)" if d in refused_only else "")
            for d, masked in seen.keys.items()
        ),
    ]
    # ASCII only (escapes for the rest): a platform's name with a NEL or a line separator in
    # it stays one YAML scalar.
    # libyaml's emitter where PyYAML has it (the same text, about ten times faster: a file of
    # 1,000 cases is written in a thread, but the pure-Python one holds the GIL ~180 ms).
    dumper = getattr(yaml, "CSafeDumper", yaml.SafeDumper)
    body: str = yaml.dump(document, Dumper=dumper, sort_keys=False, allow_unicode=False, width=100)
    return "\n".join(header) + "\n" + body


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
    digest, agent_id, instance_id = case
    match = {"api_key_digest": digest, "agent_id": agent_id}
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
