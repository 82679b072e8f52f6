"""The scripted conversation: written from the call's data, shaped by the scenario's `call:`."""

from __future__ import annotations

import re

import pytest

from mockplatform.server.calls import CallRecord
from mockplatform.server.conversation import (
    SPOKEN_LANGUAGES,
    build_conversation,
    choose_language,
    first_name,
)
from mockplatform.server.scenarios import CallScript
from mockplatform.server.world import DEFAULT_AGENT_ID, DEFAULT_INSTANCE_ID, default_world

DEVANAGARI = re.compile(r"[\u0900-\u097f]")
LATIN_WORD = re.compile(r"[A-Za-z]{3,}")
WORLD = default_world()
INSTANCE = WORLD.instances[DEFAULT_INSTANCE_ID]


def call(language: str = "en", caller_name: str | None = "Rahul Sharma", call_id: str = "call_1"):
    return CallRecord(
        call_id=call_id,
        account="nas_…tive",
        agent_id=DEFAULT_AGENT_ID,
        agent_name="Customer Support Agent",
        instance_id=DEFAULT_INSTANCE_ID,
        language=language,
        caller_name=caller_name,
        prompt_template="",
        prompt_variables={},
        token_issued_at=0.0,
        token_expires_at=60.0,
    )


def test_the_agent_greets_the_caller_by_first_name_as_the_company() -> None:
    conversation = build_conversation(call(), INSTANCE, CallScript())
    greeting = conversation.utterances[0]
    assert greeting.role == "agent"
    assert greeting.content.startswith("Hello, Rahul!")
    assert INSTANCE.company_name in greeting.content
    assert "Customer Support Agent" in greeting.content
    assert conversation.metadata["companyName"] == INSTANCE.company_name
    assert conversation.metadata["persona"] == INSTANCE.persona


def test_without_an_instance_no_company_is_named() -> None:
    conversation = build_conversation(call(), None, CallScript())
    assert conversation.utterances[0].content.startswith("Hello, Rahul!")
    assert "calling" not in conversation.utterances[0].content
    assert conversation.metadata["companyName"] is None


def test_a_caller_without_a_name_is_greeted_all_the_same() -> None:
    greeting = build_conversation(call(caller_name=None), INSTANCE, CallScript()).utterances[0]
    assert greeting.content.startswith("Hello, there!")


@pytest.mark.parametrize("language", ["hi", "mr"])
def test_hindi_and_marathi_are_spoken_in_devanagari(language: str) -> None:
    conversation = build_conversation(call(language), INSTANCE, CallScript(turns=4))
    assert conversation.language == language
    for utterance in conversation.utterances:
        assert DEVANAGARI.search(utterance.content), utterance
        # only the names (caller, company, agent) stay in Latin script
        leftover = utterance.content
        for name in ("Rahul", INSTANCE.company_name, "Customer Support Agent", "SMS"):
            leftover = leftover.replace(name, "")
        assert not LATIN_WORD.search(leftover), utterance
    assert "Rahul" in conversation.utterances[0].content


def test_hindi_and_marathi_scripts_differ() -> None:
    hindi = build_conversation(call("hi"), INSTANCE, CallScript()).utterances
    marathi = build_conversation(call("mr"), INSTANCE, CallScript()).utterances
    assert hindi[0].content != marathi[0].content


def test_auto_picks_a_spoken_language_and_says_so() -> None:
    picked = set()
    for index in range(30):
        conversation = build_conversation(call("auto", call_id=f"call_{index}"), None, CallScript())
        assert conversation.language in SPOKEN_LANGUAGES
        assert conversation.metadata["language"] == conversation.language
        assert conversation.metadata["requestedLanguage"] == "auto"
        assert conversation.metadata["languageDetected"] is True
        picked.add(conversation.language)
    assert picked == set(SPOKEN_LANGUAGES)  # the pick varies from call to call


def test_auto_is_stable_for_one_call_and_hears_a_devanagari_name() -> None:
    assert choose_language(call("auto", call_id="call_x")) == choose_language(
        call("auto", call_id="call_x")
    )
    assert choose_language(call("auto", caller_name="राहुल")) == "hi"


def test_a_fixed_language_is_not_reported_as_detected() -> None:
    metadata = build_conversation(call("mr"), None, CallScript()).metadata
    assert metadata["languageDetected"] is False
    assert metadata["language"] == metadata["requestedLanguage"] == "mr"


@pytest.mark.parametrize("turns", [0, 1, 3, 6])
def test_turns_set_the_length(turns: int) -> None:
    conversation = build_conversation(call(), INSTANCE, CallScript(turns=turns))
    roles = [utterance.role for utterance in conversation.utterances]
    assert roles == ["agent", *["user", "agent"] * turns, "agent"]
    assert conversation.outcome == "completed"
    assert conversation.utterances[-1].content == "Thank you for calling, Rahul. Goodbye!"


def test_a_call_can_end_early_without_a_goodbye() -> None:
    conversation = build_conversation(call(), INSTANCE, CallScript(turns=3, end_after_turns=1))
    assert [u.role for u in conversation.utterances] == ["agent", "user", "agent"]
    assert conversation.outcome == "ended_early"
    assert conversation.error is None


def test_a_call_can_fail_mid_call_with_the_scripts_error() -> None:
    script = CallScript(turns=3, fail_after_turns=2, error="Voice platform crashed")
    conversation = build_conversation(call(), INSTANCE, script)
    assert len(conversation.utterances) == 1 + 2 * 2
    assert conversation.outcome == "failed"
    assert conversation.error == "Voice platform crashed"


def test_a_failure_without_a_message_gets_the_default_one() -> None:
    conversation = build_conversation(call(), INSTANCE, CallScript(fail_after_turns=0))
    assert conversation.error == CallScript().error
    assert len(conversation.utterances) == 1


def test_limits_beyond_the_length_change_nothing() -> None:
    conversation = build_conversation(call(), INSTANCE, CallScript(turns=2, end_after_turns=5))
    assert conversation.outcome == "completed"


def test_first_name() -> None:
    assert first_name("Rahul Sharma") == "Rahul"
    assert first_name("  ") is None
    assert first_name(None) is None
