"""Which URLs in an answer are the upstream's, and how they read through the proxy."""

from __future__ import annotations

import json

import httpx
import pytest

from mockplatform.proxy.addresses import rewritten, rewritten_call_url

PROXY = "http://127.0.0.1:9000"


# Left as they are: a path not under the upstream's, another port, another host, another scheme.
@pytest.mark.parametrize(
    ("upstream", "url", "expected"),
    [
        ("http://mock:8080", "ws://mock:8080/sdk/calls/c1?key=k", "ws://127.0.0.1:9000/sdk/calls/c1?key=k"),
        ("http://mock:8080", "http://mock:8080/x", "http://127.0.0.1:9000/x"),
        ("https://api.test/v1", "wss://api.test/v1/calls/c1", "ws://127.0.0.1:9000/calls/c1"),
        ("https://api.test/v1", "wss://api.test/v10/calls", "wss://api.test/v10/calls"),
        ("http://mock:8080", "ws://mock:8081/sdk/calls/c1", "ws://mock:8081/sdk/calls/c1"),
        ("https://api.test", "wss://voice.api.test/c1", "wss://voice.api.test/c1"),  # another host
        ("https://api.test", "ws://api.test/c1", "ws://api.test/c1"),  # not its scheme
    ],
)  # fmt: skip
def test_only_the_upstreams_own_urls_are_rewritten(upstream: str, url: str, expected: str) -> None:
    assert rewritten(url, httpx.URL(upstream), PROXY) == expected


def test_a_call_url_is_rewritten_in_its_json_and_nothing_else_is() -> None:
    upstream = httpx.URL("http://mock:8080")
    body = json.dumps({"callId": "c1", "callUrl": "ws://mock:8080/sdk/calls/c1?key=k", "n": "é"})
    proxied = rewritten_call_url(body.encode(), upstream, PROXY)
    assert proxied is not None
    assert json.loads(proxied) == {
        **json.loads(body),
        "callUrl": "ws://127.0.0.1:9000/sdk/calls/c1?key=k",
    }
    elsewhere = json.dumps({"callUrl": "wss://voice.test/c1"}).encode()
    assert rewritten_call_url(elsewhere, upstream, PROXY) is None
    assert rewritten_call_url(b"[" * 5000, upstream, PROXY) is None
