"""What keeps the mock flat and fast under load: bounded tokens, a cheap log, no cycles."""

from __future__ import annotations

import asyncio

import pytest

from mockplatform.server.app import create_app
from mockplatform.server.calls import Redemption
from mockplatform.server.faults import RAW_SEND
from mockplatform.server.journal import RequestLog
from mockplatform.server.journal_entry import JournalEntry, log_line
from mockplatform.server.store import MemoryStore
from mockplatform.server.tokens import new_access_token
from tests.mockplatform.server.test_store import a_call

pytestmark = pytest.mark.anyio


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


async def test_memory_store_forgets_the_oldest_tokens_past_its_bound() -> None:
    store = MemoryStore(max_tokens=3)
    now = await store.now()
    tokens = [new_access_token() for _ in range(5)]
    for issued, token in enumerate(tokens):  # one second apart: the first go first
        await store.issue_token(token, a_call(now + issued))
    outcomes = [(await store.redeem_token(token))[0] for token in tokens]
    assert outcomes == [Redemption.UNKNOWN] * 2 + [Redemption.ACCEPTED] * 3


def _entry(path: str, headers: dict[bytes, bytes]) -> JournalEntry:
    return JournalEntry(
        id=1,
        time=0.0,
        method="POST",
        path=path,
        query=b"",
        headers=headers,
        body=b"",
        status=200,
        seconds=0.001,
        scenario=None,
        fault=None,
    )


async def test_a_request_after_a_quiet_spell_is_logged_at_once(caplog) -> None:
    caplog.set_level("INFO", logger="mockplatform")
    log = RequestLog()
    log.add(_entry("/api/widget/token", {b"authorization": b"Bearer nas_test_active"}))
    assert [r.getMessage() for r in caplog.records] == [
        "POST /api/widget/token -> 200 (key Bearer nas_…tive)"
    ]


async def test_a_burst_is_logged_as_one_record_with_every_line(caplog, monkeypatch) -> None:
    # A burst is requests closer together than QUIET_SECONDS; widened so that a loaded
    # machine pausing this loop for a few ms does not split the burst the test builds.
    monkeypatch.setattr(RequestLog, "QUIET_SECONDS", 1.0)
    caplog.set_level("INFO", logger="mockplatform")
    log = RequestLog()
    entries = [_entry(f"/api/widget/token/{n}", {}) for n in range(50)]
    for entry in entries:
        log.add(entry)
    assert len(caplog.records) == 1  # the first at once, the rest gathered
    await asyncio.sleep(RequestLog.BATCH_SECONDS * 2)
    logged = [line for record in caplog.records for line in record.getMessage().split("\n")]
    assert logged == [log_line(entry) for entry in entries]
    assert logged[7] == "POST /api/widget/token/7 -> 200 (key none)"
    assert len(caplog.records) == 2  # ... and then out together


async def test_a_run_of_identical_lines_in_a_burst_is_one_line_with_its_count(
    caplog, monkeypatch
) -> None:
    # A burst is requests closer together than QUIET_SECONDS; widened so that a loaded
    # machine pausing this loop for a few ms does not split the burst the test builds.
    monkeypatch.setattr(RequestLog, "QUIET_SECONDS", 1.0)
    caplog.set_level("INFO", logger="mockplatform")
    log = RequestLog()
    key = {b"authorization": b"Bearer nas_test_active"}
    paths = ["/api/a"] + ["/api/widget/token"] * 300 + ["/api/b", "/api/b", "/api/widget/token"]
    for path in paths:
        log.add(_entry(path, key))
    await asyncio.sleep(RequestLog.BATCH_SECONDS * 2)
    assert [line for record in caplog.records for line in record.getMessage().split("\n")] == [
        "POST /api/a -> 200 (key Bearer nas_…tive)",  # at once: the first after a quiet spell
        "POST /api/widget/token -> 200 (key Bearer nas_…tive) (x300)",
        "POST /api/b -> 200 (key Bearer nas_…tive) (x2)",
        "POST /api/widget/token -> 200 (key Bearer nas_…tive)",
    ]


async def test_no_reference_cycle_is_left_between_the_scope_and_the_servers_send() -> None:
    """uvicorn's `send` is a method of an object that holds the scope; kept in the scope
    after the request, the pair would wait for the garbage collector (pauses, p99)."""
    app = create_app()
    sent: list[dict] = []

    class Cycle:  # what uvicorn's RequestResponseCycle is to the scope
        def __init__(self, scope: dict) -> None:
            self.scope = scope

        async def send(self, message: dict) -> None:
            sent.append(message)

    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "GET",
        "scheme": "http",
        "path": "/_mock/clock",
        "raw_path": b"/_mock/clock",
        "query_string": b"",
        "root_path": "",
        "headers": [(b"host", b"127.0.0.1")],
        "client": ("127.0.0.1", 50000),
        "server": ("127.0.0.1", 8080),
    }
    cycle = Cycle(scope)

    async def receive() -> dict:
        return {"type": "http.request", "body": b"", "more_body": False}

    await app(scope, receive, cycle.send)
    assert sent[0]["status"] == 200
    assert RAW_SEND not in scope
