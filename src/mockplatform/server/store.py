"""Where the mock keeps its state: tokens, the call log, the request journal, the clock.

Every request stage goes through the small `Store` interface, so single use and expiry hold
wherever the state lives. `MemoryStore` is the zero-set-up default for one process.
"""

from __future__ import annotations

import enum
import math
import time
from collections import OrderedDict, deque
from dataclasses import dataclass
from typing import Protocol

from mockplatform.server.calls import CallRecord, CallStatus, Redemption
from mockplatform.server.journal_entry import JournalEntry, ShownEntry, entry_json

MAX_CALLS = 10_000
# Tokens remembered at most (the newest; each one's call is then in the call log too). A
# test suite hammering the mock must not grow it without end in the 11 lifetimes before an
# expired token is forgotten; past the bound the oldest token goes first, and
# redeeming it answers "unknown".
MAX_TOKENS = 10_000
MAX_JOURNAL = 1_000
# An expired token is reported "expired" for this many lifetimes, then forgotten.
EXPIRED_TOKEN_MEMORY = 10.0
# How far ahead the clock may run (ten years): far enough for any expiry a test needs, near
# enough that a token's 60 s lifetime still shows in the clock's float (at 1e19 s ahead a
# token was born expired; two moves of 1e308 made the clock infinite).
MAX_CLOCK_OFFSET = 10 * 365 * 24 * 3600


class AnyScenario(enum.Enum):
    """`Store.issue_token` issues whatever scenario is active."""

    ANY = "any"


ANY_SCENARIO = AnyScenario.ANY


@dataclass(frozen=True, slots=True)
class ScenarioMoved:
    """`Store.issue_token` did nothing: the active scenario is no longer the one the answer
    was made under, but `name` (None: the start-up one)."""

    name: str | None


class Store(Protocol):
    async def now(self) -> float:
        """The mock's clock: wall time plus however far the control API has moved it."""

    async def advance_clock(self, seconds: float) -> float | None:
        """Move the clock forward (`seconds` >= 0); returns the new offset, or None, unmoved,
        when it would pass `MAX_CLOCK_OFFSET`."""

    async def clock_offset(self) -> float: ...

    async def issue_token(
        self,
        token: str,
        call: CallRecord,
        entry: JournalEntry | None = None,
        scenario: str | AnyScenario | None = ANY_SCENARIO,
    ) -> ScenarioMoved | None:
        """Remember a fresh token and its call, issued now on this store's clock: the call's
        `token_issued_at` becomes now, and `token_expires_at` now plus the lifetime the call
        carries (`token_expires_at - token_issued_at` as given). `entry`, the token
        request's own journal entry, is kept in the same step (as `record_request` keeps
        one). All of it only if the active scenario (as `get_scenario` names it) is still
        `scenario`: else nothing is done, and the scenario now active comes back. One step,
        so a shared store serves a token request in one round trip."""

    async def redeem_token(
        self, token: str, live_key_digest: str | None = None
    ) -> tuple[Redemption, CallRecord | None]:
        """Use a token once, atomically: the first redeem wins, any later one is USED. The
        winner's call is started in the same step (its `started_at` and `live_key_digest`
        set, saved in the call log), so no later step can fail between the token used up
        and the call started; the call is returned as the log now holds it."""

    async def token_scenario(self, token: str) -> str | None:
        """The scenario the token was issued under (its call's), without using the token;
        None for a token it does not know. The redeem follows that scenario's rules."""

    async def claim_listener(self, call_id: str) -> bool:
        """True for the first socket to listen to a started call, False for every later one,
        whichever worker or host it reaches: the "listened to once" rule."""

    async def get_call(self, call_id: str) -> CallRecord | None: ...

    async def save_call(self, call: CallRecord) -> None: ...

    async def list_calls(self, limit: int) -> list[CallRecord]:
        """The newest calls first."""

    async def record_request(self, entry: JournalEntry) -> None:
        """Keep `entry`, its `time` read off this store's clock in the same step; a shared
        store gives it a team-wide `id`."""

    async def list_requests(self, limit: int) -> list[ShownEntry]:
        """The newest journal entries first."""

    async def get_scenario(self) -> str | None:
        """The scenario switched to at run time; None means the start-up one."""

    async def set_scenario(self, name: str | None) -> None: ...

    async def next_count(self, key: str) -> int:
        """Count one more request for a rule (1, 2, 3...), shared by every worker."""

    async def reset(self) -> None:
        """Forget tokens, calls, journal, rule counts and the switched scenario; clock back."""


class MemoryStore:
    """One process's memory. Expired tokens are purged as time passes, so memory stays flat."""

    def __init__(
        self,
        *,
        max_calls: int = MAX_CALLS,
        max_journal: int = MAX_JOURNAL,
        max_tokens: int = MAX_TOKENS,
    ) -> None:
        self._max_calls = max_calls
        self._max_tokens = max_tokens
        self._offset = 0.0
        # A token's call, whether it was redeemed, and the tokens in the order they were
        # issued. Nothing here is an object of its own per token (the call is the call
        # log's), so the garbage collector has less to walk: it pauses less.
        self._tokens: dict[str, CallRecord] = {}
        self._redeemed: set[str] = set()
        # Purging stops at the first token still to be kept: one issued with a longer
        # lifetime (a scenario rule's) holds back those behind it, which then answer
        # "expired" for a little longer; but every step is O(1).
        self._forget_queue: deque[str] = deque()
        # When the oldest token is next due to be forgotten (inf: none is kept). Kept as a
        # number, so a token request does not read the oldest call (cold memory by then)
        # just to find it is not due. A token dropped by the bound leaves it as it was: the
        # next one is then looked at no sooner, as if held back by the one dropped.
        self._purge_due = math.inf
        self._calls: OrderedDict[str, CallRecord] = OrderedDict()
        self._journal: deque[JournalEntry] = deque(maxlen=max_journal)
        self._scenario: str | None = None
        self._counts: dict[str, int] = {}
        self._listened: OrderedDict[str, None] = OrderedDict()  # call ids, capped as calls

    async def now(self) -> float:
        return time.time() + self._offset

    async def clock_offset(self) -> float:
        return self._offset

    async def advance_clock(self, seconds: float) -> float | None:
        if self._offset + seconds > MAX_CLOCK_OFFSET:
            return None
        self._offset += seconds
        self._purge(await self.now())
        return self._offset

    async def issue_token(
        self,
        token: str,
        call: CallRecord,
        entry: JournalEntry | None = None,
        scenario: str | AnyScenario | None = ANY_SCENARIO,
    ) -> ScenarioMoved | None:
        if scenario != self._scenario and scenario is not ANY_SCENARIO:
            return ScenarioMoved(self._scenario)
        now = time.time() + self._offset
        lifetime = call.token_expires_at - call.token_issued_at
        call.token_issued_at, call.token_expires_at = now, now + lifetime
        if entry is not None:
            entry["time"] = now
            self._journal.append(entry)
        if now >= self._purge_due:
            self._purge(now)
        if not self._forget_queue:
            self._purge_due = _forget_at(call)
        self._tokens[token] = call
        self._forget_queue.append(token)
        while len(self._tokens) > self._max_tokens:
            self._forget(self._forget_queue.popleft())
        self._keep_call(call)
        return None

    async def redeem_token(
        self, token: str, live_key_digest: str | None = None
    ) -> tuple[Redemption, CallRecord | None]:
        now = await self.now()
        call = self._tokens.get(token)
        if call is None:
            return Redemption.UNKNOWN, None
        if token in self._redeemed:
            return Redemption.USED, call
        if now >= call.token_expires_at:
            return Redemption.EXPIRED, call
        self._redeemed.add(token)
        call.status = CallStatus.STARTED
        call.started_at = now
        call.live_key_digest = live_key_digest
        self._keep_call(call)
        return Redemption.ACCEPTED, call

    async def token_scenario(self, token: str) -> str | None:
        call = self._tokens.get(token)
        return None if call is None else call.scenario

    async def claim_listener(self, call_id: str) -> bool:
        if call_id in self._listened:
            return False
        self._listened[call_id] = None
        while len(self._listened) > self._max_calls:
            self._listened.popitem(last=False)
        return True

    async def get_call(self, call_id: str) -> CallRecord | None:
        return self._calls.get(call_id)

    async def save_call(self, call: CallRecord) -> None:
        self._keep_call(call)

    def _keep_call(self, call: CallRecord) -> None:
        self._calls[call.call_id] = call
        self._calls.move_to_end(call.call_id)
        while len(self._calls) > self._max_calls:
            self._calls.popitem(last=False)

    async def list_calls(self, limit: int) -> list[CallRecord]:
        return list(reversed(self._calls.values()))[:limit]

    async def record_request(self, entry: JournalEntry) -> None:
        entry["time"] = time.time() + self._offset
        self._journal.append(entry)

    async def list_requests(self, limit: int) -> list[ShownEntry]:
        return [entry_json(entry) for entry in list(reversed(self._journal))[:limit]]

    async def get_scenario(self) -> str | None:
        return self._scenario

    async def set_scenario(self, name: str | None) -> None:
        self._scenario = name

    async def next_count(self, key: str) -> int:
        self._counts[key] = self._counts.get(key, 0) + 1
        return self._counts[key]

    async def reset(self) -> None:
        self._scenario = None
        self._counts.clear()
        self._offset = 0.0
        self._tokens.clear()
        self._redeemed.clear()
        self._forget_queue.clear()
        self._purge_due = math.inf
        self._calls.clear()
        self._journal.clear()
        self._listened.clear()

    def _purge(self, now: float) -> None:
        """Forget the tokens due by `now` (a token request calls this only once one is due:
        `_purge_due`)."""
        queue, tokens = self._forget_queue, self._tokens  # the same tokens, oldest first
        while queue:
            due = _forget_at(tokens[queue[0]])
            if due > now:
                self._purge_due = due
                return
            self._forget(queue.popleft())
        self._purge_due = math.inf

    def _forget(self, token: str) -> None:
        del self._tokens[token]
        self._redeemed.discard(token)


def _forget_at(call: CallRecord) -> float:
    """When a token stops answering "expired" and is forgotten: some lifetimes after it."""
    lifetime = call.token_expires_at - call.token_issued_at
    return call.token_expires_at + lifetime * EXPIRED_TOKEN_MEMORY
