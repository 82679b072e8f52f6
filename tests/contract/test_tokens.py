"""Unpredictable, not only unique: what the harness reads in a run's tokens."""

from __future__ import annotations

import secrets
import uuid

import pytest

from contract.tokens import decode_jwt, predictability, random_part

N = 12


@pytest.mark.parametrize(
    ("tokens", "said"),
    [
        ([f"rt_live_{i:04d}" for i in range(1, N + 1)], "(a counter)"),
        ([f"rt_live_{1733100000000 + i * 7}" for i in range(N)], "(a counter)"),
        ([f"{secrets.token_hex(12)}_tenant42" for _ in range(N)], "'tenant42'"),
        ([f"rt_live_{secrets.token_hex(3)}" for _ in range(N)], "bits of randomness"),
        (["rt_live_same"] * N, "nothing varies"),
    ],
    ids=["counter", "timestamp", "shared suffix", "too short", "constant"],
)
def test_predictable_tokens_are_named(tokens, said) -> None:
    why = predictability(tokens)
    assert why is not None and said in why


@pytest.mark.parametrize(
    "make",
    [
        lambda: f"rt_live_{secrets.token_urlsafe(24)}",
        lambda: secrets.token_hex(16),
        lambda: str(uuid.uuid4()),  # dashes and the version digit are structure, not a secret
    ],
    ids=["urlsafe", "hex", "uuid4"],
)
def test_random_tokens_pass(make) -> None:
    assert predictability([make() for _ in range(N)]) is None


def test_a_jwt_is_judged_by_its_signature() -> None:
    token = "eyJhbGciOiJIUzI1NiJ9.eyJpYXQiOjEsImV4cCI6NjF9.c2lnbmF0dXJl"
    assert decode_jwt(token) == {"iat": 1, "exp": 61}
    assert random_part(token) == "c2lnbmF0dXJl"
    assert random_part("rt_live_abc.def") == "rt_live_abc.def"
