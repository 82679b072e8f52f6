"""The contract in the browser: `GET /openapi.yaml` (the spec the mock runs on) and `GET /docs`.

The docs page is Swagger UI, vendored into `static/swagger-ui/` by `scripts/vendor-swagger-ui`
(a pinned swagger-ui-dist from the npm registry, its licence beside it): served by the mock
itself, so it renders offline and from an installed wheel, with nothing from a CDN.
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import FileResponse, Response
from starlette.routing import BaseRoute, Route

from mockplatform.server.platform import platform_of
from mockplatform.server.sdk_package import STATIC_DIR

SPEC_PATH = "/openapi.yaml"


async def openapi_yaml(request: Request) -> Response:
    """The very file the mock was started with (`--spec`, else the shipped one)."""
    return FileResponse(
        platform_of(request).spec.path,
        media_type="application/yaml",
        headers={"Cache-Control": "no-cache"},
    )


async def docs(request: Request) -> Response:
    return FileResponse(STATIC_DIR / "docs.html", headers={"Cache-Control": "no-cache"})


ROUTES: list[BaseRoute] = [
    Route(SPEC_PATH, openapi_yaml, methods=["GET"]),
    Route("/docs", docs, methods=["GET"]),
]
