"""The shared store: one Redis behind every worker and host that serves one team.

`MemoryStore` holds in one process. Behind a load balancer (`--workers 4`, or several hosts)
a token issued by one worker must be redeemable, once, at any other, and a clock advanced
through one worker's control API must be the clock of all. So every operation here is one
atomic Redis step: a Lua script, or one command. A crash or a lost connection leaves each
operation done or not done, never half-written.

Keys, under a prefix (`mockplatform:` by default):

    clock               the clock offset in seconds (INCRBYFLOAT), read with Redis's TIME
    scenario            the active scenario's name; absent = the start-up one
    count:<rule>        per-rule request counts (flaky scenarios), shared by every worker
    token:<sha256>      hash: call_id, call (JSON copy), exp, forget (mock times), used (nonce)
    tokens              zset token key -> forget time: at most 10,000 remembered, as in memory
    calls / calls:data  zset call id -> save order, and hash call id -> JSON; capped together
    calls:seq           the save order counter
    journal             list of JSON entries, newest first, capped with LTRIM
    journal:seq         team-wide journal ids (each worker's own counter would collide)
    clock:nonce         the last clock move applied (a retried move is applied once)
    listener:<call id>  set by the one socket that listens to the call ("listened to once")

Expiry and the movable clock. A token's expiry and forget times are stored as mock times,
and every script decides against the shared mock clock (Redis's TIME plus the offset, read
inside the script), so advancing the clock through any worker expires tokens at once. Redis's
own key expiry (PEXPIRE, set to the moment the token is forgotten) reclaims the key; until
then an expired token is still told apart from an unknown one, as `MemoryStore` does.
Token keys are hashed: a key never holds a usable token, and a huge body never makes a
huge key.

A step that changes state and fails must change nothing. A command sent to a Redis that
stalls (paused, swapping) times out after `COMMAND_TIMEOUT` and the request gets its 503;
but Redis may run the command when it wakes. So every state-changing step that a client
can see fail (a token issued, a redeem, a clock move, a scenario switch, a reset) carries
a deadline on Redis's own clock, set before the client could give up, and does nothing once
it has passed. Commands are encoded one by one as they are queued, so no value of one request
can fail the pipeline that carries others'.

A token request is one step, so one round trip (`_ISSUE`): the worker answers it under the
scenario it last saw active, and the script checks that it still is (else nothing is done
and the worker answers again), reads the shared clock for the token's issue and expiry,
keeps the token, its call and the request's journal entry.
"""

from __future__ import annotations

import asyncio
import functools
import hashlib
import json
import operator
import secrets
import time
from dataclasses import MISSING, fields
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import hiredis
import redis
import redis.asyncio
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff
from redis.commands.core import AsyncScript
from redis.exceptions import NoScriptError

from mockplatform.core.errors import StoreUnavailable
from mockplatform.server.calls import CallRecord, CallStatus, Redemption
from mockplatform.server.journal_entry import JournalEntry, ShownEntry, compact_json, shown_parts
from mockplatform.server.store import (
    ANY_SCENARIO,
    EXPIRED_TOKEN_MEMORY,
    MAX_CALLS,
    MAX_CLOCK_OFFSET,
    MAX_JOURNAL,
    MAX_TOKENS,
    AnyScenario,
    ScenarioMoved,
)

DEFAULT_PREFIX = "mockplatform:"
REDIS_SCHEMES = ("redis", "rediss", "unix")
# Fail fast when Redis is down: a request should get its 503 in a second, not hang.
CONNECT_TIMEOUT = 1.0
COMMAND_TIMEOUT = 2.0
# A state-changing step is done only if Redis runs it within half the command timeout of its
# sending: well before the client gives up on it, however far this host's clock and Redis's
# differ (the difference is measured, to within half a round trip; see
# `RedisStore._deadline`).
STEP_DEADLINE_SHARE = 0.5
LISTENER_CLAIM_MS = 7 * 24 * 3600 * 1000  # kept past any call's end (the call log says ended)
MAX_CONNECTIONS = 64  # per worker process
POOL_TIMEOUT = 5.0  # seconds a request waits for a free connection before its 503

_MOCK_NOW = """
local function mock_now(clock_key)
  local t = redis.call('TIME')
  return tonumber(t[1]) + tonumber(t[2]) / 1000000 + tonumber(redis.call('GET', clock_key) or '0')
end
"""

# ARGV[1] of the script it starts: the deadline (Redis's time) after which it does nothing.
_IN_TIME = """
local t = redis.call('TIME')
if tonumber(t[1]) + tonumber(t[2]) / 1000000 > tonumber(ARGV[1]) then return {'late'} end
"""

# KEYS: clock.  The mock's now, as text (a Lua number would lose the microseconds).
_NOW = _MOCK_NOW + "return string.format('%.6f', mock_now(KEYS[1]))"

# Saves calls (ids and JSON alike, in order) in the call log, the newest `max_calls` kept:
# one HSET, one ZADD for them all, whatever their number.
_SAVE_CALLS = """
local function in_chunks(items, send)  -- (unpack's bound on the values of one call)
  for i = 1, #items, 1000 do send(unpack(items, i, math.min(i + 999, #items))) end
end
local function save_calls(order_key, data_key, seq_key, ids, jsons, max_calls)
  local data, order = {}, {}
  local seq = redis.call('INCRBY', seq_key, #ids) - #ids
  for i = 1, #ids do
    data[2 * i - 1], data[2 * i] = ids[i], jsons[i]
    order[2 * i - 1], order[2 * i] = seq + i, ids[i]
  end
  redis.call('HSET', data_key, unpack(data))
  redis.call('ZADD', order_key, unpack(order))
  local excess = redis.call('ZCARD', order_key) - tonumber(max_calls)
  if excess > 0 then
    in_chunks(redis.call('ZRANGE', order_key, 0, excess - 1),
              function(...) redis.call('HDEL', data_key, ...) end)
    redis.call('ZREMRANGEBYRANK', order_key, 0, excess - 1)
  end
end
"""

# Keeps journal entries under team-wide ids, in order (the last given is the newest): each
# of `bodies` is an entry's JSON without its opening brace, its id or its time; `now` the
# time as text. The newest `max` are kept. Returns the first entry's id.
_KEEP_ENTRIES = """
local function keep_entries(journal_key, seq_key, bodies, max, now)
  local first = redis.call('INCRBY', seq_key, #bodies) - #bodies + 1
  local entries = {}
  for i, body in ipairs(bodies) do
    entries[i] = '{"id":' .. (first + i - 1) .. ',"time":' .. now .. ',' .. body
  end
  redis.call('LPUSH', journal_key, unpack(entries))
  redis.call('LTRIM', journal_key, 0, tonumber(max) - 1)
  return first
end
"""

# KEYS: scenario, clock, tokens, calls, calls:data, calls:seq, journal, journal:seq, then
# each token's key.
# ARGV: deadline, max calls, max tokens, max entries, forget after (in lifetimes), then eight
# for each token: '1' to check the scenario, the scenario expected ('' for none), call id,
# the call's JSON from its opening brace and its two times on (the JSON of its id, then
# the number of a text of the rest: '0' for none), lifetime, the number of the text its
# journal entry begins with ('0' for no entry) and the entry's rest (together, the entry as
# `keep_entries` takes it); then the texts. A text many requests share (a client's calls
# alike but for their id, its requests alike but for their outcome) is sent once.
# One step and one round trip for every token request a worker has in one turn of its loop
# (`_Issues`): the time read once off the shared clock (the tokens' issue and expiry, the
# entries' time), the active scenario read once, and each token whose answer was made under
# it kept with its call and journal entry; the others nothing, their worker answers them
# again. What every token shares is one command for them all: a ZADD of the tokens, the
# calls' HSET and ZADD, one LPUSH of the entries, each bound checked once. Replies 'ok', the
# time, the active scenario, each token's expiry ('' if not issued) and the first entry's id.
# `tokens` (token key -> forget time) bounds how many are remembered, like MemoryStore: past
# the bound the soonest-forgotten goes first. (The keys it names are deleted from inside the
# script: fine on one Redis, not on a Redis Cluster.)
_ISSUE = (
    _IN_TIME
    + _SAVE_CALLS
    + _KEEP_ENTRIES
    + """
local real = tonumber(t[1]) + tonumber(t[2]) / 1000000  -- (the time `_IN_TIME` read)
local now_text = string.format('%.6f', real + tonumber(redis.call('GET', KEYS[2]) or '0'))
local now = tonumber(now_text)
local active = redis.call('GET', KEYS[1]) or ''
local forget_after = tonumber(ARGV[5])
local reply = {'ok', now_text, active}
local texts_at = 5 + 8 * (#KEYS - 8)
local function text(number)
  if number == '0' then return '' end
  return ARGV[texts_at + tonumber(number)]
end
local forgets, ids, calls, bodies = {}, {}, {}, {}
for i = 9, #KEYS do
  local a = 8 * (i - 9) + 6
  if ARGV[a] == '1' and active ~= ARGV[a + 1] then
    reply[#reply + 1] = ''
  else
    local lifetime = tonumber(ARGV[a + 5])
    local exp_text = string.format('%.17g', now + lifetime)
    local forget = tonumber(exp_text) + lifetime * forget_after
    local forget_text = string.format('%.17g', forget)
    local call = '{"token_issued_at":' .. now_text .. ',"token_expires_at":' .. exp_text
                 .. ',' .. ARGV[a + 3] .. text(ARGV[a + 4])
    redis.call('HSET', KEYS[i], 'call_id', ARGV[a + 2], 'call', call, 'exp', exp_text,
               'forget', forget_text, 'used', '')
    redis.call('PEXPIRE', KEYS[i], math.max(math.ceil((forget - now) * 1000), 1))
    forgets[#forgets + 1], forgets[#forgets + 2] = forget_text, KEYS[i]
    ids[#ids + 1], calls[#calls + 1] = ARGV[a + 2], call
    if ARGV[a + 6] ~= '0' then bodies[#bodies + 1] = text(ARGV[a + 6]) .. ARGV[a + 7] end
    reply[#reply + 1] = exp_text
  end
end
if #ids == 0 then
  reply[#reply + 1] = 0
  return reply
end
redis.call('ZADD', KEYS[3], unpack(forgets))
local function forget_keys(keys) in_chunks(keys, function(...) redis.call('DEL', ...) end) end
forget_keys(redis.call('ZRANGEBYSCORE', KEYS[3], '-inf', now))
redis.call('ZREMRANGEBYSCORE', KEYS[3], '-inf', now)
local excess = redis.call('ZCARD', KEYS[3]) - tonumber(ARGV[3])
if excess > 0 then
  forget_keys(redis.call('ZRANGE', KEYS[3], 0, excess - 1))
  redis.call('ZREMRANGEBYRANK', KEYS[3], 0, excess - 1)
end
save_calls(KEYS[4], KEYS[5], KEYS[6], ids, calls, ARGV[2])
local first = 0
if #bodies > 0 then first = keep_entries(KEYS[7], KEYS[8], bodies, ARGV[4], now_text) end
reply[#reply + 1] = first
return reply
"""
)

# KEYS: token, clock, calls, calls:data, calls:seq.
# ARGV: deadline, this redeem's nonce, the live key's digest, max calls.
# The nonce makes a retried redeem (the reply was lost, redis-py sends it again) get its own
# ACCEPTED back instead of a 409 for a token nobody else used. The call is started in the
# same step (status, start time, live key digest, saved in the call log), so no later
# step can fail between the token used and the call started; it is returned as saved. The
# JSON edited is our own `_dump_call`'s.
_REDEEM = (
    _IN_TIME
    + _MOCK_NOW
    + _SAVE_CALLS
    + """
local t = redis.call('HMGET', KEYS[1], 'exp', 'forget', 'used', 'call_id', 'call')
if not t[1] then return {'unknown'} end
local now = mock_now(KEYS[2])
if now >= tonumber(t[2]) then
  redis.call('DEL', KEYS[1])
  return {'unknown'}
end
local call = redis.call('HGET', KEYS[4], t[4]) or t[5]
if t[3] == ARGV[2] then return {'accepted', call} end
if t[3] ~= '' then return {'used', call} end
if now >= tonumber(t[1]) then return {'expired', call} end
redis.call('HSET', KEYS[1], 'used', ARGV[2])
local started = string.gsub(call, '"status":"token_issued"', '"status":"started"', 1)
started = string.gsub(started, '"started_at":null',
                      '"started_at":' .. string.format('%.6f', now), 1)
if ARGV[3] ~= '' then
  started = string.gsub(started, '"live_key_digest":null',
                        '"live_key_digest":"' .. ARGV[3] .. '"', 1)
end
save_calls(KEYS[3], KEYS[4], KEYS[5], {t[4]}, {started}, ARGV[4])
return {'accepted', started}
"""
)

# KEYS: clock, clock:nonce.  ARGV: deadline, seconds, max offset, nonce.  The new offset, or
# 'bound' (unmoved) when it would pass the bound.
_ADVANCE = (
    _IN_TIME
    + """
if redis.call('GET', KEYS[2]) == ARGV[4] then return {'ok', redis.call('GET', KEYS[1])} end
local offset = tonumber(redis.call('GET', KEYS[1]) or '0') + tonumber(ARGV[2])
if offset > tonumber(ARGV[3]) then return {'bound'} end
redis.call('SET', KEYS[2], ARGV[4])
return {'ok', redis.call('INCRBYFLOAT', KEYS[1], ARGV[2])}
"""
)

# KEYS: scenario.  ARGV: deadline, name ('' for none).
_SET_SCENARIO = (
    _IN_TIME
    + """
if ARGV[2] == '' then redis.call('DEL', KEYS[1]) else redis.call('SET', KEYS[1], ARGV[2]) end
return {'ok'}
"""
)

# KEYS: calls, calls:data, calls:seq.  ARGV: call id, call JSON, max calls
_SAVE = _SAVE_CALLS + "save_calls(KEYS[1], KEYS[2], KEYS[3], {ARGV[1]}, {ARGV[2]}, ARGV[3])"

# KEYS: calls, calls:data.  ARGV: limit.  Newest first.
_LIST_CALLS = """
local ids = redis.call('ZREVRANGE', KEYS[1], 0, tonumber(ARGV[1]) - 1)
if #ids == 0 then return {} end
return redis.call('HMGET', KEYS[2], unpack(ids))
"""

# KEYS: journal, journal:seq, clock.  ARGV: the entry (as `keep_entries`), max entries.  The
# entry gets its team-wide id and the shared clock's time here, in the step that keeps it: no
# round trip of its own to read the clock.
_RECORD = (
    _MOCK_NOW
    + _KEEP_ENTRIES
    + """
local now = string.format('%.6f', mock_now(KEYS[3]))
return {keep_entries(KEYS[1], KEYS[2], {ARGV[1]}, ARGV[2], now), now}
"""
)

# ARGV: deadline, the key pattern.  One script, so a reset is all or nothing.
_RESET = (
    _IN_TIME
    + """
local cursor = '0'
local removed = 0
repeat
  local page = redis.call('SCAN', cursor, 'MATCH', ARGV[2], 'COUNT', 1000)
  cursor = page[1]
  for _, key in ipairs(page[2]) do
    redis.call('UNLINK', key)
    removed = removed + 1
  end
until cursor == '0'
return {'ok', removed}
"""
)


def is_redis_url(url: str) -> bool:
    return urlsplit(url).scheme in REDIS_SCHEMES


def describe_url(url: str) -> str:
    """The URL to show in messages and 503 bodies: any password replaced by `***`."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    user = parts.username or ""
    host = parts.hostname or ""
    if parts.port is not None:
        host = f"{host}:{parts.port}"
    netloc = f"{user}:***@{host}"
    return urlunsplit((parts.scheme, netloc, parts.path, parts.query, parts.fragment))


def check_reachable(url: str) -> None:
    """Fail start-up with one clear line when Redis is not there (a synchronous PING)."""
    location = describe_url(url)
    try:
        client = redis.Redis.from_url(
            url, socket_connect_timeout=CONNECT_TIMEOUT, socket_timeout=COMMAND_TIMEOUT
        )
        try:
            client.ping()
        finally:
            client.close()
    except (redis.RedisError, ValueError) as exc:
        reason = _one_line(exc).rstrip(".")
        raise StoreUnavailable(location, f"{reason}; start it or fix --store") from None


class _AutoPipeline:
    """Commands issued in one turn of the event loop go to Redis together, as one pipeline.

    Under load a worker has many requests in flight, each waiting on its own short command;
    sent one by one, each costs a write, a read and a trip through redis-py's pool. Sent
    together they share those (bench/HISTORY.md has the figures). A lone request waits one
    loop turn more, which is nothing. Each command is still its own atomic step: the
    pipeline is not a transaction, it only shares the socket.

    Each command is packed once, by hiredis's C packer, as it is queued, and the batch is
    written to the pipeline's connection and its replies read back as they come: redis-py's
    own pipeline encoded every argument twice more in Python, the largest part of a team's
    token request (bench/HISTORY.md round 8). Replies are as the connection parses them
    (no response callbacks: `TIME` is a list of two texts). A connection that fails is
    dropped and the batch sent once more on a fresh one (a connection left stale by a Redis
    restart), as redis-py's `Retry(NoBackoff(), 1)` did.

    One batch is in flight at a time, on one connection taken from the pool once and kept:
    the commands queued while it is are the next batch, sent as soon as its replies are in.
    Taking a pooled connection and giving it back cost each batch more than its own write
    and read (redis-py's pool locks, waits and counts on both), and a task of its own; and
    the batches grow as Redis gets busier, which is when sharing a call pays most
    (bench/HISTORY.md round 9).
    """

    def __init__(self, client: redis.asyncio.Redis) -> None:
        self._pool = client.connection_pool
        self._queue: list[tuple[bytes, asyncio.Future[Any]]] = []
        self._sender: asyncio.Task[None] | None = None  # while batches are going out
        self._connection: Any = None  # taken from the pool at the first batch, then kept

    def call(self, *command: Any) -> asyncio.Future[Any]:
        """Queue `command`. It is packed here, so a value that cannot be sent (text that
        is not valid Unicode) fails this command alone, not the pipeline it would share."""
        packed = hiredis.pack_command(command)
        loop = asyncio.get_running_loop()
        future: asyncio.Future[Any] = loop.create_future()
        self._queue.append((packed, future))
        if self._sender is None:  # it starts next loop turn, with this turn's commands
            self._sender = loop.create_task(self._send_all())
        return future

    async def _send_all(self) -> None:
        try:
            while self._queue:
                batch, self._queue = self._queue, []
                await self._send(batch)
        finally:
            self._sender = None

    async def _send(self, batch: list[tuple[bytes, asyncio.Future[Any]]]) -> None:
        try:
            if self._connection is None:
                self._connection = await self._pool.get_connection()
            results = await self._exchange(self._connection, batch)
        except Exception as exc:  # the connection failed: every command in it did
            for _, future in batch:
                if not future.done():
                    future.set_exception(exc)
            return
        except BaseException:  # cancelled (the worker is stopping): so are its commands
            for _, future in batch + self._queue:
                future.cancel()
            raise
        for (_, future), result in zip(batch, results, strict=True):
            if future.done():  # the request went away
                continue
            if isinstance(result, Exception):
                future.set_exception(result)
            else:
                future.set_result(result)

    async def _exchange(
        self, connection: Any, batch: list[tuple[bytes, asyncio.Future[Any]]]
    ) -> list[Any]:
        """Write the batch and read its replies, an error reply being that command's; once
        more on a fresh connection if this one fails."""
        data = b"".join(packed for packed, _ in batch)
        try:
            return await _round_trip(connection, data, len(batch))
        except (redis.ConnectionError, redis.TimeoutError):
            await connection.disconnect()
            return await _round_trip(connection, data, len(batch))


async def _round_trip(connection: Any, data: bytes, replies: int) -> list[Any]:
    try:
        await connection.send_packed_command(data)
        results: list[Any] = []
        for _ in range(replies):
            try:
                results.append(await connection.read_response())
            except redis.ResponseError as exc:
                results.append(exc)
        return results
    except BaseException:  # replies may be left unread: the connection is out of step
        await connection.disconnect()
        raise


# Token requests one script call keeps at most: a longer queue is sent as several calls.
MAX_ISSUES_PER_STEP = 64

# What a queued token request gets back: the time it was issued and its expiry (as text),
# its journal entry's id (0 when it had none); or the scenario now active, nothing done.
_Issued = tuple[str, str, int] | ScenarioMoved
# A token request's values for `_ISSUE` (its ARGV, but for the texts it may share with
# others, given as themselves: `_Issues` numbers them): check the scenario ('1' or '0'),
# the scenario expected, the call's id, its JSON's head and rest, the token's lifetime,
# the journal entry's head (b'' for none) and rest.
_Own = tuple[bytes, bytes, bytes, bytes, bytes, bytes, bytes, bytes]
# A queued token request: its token's key, its values, and where its outcome goes.
_Queued = tuple[str, _Own, "asyncio.Future[_Issued]"]


class _Issues:
    """Token requests made in one turn of the event loop are kept by one `_ISSUE` call.

    Under load a worker has many token requests in flight. Each one kept by its own script
    call cost Redis ~40 us, most of it the call's own (its arguments, the clock and the
    scenario read, each bound checked) rather than the token's, and the worker a reply to
    read and a future of its own. Kept together, they share all of that: one script, one
    reply, one time on the shared clock (bench/HISTORY.md round 9). A lone request waits
    one loop turn more, which is nothing; each is still checked against the scenario it
    was answered under, one by one.
    """

    def __init__(self, store: RedisStore) -> None:
        self._store = store
        self._queue: list[_Queued] = []

    def add(self, key: str, own: _Own) -> asyncio.Future[_Issued]:
        """Queue one token request: its token's key and its values (`_Own`)."""
        loop = asyncio.get_running_loop()
        future: asyncio.Future[_Issued] = loop.create_future()
        if not self._queue:
            loop.call_soon(self._flush)
        self._queue.append((key, own, future))
        return future

    def _flush(self) -> None:
        queue, self._queue = self._queue, []
        for start in range(0, len(queue), MAX_ISSUES_PER_STEP):
            self._send(queue[start : start + MAX_ISSUES_PER_STEP])

    def _send(self, batch: list[_Queued], by_sha: bool = True) -> None:
        """The script for `batch` into the auto-pipeline; its reply, when in, to `_kept`
        (no task of its own: the reply's callback hands each request its part)."""
        store = self._store
        keys = [
            store._scenario,
            store._clock,
            store._tokens,
            *store._call_keys(),
            store._journal,
            store._journal_seq,
            *(key for key, _, _ in batch),
        ]
        args: list[Any] = [
            store._deadline_now(),
            store._max_calls,
            store._max_tokens,
            store._max_journal,
            EXPIRED_TOKEN_MEMORY,
        ]
        texts: dict[bytes, bytes] = {b"": b"0"}  # each text sent, by its number
        for _, (check, expected, call_id, head, rest, lifetime, begins, ends), _ in batch:
            numbers = [texts.setdefault(shared, b"%d" % len(texts)) for shared in (rest, begins)]
            args += (check, expected, call_id, head, numbers[0], lifetime, numbers[1], ends)
        args += list(texts)[1:]
        script = store._issue.sha if by_sha else store._issue.script
        reply = store._pipeline.call(
            "EVALSHA" if by_sha else "EVAL", script, len(keys), *keys, *args
        )
        reply.add_done_callback(functools.partial(self._kept, batch, by_sha))

    def _kept(self, batch: list[_Queued], by_sha: bool, reply: asyncio.Future[Any]) -> None:
        if reply.cancelled():  # the worker is stopping: so are its requests
            for _, _, future in batch:
                future.cancel()
            return
        failure = reply.exception()
        if isinstance(failure, NoScriptError) and by_sha:  # Redis restarted: load it again
            self._send(batch, by_sha=False)
            return
        if isinstance(failure, redis.RedisError):
            failure = self._store._unavailable(failure)
        elif failure is None:
            try:
                now, active, *expiries, entry_id = self._store._stepped(reply.result())
            except StoreUnavailable as late:
                failure = late
        if failure is not None:  # every request of the batch failed with it
            for _, _, future in batch:
                if not future.done():
                    future.set_exception(failure)
            return
        moved = ScenarioMoved(active or None)
        for (_, own, future), expires in zip(batch, expiries, strict=True):
            if not expires:
                issued: _Issued = moved
            else:
                issued = (now, expires, entry_id if own[6] else 0)
                entry_id += 1 if own[6] else 0
            if not future.done():  # (the request went away)
                future.set_result(issued)


class RedisStore:
    """The `Store` interface on Redis, shared by every worker and host pointed at it."""

    def __init__(
        self,
        url: str,
        *,
        prefix: str = DEFAULT_PREFIX,
        max_calls: int = MAX_CALLS,
        max_journal: int = MAX_JOURNAL,
        max_tokens: int = MAX_TOKENS,
        max_connections: int = MAX_CONNECTIONS,
        command_timeout: float = COMMAND_TIMEOUT,
    ) -> None:
        self.location = describe_url(url)
        self._step_deadline = command_timeout * STEP_DEADLINE_SHARE
        self._max_calls = max_calls
        self._max_tokens = max_tokens
        self._max_journal = max_journal
        self._prefix = prefix
        # Connections are made lazily, in the event loop of the worker that uses them. One
        # retry without backoff: a pooled connection left stale by a Redis restart is
        # replaced at once, and a Redis that is really down gives a 503 in about a second.
        # A blocking pool: a burst of requests waits for a connection instead of failing
        # with "Too many connections" (redis-py's default pool raises past 100). (The
        # auto-pipeline takes one connection from it and keeps it: every command goes there.)
        pool = redis.asyncio.BlockingConnectionPool.from_url(
            url,
            max_connections=max_connections,
            timeout=POOL_TIMEOUT,
            decode_responses=True,
            socket_connect_timeout=CONNECT_TIMEOUT,
            socket_timeout=command_timeout,
            retry=Retry(NoBackoff(), 1),
        )
        self._redis = redis.asyncio.Redis.from_pool(pool)
        self._clock = prefix + "clock"
        self._scenario = prefix + "scenario"
        self._tokens = prefix + "tokens"
        self._calls = prefix + "calls"
        self._calls_data = prefix + "calls:data"
        self._calls_seq = prefix + "calls:seq"
        self._journal = prefix + "journal"
        self._journal_seq = prefix + "journal:seq"
        self._pipeline = _AutoPipeline(self._redis)
        self._issues = _Issues(self)
        register = self._redis.register_script
        self._now = register(_NOW)
        self._issue = register(_ISSUE)
        self._redeem = register(_REDEEM)
        self._save = register(_SAVE)
        self._list_calls = register(_LIST_CALLS)
        self._record = register(_RECORD)
        self._reset = register(_RESET)
        self._advance = register(_ADVANCE)
        self._set_scenario = register(_SET_SCENARIO)
        self._skew: float | None = None  # Redis's clock minus this host's, less the error

    async def _command(self, *command: Any) -> Any:
        """One command through the auto-pipeline. Any Redis failure becomes
        `StoreUnavailable` naming this store: a 503, not a 500."""
        try:
            return await self._pipeline.call(*command)
        except redis.RedisError as exc:
            raise self._unavailable(exc) from exc

    async def _run(self, script: AsyncScript, keys: list[str], args: list[Any]) -> Any:
        """A script by its SHA; after a Redis restart (an empty script cache), load it again."""
        command = ("EVALSHA", script.sha, len(keys), *keys, *args)
        try:
            return await self._pipeline.call(*command)
        except NoScriptError:
            return await self._command("EVAL", script.script, len(keys), *keys, *args)
        except redis.RedisError as exc:
            raise self._unavailable(exc) from exc

    def _unavailable(self, failure: BaseException) -> StoreUnavailable:
        """A Redis failure as the 503 naming this store."""
        return StoreUnavailable(self.location, _one_line(failure))

    async def _in_time(self, script: AsyncScript, keys: list[str], args: list[Any]) -> Any:
        """A state-changing script (one starting with `_IN_TIME`), given the deadline after
        which Redis is to do nothing: a step the client has given up on (and answered 503)
        is never done later. Its reply without the leading 'ok'."""
        if self._skew is None:
            await self._measure_skew()
        return self._stepped(await self._run(script, keys, [self._deadline_now(), *args]))

    def _stepped(self, result: list[Any]) -> list[Any]:
        """A state-changing script's reply without the leading 'ok'; `StoreUnavailable` if
        Redis ran it past its deadline (so did nothing)."""
        if result[0] == "late":
            raise StoreUnavailable(
                self.location,
                f"Redis ran the step more than {self._step_deadline} s after it was sent, so it "
                "was not done",
            )
        return result[1:] if result[0] == "ok" else result

    async def _measure_skew(self) -> None:
        """Redis's clock minus this host's, read once: every deadline is on Redis's clock."""
        seconds, micros = await self._command("TIME")
        after = time.time()
        redis_now = int(seconds) + int(micros) / 1_000_000
        # Redis read its clock before `after`: taking `after` as that moment makes the
        # deadline come early, never late.
        self._skew = redis_now - after

    def _deadline_now(self) -> str:
        """Now plus the step's deadline, on Redis's clock (as text: a float's repr is exact);
        the skew measured already."""
        assert self._skew is not None
        return repr(time.time() + self._skew + self._step_deadline)

    def _token_key(self, token: str) -> str:
        return self._prefix + "token:" + hashlib.sha256(token.encode()).hexdigest()

    async def aclose(self) -> None:
        await self._redis.aclose()

    async def ping(self) -> None:
        await self._command("PING")

    # The clock -------------------------------------------------------------------------

    async def now(self) -> float:
        """Redis's TIME plus the offset: one clock for every host, whatever their own say."""
        return float(await self._run(self._now, [self._clock], []))

    async def clock_offset(self) -> float:
        return float(await self._command("GET", self._clock) or 0)

    async def advance_clock(self, seconds: float) -> float | None:
        result = await self._in_time(
            self._advance,
            [self._clock, self._clock + ":nonce"],
            [repr(seconds), MAX_CLOCK_OFFSET, secrets.token_hex(16)],
        )
        return None if result[0] == "bound" else float(result[0] or 0)

    # The active scenario ----------------------------------------------------------------

    async def get_scenario(self) -> str | None:
        return await self._command("GET", self._scenario)

    async def set_scenario(self, name: str | None) -> None:
        await self._in_time(self._set_scenario, [self._scenario], [name or ""])

    async def next_count(self, key: str) -> int:
        """Count one more request for a scenario rule, team-wide (one INCR)."""
        return int(await self._command("INCR", self._prefix + "count:" + key))

    # Tokens and calls --------------------------------------------------------------------

    async def issue_token(
        self,
        token: str,
        call: CallRecord,
        entry: JournalEntry | None = None,
        scenario: str | AnyScenario | None = ANY_SCENARIO,
    ) -> ScenarioMoved | None:
        """One script, one round trip (`_ISSUE`), shared with the other token requests of
        this loop turn (`_Issues`); void past its deadline like every step a client can see
        fail: a Redis that stalls and wakes after the 503 issues nothing. The values are
        encoded here, so one that cannot be (text that is not valid Unicode) fails this
        request alone."""
        begins, ends = (b"", b"") if entry is None else shown_parts(entry)
        own = (
            b"0" if scenario is ANY_SCENARIO else b"1",
            b"" if scenario is ANY_SCENARIO or scenario is None else scenario.encode(),
            call.call_id.encode(),
            *_ISSUED_JSON.parts(call),
            repr(call.token_expires_at - call.token_issued_at).encode(),
            begins,
            ends,
        )
        if self._skew is None:
            await self._measure_skew()
        issued = await self._issues.add(self._token_key(token), own)
        if isinstance(issued, ScenarioMoved):
            return issued
        now, expires, entry_id = issued
        call.token_issued_at, call.token_expires_at = float(now), float(expires)
        if entry is not None:
            entry["id"], entry["time"] = entry_id, call.token_issued_at
        return None

    async def redeem_token(
        self, token: str, live_key_digest: str | None = None
    ) -> tuple[Redemption, CallRecord | None]:
        keys = [self._token_key(token), self._clock, *self._call_keys()]
        args = [secrets.token_hex(16), live_key_digest or "", self._max_calls]
        outcome, *call = await self._in_time(self._redeem, keys, args)
        return Redemption(outcome), _load_call(call[0]) if call else None

    async def token_scenario(self, token: str) -> str | None:
        call_id, own = await self._command("HMGET", self._token_key(token), "call_id", "call")
        if call_id is None:
            return None
        data = await self._command("HGET", self._calls_data, call_id) or own
        return _load_call(data).scenario if data else None

    async def claim_listener(self, call_id: str) -> bool:
        key = self._prefix + "listener:" + call_id
        return bool(await self._command("SET", key, "1", "NX", "PX", LISTENER_CLAIM_MS))

    async def get_call(self, call_id: str) -> CallRecord | None:
        data = await self._command("HGET", self._calls_data, call_id)
        return _load_call(data) if data else None

    async def save_call(self, call: CallRecord) -> None:
        await self._run(
            self._save, self._call_keys(), [call.call_id, _dump_call(call), self._max_calls]
        )

    async def list_calls(self, limit: int) -> list[CallRecord]:
        if limit <= 0:
            return []
        found = await self._run(self._list_calls, [self._calls, self._calls_data], [limit])
        return [_load_call(data) for data in found if data]

    def _call_keys(self) -> list[str]:
        return [self._calls, self._calls_data, self._calls_seq]

    # The request journal -----------------------------------------------------------------

    async def record_request(self, entry: JournalEntry) -> None:
        """Keep `entry` under a team-wide id (it replaces the worker's own `id`)."""
        keys = [self._journal, self._journal_seq, self._clock]
        args = [b"".join(shown_parts(entry)), self._max_journal]
        entry_id, now = await self._run(self._record, keys, args)
        entry["id"], entry["time"] = entry_id, float(now)

    async def list_requests(self, limit: int) -> list[ShownEntry]:
        if limit <= 0:
            return []
        found = await self._command("LRANGE", self._journal, 0, limit - 1)
        return [json.loads(data) for data in found]

    async def reset(self) -> None:
        """Forget everything under this store's prefix, in one step: the clock goes back,
        the scenario returns to the start-up one, tokens, calls and journal are gone."""
        await self._in_time(self._reset, [], [_glob_escape(self._prefix) + "*"])


def _dump_call(call: CallRecord, names: tuple[str, ...] | None = None) -> str:
    """The record as JSON (only `names` of its own fields, if given, and its prompt); its
    fields are plain values, so no `asdict` deep copy is needed."""
    own = {name: getattr(call, name) for name in names or _OWN_FIELDS}
    return compact_json(own)[:-1] + "," + _PROMPT_JSON.text(call) + "}"


class _PromptJSON:
    """A call's prompt fields as JSON, made once per agent, instance, language and caller.

    The template, its values and the prompt resolved (written too, for a host of the team
    still on a version whose record holds it so: hosts may be upgraded one at a time) are
    most of a call's JSON, and every token request writes one: resolving and encoding them
    each time was a third of a team worker's own cost per token request. Keyed by the
    values' dict itself (`World.prompt_variables` makes one per agent, instance and
    language, never changed after); at most `MAX` kept, then all dropped.
    """

    MAX = 1024

    def __init__(self) -> None:
        self._made: dict[tuple[str, int, str | None], tuple[dict[str, str], str]] = {}

    def text(self, call: CallRecord) -> str:
        variables = call.prompt_variables
        key = (call.prompt_template, id(variables), call.caller_name)
        made = self._made.get(key)
        if made is not None and made[0] is variables:  # (the dict held: its id not reused)
            return made[1]
        fields_ = {
            "prompt_template": call.prompt_template,
            "prompt_variables": variables,
            "resolved_prompt": call.resolved_prompt,
        }
        text = compact_json(fields_)[1:-1]
        if len(self._made) >= self.MAX:
            self._made.clear()
        self._made[key] = (variables, text)
        return text


_PROMPT_JSON = _PromptJSON()


class _IssuedJSON:
    """A new call's JSON less its opening brace and its two times (`_ISSUE` writes those),
    the part after its id made once per account, agent, instance, language, caller,
    scenario and prompt: a client asks for tokens for the same agent again and again, and
    only the call's id differs. Writing the call's dozen fields anew for each token request
    was the largest part of what a team worker spent writing it (bench/HISTORY.md round 9).
    A call that is not new (started, a transcript, a refused redeem) is written in full.
    Keyed by those values (text or None), with the prompt's dict itself (as `_PromptJSON`);
    at most `MAX` kept, then all dropped.
    """

    MAX = 1024

    def __init__(self) -> None:
        self._made: dict[tuple[Any, ...], tuple[dict[str, str], bytes]] = {}

    def parts(self, call: CallRecord) -> tuple[bytes, bytes]:
        """The JSON in UTF-8, in two: its head (the id) and the rest (the same bytes object
        for calls alike: a store may send it once for many); a call not new all in one."""
        if _NEW_CALL_FIELDS(call) != _NEW_CALL_VALUES:
            return _dump_call(call, _UNTIMED_FIELDS)[1:].encode(), b""
        variables = call.prompt_variables
        key = (*_KEYED_FIELDS(call), id(variables))
        made = self._made.get(key)
        head = '"call_id":' + compact_json(call.call_id)
        if made is None or made[0] is not variables:  # (the dict held: its id not reused)
            text = _dump_call(call, _UNTIMED_FIELDS)[1:]
            if len(self._made) >= self.MAX:
                self._made.clear()
            made = self._made[key] = (variables, text[len(head) :].encode())
        return head.encode(), made[1]


_ISSUED_JSON = _IssuedJSON()


def _load_call(data: str) -> CallRecord:
    """Fields another version of the mock wrote, and this one does not know, are ignored:
    hosts of one team may be upgraded one at a time."""
    stored = json.loads(data)
    known = {name: stored[name] for name in _CALL_FIELDS if name in stored}
    known["status"] = CallStatus(known.get("status", CallStatus.TOKEN_ISSUED))
    known["transcript"] = tuple(known.get("transcript", ()))  # JSON has only lists
    known["redeem_failures"] = tuple(known.get("redeem_failures", ()))
    if "prompt_template" not in known:  # an older host's record: the prompt filled in already
        known["prompt_template"] = stored["resolved_prompt"].replace("$", "$$")
        known["prompt_variables"] = {}
    return CallRecord(**known)


_CALL_FIELDS = tuple(f.name for f in fields(CallRecord))
_OWN_FIELDS = tuple(name for name in _CALL_FIELDS if not name.startswith("prompt_"))
_UNTIMED_FIELDS = tuple(name for name in _OWN_FIELDS if not name.startswith("token_"))
# What a new call holds (`_IssuedJSON`): its fields that have defaults (the scenario aside)
# as the defaults; and the fields it keys a new call's JSON by: the rest but its id and times.
_NEW_CALL = {
    f.name: f.default
    for f in fields(CallRecord)
    if f.default is not MISSING and f.name != "scenario"
}
_NEW_CALL_FIELDS = operator.attrgetter(*_NEW_CALL)
_NEW_CALL_VALUES = tuple(_NEW_CALL.values())
_KEYED_FIELDS = operator.attrgetter(
    *(
        name
        for name in (*_UNTIMED_FIELDS, "prompt_template")
        if name != "call_id" and name not in _NEW_CALL
    )
)


def _glob_escape(text: str) -> str:
    return "".join(f"\\{char}" if char in "*?[]\\" else char for char in text)


def _one_line(exc: BaseException) -> str:
    return " ".join(str(exc).split()) or type(exc).__name__
