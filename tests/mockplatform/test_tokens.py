"""Identifiers: the random pool hands out every byte once, and never across a fork."""

from __future__ import annotations

import os
import re

import pytest

from mockplatform import tokens
from mockplatform.tokens import RandomPool, new_access_token, new_call_id, new_live_key


def test_each_byte_of_a_page_is_handed_out_once_then_a_new_page_is_read(monkeypatch) -> None:
    pages = iter([bytes(range(64)), bytes(range(100, 164)), bytes(range(200, 256))])
    reads: list[int] = []

    def urandom(count: int) -> bytes:
        reads.append(count)
        return next(pages)

    monkeypatch.setattr(tokens.os, "urandom", urandom)
    pool = RandomPool(size=64)
    assert pool.take(32) + pool.take(32) == bytes(range(64))
    assert pool.take(12) == bytes(range(100, 112))  # a fresh page, not the old one again
    assert pool.take(52) == bytes(range(112, 164))
    assert pool.take(1) == bytes([200])
    assert reads == [64, 64, 64]


def test_a_take_larger_than_a_page_reads_enough() -> None:
    pool = RandomPool(size=16)
    assert len(pool.take(40)) == 40


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs os.fork")
def test_a_forked_child_does_not_hand_out_its_parents_bytes() -> None:
    new_call_id()  # the pool has a page with unread bytes in it
    read_end, write_end = os.pipe()
    child = os.fork()
    if child == 0:  # the child: its next call id, to the parent
        os.close(read_end)
        os.write(write_end, new_call_id().encode())
        os._exit(0)
    os.close(write_end)
    childs = os.read(read_end, 100).decode()
    os.close(read_end)
    os.waitpid(child, 0)
    assert childs.startswith("call_")
    assert childs != new_call_id()


def test_identifiers_have_their_documented_shape_and_do_not_repeat() -> None:
    access_tokens = {new_access_token() for _ in range(2000)}
    assert len(access_tokens) == 2000
    assert all(re.fullmatch(r"rt_test_[A-Za-z0-9_-]{43}", token) for token in access_tokens)
    assert re.fullmatch(r"call_[0-9a-f]{24}", new_call_id())
    assert re.fullmatch(r"[A-Za-z0-9_-]{32}", new_live_key())
