"""No site may frame the mock's pages: every HTML route says so, both ways browsers read.

A framed "Reset the mock" would come from the mock's own origin and pass the Origin check,
so each page carries `X-Frame-Options: DENY` and CSP `frame-ancestors 'none'`. The routes
are listed from the app itself (and the HTML files its static mount serves), so a page
added later is checked too.
"""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest
from starlette.routing import Mount, Route

from mockplatform import create_app
from mockplatform.server.sdk_package import STATIC_DIR
from mockplatform.testing import serve_in_thread


def get_paths(routes: list, prefix: str = "") -> Iterator[str]:
    """Every path a GET can reach without parameters, mounts included."""
    for route in routes:
        if isinstance(route, Route) and "GET" in (route.methods or ()) and "{" not in route.path:
            yield prefix + route.path
        elif isinstance(route, Mount):
            if route.path == "/static":
                yield from (f"/static/{p.relative_to(STATIC_DIR)}" for p in STATIC_DIR.rglob("*"))
            else:
                yield from get_paths(route.routes, prefix + route.path)


APP = create_app()
PATHS = sorted(set(get_paths(APP.routes)))


@pytest.fixture(scope="module")
def url() -> Iterator[str]:
    with serve_in_thread(APP) as url:
        yield url


def test_the_pages_are_found() -> None:
    assert {"/", "/docs", "/static/index.html", "/static/docs.html"} <= set(PATHS)


@pytest.mark.parametrize("path", PATHS)
def test_every_html_route_refuses_to_be_framed(url: str, path: str) -> None:
    response = httpx.get(f"{url}{path}", headers={"Origin": "http://localhost:5173"})
    if not response.headers.get("content-type", "").startswith("text/html"):
        return
    assert response.headers["x-frame-options"] == "DENY"
    assert response.headers["content-security-policy"] == "frame-ancestors 'none'"


def test_the_platforms_json_answers_are_left_as_they_are(url: str) -> None:
    response = httpx.post(f"{url}/api/widget/token", json={})
    assert "x-frame-options" not in response.headers
