"""The default world and the pieces of it the endpoints rely on."""

from __future__ import annotations

from dataclasses import replace

from mockplatform.server.world import (
    DEFAULT_AGENT_ID,
    DEFAULT_INSTANCE_ID,
    Agent,
    Instance,
    Subscription,
    default_world,
    mask_secret,
    prompt_variables,
)
from mockplatform.server.world import resolve_prompt as fill_in


def test_default_world_is_reproducible() -> None:
    assert default_world().describe() == default_world().describe()


def test_default_world_has_the_documented_fixtures() -> None:
    world = default_world()
    states = {account.api_key: account.subscription for account in world.accounts}
    assert states["nas_test_active"] is Subscription.ACTIVE
    assert states["nas_test_trial_expired"] is Subscription.TRIAL_EXPIRED
    assert states["nas_test_cancelled"] is Subscription.CANCELLED
    assert world.agents[DEFAULT_AGENT_ID].name == "Customer Support Agent"
    assert world.instances[DEFAULT_INSTANCE_ID].agent_id == DEFAULT_AGENT_ID
    assert any(not agent.active for agent in world.agents.values())


def test_account_lookup_is_exact() -> None:
    world = default_world()
    assert world.account_for_key("nas_test_active").name == "Active Co"
    assert world.account_for_key("nas_test_activ") is None
    assert world.account_for_key("nas_test_active ") is None
    assert world.account_for_key("\udcff") is None


def resolve_prompt(
    agent: Agent, instance: Instance | None, *, caller_name: str | None, language: str
) -> str:
    """As a call record resolves its prompt when it is read."""
    return fill_in(agent.prompt_template, prompt_variables(agent, instance, language), caller_name)


def test_prompt_injects_instance_and_call_variables() -> None:
    world = default_world()
    agent, instance = world.agents[DEFAULT_AGENT_ID], world.instances[DEFAULT_INSTANCE_ID]
    prompt = resolve_prompt(agent, instance, caller_name="Rahul", language="mr")
    assert instance.company_name in prompt
    assert instance.persona in prompt
    assert instance.custom_instructions in prompt
    assert "(Rahul)" in prompt
    assert "Marathi" in prompt
    assert "$" not in prompt


def test_each_call_gets_its_own_caller_and_each_agent_its_own_prompt() -> None:
    world = default_world()
    agent = world.agents[DEFAULT_AGENT_ID]
    first = resolve_prompt(agent, None, caller_name="Rahul", language="en")
    second = resolve_prompt(agent, None, caller_name="  Asha   Rao ", language="en")
    assert "(Rahul)" in first and "Asha" not in first
    assert "( Asha Rao )" in second  # whitespace runs collapse, as before
    assert resolve_prompt(agent, None, caller_name=None, language="hi").endswith("speak Hindi.")
    renamed = replace(agent, name="Ava")  # a world reloaded with an edited agent
    assert "You are Ava," in resolve_prompt(renamed, None, caller_name="Rahul", language="en")
    assert "You are Ava," not in resolve_prompt(agent, None, caller_name="Rahul", language="en")


def test_mask_secret_keeps_only_prefix_and_tail() -> None:
    assert mask_secret("nas_test_active") == "nas_…tive"
    assert mask_secret("rt_test_abcdefgh") == "rt_…efgh"
    assert mask_secret("short") == "…"
    assert mask_secret("") == "…"
