"""The contract in the browser: /openapi.yaml, and /docs rendering it with nothing but the mock."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest
import yaml
from playwright.sync_api import Request, Route, expect

from mockplatform import create_app
from mockplatform.core.spec import Spec, default_spec_path
from mockplatform.testing import chromium, serve_in_thread


@pytest.fixture(scope="module")
def url() -> Iterator[str]:
    with serve_in_thread(create_app()) as url:
        yield url


def test_the_spec_is_served_as_the_mock_runs_it_naming_the_server(url: str) -> None:
    """The file the mock runs on, but for its `servers`: the address it was fetched from."""
    response = httpx.get(f"{url}/openapi.yaml")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/yaml")
    served = yaml.safe_load(response.text)
    original = yaml.safe_load(default_spec_path().read_text(encoding="utf-8"))
    assert [server["url"] for server in served.pop("servers")] == [url]
    original.pop("servers")
    assert served == original
    assert "# " in response.text or response.text.count("\n") > 100  # the file, not a dump


@pytest.mark.parametrize("host", ["mock.internal:9000", 'x"y', "a\\b#c: d"])
def test_any_host_the_mock_is_reached_at_is_named_safely(url: str, host: str) -> None:
    """A Host header is the client's to choose: whatever it holds, the YAML stays one
    document with one server, that Host's (or, for one Starlette will not read as a host,
    the address the mock listens at)."""
    response = httpx.get(f"{url}/openapi.yaml", headers={"Host": host})
    assert response.status_code == 200
    document = yaml.safe_load(response.text)
    assert [s["url"] for s in document["servers"]] in ([f"http://{host}"], [url])
    assert document["paths"]


def test_the_docs_page_renders_every_operation_offline(url: str, spec: Spec) -> None:
    """Every request the page makes goes to the mock; anything else is refused and failed."""
    elsewhere: list[str] = []

    def refuse_others(route: Route, request: Request) -> None:
        if request.url.startswith(f"{url}/"):
            route.continue_()
        else:
            elsewhere.append(request.url)
            route.abort()

    with chromium() as browser:
        page = browser.new_page()
        page.route("**/*", refuse_others)
        page.goto(f"{url}/docs")
        expect(page.locator("body[data-ready=true]")).to_be_attached(timeout=15_000)
        for operation in spec.operations.values():
            block = page.locator(f".opblock-{operation.method.lower()}", has_text=operation.path)
            expect(block.first).to_be_visible()
        expect(page.locator(".info .title")).to_contain_text(spec.document["info"]["title"])
        expect(page.locator(".servers select")).to_have_value(url)  # "Try it out" targets it
    assert elsewhere == []
