"""A call's prompt is its template filled by one `string.Template.safe_substitute` pass, with
the caller's name, and its whitespace collapsed."""

from __future__ import annotations

from string import Template

from hypothesis import given, settings
from hypothesis import strategies as st

from mockplatform.server.world import CALLER_NAME, DEFAULT_PROMPT, resolve_prompt

NAMES = ["agent_name", "company_name", "caller_name", "language", "x", "_y1"]
pieces = st.one_of(
    st.text(alphabet="ab $_{}1\n\t", max_size=6),
    st.sampled_from(NAMES).map(lambda n: f"${n}"),
    st.sampled_from(NAMES).map(lambda n: f"${{{n}}}"),
    st.sampled_from(["$$", "$", "${", "${}", "$1", "${unknown}", "$unknown"]),
)
templates = st.lists(pieces, max_size=12).map("".join)
variables = st.dictionaries(
    st.sampled_from(NAMES), st.text(alphabet="ab$ {}\n", max_size=5), max_size=len(NAMES)
)


@settings(max_examples=300, deadline=None)
@given(template=templates, values=variables, caller=st.text(alphabet="ab$ {}\t", max_size=5))
def test_same_as_safe_substitute_with_the_caller_collapsed(
    template: str, values: dict[str, str], caller: str
) -> None:
    filled = Template(template).safe_substitute({**values, CALLER_NAME: caller or "the caller"})
    assert resolve_prompt(template, values, caller) == " ".join(filled.split())


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
