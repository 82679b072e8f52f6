"""The journal keeps what a request sent, bounded, and passes every message on untouched."""

from __future__ import annotations

import pytest
from starlette.types import Message

from mockplatform.server.journal import MAX_KEPT_BODY, KeptBody

pytestmark = pytest.mark.anyio


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


def _receiving(messages: list[Message]):
    queue = list(messages)

    async def receive() -> Message:
        return queue.pop(0)

    return receive


async def test_a_body_in_chunks_is_kept_up_to_the_bound_and_passed_on_whole() -> None:
    chunks = [b"a" * 3000, b"b" * 3000, b"c" * 10]
    messages = [
        {"type": "http.request", "body": chunk, "more_body": n < len(chunks) - 1}
        for n, chunk in enumerate(chunks)
    ]
    kept = KeptBody(_receiving(messages))
    passed = [await kept() for _ in messages]
    assert passed == messages
    assert kept.kept() == (b"a" * 3000 + b"b" * 3000)[:MAX_KEPT_BODY]
    assert len(kept.kept()) == MAX_KEPT_BODY


async def test_a_small_body_is_kept_whole_and_a_disconnect_adds_nothing() -> None:
    kept = KeptBody(
        _receiving(
            [
                {"type": "http.request", "body": b'{"agentId": "x"}', "more_body": False},
                {"type": "http.disconnect"},
            ]
        )
    )
    await kept()
    await kept()
    assert kept.kept() == b'{"agentId": "x"}'
