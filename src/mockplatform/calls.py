"""The call log: one record per issued token, following the call through its states."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from enum import StrEnum
from typing import Any


class CallStatus(StrEnum):
    TOKEN_ISSUED = "token_issued"
    STARTED = "started"
    ENDED = "ended"


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
    resolved_prompt: str
    token_issued_at: float
    token_expires_at: float
    status: CallStatus = CallStatus.TOKEN_ISSUED
    started_at: float | None = None
    ended_at: float | None = None
    # A tuple: a call log of 10,000 empty lists would be 10,000 more objects to collect.
    transcript: tuple[dict[str, str], ...] = ()
    end_reason: str | None = None  # completed, ended_early, failed: MESSAGE, user_hangup
    live_key_digest: str | None = None  # sha256 of the key in the call's WebSocket URL

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        return {_camel(name): value for name, value in data.items()}


def _camel(name: str) -> str:
    head, *rest = name.split("_")
    return head + "".join(part.title() for part in rest)
