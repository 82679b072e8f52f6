"""The contract in the browser: `GET /openapi.yaml` (the spec the mock runs on) and `GET /docs`.

The docs page is Swagger UI, vendored into `static/swagger-ui/` by `scripts/vendor-swagger-ui`
(a pinned swagger-ui-dist from the npm registry, its licence beside it): served by the mock
itself, so it renders offline and from an installed wheel, with nothing from a CDN.
"""

from __future__ import annotations

import functools
import json
import re
from pathlib import Path

from starlette.requests import Request
from starlette.responses import FileResponse, Response
from starlette.routing import BaseRoute, Route

from mockplatform.server.platform import platform_of
from mockplatform.server.sdk_package import STATIC_DIR

SPEC_PATH = "/openapi.yaml"
# The document's top-level `servers:` block: its key line and every indented line after it.
_SERVERS = re.compile(r"^servers:[^\n]*\n(?:(?:[ \t-][^\n]*)?\n)*", re.MULTILINE)


async def openapi_yaml(request: Request) -> Response:
    """The very file the mock was started with (`--spec`, else the shipped one), its
    `servers` naming the address this request reached the mock at: "Try it out" in /docs,
    and any tool that imports the spec, then target the mock that served it."""
    text = spec_serving(platform_of(request).spec.path, str(request.base_url).rstrip("/"))
    return Response(text, media_type="application/yaml", headers={"Cache-Control": "no-cache"})


@functools.lru_cache(maxsize=16)  # one per address the mock is reached at: a few in practice
def spec_serving(path: Path, base_url: str) -> str:
    """The spec's text with one server, `base_url` (a JSON string: a YAML scalar whatever
    the Host header held); the rest of the file as it is, comments included."""
    text = path.read_text(encoding="utf-8")
    servers = (
        f"servers:\n  - url: {json.dumps(base_url)}\n"
        "    description: This mock, at the address this document was fetched from\n"
    )
    replaced, count = _SERVERS.subn(lambda _: servers, text, count=1)
    return replaced if count else f"{text.rstrip()}\n{servers}"


async def docs(request: Request) -> Response:
    return FileResponse(STATIC_DIR / "docs.html", headers={"Cache-Control": "no-cache"})


ROUTES: list[BaseRoute] = [
    Route(SPEC_PATH, openapi_yaml, methods=["GET"]),
    Route("/docs", docs, methods=["GET"]),
]
