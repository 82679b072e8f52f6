"""The `Store` contract, run against every implementation: what holds in one process's memory
must hold the same in Redis, shared by a team."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import AsyncIterator

import pytest

from mockplatform.server.calls import CallRecord, CallStatus, Redemption
from mockplatform.server.journal_entry import JournalEntry
from mockplatform.server.redis_store import RedisStore
from mockplatform.server.store import (
    ANY_SCENARIO,
    EXPIRED_TOKEN_MEMORY,
    MemoryStore,
    ScenarioMoved,
    Store,
)
from mockplatform.server.tokens import new_access_token, new_call_id
from tests.mockplatform.processes import RedisServer

pytestmark = pytest.mark.anyio

LIFETIME = 60.0
CAP = 3


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture(params=["memory", "redis"])
async def store(request: pytest.FixtureRequest) -> AsyncIterator[Store]:
    if request.param == "memory":
        yield MemoryStore(max_calls=CAP, max_journal=CAP, max_tokens=CAP)
        return
    server: RedisServer = request.getfixturevalue("redis_server")
    redis_store = RedisStore(
        server.url,
        prefix=f"test:{uuid.uuid4().hex}:",
        max_calls=CAP,
        max_journal=CAP,
        max_tokens=CAP,
    )
    try:
        yield redis_store
    finally:
        await redis_store.reset()
        await redis_store.aclose()


def journal_entry(path: str, body: bytes = b"", method: str = "POST") -> JournalEntry:
    return JournalEntry(
        id=1,
        time=None,
        method=method,
        path=path,
        query=b"",
        headers={b"content-type": b"application/json", b"authorization": b"Bearer nas_x"},
        body=body,
        status=200,
        seconds=0.001,
        scenario=None,
        fault=None,
    )


async def issue(store: Store, caller: str | None = None) -> tuple[str, CallRecord]:
    call = a_call(await store.now(), caller)
    token = new_access_token()
    await store.issue_token(token, call)
    return token, call


def a_call(now: float = 0.0, caller: str | None = None) -> CallRecord:
    """A call to issue, its times as the token request makes them: `now`, now plus LIFETIME."""
    return CallRecord(
        call_id=new_call_id(),
        account="nas_…tive",
        agent_id="550e8400-e29b-41d4-a716-446655440000",
        agent_name="Customer Support Agent",
        instance_id=None,
        language="en",
        caller_name=caller,
        prompt_template="You are ${agent_name}; caller: ${caller_name}.",
        prompt_variables={"agent_name": "Customer Support Agent"},
        token_issued_at=now,
        token_expires_at=now + LIFETIME,
    )


async def test_a_token_redeems_once(store: Store) -> None:
    token, call = await issue(store, caller="Rahul Sharma")
    outcome, found = await store.redeem_token(token, "digest")
    assert outcome is Redemption.ACCEPTED
    # started in the same step, and saved so: nothing after the redeem can fail between
    assert found is not None and found.call_id == call.call_id
    assert (found.status, found.live_key_digest) == (CallStatus.STARTED, "digest")
    assert found.started_at is not None
    assert await store.get_call(call.call_id) == found
    outcome, found = await store.redeem_token(token)
    assert outcome is Redemption.USED
    assert found is not None and found.call_id == call.call_id


async def test_an_unknown_token_is_unknown(store: Store) -> None:
    await issue(store)
    assert await store.redeem_token("rt_test_never_issued") == (Redemption.UNKNOWN, None)


async def test_concurrent_redeems_have_one_winner(store: Store) -> None:
    token, _ = await issue(store)
    outcomes = await asyncio.gather(*(store.redeem_token(token) for _ in range(50)))
    winners = [outcome for outcome, _ in outcomes if outcome is Redemption.ACCEPTED]
    assert len(winners) == 1
    assert {outcome for outcome, _ in outcomes} == {Redemption.ACCEPTED, Redemption.USED}


async def test_advancing_the_clock_moves_now(store: Store) -> None:
    assert await store.clock_offset() == 0
    assert await store.advance_clock(30) == 30
    assert await store.advance_clock(1.5) == 31.5
    assert await store.clock_offset() == 31.5
    # generous bound: the point is the 31.5 s offset, not the machine's speed
    assert abs(await store.now() - time.time() - 31.5) < 5


async def test_a_token_is_valid_until_its_lifetime(store: Store) -> None:
    token, _ = await issue(store)
    await store.advance_clock(LIFETIME - 1)
    assert (await store.redeem_token(token))[0] is Redemption.ACCEPTED


async def test_an_advanced_clock_expires_a_token(store: Store) -> None:
    token, call = await issue(store)
    await store.advance_clock(LIFETIME + 1)
    outcome, found = await store.redeem_token(token)
    assert outcome is Redemption.EXPIRED
    assert found is not None and found.call_id == call.call_id


async def test_a_long_expired_token_is_forgotten(store: Store) -> None:
    token, _ = await issue(store)
    await store.advance_clock(LIFETIME * (EXPIRED_TOKEN_MEMORY + 1) + 1)
    assert await store.redeem_token(token) == (Redemption.UNKNOWN, None)


async def test_each_token_is_forgotten_when_its_own_time_comes(store: Store) -> None:
    first, _ = await issue(store)  # forgotten 11 lifetimes from now
    await store.advance_clock(LIFETIME * 5)
    second, _ = await issue(store)  # ... and this one 11 lifetimes after that
    await store.advance_clock(LIFETIME * 6 + 1)
    assert await store.redeem_token(first) == (Redemption.UNKNOWN, None)
    assert (await store.redeem_token(second))[0] is Redemption.EXPIRED
    await store.advance_clock(LIFETIME * 5)
    assert await store.redeem_token(second) == (Redemption.UNKNOWN, None)
    await store.reset()
    third, _ = await issue(store)  # a fresh start: the first token after a reset is due too
    await store.advance_clock(LIFETIME * (EXPIRED_TOKEN_MEMORY + 1) + 1)
    assert await store.redeem_token(third) == (Redemption.UNKNOWN, None)


async def test_past_the_bound_the_soonest_forgotten_token_goes(store: Store) -> None:
    tokens = [(await issue(store))[0] for _ in range(CAP + 1)]
    assert await store.redeem_token(tokens[0]) == (Redemption.UNKNOWN, None)
    for token in tokens[1:]:
        assert (await store.redeem_token(token))[0] is Redemption.ACCEPTED


async def test_a_used_token_reports_the_call_as_saved_last(store: Store) -> None:
    token, call = await issue(store)
    _, started = await store.redeem_token(token)
    assert started is not None
    started.status = CallStatus.STARTED
    started.started_at = await store.now()
    await store.save_call(started)
    assert await store.get_call(call.call_id) == started
    _, again = await store.redeem_token(token)
    assert again is not None and again.status is CallStatus.STARTED


async def test_the_call_log_is_newest_first_and_capped(store: Store) -> None:
    calls = [(await issue(store, caller=f"caller {n}"))[1] for n in range(CAP + 2)]
    listed = await store.list_calls(100)
    assert [c.call_id for c in listed] == [c.call_id for c in reversed(calls)][:CAP]
    assert [c.call_id for c in await store.list_calls(1)] == [calls[-1].call_id]
    assert await store.get_call(calls[0].call_id) is None
    assert await store.get_call("call_unknown") is None


async def test_the_journal_is_newest_first_and_capped(store: Store) -> None:
    for n in range(CAP + 2):
        await store.record_request(journal_entry(f"/api/{n}", "é".encode()))
    listed = await store.list_requests(100)
    assert [entry["path"] for entry in listed] == ["/api/4", "/api/3", "/api/2"]
    assert listed[0]["body"] == "é"
    assert len(await store.list_requests(2)) == 2


async def test_the_journal_stamps_an_entry_with_the_stores_own_clock(store: Store) -> None:
    await store.advance_clock(3600)  # an hour ahead: the entry's time follows the mock's clock
    before = await store.now()
    entry = journal_entry("/api/x")
    await store.record_request(entry)
    after = await store.now()
    [listed] = await store.list_requests(1)
    assert before <= listed["time"] <= after
    assert entry["time"] == listed["time"]


async def test_the_switched_scenario_is_kept_until_switched_back(store: Store) -> None:
    assert await store.get_scenario() is None
    await store.set_scenario("platform-failure")
    assert await store.get_scenario() == "platform-failure"
    await store.set_scenario(None)
    assert await store.get_scenario() is None


async def test_rule_counts_count_per_rule(store: Store) -> None:
    assert [await store.next_count("flaky:0") for _ in range(3)] == [1, 2, 3]
    assert await store.next_count("flaky:1") == 1


async def test_reset_forgets_everything(store: Store) -> None:
    token, call = await issue(store)
    await store.record_request(journal_entry("/api/x", method="GET"))
    await store.advance_clock(10)
    await store.set_scenario("expired-trial")
    await store.next_count("flaky:0")
    await store.reset()
    assert await store.get_scenario() is None
    assert await store.next_count("flaky:0") == 1
    assert await store.redeem_token(token) == (Redemption.UNKNOWN, None)
    assert await store.get_call(call.call_id) is None
    assert await store.list_calls(10) == []
    assert await store.list_requests(10) == []
    assert await store.clock_offset() == 0


# A token request's one step: the clock, the scenario, the token and the journal entry -------


async def test_a_token_request_keeps_its_token_and_entry_in_one_step(store: Store) -> None:
    await store.advance_clock(3600)  # the token's times and the entry's follow the mock's clock
    before = await store.now()
    token, call, entry = new_access_token(), a_call(), journal_entry("/api/widget/token")
    assert await store.issue_token(token, call, entry, None) is None
    after = await store.now()
    assert before <= call.token_issued_at <= after  # issued now, on the store's clock
    assert call.token_expires_at == call.token_issued_at + LIFETIME  # its lifetime kept
    assert entry["time"] == call.token_issued_at  # read once, in the same step
    [listed] = await store.list_requests(10)
    assert (listed["path"], listed["time"], listed["id"]) == (
        "/api/widget/token",
        call.token_issued_at,
        entry["id"],
    )
    assert await store.get_call(call.call_id) == call
    await store.advance_clock(LIFETIME - 1)
    assert (await store.redeem_token(token))[0] is Redemption.ACCEPTED
    assert (await store.redeem_token(token))[0] is Redemption.USED  # single use


async def test_a_token_request_under_a_scenario_no_longer_active_does_nothing(
    store: Store,
) -> None:
    await store.set_scenario("platform-failure")
    token, call, entry = new_access_token(), a_call(), journal_entry("/api/widget/token")
    assert await store.issue_token(token, call, entry, None) == ScenarioMoved("platform-failure")
    assert await store.issue_token(token, call, entry, "expired-trial") == ScenarioMoved(
        "platform-failure"
    )
    assert await store.redeem_token(token) == (Redemption.UNKNOWN, None)
    assert await store.get_call(call.call_id) is None
    assert await store.list_requests(10) == []
    assert entry["time"] is None  # not kept: the journal keeps it later, if at all
    await store.set_scenario(None)
    assert await store.issue_token(token, call, entry, "platform-failure") == ScenarioMoved(None)
    assert await store.issue_token(token, call, entry, None) is None
    assert (await store.redeem_token(token))[0] is Redemption.ACCEPTED


async def test_a_token_request_may_issue_under_whatever_scenario_is_active(store: Store) -> None:
    await store.set_scenario("platform-failure")
    token, call = new_access_token(), a_call()
    assert await store.issue_token(token, call, None, ANY_SCENARIO) is None
    assert await store.list_requests(10) == []  # no entry given, none kept
    assert (await store.redeem_token(token))[0] is Redemption.ACCEPTED


async def test_token_requests_keep_the_journal_bounded(store: Store) -> None:
    for n in range(CAP + 2):
        entry = journal_entry(f"/api/{n}")
        assert await store.issue_token(new_access_token(), a_call(), entry, None) is None
    listed = await store.list_requests(100)
    assert [entry["path"] for entry in listed] == ["/api/4", "/api/3", "/api/2"]
    assert len(await store.list_calls(100)) == CAP
