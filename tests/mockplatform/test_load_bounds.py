"""What keeps the mock flat and fast under load: bounded token memory, a cheap request log."""

from __future__ import annotations

import asyncio

import pytest

from mockplatform.calls import CallRecord, Redemption
from mockplatform.journal import RequestLog
from mockplatform.store import MemoryStore
from mockplatform.tokens import new_access_token, new_call_id

pytestmark = pytest.mark.anyio


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


def a_call(now: float) -> CallRecord:
    return CallRecord(
        new_call_id(), "nas_…tive", "a", "Agent", None, "en", None, "p", now, now + 60
    )


async def test_memory_store_forgets_the_oldest_tokens_past_its_bound() -> None:
    store = MemoryStore(max_tokens=3)
    now = await store.now()
    tokens = [new_access_token() for _ in range(5)]
    for issued, token in enumerate(tokens):  # one second apart: the first go first
        await store.issue_token(token, a_call(now + issued))
    outcomes = [(await store.redeem_token(token))[0] for token in tokens]
    assert outcomes == [Redemption.UNKNOWN] * 2 + [Redemption.ACCEPTED] * 3


async def test_a_request_after_a_quiet_spell_is_logged_at_once(caplog) -> None:
    caplog.set_level("INFO", logger="mockplatform")
    log = RequestLog()
    log.add("POST /api/widget/token -> 200 (key nas_…tive)")
    assert [r.getMessage() for r in caplog.records] == [
        "POST /api/widget/token -> 200 (key nas_…tive)"
    ]


async def test_a_burst_is_logged_as_one_record_with_every_line(caplog) -> None:
    caplog.set_level("INFO", logger="mockplatform")
    log = RequestLog()
    lines = [f"POST /api/widget/token -> 200 (request {n})" for n in range(50)]
    for line in lines:
        log.add(line)
    assert len(caplog.records) == 1  # the first at once, the rest gathered
    await asyncio.sleep(RequestLog.BATCH_SECONDS * 2)
    logged = [line for record in caplog.records for line in record.getMessage().split("\n")]
    assert logged == lines
    assert len(caplog.records) == 2  # ... and then out together
