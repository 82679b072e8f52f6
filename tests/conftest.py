"""Shared fixtures: the mock served on a real port, and a client that checks every response.

Every response the mock sends to `client` on a documented operation is validated against
openapi.yaml's schema for its status, so no test can pass on a body that breaks the contract.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest
import yaml

from mockplatform import create_app, load_spec
from mockplatform.core.spec import Spec
from mockplatform.server.world import DEFAULT_AGENT_ID, DEFAULT_API_KEY
from mockplatform.testing import serve_in_thread

SHORT_LIFETIME = 2  # seconds: where real time must pass, as little of it as proves the point


@pytest.fixture
def short_spec(tmp_path: Path, spec: Spec) -> Spec:
    """openapi.yaml with a `SHORT_LIFETIME` token lifetime (fakes, the mock, the proxy, the
    harness all read it)."""
    document = yaml.safe_load(spec.path.read_text())
    document["paths"]["/api/widget/token"]["post"]["x-token-lifetime-seconds"] = SHORT_LIFETIME
    path = tmp_path / "openapi.yaml"
    path.write_text(yaml.safe_dump(document))
    return load_spec(path)


@pytest.fixture(scope="session")
def spec() -> Spec:
    return load_spec()


@pytest.fixture(scope="session")
def mock_url(spec: Spec) -> Iterator[str]:
    with serve_in_thread(create_app(spec=spec)) as url:
        yield url


def assert_conforms(spec: Spec, response: httpx.Response) -> None:
    """Fail unless a documented operation's response matches the spec for its status."""
    request = response.request
    for operation in spec.operations.values():
        if operation.path == request.url.path and operation.method == request.method:
            response.read()
            assert response.headers["content-type"].startswith("application/json")
            problem = operation.validate_response(response.status_code, response.json())
            assert problem is None, f"{operation.title} -> {response.status_code}: {problem}"


@pytest.fixture
def client(spec: Spec, mock_url: str) -> Iterator[httpx.Client]:
    """A client of the live mock, reset before each test; responses are checked against the spec."""
    with httpx.Client(
        base_url=mock_url,
        event_hooks={"response": [lambda response: assert_conforms(spec, response)]},
    ) as http:
        http.post("/_mock/reset").raise_for_status()
        yield http


@pytest.fixture
def request_token(client: httpx.Client) -> Callable[..., httpx.Response]:
    """POST /api/widget/token with the default key and agent; keyword arguments override."""

    def post(
        api_key: str | None = DEFAULT_API_KEY, headers: dict[str, str] | None = None, **body: object
    ) -> httpx.Response:
        sent = {"Authorization": f"Bearer {api_key}"} if api_key is not None else {}
        payload = {"agentId": DEFAULT_AGENT_ID, **body}
        return client.post("/api/widget/token", json=payload, headers={**sent, **(headers or {})})

    return post
