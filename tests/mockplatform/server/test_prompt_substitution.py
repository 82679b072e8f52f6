"""A call's prompt is its template filled in one pass (`$name` and `${name}`, `$$` a dollar,
unknown names left as written), with the caller's name, and its whitespace collapsed:
examples, each written out."""

from __future__ import annotations

import pytest

from mockplatform.server.world import CALLER_NAME, DEFAULT_PROMPT, resolve_prompt

VALUES = {"agent_name": "Ava", "company_name": "Sharma Dental", "language": "hi"}


@pytest.mark.parametrize(
    ("template", "caller", "prompt"),
    [
        ("Hi, I am $agent_name of ${company_name}.", "Rahul", "Hi, I am Ava of Sharma Dental."),
        ("${caller_name}, welcome", "Rahul", "Rahul, welcome"),
        ("$caller_name speaks $language", None, "the caller speaks hi"),
        ("${agent_name}s and $agent_names", "R", "Avas and $agent_names"),  # braces end a name
        ("costs $$5, not $5", "R", "costs $5, not $5"),  # $$ is a dollar; $5 is no name
        ("${unknown} $unknown ${ $", "R", "${unknown} $unknown ${ $"),  # left as written
        ("a\n\t b   $agent_name\n", "R", "a b Ava"),  # whitespace collapsed, ends trimmed
        ("Hello $caller_name", "  Asha \n Rao  ", "Hello Asha Rao"),  # the caller's too
        ("", "R", ""),
    ],
)
def test_a_template_filled(template: str, caller: str | None, prompt: str) -> None:
    assert resolve_prompt(template, VALUES, caller) == prompt


def test_a_value_that_reads_like_a_placeholder_stays_as_written() -> None:
    values = {"persona": "I am $caller_name", "agent_name": "$$"}
    prompt = resolve_prompt(
        "${agent_name} ${persona} $$caller_name ${caller_name}", values, "Rahul"
    )
    assert prompt == "$$ I am $caller_name $caller_name Rahul"


def test_the_caller_wins_over_an_agent_default_and_is_the_caller_when_unnamed() -> None:
    values = {CALLER_NAME: "Default"}
    assert resolve_prompt("Hello ${caller_name}", values, "  Asha   Rao ") == "Hello Asha Rao"
    assert resolve_prompt("Hello ${caller_name}", values, None) == "Hello the caller"


def test_the_default_prompt() -> None:
    values = {"agent_name": "Ava", "company_name": "Sharma Dental", "language_name": "Hindi"}
    prompt = resolve_prompt(DEFAULT_PROMPT, values, "Rahul")
    assert prompt.startswith("You are Ava, the voice assistant of Sharma Dental.")
    assert "(Rahul)" in prompt and prompt.endswith("speak Hindi.")
