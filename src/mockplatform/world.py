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

DEFAULT_API_KEY = "nas_test_active"
DEFAULT_AGENT_ID = "550e8400-e29b-41d4-a716-446655440000"
DEFAULT_INSTANCE_ID = "660f9500-f30c-52e5-b827-557766551111"
INACTIVE_AGENT_ID = "7c9e6679-7425-40de-944b-e07fc1f90ae7"
FAKER_SEED = 20260305

CALLER_NAME = "caller_name"  # the one placeholder filled per call (see fill_caller)
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
    api_key: str = field(repr=False)
    name: str
    subscription: Subscription = Subscription.ACTIVE
    scenario: str | None = None  # requests with this key follow that scenario's rules

    @functools.cached_property
    def masked_key(self) -> str:
        return mask_secret(self.api_key)


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

    def __post_init__(self) -> None:
        self._by_digest = {_digest(account.api_key): account for account in self.accounts}

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
                    "apiKey": a.api_key,
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


def fill_caller(collapsed: tuple[str, ...], caller_name: str | None) -> str:
    """The prompt whose pieces around the caller's name are `collapsed`, the name put in.

    `" ".join(name.join(pieces).split())`, where `collapsed` are `_collapsed(pieces)`: a
    name with no stray whitespace of its own (the usual case) needs no second pass over
    the whole prompt, its pieces are collapsed already.
    """
    name = caller_name or "the caller"
    if " ".join(name.split()) == name:
        return name.join(collapsed)
    return " ".join(name.join(collapsed).split())


def _collapsed(pieces: tuple[str, ...]) -> tuple[str, ...]:
    """Each piece with its whitespace collapsed as the joined prompt's will be.

    Runs become one space; one is kept at an edge that meets the caller's name, none at the
    prompt's own start and end, and a piece of nothing but whitespace between two names
    becomes a single space.
    """
    last = len(pieces) - 1
    collapsed = []
    for index, piece in enumerate(pieces):
        words = " ".join(piece.split())
        lead = " " if index > 0 and piece[:1].isspace() else ""
        trail = " " if index < last and piece[-1:].isspace() else ""
        collapsed.append(lead + words + trail if words else lead and trail)
    return tuple(collapsed)


# Everything in a prompt but the caller's name is the same for every call to one agent and
# instance in one language: it is substituted once and kept here, keyed by identity (and
# checked, so a recycled id never matches), and each call only fills in its caller.
_AROUND_CALLER: dict[tuple[int, int, str], tuple[Agent, Instance | None, tuple[str, ...]]] = {}
_MAX_AROUND_CALLER = 1024


def prompt_around_caller(agent: Agent, instance: Instance | None, language: str) -> tuple[str, ...]:
    """The prompt's collapsed pieces around the caller's name (`fill_caller` puts it in)."""
    key = (id(agent), id(instance), language)
    cached = _AROUND_CALLER.get(key)
    if cached is not None and cached[0] is agent and cached[1] is instance:
        return cached[2]
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
    pieces = _collapsed(_substitute_around(agent.prompt_template, variables, CALLER_NAME))
    if len(_AROUND_CALLER) >= _MAX_AROUND_CALLER:
        _AROUND_CALLER.clear()
    _AROUND_CALLER[key] = (agent, instance, pieces)
    return pieces


@functools.lru_cache(maxsize=256)
def _template_parts(template: str) -> tuple[tuple[str, str | None], ...]:
    """A template split once into (text, placeholder name) pairs, by `Template`'s own pattern.

    A placeholder's text is kept for when the name is unknown, as `safe_substitute` does.
    """
    parts: list[tuple[str, str | None]] = []
    at = 0
    for match in Template.pattern.finditer(template):
        parts.append((template[at : match.start()], None))
        name = match.group("named") or match.group("braced")
        if name is not None:
            parts.append((match.group(), name))
        elif match.group("escaped") is not None:
            parts.append((Template.delimiter, None))
        else:  # invalid: kept as written
            parts.append((match.group(), None))
        at = match.end()
    parts.append((template[at:], None))
    return tuple(parts)


def _substitute(template: str, variables: dict[str, str]) -> str:
    """`Template(template).safe_substitute(variables)`, without re-scanning the template."""
    return _substitute_around(template, variables, hole=None)[0]


def _substitute_around(
    template: str, variables: dict[str, str], hole: str | None
) -> tuple[str, ...]:
    """`template` substituted but for placeholder `hole`, split where that one stands.

    `value.join(pieces)` is then the template with `variables | {hole: value}` substituted.
    """
    pieces: list[str] = []
    current: list[str] = []
    for text, name in _template_parts(template):
        if name is not None and name == hole:
            pieces.append("".join(current))
            current = []
        else:
            current.append(text if name is None else str(variables.get(name, text)))
    pieces.append("".join(current))
    return tuple(pieces)


def mask_secret(secret: str) -> str:
    """`nas_test_active` -> `nas_…tive`: enough to tell keys apart in a log, not to use one."""
    head, underscore, _ = secret.partition("_")
    prefix = head + underscore if underscore and len(head) <= 4 else ""
    if len(secret) <= 8:
        return f"{prefix}…"
    return f"{prefix}…{secret[-4:]}"


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
