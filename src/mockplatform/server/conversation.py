"""The scripted conversation of a simulated call, written from the call's own data.

The agent greets the caller by name, speaks for the instance's company, in the call's
language (`hi` and `mr` in Devanagari; `auto` picks one and says so), for as many turns as
the scenario's `call:` section asks, and may end early, fail mid-call, lose its connection
mid-call, or never start for a refused microphone. Pure data and plain functions:
`live_call` plays the result over a WebSocket; tests read it directly. The `call:` section
is `scenarios.CallScript`: turns, pace_ms, end_after_turns, fail_after_turns, error,
drop_after_turns, microphone.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field
from typing import Any, Literal

from mockplatform.server.calls import CallRecord
from mockplatform.server.scenarios import CallScript
from mockplatform.server.world import LANGUAGE_NAMES, Instance

Role = Literal["agent", "user"]
Outcome = Literal["completed", "ended_early", "failed", "dropped", "microphone_denied"]
# What the browser says when getUserMedia is refused (the SDK's `microphone_denied`).
MICROPHONE_DENIED = "Microphone access denied: the browser refused the microphone (NotAllowedError)"
SPOKEN_LANGUAGES = ("en", "hi", "mr")
_DEVANAGARI = re.compile(r"[\u0900-\u097f]")


@dataclass(frozen=True)
class Utterance:
    role: Role
    content: str

    def to_json(self) -> dict[str, str]:
        return {"role": self.role, "content": self.content}


@dataclass(frozen=True)
class Conversation:
    """What will be said, in order, and how the call ends."""

    language: str  # the language spoken: en, hi or mr
    requested_language: str  # what the token asked for: en, hi, mr or auto
    metadata: dict[str, Any]
    utterances: list[Utterance] = field(default_factory=list)
    outcome: Outcome = "completed"
    error: str | None = None  # the `error` event's message: "failed", "microphone_denied"


@dataclass(frozen=True)
class _Phrases:
    greeting: str  # {name}, {company}, {agent}
    greeting_no_company: str
    anonymous: str  # how the agent addresses a caller without a name
    exchanges: tuple[tuple[str, str], ...]  # (user, agent)
    goodbye: str


PHRASES: dict[str, _Phrases] = {
    "en": _Phrases(
        greeting="Hello, {name}! Thank you for calling {company}. I'm your {agent}. "
        "How can I help you today?",
        greeting_no_company="Hello, {name}! I'm your {agent}. How can I help you today?",
        anonymous="there",
        exchanges=(
            ("Hi, what are your opening hours?", "We're open Monday to Saturday, 9 am to 6 pm."),
            ("Can I book an appointment?", "Of course. I'll find the next free slot for you."),
            ("Is tomorrow morning possible?", "Yes, tomorrow at 10 am is free. Shall I book it?"),
            ("Yes, please.", "Done! You'll get a confirmation by SMS."),
        ),
        goodbye="Thank you for calling, {name}. Goodbye!",
    ),
    "hi": _Phrases(
        greeting="नमस्ते, {name}! {company} में कॉल करने के लिए धन्यवाद। मैं आपका {agent} हूँ। "
        "मैं आपकी क्या मदद कर सकता हूँ?",
        greeting_no_company="नमस्ते, {name}! मैं आपका {agent} हूँ। मैं आपकी क्या मदद कर सकता हूँ?",
        anonymous="जी",
        exchanges=(
            ("आप कब खुले रहते हैं?", "हम सोमवार से शनिवार, सुबह 9 बजे से शाम 6 बजे तक खुले रहते हैं।"),
            ("क्या मैं अपॉइंटमेंट बुक कर सकता हूँ?", "ज़रूर, मैं आपके लिए अगला खाली समय देखता हूँ।"),
            ("क्या कल सुबह हो सकता है?", "हाँ, कल सुबह 10 बजे खाली है। क्या मैं बुक कर दूँ?"),
            ("हाँ, कृपया।", "हो गया! आपको SMS से पुष्टि मिल जाएगी।"),
        ),
        goodbye="कॉल करने के लिए धन्यवाद, {name}। नमस्ते!",
    ),
    "mr": _Phrases(
        greeting="नमस्कार, {name}! {company} ला कॉल केल्याबद्दल धन्यवाद. मी तुमचा {agent} आहे. "
        "मी तुमची कशी मदत करू शकतो?",
        greeting_no_company="नमस्कार, {name}! मी तुमचा {agent} आहे. मी तुमची कशी मदत करू शकतो?",
        anonymous="मंडळी",
        exchanges=(
            ("तुमची वेळ काय आहे?", "आम्ही सोमवार ते शनिवार, सकाळी 9 ते संध्याकाळी 6 पर्यंत उघडे असतो."),
            ("मला अपॉइंटमेंट बुक करता येईल का?", "नक्की, मी तुमच्यासाठी पुढची मोकळी वेळ पाहतो."),
            ("उद्या सकाळी जमेल का?", "हो, उद्या सकाळी 10 वाजता वेळ मोकळी आहे. बुक करू का?"),
            ("हो, कृपया.", "झाले! तुम्हाला SMS ने पुष्टी मिळेल."),
        ),
        goodbye="कॉल केल्याबद्दल धन्यवाद, {name}. नमस्कार!",
    ),
}


def first_name(caller_name: str | None) -> str | None:
    """ "Rahul Sharma" -> "Rahul": the agent greets the caller the way the seed does."""
    parts = (caller_name or "").split()
    return parts[0] if parts else None


def choose_language(call: CallRecord) -> str:
    """The call's language; for `auto`, a stable pick per call (Devanagari names lean Hindi)."""
    if call.language in SPOKEN_LANGUAGES:
        return call.language
    if call.caller_name and _DEVANAGARI.search(call.caller_name):
        return "hi"
    digest = hashlib.sha256(call.call_id.encode()).digest()
    return SPOKEN_LANGUAGES[digest[0] % len(SPOKEN_LANGUAGES)]


def build_conversation(
    call: CallRecord, instance: Instance | None, script: CallScript
) -> Conversation:
    """The whole conversation of `call`, decided before the first word is spoken."""
    language = choose_language(call)
    phrases = PHRASES[language]
    name = first_name(call.caller_name) or phrases.anonymous
    values = {
        "name": name,
        "agent": call.agent_name,
        "company": instance.company_name if instance else "",
    }
    greeting = phrases.greeting if instance else phrases.greeting_no_company
    utterances = [Utterance("agent", greeting.format(**values))]

    turns = max(0, script.turns)
    outcome: Outcome = "completed"
    if script.microphone == "denied":
        turns, outcome, utterances = 0, "microphone_denied", []
    elif script.fail_after_turns is not None and script.fail_after_turns <= turns:
        turns, outcome = max(0, script.fail_after_turns), "failed"
    elif script.drop_after_turns is not None and script.drop_after_turns <= turns:
        turns, outcome = max(0, script.drop_after_turns), "dropped"
    elif script.end_after_turns is not None and script.end_after_turns < turns:
        turns, outcome = max(0, script.end_after_turns), "ended_early"
    for index in range(turns):
        user, agent = phrases.exchanges[index % len(phrases.exchanges)]
        utterances += [Utterance("user", user), Utterance("agent", agent)]
    if outcome == "completed":
        utterances.append(Utterance("agent", phrases.goodbye.format(**values)))

    metadata: dict[str, Any] = {
        "callId": call.call_id,
        "agentName": call.agent_name,
        "companyName": instance.company_name if instance else None,
        "persona": instance.persona if instance else None,
        "callerName": call.caller_name,
        "language": language,
        "languageName": LANGUAGE_NAMES[language],
        "requestedLanguage": call.language,
        "languageDetected": call.language == "auto",
    }
    return Conversation(
        language=language,
        requested_language=call.language,
        metadata=metadata,
        utterances=utterances,
        outcome=outcome,
        error={"failed": script.error, "microphone_denied": MICROPHONE_DENIED}.get(outcome),
    )
