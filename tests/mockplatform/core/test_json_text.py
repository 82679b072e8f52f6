"""`parse_json`'s shortcut (the C scanner alone, for a flat object) reads every text exactly as
the full strict decoder does: the same value, or the same refusal."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mockplatform.core.json_text import Malformed, _parse_fully, parse_json


def outcome(read: Any, text: str) -> tuple[str, Any]:
    try:
        return "value", read(text)
    except Malformed as exc:
        return "refused", (exc.detail, exc.field)


keys = st.sampled_from(["agentId", "callerName", "a", "a:b", "\\u0061", "x"])
scalars = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**70), max_value=2**70)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=8)
)
raw_values = st.sampled_from(
    ['"\\ud800"', '"a:b"', "1e999", "NaN", "-Infinity", "[1, 2]", '[{"a": 1}]', '{"a": 1}', "{}"]
)


@st.composite
def flat_objects(draw: st.DrawFn) -> str:
    """A flat object's text, repeated and escaped keys, odd values and spacing included."""
    pairs = draw(st.lists(st.tuples(keys, scalars.map(json.dumps) | raw_values), max_size=5))
    space = draw(st.sampled_from(["", " ", "\n"]))
    body = f",{space}".join(f'"{key}":{space}{value}' for key, value in pairs)
    return (
        draw(st.sampled_from(["", " ", "\ufeff"]))
        + "{"
        + body
        + "}"
        + draw(st.sampled_from(["", " ", "x", "}"]))
    )


@settings(max_examples=400, deadline=None)
@given(flat_objects())
def test_the_shortcut_reads_as_the_full_decoder(text: str) -> None:
    assert outcome(parse_json, text) == outcome(_parse_fully, text)


@pytest.mark.parametrize(
    "text",
    [
        '{"agentId": "a", "agentId": "b"}',
        '{"agentId": "a", "\\u0061gentId": "b"}',
        '{"callerName": "\\ud800"}',
        '{"callerName": 1e999}',
        '{"a": NaN}',
        "[" * 3000,
        "",
        "\ufeff{}",
        '{"a": {"a": 1, "a": 2}}',
    ],
)
def test_what_the_full_decoder_refuses_is_refused(text: str) -> None:
    with pytest.raises(Malformed):
        parse_json(text)
