"""An entry's shown JSON, as a shared store keeps it, is `entry_json`'s: masked the same way."""

from __future__ import annotations

import json

import pytest

from mockplatform.server.journal_entry import JournalEntry, entry_json, shown_parts


def shown_text(entry: JournalEntry) -> str:
    return b"".join(shown_parts(entry)).decode()


def _entry(**changes: object) -> JournalEntry:
    entry = JournalEntry(
        id=7,
        time=None,
        method="POST",
        path="/api/widget/token",
        query=b"",
        headers={b"content-type": b"application/json", b"authorization": b"Bearer nas_live_1234"},
        body=b'{"agentId":"a1","accessToken":"rt_abcdefgh1234"}',
        status=200,
        seconds=0.0012345,
        scenario=None,
        fault=None,
        warning=None,
    )
    entry.update(changes)  # type: ignore[typeddict-item]
    return entry


@pytest.mark.parametrize(
    "entry",
    [
        _entry(),
        _entry(status=None, fault="reset", scenario="flaky", warning="exposed to a page"),
        _entry(query=b"key=nas_live_9999&x=rt_abcdefgh5678", method="GET", body=b""),
        _entry(body=b'not json rt_abcdefgh1234 "accessToken": "rt_zzzzzzzz9999"'),
        _entry(body='{"callerName":"Ünïcødé 名前"}'.encode(), headers={b"x-api-key": b"k" * 40}),
        _entry(headers={b"cookie": b"session=\xff\xfe", b"user-agent": b"\xe9"}),
    ],
)
def test_the_shown_text_is_entry_json_without_id_and_time(entry: JournalEntry) -> None:
    shown = dict(entry_json(entry))
    del shown["id"], shown["time"]
    assert json.loads("{" + shown_text(entry)) == shown


def test_a_request_sent_again_shows_its_own_secrets_and_outcome() -> None:
    """The masked request is made once per request sent again: a request that differs in
    any part (a header's secret, the body), or only in its outcome, is shown as its own."""
    first = _entry()
    again = _entry(status=401, seconds=0.5)
    other_key = _entry(headers={**first["headers"], b"authorization": b"Bearer nas_live_5678"})
    other_body = _entry(body=b'{"agentId":"a1","accessToken":"rt_abcdefgh9876"}')
    shown = [json.loads("{" + shown_text(e)) for e in (first, again, other_key, other_body)]
    assert [s["status"] for s in shown[:2]] == [200, 401]
    assert shown[1]["durationMs"] == 500.0
    assert shown[0]["headers"]["authorization"] == "Bearer nas_…1234"
    assert shown[2]["headers"]["authorization"] == "Bearer nas_…5678"
    assert shown[0]["body"]["accessToken"] == "rt_…1234"
    assert shown[3]["body"]["accessToken"] == "rt_…9876"
    assert "nas_live_1234" not in shown_text(first)
    assert shown_parts(again)[0] is shown_parts(first)[0]  # made once, sent once by a store
