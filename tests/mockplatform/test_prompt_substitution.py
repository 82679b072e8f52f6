"""The prompt's placeholders are filled exactly as `string.Template.safe_substitute` would."""

from __future__ import annotations

from string import Template

from hypothesis import given, settings
from hypothesis import strategies as st

from mockplatform.world import (
    CALLER_NAME,
    DEFAULT_PROMPT,
    _collapsed,
    _substitute,
    _substitute_around,
    fill_caller,
)

NAMES = ["agent_name", "company_name", "caller_name", "language", "x", "_y1"]
pieces = st.one_of(
    st.text(alphabet="ab $_{}1\n", max_size=6),
    st.sampled_from(NAMES).map(lambda n: f"${n}"),
    st.sampled_from(NAMES).map(lambda n: f"${{{n}}}"),
    st.sampled_from(["$$", "$", "${", "${}", "$1", "${unknown}", "$unknown"]),
)
templates = st.lists(pieces, max_size=12).map("".join)
variables = st.dictionaries(
    st.sampled_from(NAMES), st.text(alphabet="ab$ {}", max_size=5), max_size=len(NAMES)
)


@settings(max_examples=300, deadline=None)
@given(template=templates, values=variables)
def test_same_as_safe_substitute(template: str, values: dict[str, str]) -> None:
    assert _substitute(template, values) == Template(template).safe_substitute(values)


@settings(max_examples=300, deadline=None)
@given(template=templates, values=variables, caller=st.text(alphabet="ab$ {}", max_size=5))
def test_substituted_around_the_caller_then_filled_in(
    template: str, values: dict[str, str], caller: str
) -> None:
    pieces = _substitute_around(template, values, CALLER_NAME)
    expected = Template(template).safe_substitute({**values, CALLER_NAME: caller})
    assert caller.join(pieces) == expected


@settings(max_examples=500, deadline=None)
@given(
    pieces=st.lists(st.text(alphabet="ab \t\n\u2003", max_size=6), min_size=1, max_size=5),
    caller=st.text(alphabet="ab \t\u2003", max_size=5),
)
def test_collapsed_pieces_filled_in_read_as_the_whole_prompt_collapsed(
    pieces: list[str], caller: str
) -> None:
    expected = " ".join((caller or "the caller").join(pieces).split())  # no name: "the caller"
    assert fill_caller(_collapsed(tuple(pieces)), caller) == expected


def test_the_default_prompt() -> None:
    values = {"agent_name": "Ava", "company_name": "Sharma Dental", "caller_name": "Rahul"}
    assert _substitute(DEFAULT_PROMPT, values) == Template(DEFAULT_PROMPT).safe_substitute(values)
    assert "Rahul" in _substitute(DEFAULT_PROMPT, values)
