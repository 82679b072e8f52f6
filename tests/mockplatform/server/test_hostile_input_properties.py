"""Properties of the live mock under any JSON: never a 5xx, and the control API unharmed.

Hypothesis draws any JSON value (lone surrogates, deep nesting, huge and tiny numbers
included) for any field of the token request, the redeem and the control API's bodies and
parameters; the mock answers each with a 2xx or a 4xx, and afterwards every control read
still answers 200. Against both stores (the Redis one is where a bad value once failed
other clients' requests). Example counts are kept small: the corpus beside this file holds
the known attacks, these look for the unknown ones.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from urllib.parse import quote

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mockplatform import create_app
from mockplatform.core.spec import Spec
from mockplatform.server.redis_store import RedisStore
from mockplatform.server.world import DEFAULT_AGENT_ID, DEFAULT_API_KEY
from mockplatform.testing import serve_in_thread

AUTH = {"Authorization": f"Bearer {DEFAULT_API_KEY}", "Content-Type": "application/json"}
CONTROL_READS = ("/_mock/clock", "/_mock/calls", "/_mock/requests", "/_mock/scenario")

# Text with lone surrogates and control characters in it: `st.text()` leaves surrogates out.
any_text = st.text(st.characters(codec=None, exclude_categories=())) | st.sampled_from(
    ["\ud800", "\udc80x", "a\x00b", "\u2028", "\ufeff", "²", "1e999999"]
)
any_json = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**80), max_value=2**80)
    | st.floats(allow_nan=False, allow_infinity=False)
    | any_text,
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(any_text, children, max_size=4)
    ),
    max_leaves=12,
)
TOKEN_FIELDS = ["agentId", "instanceId", "callerName", "language", "accessToken", "extra"]
PROPERTY = settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)


def encoded(value: object) -> bytes:
    """As a client would send it: escapes for what UTF-8 cannot carry (`ensure_ascii`)."""
    return json.dumps(value).encode()


@pytest.fixture(scope="module", params=["memory", "redis"])
def live(request: pytest.FixtureRequest, spec: Spec) -> Iterator[httpx.Client]:
    store = None
    if request.param == "redis":
        server = request.getfixturevalue("redis_server")
        store = RedisStore(server.url, prefix=f"properties-{uuid.uuid4().hex}:")
    app = create_app(spec=spec, store=store)
    with serve_in_thread(app, lifespan="on") as url, httpx.Client(base_url=url, timeout=10) as c:
        yield c


def assert_control_unharmed(client: httpx.Client) -> None:
    for path in CONTROL_READS:
        response = client.get(path)
        assert response.status_code == 200, f"{path}: {response.text}"


def assert_no_server_error(response: httpx.Response) -> None:
    assert response.status_code < 500, f"{response.status_code}: {response.text}"


@PROPERTY
@given(field=st.sampled_from(TOKEN_FIELDS), value=any_json)
def test_any_json_in_any_token_field_gets_2xx_or_4xx(live: httpx.Client, field, value) -> None:
    body = {"agentId": DEFAULT_AGENT_ID, field: value}
    assert_no_server_error(live.post("/api/widget/token", content=encoded(body), headers=AUTH))
    assert_control_unharmed(live)


@PROPERTY
@given(value=any_json, wrap=st.booleans())
def test_any_json_as_a_redeem_body_gets_2xx_or_4xx(live: httpx.Client, value, wrap) -> None:
    body = {"accessToken": value} if wrap else value
    response = live.post("/api/widget/calls", content=encoded(body), headers=AUTH)
    assert_no_server_error(response)
    assert_control_unharmed(live)


@PROPERTY
@given(
    path=st.sampled_from(["/_mock/clock/advance", "/_mock/scenario"]),
    field=st.sampled_from(["seconds", "name", "other"]),
    value=any_json,
)
def test_any_json_in_a_control_body_gets_2xx_or_4xx(live: httpx.Client, path, field, value) -> None:
    method = "PUT" if path == "/_mock/scenario" else "POST"
    headers = {"Content-Type": "application/json"}
    response = live.request(method, path, content=encoded({field: value}), headers=headers)
    assert_no_server_error(response)
    assert_control_unharmed(live)
    live.post("/_mock/reset").raise_for_status()  # the clock back, for the next example


@PROPERTY
@given(limit=any_text, call_id=any_text)
def test_any_control_parameter_gets_2xx_or_4xx(live: httpx.Client, limit, call_id) -> None:
    for path in ("/_mock/calls", "/_mock/requests"):
        assert_no_server_error(live.get(f"{path}?limit={escaped(limit)}"))
    assert_no_server_error(live.get(f"/_mock/calls/{escaped(call_id)}"))
    assert_control_unharmed(live)


def escaped(text: str) -> str:
    """Any text as URL bytes, percent-escaped: a lone surrogate becomes bytes UTF-8 forbids."""
    return quote(text.encode("utf-8", "surrogatepass"), safe="")
