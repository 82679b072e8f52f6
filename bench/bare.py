"""The baseline: a bare Starlette endpoint returning a small JSON body, served like the mock.

It answers the benchmark's POST at the same path with a constant body the size of a token
response, without reading the request, on the very server configuration `mockplatform serve`
uses (`mockplatform.cli.server_options`), so the ratio measures the mock's own work only.
Run: python -m bench.bare --port N
"""

from __future__ import annotations

import argparse

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route
from starlette.types import ASGIApp

from mockplatform.cli import DEFAULT_HOST, _listen, server_options

BODY = {
    "accessToken": "rt_test_Vx2K9qLm3Rb8TnWc5YhJ4dPz7AsE1fGu0oKiQyXvB6M",
    "callId": "call_4f1c2b9e8d7a6c5b4a3f2e1d",
    "agentName": "Customer Support Agent",
}


async def endpoint(request: Request) -> JSONResponse:
    return JSONResponse(BODY)


app = Starlette(routes=[Route("/api/widget/token", endpoint, methods=["POST"])])


def serve(endpoint_app: ASGIApp, description: str) -> None:
    """Serve a baseline on `--port` as `mockplatform serve` serves the mock."""
    import uvicorn

    from mockplatform.core.server_limits import LimitedConfig

    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--host", default=DEFAULT_HOST)
    parser.add_argument("--port", type=int, required=True)
    args = parser.parse_args()
    listener = _listen(args.host, args.port)
    uvicorn.Server(LimitedConfig(endpoint_app, **server_options())).run(sockets=[listener])


if __name__ == "__main__":
    serve(app, __doc__.splitlines()[0])
