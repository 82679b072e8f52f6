"""What to test and how: the target, its keys, and the knobs of a run.

ContractError        anything that stops the harness from testing at all (exit status 2)
 +-- CouldNotTest    the target is unreachable, or the arguments cannot work against it
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from urllib.parse import urlsplit

from mockplatform.core.spec import CREATE_TOKEN, Spec, load_spec

# Small by default: against a staging wired to the real platform every token issued is a real
# call session (see the README's figures for what a default run sends).
DEFAULT_MAX_EXAMPLES = 10
DEFAULT_SEED = 20260305
DEFAULT_TIMEOUT = 10.0
PHASES = ("examples", "coverage", "fuzzing", "stateful")


class ContractError(Exception):
    """The harness could not test; the message is one line saying why and what to do."""


class CouldNotTest(ContractError):
    """The target cannot be tested with these arguments (down, wrong URL, rejected key...)."""


class ExpiryMode(StrEnum):
    """How the token lifetime is observed (see contract.lifetime)."""

    AUTO = "auto"
    FAST = "fast"  # the target exposes the mock's POST /_mock/clock/advance
    REALTIME = "realtime"  # wait the lifetime, in parallel with the other checks
    JWT = "jwt"  # read exp/iat where the token is a JWT


@dataclass
class Settings:
    """One run's settings; the CLI and the pytest plugin both build one of these."""

    base_url: str
    api_key: str
    agent_id: str | None = None  # default: the agentId of the spec's request example
    spec_path: Path | None = None
    # Keys whose subscription is inactive: the docs name two causes (trial expired,
    # cancelled), so one of each may be given; every one must get 403.
    inactive_keys: tuple[str, ...] = ()
    # default: on the mock, one of the agent's instances (/_mock/world); else the spec example's
    instance_id: str | None = None
    inactive_agent_id: str | None = None  # on the mock: found in /_mock/world
    other_instance_id: str | None = None  # an instance of another agent (on the mock: found)
    expiry: ExpiryMode = ExpiryMode.AUTO
    no_redeem: bool = False  # the target declares no redeem operation: none is sent
    strict: bool = False
    # Checks --strict does not fail for WARN / NOT VERIFIED; CHECK:STATUS spares only the
    # WARNs whose response had that status.
    allow: frozenset[str] = frozenset()
    max_examples: int = DEFAULT_MAX_EXAMPLES
    seed: int = DEFAULT_SEED
    timeout: float = DEFAULT_TIMEOUT
    max_requests: int | None = None  # a hard budget across every check and schemathesis
    rate: float | None = None  # requests per second
    headers: dict[str, str] = field(default_factory=dict)  # sent with every request
    # Where a request body too long to print in a curl is written for it to read: next to the
    # reports (the CLI passes their folder); None: a folder of the system's temporary one.
    bodies_dir: Path | None = None
    # Schemathesis phases to run; the tests narrow this to stay fast.
    phases: tuple[str, ...] = PHASES
    # Only these checks (by name), None = all: what is not selected is not sent.
    only: frozenset[str] | None = None
    spec: Spec = field(init=False, repr=False)

    def __post_init__(self) -> None:
        self.base_url = self.base_url.rstrip("/")
        parts = urlsplit(self.base_url)
        if parts.scheme not in ("http", "https") or not parts.netloc:
            raise ContractError(
                f"--base-url {self.base_url!r} is not an http(s) URL; "
                "pass e.g. --base-url http://127.0.0.1:8080"
            )
        if not self.api_key.strip():
            raise ContractError("--api-key is empty; pass the target's API key")
        unknown = [phase for phase in self.phases if phase not in PHASES]
        if unknown:
            raise ContractError(
                f"unknown schemathesis phase {unknown[0]!r}; choose from {', '.join(PHASES)}"
            )
        if self.max_examples < 1:
            raise ContractError(f"--max-examples must be at least 1, not {self.max_examples}")
        if self.max_requests is not None and self.max_requests < 1:
            raise ContractError(f"--max-requests must be at least 1, not {self.max_requests}")
        if self.rate is not None and not self.rate > 0:
            raise ContractError("--rate must be a positive number of requests per second")
        if not self.timeout > 0:
            raise ContractError("--timeout must be a positive number of seconds")
        if any(not key.strip() for key in self.inactive_keys):
            raise ContractError(
                "--inactive-key is empty; pass a key whose subscription is inactive"
            )
        if "authorization" in {name.lower() for name in self.headers}:
            raise ContractError("--header cannot set Authorization; pass the key with --api-key")
        from mockplatform.core.spec import SpecError

        try:
            self.spec = load_spec(self.spec_path)
        except SpecError as exc:
            raise ContractError(str(exc)) from None
        example = self.spec.operation(CREATE_TOKEN).document
        if self.agent_id is None:
            self.agent_id = request_example(example).get("agentId")
            if not self.agent_id:
                raise ContractError(
                    "the spec's token request has no example agentId; pass --agent-id"
                )
        create = self.spec.operation(CREATE_TOKEN)
        for option, name, value in (
            ("--agent-id", "agentId", self.agent_id),
            ("--instance-id", "instanceId", self.instance_id),
            ("--inactive-agent-id", "agentId", self.inactive_agent_id),
            ("--other-instance-id", "instanceId", self.other_instance_id),
        ):
            if value is None:
                continue
            invalid = create.validate_request({"agentId": self.agent_id, name: value})
            if invalid is not None:
                raise ContractError(f"{option}: {invalid.detail}")

    def wants(self, name: str) -> bool:
        return self.only is None or name in self.only

    @property
    def secrets(self) -> list[str]:
        """Values never to print: the keys given to the harness."""
        return [key for key in (self.api_key, *self.inactive_keys) if key]


def request_example(operation: dict) -> dict:
    media = operation.get("requestBody", {}).get("content", {}).get("application/json", {})
    if "example" in media:
        return dict(media["example"])
    examples = media.get("examples", {})
    return dict(next(iter(examples.values()))["value"]) if examples else {}
