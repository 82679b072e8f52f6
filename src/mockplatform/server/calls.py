"""The call log: one record per issued token, following the call through its states."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from enum import StrEnum
from typing import Any

from mockplatform.server.world import resolve_prompt


class CallStatus(StrEnum):
    TOKEN_ISSUED = "token_issued"
    STARTED = "started"
    ENDED = "ended"
    REDEEM_FAILED = "redeem_failed"  # the token was refused (expired): the call never started


class Redemption(StrEnum):
    """What redeeming a token found; only ACCEPTED starts a call."""

    ACCEPTED = "accepted"
    UNKNOWN = "unknown"
    EXPIRED = "expired"
    USED = "used"


@dataclass(slots=True)  # 10,000 of them live in the call log
class CallRecord:
    call_id: str
    account: str  # the masked API key: the log never holds a usable secret
    agent_id: str
    agent_name: str
    instance_id: str | None
    language: str
    caller_name: str | None
    # The agent's prompt template and its values (`world.prompt_variables`): the prompt is
    # filled in when it is read (`resolved_prompt`), not when the token is issued, since the
    # call log is written on every token request and read seldom.
    prompt_template: str
    prompt_variables: dict[str, str]
    token_issued_at: float
    token_expires_at: float
    # The scenario the token request ran under (header, per key, or active): the call the
    # token starts follows its `call:` section, since app code cannot set the SDK's headers.
    scenario: str | None = None
    status: CallStatus = CallStatus.TOKEN_ISSUED
    started_at: float | None = None
    ended_at: float | None = None
    # A tuple: a call log of 10,000 empty lists would be 10,000 more objects to collect.
    transcript: tuple[dict[str, str], ...] = ()
    end_reason: str | None = None  # completed, ended_early, failed: MESSAGE, user_hangup
    live_key_digest: str | None = None  # sha256 of the key in the call's WebSocket URL
    # Each refused redeem of the call's token: {"at": mock time, "reason": the error message}.
    redeem_failures: tuple[dict[str, Any], ...] = ()

    @property
    def resolved_prompt(self) -> str:
        """The agent's prompt with the instance's variables and the caller's name injected."""
        return resolve_prompt(self.prompt_template, self.prompt_variables, self.caller_name)

    def to_json(self) -> dict[str, Any]:
        """The record as the control API shows it: the prompt resolved, not its template."""
        data = asdict(self)
        del data["prompt_template"], data["prompt_variables"]
        data["resolved_prompt"] = self.resolved_prompt
        return {_camel(name): value for name, value in data.items()}


def _camel(name: str) -> str:
    head, *rest = name.split("_")
    return head + "".join(part.title() for part in rest)
