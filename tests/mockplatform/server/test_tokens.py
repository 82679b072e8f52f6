"""Identifiers: their documented shapes, never repeated, never shared with a forked worker."""

from __future__ import annotations

import os
import re

import pytest

from mockplatform.server.tokens import new_access_token, new_call_id, new_live_key


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs os.fork")
def test_a_forked_child_does_not_repeat_its_parents_identifiers() -> None:
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
