"""What only the Redis store has to show: shared keys, Redis's own expiry, a store that is down."""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import AsyncIterator

import pytest
import redis

from mockplatform.core.errors import StoreUnavailable
from mockplatform.server.calls import CallStatus, Redemption
from mockplatform.server.journal_entry import entry_json
from mockplatform.server.redis_store import RedisStore, check_reachable, describe_url, is_redis_url
from mockplatform.server.store import EXPIRED_TOKEN_MEMORY, ScenarioMoved
from mockplatform.server.tokens import new_access_token
from tests.mockplatform.processes import RedisServer, free_port
from tests.mockplatform.server.test_store import LIFETIME, a_call, issue, journal_entry

pytestmark = pytest.mark.anyio


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture
def prefix() -> str:
    return f"test:{uuid.uuid4().hex}:"


@pytest.fixture
async def pair(redis_server: RedisServer, prefix: str) -> AsyncIterator[list[RedisStore]]:
    """Two stores on one Redis: two workers, or two hosts, of one team."""
    stores = [RedisStore(redis_server.url, prefix=prefix) for _ in range(2)]
    try:
        yield stores
    finally:
        await stores[0].reset()
        for store in stores:
            await store.aclose()


def raw(server: RedisServer) -> redis.Redis:
    return redis.Redis(port=server.port, decode_responses=True)


async def test_one_store_issues_the_other_redeems(pair: list[RedisStore]) -> None:
    first, second = pair
    token, call = await issue(first)
    outcome, found = await second.redeem_token(token)
    assert outcome.value == "accepted"
    assert found is not None and found.call_id == call.call_id
    assert (await first.redeem_token(token))[0].value == "used"


async def test_a_redeem_records_the_start_in_the_same_step(pair: list[RedisStore]) -> None:
    first, second = pair
    token, call = await issue(first)
    await first.advance_clock(7)
    outcome, returned = await second.redeem_token(token)
    assert outcome.value == "accepted"
    # no save_call after it (say the store failed right after): the log already says started
    logged = await first.get_call(call.call_id)
    assert logged is not None
    assert returned == logged  # as the log holds it, like MemoryStore
    assert logged.status is CallStatus.STARTED
    assert logged.started_at is not None
    assert abs(logged.started_at - (call.token_issued_at + 7)) < 5


async def test_a_call_written_by_another_version_still_loads(
    redis_server: RedisServer, pair: list[RedisStore], prefix: str
) -> None:
    _, call = await issue(pair[0])
    with raw(redis_server) as client:
        stored = json.loads(client.hget(f"{prefix}calls:data", call.call_id))
        client.hset(f"{prefix}calls:data", call.call_id, json.dumps(stored | {"new_field": 1}))
    assert await pair[1].get_call(call.call_id) == call


async def test_a_call_of_a_version_that_kept_the_prompt_resolved_still_loads(
    redis_server: RedisServer, pair: list[RedisStore], prefix: str
) -> None:
    _, call = await issue(pair[0], caller="Rahul")
    with raw(redis_server) as client:
        stored = json.loads(client.hget(f"{prefix}calls:data", call.call_id))
        assert stored["resolved_prompt"] == call.resolved_prompt  # written for such a host
        del stored["prompt_template"], stored["prompt_variables"]
        client.hset(f"{prefix}calls:data", call.call_id, json.dumps(stored))
    loaded = await pair[1].get_call(call.call_id)
    assert loaded is not None
    assert loaded.resolved_prompt == call.resolved_prompt
    assert loaded.to_json() == call.to_json()


async def test_the_clock_and_scenario_are_shared(pair: list[RedisStore]) -> None:
    first, second = pair
    await first.advance_clock(42)
    assert await second.clock_offset() == 42
    await second.set_scenario("platform-failure")
    assert await first.get_scenario() == "platform-failure"
    await first.set_scenario(None)
    assert await second.get_scenario() is None
    await second.set_scenario("expired-trial")
    await first.reset()
    assert await second.get_scenario() is None
    assert await second.clock_offset() == 0


async def test_a_burst_waits_for_a_connection(redis_server: RedisServer, prefix: str) -> None:
    """A burst of requests, more than the pool's connections, queues (one batch in flight
    at a time on the pipeline's connection); none fails, none is lost, each in order."""
    store = RedisStore(redis_server.url, prefix=prefix, max_connections=2)

    async def client() -> list[int]:
        return [await store.next_count("burst") for _ in range(5)]

    try:
        token, _ = await issue(store)
        outcomes = await asyncio.gather(*(store.redeem_token(token) for _ in range(200)))
        assert sorted(outcome.value for outcome, _ in outcomes) == ["accepted"] + ["used"] * 199
        counts = await asyncio.gather(*(client() for _ in range(100)))
        assert sorted(n for seen in counts for n in seen) == list(range(1, 501))
        assert all(seen == sorted(seen) for seen in counts)
    finally:
        await store.reset()
        await store.aclose()


async def test_a_failing_command_fails_only_its_caller(pair: list[RedisStore]) -> None:
    """Commands of one loop turn share a pipeline; an error in one (INCR on text) stays its own."""
    store, other = pair
    await store.set_scenario("not-a-number")
    results = await asyncio.gather(
        store.next_count("rule"),
        store.advance_clock(5),
        store._pipeline.call("INCR", f"{store._prefix}scenario"),
        return_exceptions=True,
    )
    assert results[:2] == [1, 5.0]
    assert isinstance(results[2], redis.ResponseError)
    assert await other.get_scenario() == "not-a-number"


async def test_rule_counts_are_team_wide(pair: list[RedisStore]) -> None:
    first, second = pair
    assert [await first.next_count("flaky"), await second.next_count("flaky")] == [1, 2]
    assert await second.next_count("other") == 1
    await second.reset()
    assert await first.next_count("flaky") == 1


async def test_journal_ids_are_team_wide(pair: list[RedisStore]) -> None:
    first, second = pair
    entries = [journal_entry(path) for path in ("/api/a", "/api/b", "/api/c")]
    await first.record_request(entries[0])
    await second.record_request(entries[1])
    await first.record_request(entries[2])
    listed = await second.list_requests(10)
    assert [(entry["id"], entry["path"]) for entry in listed] == [
        (3, "/api/c"),
        (2, "/api/b"),
        (1, "/api/a"),
    ]
    assert listed[0] == {**entry_json(entries[2]), "id": 3}
    assert [entry["id"] for entry in entries] == [1, 2, 3]


async def test_token_keys_hold_no_token_and_expire_in_redis(
    redis_server: RedisServer, pair: list[RedisStore], prefix: str
) -> None:
    token, _ = await issue(pair[0])
    with raw(redis_server) as client:
        keys = [key for key in client.scan_iter(match=f"{prefix}token:*")]
        assert len(keys) == 1
        assert token not in keys[0]
        assert token not in str(client.hgetall(keys[0]))
        ttl = client.pttl(keys[0]) / 1000
    # Redis itself drops the key once the token is forgotten, not before
    forget_after = LIFETIME * (EXPIRED_TOKEN_MEMORY + 1)
    assert forget_after - 60 < ttl <= forget_after


async def test_forgotten_tokens_leave_redis_as_the_clock_moves(
    redis_server: RedisServer, pair: list[RedisStore], prefix: str
) -> None:
    store = pair[0]
    for _ in range(3):
        await issue(store)
    await store.advance_clock(LIFETIME * (EXPIRED_TOKEN_MEMORY + 1) + 1)
    await issue(store)  # issuing sweeps what the moved clock has forgotten
    with raw(redis_server) as client:
        assert len(list(client.scan_iter(match=f"{prefix}token:*"))) == 1
        assert client.zcard(f"{prefix}tokens") == 1


async def test_an_emptied_script_cache_is_refilled(
    redis_server: RedisServer, pair: list[RedisStore]
) -> None:
    """As after a Redis restart: EVALSHA finds nothing, the store sends the script again."""
    await issue(pair[0])
    with raw(redis_server) as client:
        client.script_flush()
    token, _ = await issue(pair[0])
    assert (await pair[1].redeem_token(token))[0].value == "accepted"


async def test_reset_keeps_other_prefixes(
    redis_server: RedisServer, pair: list[RedisStore]
) -> None:
    other = RedisStore(redis_server.url, prefix=f"other:{uuid.uuid4().hex}:")
    try:
        token, _ = await issue(other)
        await other.advance_clock(5)
        await pair[0].reset()
        assert await other.clock_offset() == 5
        assert (await other.redeem_token(token))[0].value == "accepted"
    finally:
        await other.reset()
        await other.aclose()


async def test_a_store_that_is_down_names_itself() -> None:
    url = f"redis://:hunter2@127.0.0.1:{free_port()}/0"
    store = RedisStore(url)
    try:
        with pytest.raises(StoreUnavailable) as caught:
            await store.redeem_token("rt_test_x")
    finally:
        await store.aclose()
    assert caught.value.store == describe_url(url)
    assert "hunter2" not in str(caught.value)
    assert "\n" not in str(caught.value)


async def test_a_token_request_to_a_store_that_is_down_names_it() -> None:
    url = f"redis://127.0.0.1:{free_port()}/0"
    store = RedisStore(url)
    try:
        with pytest.raises(StoreUnavailable) as caught:
            await store.issue_token(new_access_token(), a_call(), journal_entry("/api/x"), None)
    finally:
        await store.aclose()
    assert caught.value.store == url


async def test_a_token_request_redis_runs_after_giving_up_is_not_done(
    redis_server: RedisServer, prefix: str
) -> None:
    """Redis stalls (CLIENT PAUSE) while a token request's one step waits on it: the step
    fails (the request's 503), and when Redis wakes and runs what it held (twice: redis-py
    retried it), nothing of it is done: no token, no call, no journal entry."""
    store = RedisStore(redis_server.url, prefix=prefix, command_timeout=0.5)
    admin = raw(redis_server)
    try:
        await store.reset()  # the store has read Redis's clock (its deadlines are on it)
        token, call, entry = new_access_token(), a_call(), journal_entry("/api/widget/token")
        admin.execute_command("CLIENT", "PAUSE", 1500, "ALL")
        paused = asyncio.get_running_loop().time()
        with pytest.raises(StoreUnavailable):
            await store.issue_token(token, call, entry, None)
        await asyncio.sleep(max(0, paused + 1.8 - asyncio.get_running_loop().time()))
        assert await store.redeem_token(token) == (Redemption.UNKNOWN, None)
        assert await store.list_calls(10) == []
        assert await store.list_requests(10) == []
        assert admin.exists(f"{prefix}journal:seq") == 0  # the step did not begin
    finally:
        await store.reset()
        await store.aclose()
        admin.close()


def test_check_reachable_is_one_line_without_the_password() -> None:
    url = f"redis://:hunter2@127.0.0.1:{free_port()}/0"
    with pytest.raises(StoreUnavailable) as caught:
        check_reachable(url)
    message = str(caught.value)
    assert message.startswith(f"the store redis://:***@127.0.0.1:{url.rsplit(':', 1)[1]}")
    assert "hunter2" not in message and "\n" not in message
    assert "--store" in message


def test_check_reachable_passes_on_a_live_redis(redis_server: RedisServer) -> None:
    check_reachable(redis_server.url)


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        ("redis://127.0.0.1:6379/0", "redis://127.0.0.1:6379/0"),
        ("redis://:pw@127.0.0.1:6380/2", "redis://:***@127.0.0.1:6380/2"),
        ("rediss://team:pw@cache:6379/1", "rediss://team:***@cache:6379/1"),
    ],
)
def test_describe_url_masks_the_password(url: str, shown: str) -> None:
    assert describe_url(url) == shown


def test_is_redis_url() -> None:
    assert is_redis_url("redis://127.0.0.1:6379/0")
    assert is_redis_url("unix:///run/redis.sock?db=1")
    assert not is_redis_url("memory")
    assert not is_redis_url("http://127.0.0.1:6379")


async def test_each_call_is_written_with_its_own_callers_prompt(
    redis_server: RedisServer, pair: list[RedisStore], prefix: str
) -> None:
    """The prompt's JSON is made once per agent, instance, language and caller: calls with the
    same values but another caller (or none) still get their own prompt written."""
    calls = [(await issue(pair[0], caller=name))[1] for name in ("Asha", "Ben", None, "Asha")]
    with raw(redis_server) as client:
        for call in calls:
            stored = json.loads(client.hget(f"{prefix}calls:data", call.call_id))
            assert stored["resolved_prompt"] == call.resolved_prompt
            assert stored["prompt_variables"] == call.prompt_variables
            assert stored["caller_name"] == call.caller_name
    assert len({call.resolved_prompt for call in calls}) == 3


async def test_token_requests_of_one_loop_turn_are_kept_in_one_step(
    redis_server: RedisServer, pair: list[RedisStore], prefix: str
) -> None:
    """Token requests made together share one script call: one time on the shared clock,
    journal ids in the order they were made; each still checked against the scenario it
    was answered under (the one answered under another is not kept, and is told which)."""
    store = pair[0]
    await store.set_scenario("flaky")
    admin = raw(redis_server)
    calls_before = _script_calls(admin)
    paths = ["/api/a", "/api/b", "/api/b", "/api/a", "/api/c"]  # texts shared, sent once
    made = [(new_access_token(), a_call(), journal_entry(path)) for path in paths]
    for status, (_, _, entry) in enumerate(made, 200):
        entry["status"] = status
    expected: list[str | None] = ["flaky", "flaky", None, "flaky", "flaky"]
    results = await asyncio.gather(
        *(
            store.issue_token(*request, scenario)
            for request, scenario in zip(made, expected, strict=True)
        )
    )
    try:
        assert _script_calls(admin) == calls_before + 1
    finally:
        admin.close()
    assert results == [None, None, ScenarioMoved("flaky"), None, None]
    kept = [request for request, result in zip(made, results, strict=True) if result is None]
    assert len({call.token_issued_at for _, call, _ in kept}) == 1
    assert [entry["id"] for _, _, entry in kept] == [1, 2, 3, 4]
    listed = await pair[1].list_requests(10)
    assert [(e["path"], e["status"]) for e in listed] == [
        ("/api/c", 204),
        ("/api/a", 203),
        ("/api/b", 201),
        ("/api/a", 200),
    ]
    assert listed[0] == {**entry_json(made[4][2]), "id": 4, "time": made[4][1].token_issued_at}
    assert sorted(await pair[1].list_calls(10), key=lambda call: call.call_id) == sorted(
        (call for _, call, _ in kept), key=lambda call: call.call_id
    )
    assert [(await pair[1].redeem_token(token))[0] for token, _, _ in made] == [
        Redemption.ACCEPTED,
        Redemption.ACCEPTED,
        Redemption.UNKNOWN,
        Redemption.ACCEPTED,
        Redemption.ACCEPTED,
    ]


def _script_calls(client: redis.Redis) -> int:
    stats = client.info("commandstats").get("cmdstat_evalsha", {})
    return int(stats.get("calls", 0)) if isinstance(stats, dict) else 0


async def test_each_new_call_is_written_with_its_own_id_and_values(
    redis_server: RedisServer, pair: list[RedisStore], prefix: str
) -> None:
    """A new call's JSON is made once per agent, caller, scenario...: calls alike but for
    their id, or their scenario, or one that is not new (a refused redeem), are each
    written as they are."""
    calls = [a_call(await pair[0].now(), "Asha") for _ in range(3)]
    calls[1].scenario = "flaky"
    calls[2].redeem_failures = ({"at": 1.0, "reason": "expired"},)
    for call in calls:
        await pair[0].issue_token(new_access_token(), call)
    with raw(redis_server) as client:
        for call in calls:
            stored = json.loads(client.hget(f"{prefix}calls:data", call.call_id))
            assert stored["call_id"] == call.call_id
            assert stored["scenario"] == call.scenario
            assert stored["redeem_failures"] == list(call.redeem_failures)
            assert stored["token_issued_at"] == call.token_issued_at
