"""The control API under `/_mock/`: the clock, the call log, the request journal, reset.

It changes what the mock believes, so it answers only the local machine unless an admin
token is configured, and then only callers that send it (`X-Mock-Admin-Token`). "The local
machine" means a loopback caller, whose `Host` is a local name (not a DNS name rebound to
127.0.0.1) and whose `Origin`, when a browser sends one, is a local page's or the mock's own.
A state-changing request with a body must send it as JSON: a web page can send `text/plain`
or a form anywhere without asking, JSON only after a CORS preflight, which the mock grants
local pages alone. Every parameter is checked: a bad one gets a 4xx naming it, never a 5xx.
"""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from mockplatform.core.json_text import Malformed, parse_json
from mockplatform.core.origins import control_error
from mockplatform.server.platform import platform_of
from mockplatform.server.store import MAX_CALLS, MAX_CLOCK_OFFSET

DEFAULT_LIMIT = 100
MAX_LIMIT = MAX_CALLS  # no list is longer
MAX_BODY_BYTES = 4096  # the largest control body is a scenario's name
MAX_NAME_CHARS = 200


class BadParameter(Exception):
    """A control request's parameter or body is unusable: answered `status` with `detail`."""

    def __init__(self, detail: str, status: int = 400) -> None:
        super().__init__(detail)
        self.detail = detail
        self.status = status


def _limit(request: Request) -> int:
    raw = request.query_params.get("limit")
    if raw is None:
        return DEFAULT_LIMIT
    # ASCII digits only: str.isdigit() also says yes to "²", which int() refuses.
    if not (raw.isascii() and raw.isdigit() and len(raw) <= 6) or int(raw) > MAX_LIMIT:
        raise BadParameter(f"limit: must be a whole number from 0 to {MAX_LIMIT}, not {raw[:20]!r}")
    return int(raw)


async def _json_body(request: Request, example: str) -> dict[str, Any]:
    """The body as a JSON object, read no further than `MAX_BODY_BYTES`, strict as the
    platform's own intake (duplicate keys, NaN, lone surrogates, deep nesting: a 400)."""
    raw = b""
    async for chunk in request.stream():
        raw += chunk
        if len(raw) > MAX_BODY_BYTES:
            raise BadParameter(f"the body is limited to {MAX_BODY_BYTES} bytes", 413)
    try:
        data = parse_json(raw.decode("utf-8"))
    except UnicodeDecodeError:
        raise BadParameter(f"the body is not valid UTF-8; send JSON like {example}") from None
    except Malformed as exc:
        raise BadParameter(f"{exc.detail}; send JSON like {example}") from None
    if not isinstance(data, dict):
        raise BadParameter(f"send a JSON object like {example}")
    return data


async def index(request: Request) -> JSONResponse:
    return JSONResponse(
        {
            "endpoints": [
                f"{', '.join(sorted(route.methods or []))} /_mock{route.path}"
                for route in ROUTES
                if isinstance(route, Route)
            ]
        }
    )


async def world(request: Request) -> JSONResponse:
    return JSONResponse((await platform_of(request).active_scenario()).world.describe())


async def clock(request: Request) -> JSONResponse:
    store = platform_of(request).store
    return JSONResponse({"now": await store.now(), "offsetSeconds": await store.clock_offset()})


async def advance_clock(request: Request) -> JSONResponse:
    body = await _json_body(request, '{"seconds": 61}')
    seconds = body.get("seconds")
    # The bound also refuses what is not finite (the reader refuses NaN and Infinity anyway).
    if (
        isinstance(seconds, bool)
        or not isinstance(seconds, int | float)
        or not 0 <= seconds <= MAX_CLOCK_OFFSET
    ):
        raise BadParameter(f"seconds: must be a number of seconds from 0 to {MAX_CLOCK_OFFSET}")
    offset = await platform_of(request).store.advance_clock(float(seconds))
    if offset is None:
        raise BadParameter(
            f"seconds: the clock may run at most {MAX_CLOCK_OFFSET} seconds ahead; "
            "reset it (POST /_mock/reset) to move it again"
        )
    return await clock(request)


async def calls(request: Request) -> JSONResponse:
    records = await platform_of(request).store.list_calls(_limit(request))
    return JSONResponse({"calls": [record.to_json() for record in records]})


async def call(request: Request) -> JSONResponse:
    call_id = request.path_params["call_id"]
    record = None
    if len(call_id) <= MAX_NAME_CHARS:  # no call id is longer: no store lookup for a megabyte
        record = await platform_of(request).store.get_call(call_id)
    if record is None:
        shown = call_id[:MAX_NAME_CHARS]
        return control_error("Call not found", 404, f"no call {shown!r} in the call log")
    return JSONResponse(record.to_json())


async def requests(request: Request) -> JSONResponse:
    entries = await platform_of(request).store.list_requests(_limit(request))
    return JSONResponse({"requests": entries})


async def reset(request: Request) -> JSONResponse:
    await platform_of(request).store.reset()
    return JSONResponse({"reset": True})


async def scenarios(request: Request) -> JSONResponse:
    library = platform_of(request).scenarios
    library.refresh()
    return JSONResponse({"scenarios": [s.describe() for s in library.all()]})


async def scenario(request: Request) -> JSONResponse:
    platform = platform_of(request)
    platform.scenarios.refresh()
    return JSONResponse((await platform.active_scenario()).describe())


async def switch_scenario(request: Request) -> JSONResponse:
    platform = platform_of(request)
    name = (await _json_body(request, '{"name": "platform-failure"}')).get("name")
    if not isinstance(name, str) or not 0 < len(name) <= MAX_NAME_CHARS:
        raise BadParameter(
            f"name: must be a scenario's name (1 to {MAX_NAME_CHARS} characters); send JSON "
            'like {"name": "platform-failure"}'
        )
    platform.scenarios.refresh()
    if platform.scenarios.get(name) is None:
        known = ", ".join(sorted(s.name for s in platform.scenarios.all()))
        return control_error(
            "Scenario not found", 404, f"no scenario named {name!r} (known: {known})"
        )
    await platform.store.set_scenario(name)
    return await scenario(request)


async def _bad_parameter(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, BadParameter)
    return control_error(
        "Invalid request" if exc.status == 400 else "Request body too large", exc.status, exc.detail
    )


EXCEPTION_HANDLERS = {BadParameter: _bad_parameter}


ROUTES = [
    Route("/", index, methods=["GET"]),
    Route("/world", world, methods=["GET"]),
    Route("/clock", clock, methods=["GET"]),
    Route("/clock/advance", advance_clock, methods=["POST"]),
    Route("/calls", calls, methods=["GET"]),
    Route("/calls/{call_id}", call, methods=["GET"]),
    Route("/requests", requests, methods=["GET"]),
    Route("/reset", reset, methods=["POST"]),
    Route("/scenarios", scenarios, methods=["GET"]),
    Route("/scenario", scenario, methods=["GET"]),
    Route("/scenario", switch_scenario, methods=["PUT"]),
]
