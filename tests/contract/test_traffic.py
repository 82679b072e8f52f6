"""The one gate of a run's requests: a hard budget, a gateway's 429 honoured, then given up."""

from __future__ import annotations

import time
from email.utils import formatdate

import pytest

from contract.traffic import MAX_THROTTLED_IN_A_ROW, BudgetExhausted, Traffic, _retry_after_seconds


def test_the_budget_is_hard() -> None:
    traffic = Traffic(max_requests=2)
    traffic.admit()
    traffic.admit()
    with pytest.raises(BudgetExhausted):
        traffic.admit()
    assert traffic.exhausted and traffic.sent == 2


def test_a_gateway_refusing_in_a_row_is_given_up_on() -> None:
    traffic = Traffic()
    for _ in range(MAX_THROTTLED_IN_A_ROW):
        traffic.answered("POST", "/api/widget/token", 429, "0")
    assert traffic.gave_up is None
    traffic.answered("POST", "/api/widget/token", 200, issued=True)  # one answer resets it
    for _ in range(MAX_THROTTLED_IN_A_ROW + 1):
        traffic.answered("POST", "/api/widget/token", 429, "0")
    assert traffic.gave_up is not None and "in a row" in traffic.gave_up
    assert traffic.counts()["tokens issued"] == 1


def test_a_retry_after_beyond_patience_gives_up_at_once() -> None:
    traffic = Traffic()
    traffic.answered("POST", "/api/widget/token", 429, "3600")
    assert traffic.gave_up is not None and "3600 s" in traffic.gave_up


def test_retry_after_as_seconds_or_a_date() -> None:
    assert _retry_after_seconds("7") == 7
    assert 25 <= _retry_after_seconds(formatdate(time.time() + 30, usegmt=True)) <= 30
    assert _retry_after_seconds("soon") is None
