"""Reading scenario files: every problem is reported as `file:line:column: path: what is wrong`.

A file is checked in three passes: YAML syntax, the format's JSON Schema
(`scenarios/scenario.schema.json`), then against openapi.yaml and the world: every status a
rule responds with must be a documented response of its operation, every body it can
produce must match the spec's schema, every instance must belong to a known agent. Only
network faults, marked as outside the contract, are exempt.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, replace
from functools import cache
from pathlib import Path
from typing import Any

import yaml
from jsonschema import Draft202012Validator, FormatChecker, ValidationError

from mockplatform.core.errors import MockPlatformError
from mockplatform.core.resources import SCENARIOS_DIR, packaged
from mockplatform.core.spec import Operation, Spec, read_yaml
from mockplatform.server.faults import Fault
from mockplatform.server.scenarios import (
    DEFAULT_OPERATION,
    CallScript,
    Match,
    Respond,
    Rule,
    Scenario,
)
from mockplatform.server.world import Account, Agent, Instance, Subscription, World


def default_scenarios_dir() -> Path:
    """The scenarios shipped inside the package (the repository root's, in a checkout)."""
    return packaged(SCENARIOS_DIR)


SCHEMA_FILE = "scenario.schema.json"


class ScenarioError(MockPlatformError):
    """A scenario file that cannot be used; says where and what, never a traceback."""

    def __init__(self, file: Path | str, line: int, column: int, path: str, problem: str) -> None:
        self.file, self.line, self.column = file, line, column
        where = f"{path}: " if path else ""
        super().__init__(f"{_shown(file)}:{line}:{column}: {where}{problem}")


@cache
def scenario_schema() -> Draft202012Validator:
    schema = json.loads((default_scenarios_dir() / SCHEMA_FILE).read_text(encoding="utf-8"))
    return Draft202012Validator(schema, format_checker=FormatChecker())


@dataclass(frozen=True)
class _Located:
    """The parsed document and its YAML node tree, to turn a data path into a line and column."""

    file: Path
    data: dict[str, Any]
    root: yaml.Node

    def error(
        self, path: tuple[str | int, ...], problem: str, *, at_key: bool = False
    ) -> ScenarioError:
        node, key_node = self.root, None
        for part in path:
            child = _child(node, part)
            if child is None:
                break
            key_node, node = child
        mark = (key_node if at_key and key_node is not None else node).start_mark
        return ScenarioError(self.file, mark.line + 1, mark.column + 1, _dotted(path), problem)


@dataclass(frozen=True)
class LoadedScenario:
    """A scenario file read once: the scenario, and the scenarios its accounts are bound to,
    which only the whole library can check."""

    scenario: Scenario
    references: tuple[tuple[str, ScenarioError], ...]  # (bound scenario, its error if unknown)

    def check_references(self, known: set[str]) -> None:
        """Raise the error of the first account bound to a scenario not in `known`."""
        for name, error in self.references:
            if name not in known:
                raise error


def read_scenario(path: Path, spec: Spec, base_world: World) -> LoadedScenario:
    """Parse and check one file; raises `ScenarioError`."""
    located = _parse(path)
    _check_schema(located)
    data = located.data
    world = _build_world(located, base_world)
    rules = tuple(_build_rule(located, spec, index, raw) for index, raw in _items(data, "rules"))
    scenario = Scenario(
        name=path.stem,
        description=data["description"],
        world=world,
        rules=rules,
        seed=data.get("seed", 0),
        call=CallScript(**data.get("call", {})),
        source=str(path),
    )
    references = []
    for index, account in _items(data.get("world", {}), "accounts"):
        if "scenario" in account:
            where = ("world", "accounts", index, "scenario")
            problem = f"{account['scenario']!r} is not a known scenario"
            references.append((account["scenario"], located.error(where, problem)))
    return LoadedScenario(scenario, tuple(references))


def load_scenario(path: Path, spec: Spec, base_world: World) -> Scenario:
    """The scenario of one file, checked but for its accounts' bindings; raises `ScenarioError`."""
    return read_scenario(path, spec, base_world).scenario


def _compose_and_construct(text: str, Loader: type) -> tuple[yaml.Node | None, Any]:
    """The document's node tree (for line numbers) and its data, from one parse."""
    loader = Loader(text)
    try:
        root = loader.get_single_node()
        return root, None if root is None else loader.construct_document(root)
    finally:
        loader.dispose()


def _parse(path: Path) -> _Located:
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ScenarioError(path, 1, 1, "", f"cannot read the file ({exc.strerror})") from None
    except UnicodeDecodeError as exc:
        raise ScenarioError(path, 1, 1, "", f"not UTF-8 text (byte {exc.start})") from None
    try:
        root, data = read_yaml(_compose_and_construct, text)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line, column = (mark.line + 1, mark.column + 1) if mark else (1, 1)
        raise ScenarioError(path, line, column, "", f"not valid YAML: {exc.problem}") from None
    if not isinstance(data, dict) or root is None:
        raise ScenarioError(path, 1, 1, "", "a scenario is a mapping with at least `description`")
    return _Located(path, data, root)


def _check_schema(located: _Located) -> None:
    errors = sorted(
        scenario_schema().iter_errors(located.data),
        key=lambda e: (len(e.absolute_path), [str(p) for p in e.absolute_path]),
    )
    if errors:
        raise _schema_error(located, errors[0])


def _schema_error(located: _Located, error: ValidationError) -> ScenarioError:
    path = tuple(error.absolute_path)
    if error.validator == "additionalProperties":
        unknown = sorted(set(error.instance) - set(error.schema.get("properties", {})))
        allowed = ", ".join(sorted(error.schema.get("properties", {})))
        return located.error(
            (*path, unknown[0]), f"unknown field (allowed here: {allowed})", at_key=True
        )
    if error.validator == "required":
        missing = next(name for name in error.validator_value if name not in error.instance)
        return located.error(path, f"{missing!r} is required")
    if error.validator == "type":
        return located.error(path, f"must be of type {error.validator_value}, not {_kind(error)}")
    if error.validator == "enum":
        options = ", ".join(str(option) for option in error.validator_value)
        return located.error(path, f"{error.instance!r} is not one of {options}")
    if error.validator == "anyOf" and path and path[-1] == "respond":
        return located.error(path, "give a documented `status` or `error` message")
    return located.error(path, error.message)


def _build_world(located: _Located, base: World) -> World:
    section = located.data.get("world", {})
    if section.get("replace"):
        base = World(accounts=[], agents={}, instances={})
    accounts = {account.key_digest or account.api_key: account for account in base.accounts}
    for _, raw in _items(section, "accounts"):
        # A recording names its keys by digest (`api_key_digest`), never the key itself.
        known_as = raw.get("api_key") or raw["api_key_digest"]
        previous = accounts.get(known_as)
        accounts[known_as] = Account(
            api_key=raw.get("api_key", ""),
            key_digest=raw.get("api_key_digest"),
            name=raw.get("name", previous.name if previous else known_as),
            subscription=Subscription(
                raw.get("subscription", previous.subscription if previous else "active")
            ),
            scenario=raw.get("scenario", previous.scenario if previous else None),
        )
    agents = dict(base.agents)
    for _, raw in _items(section, "agents"):
        agent = agents.get(raw["id"]) or Agent(raw["id"], raw.get("name", "Agent"))
        fields = ("name", "active", "prompt_template", "defaults")
        agents[raw["id"]] = replace(agent, **{key: raw[key] for key in fields if key in raw})
    instances = dict(base.instances)
    for index, raw in _items(section, "instances"):
        if raw["agent_id"] not in agents:
            raise located.error(
                ("world", "instances", index, "agent_id"),
                f"{raw['agent_id']} is not an agent of this scenario's world",
            )
        instances[raw["id"]] = Instance(
            raw["id"],
            raw["agent_id"],
            company_name=raw["company_name"],
            persona=raw.get("persona", ""),
            custom_instructions=raw.get("custom_instructions", ""),
        )
    return World(accounts=list(accounts.values()), agents=agents, instances=instances)


def _build_rule(located: _Located, spec: Spec, index: int, raw: dict[str, Any]) -> Rule:
    where = ("rules", index)
    operation_id = raw.get("operation", DEFAULT_OPERATION)
    if operation_id not in spec.operations:
        known = ", ".join(spec.operations)
        raise located.error(
            (*where, "operation"),
            f"{operation_id!r} is not an operation of {_shown(spec.path)} (known: {known})",
        )
    respond = None
    if "respond" in raw:
        respond = _build_respond(located, spec, operation_id, (*where, "respond"), raw["respond"])
    match = raw.get("match", {})
    return Rule(
        operation=operation_id,
        match=Match(
            **{key: value for key, value in match.items() if key != "header"},
            header=match.get("header", {}),
        ),
        respond=respond,
        latency_ms=raw.get("latency_ms", 0),
        fail_first=raw.get("fail_first"),
        probability=raw.get("probability"),
        token_lifetime_seconds=raw.get("token_lifetime_seconds"),
        fault=Fault(raw["fault"]) if "fault" in raw else None,
        trickle_ms=raw.get("trickle_ms", Rule.trickle_ms),
        name=raw.get("name"),
    )


def _build_respond(
    located: _Located, spec: Spec, operation_id: str, where: tuple[Any, ...], raw: dict[str, Any]
) -> Respond:
    """A rule's response, checked against the spec: documented status, example, body."""
    operation = spec.operation(operation_id)
    status = raw.get("status")
    if status is None:
        status = _status_of_message(operation, raw["error"])
        if status is None:
            documented = sorted(
                {
                    text
                    for s in operation.responses
                    if s >= 400
                    for text in operation.documented_errors(s)
                }
            )
            raise located.error(
                (*where, "error"),
                f"{raw['error']!r} is not a documented error of {operation.title} "
                f"(documented: {', '.join(documented)})",
            )
    if status not in operation.responses:
        raise located.error(
            (*where, "status"), f"{status} is not a documented response of {operation.title}"
        )
    if status < 400:
        raise located.error(
            (*where, "status"),
            f"{status} is a success; a rule responds with errors (leave respond out to let "
            "the request through)",
        )
    example = raw.get("example")
    names = operation.example_names(status)
    if example is not None and example not in names:
        raise located.error(
            (*where, "example"),
            f"{example!r} is not a named example of {status} in {operation.title} "
            f"(named: {', '.join(names) or 'none'})",
        )
    if "error" in raw and operation.example(status, example).get("error") != raw["error"]:
        raise located.error(
            (*where, "error"),
            f"{raw['error']!r} is not the documented message of {status}",
        )
    respond = Respond(status=status, example=example, detail=raw.get("detail"))
    body = spec.error_body(operation_id, status, example=example, detail=respond.detail)
    problem = operation.validate_response(status, body)
    if problem is not None:
        raise located.error(where, f"would break the contract: {problem.detail}")
    return respond


def _status_of_message(operation: Operation, message: str) -> int | None:
    errors = (status for status in operation.responses if status >= 400)
    return next(
        (status for status in errors if message in operation.documented_errors(status)), None
    )


def _items(section: dict[str, Any], key: str) -> list[tuple[int, Any]]:
    return list(enumerate(section.get(key) or []))


def _child(node: yaml.Node, part: str | int) -> tuple[yaml.Node, yaml.Node] | None:
    if isinstance(node, yaml.MappingNode):
        for key, value in node.value:
            if key.value == part:
                return key, value
    if isinstance(node, yaml.SequenceNode) and isinstance(part, int) and part < len(node.value):
        return node.value[part], node.value[part]
    return None


def _dotted(path: tuple[str | int, ...]) -> str:
    text = ""
    for part in path:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text


def _kind(error: ValidationError) -> str:
    return type(error.instance).__name__.replace("str", "string").replace("dict", "mapping")


def _shown(file: Path | str) -> str:
    path = Path(file)
    try:
        return str(path.resolve().relative_to(Path.cwd()))
    except ValueError:
        return str(path)
