"""The platform's world: accounts, agent templates and the customer instances built on them.

The default world holds well-known fixtures (so the seed's own example works verbatim) plus
generated ones from faker with a fixed seed, so every run sees the same data.
"""

from __future__ import annotations

import functools
import hashlib
from dataclasses import dataclass, field
from enum import StrEnum
from string import Template
from typing import Any

from mockplatform.core.credentials import KEY_DIGEST_PREFIX, mask_secret

DEFAULT_API_KEY = "nas_test_active"
DEFAULT_AGENT_ID = "550e8400-e29b-41d4-a716-446655440000"
DEFAULT_INSTANCE_ID = "660f9500-f30c-52e5-b827-557766551111"
INACTIVE_AGENT_ID = "7c9e6679-7425-40de-944b-e07fc1f90ae7"
FAKER_SEED = 20260305

CALLER_NAME = "caller_name"  # the one placeholder filled per call (see resolve_prompt)
LANGUAGE_NAMES = {"en": "English", "hi": "Hindi", "mr": "Marathi", "auto": "the caller's language"}

DEFAULT_PROMPT = (
    "You are ${agent_name}, the voice assistant of ${company_name}. ${persona} "
    "${custom_instructions} Greet the caller by name (${caller_name}) and speak ${language_name}."
)


class Subscription(StrEnum):
    ACTIVE = "active"
    TRIAL = "trial"
    TRIAL_EXPIRED = "trial_expired"
    CANCELLED = "cancelled"

    @property
    def allows_calls(self) -> bool:
        return self in _CALLING


_CALLING = frozenset({Subscription.ACTIVE, Subscription.TRIAL})


@dataclass(frozen=True)
class Account:
    api_key: str = field(repr=False)  # "" for an account known by its key's digest alone
    name: str
    subscription: Subscription = Subscription.ACTIVE
    scenario: str | None = None  # requests with this key follow that scenario's rules
    key_digest: str | None = None  # `credentials.key_digest`'s form: a recording's account

    @functools.cached_property
    def masked_key(self) -> str:
        if self.key_digest is not None:
            return f"(the key of digest {self.key_digest[:16]}…)"
        return mask_secret(self.api_key)

    @property
    def digest(self) -> bytes:
        if self.key_digest is not None:
            return bytes.fromhex(self.key_digest.removeprefix(KEY_DIGEST_PREFIX))
        return _digest(self.api_key)


@dataclass(frozen=True)
class Agent:
    id: str
    name: str
    active: bool = True
    prompt_template: str = DEFAULT_PROMPT
    defaults: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Instance:
    id: str
    agent_id: str
    company_name: str
    persona: str = ""
    custom_instructions: str = ""


@dataclass
class World:
    """Everything the token endpoint looks up."""

    accounts: list[Account]
    agents: dict[str, Agent]
    instances: dict[str, Instance]
    _by_digest: dict[bytes, Account] = field(init=False, repr=False)
    # One dict per agent, instance and language, shared by every call record that uses it
    # (read-only): bounded by the world and the spec's languages.
    _prompts: dict[tuple[str, str | None, str], dict[str, str]] = field(
        init=False, repr=False, default_factory=dict
    )

    def __post_init__(self) -> None:
        self._by_digest = {account.digest: account for account in self.accounts}

    def prompt_variables(
        self, agent: Agent, instance: Instance | None, language: str
    ) -> dict[str, str]:
        """`prompt_variables` for one of this world's agents, built once (not to be changed)."""
        key = (agent.id, instance.id if instance is not None else None, language)
        variables = self._prompts.get(key)
        if variables is None:
            variables = self._prompts[key] = prompt_variables(agent, instance, language)
        return variables

    def account_for_key(self, api_key: str) -> Account | None:
        """The key's account, found without ever comparing the key itself: timing tells nothing.

        Only the key's SHA-256 digest is looked up. How long that takes depends on the
        digest (and on the dict's per-process random hash seed), and a caller cannot steer
        a digest towards a known key's, so no timing reveals how much of a key was right.
        """
        return self._by_digest.get(_digest(api_key))

    def describe(self) -> dict[str, Any]:
        """The world as the control API and the start-up banner show it."""
        return {
            "accounts": [
                {
                    "apiKey": a.api_key or a.masked_key,
                    "name": a.name,
                    "subscription": str(a.subscription),
                    "scenario": a.scenario,
                }
                for a in self.accounts
            ],
            "agents": [
                {"id": a.id, "name": a.name, "active": a.active} for a in self.agents.values()
            ],
            "instances": [
                {"id": i.id, "agentId": i.agent_id, "companyName": i.company_name}
                for i in self.instances.values()
            ],
        }


def prompt_variables(agent: Agent, instance: Instance | None, language: str) -> dict[str, str]:
    """The values a call's prompt is filled with, all but the caller's name (`resolve_prompt`)."""
    variables = {
        "agent_name": agent.name,
        "company_name": "our company",
        "persona": "",
        "custom_instructions": "",
        **agent.defaults,
        "language": language,
        "language_name": LANGUAGE_NAMES.get(language, language),
    }
    if instance is not None:
        variables |= {
            "company_name": instance.company_name,
            "persona": instance.persona,
            "custom_instructions": instance.custom_instructions,
        }
    return variables


def resolve_prompt(template: str, variables: dict[str, str], caller_name: str | None) -> str:
    """The agent's prompt with its variables and the caller's name put in, whitespace collapsed.

    One `safe_substitute` pass: a value that itself reads like a placeholder stays as written.
    """
    filled = Template(template).safe_substitute(
        variables, **{CALLER_NAME: caller_name or "the caller"}
    )
    return " ".join(filled.split())


def default_world(seed: int = FAKER_SEED) -> World:
    """The well-known fixtures the README lists, plus generated agents and instances."""
    from faker import Faker  # imported here: only world construction pays for it

    fake = Faker("en_US")
    fake.seed_instance(seed)
    accounts = [
        Account(DEFAULT_API_KEY, "Active Co", Subscription.ACTIVE),
        Account("nas_test_trial", "Trial Co", Subscription.TRIAL),
        Account("nas_test_trial_expired", "Expired Trial Co", Subscription.TRIAL_EXPIRED),
        Account("nas_test_cancelled", "Cancelled Co", Subscription.CANCELLED),
    ]
    agents = [
        Agent(DEFAULT_AGENT_ID, "Customer Support Agent"),
        Agent(INACTIVE_AGENT_ID, "Legacy Sales Agent", active=False),
    ]
    instances = [
        Instance(
            DEFAULT_INSTANCE_ID,
            DEFAULT_AGENT_ID,
            company_name="Sharma Dental Clinic",
            persona="You are warm, patient and concise.",
            custom_instructions="Offer the next free appointment slot.",
        )
    ]
    for role in ("Appointment Booking Agent", "Order Status Agent", "Feedback Survey Agent"):
        agent = Agent(fake.uuid4(), role)
        agents.append(agent)
        for _ in range(2):
            instances.append(
                Instance(
                    fake.uuid4(),
                    agent.id,
                    company_name=fake.company(),
                    persona=f"You speak like a {fake.job().lower()}: friendly and precise.",
                    custom_instructions=fake.catch_phrase() + ".",
                )
            )
    return World(
        accounts=accounts,
        agents={agent.id: agent for agent in agents},
        instances={instance.id: instance for instance in instances},
    )


def _digest(secret: str) -> bytes:
    """BLAKE2s: a cryptographic digest built into CPython, so a key is found by its digest."""
    return hashlib.blake2s(secret.encode("utf-8", "surrogatepass")).digest()
