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


def test_the_spec_is_served_as_the_mock_runs_it(url: str) -> None:
    response = httpx.get(f"{url}/openapi.yaml")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/yaml")
    assert response.text == default_spec_path().read_text(encoding="utf-8")
    assert yaml.safe_load(response.text)["paths"]


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
    assert elsewhere == []
