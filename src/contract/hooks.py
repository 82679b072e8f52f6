"""Our checks as schemathesis checks, judged on every response schemathesis generates.

Loaded by `contract run` and usable with plain schemathesis:

    SCHEMATHESIS_HOOKS=contract.hooks CONTRACT_API_KEY=nas_... \\
        schemathesis run openapi.yaml --url http://127.0.0.1:8080 \\
        -H "Authorization: Bearer $CONTRACT_API_KEY"

  auth_first          a request to an operation that requires the API key, sent without
                      a well-formed bearer key (or, when CONTRACT_API_KEY is set, with
                      another key), gets 401 with the documented `error` — never 400, 403,
                      404 or 200;
  no_credential_echo  no response carries a credential its request presented;
  unique_ids          no two token responses carry the same accessToken or callId.

Under `contract run`, three hooks also put schemathesis's requests through the run's
`Traffic` (budget, pace, 429 back-off, counts) and drop the failures of a 429 answer, which
is the gateway's, not the contract's; with plain schemathesis they do nothing.
"""

from __future__ import annotations

import functools
import os
import threading
from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit

import schemathesis
from schemathesis.core.failures import Failure

from contract.traffic import THROTTLED, Traffic
from mockplatform.core.judge import (
    AUTH_FIRST,
    CONTENT_TYPE,
    NO_CREDENTIAL_ECHO,
    RESPONSE_SCHEMA,
    Asked,
    Finding,
    Seen,
    Side,
    judge,
)
from mockplatform.core.spec import REDEEM_TOKEN, Spec, bearer_credential, load_spec

API_KEY_VARIABLE = "CONTRACT_API_KEY"
TOKEN_FIELDS = ("accessToken", "callId")
_configured_key: str | None = None
_configured_spec: Spec | None = None
_traffic: Traffic | None = None
# Under `contract run`: keeps a failure for schemathesis (True), or takes it as a WARN itself.
Keep = Callable[[Any, Any, Any], bool]
_keep: Keep | None = None


def configure(
    api_key: str | None,
    traffic: Traffic | None = None,
    keep: Keep | None = None,
    spec: Spec | None = None,
) -> str | None:
    """The key the run authenticates with (anything else is a wrong key), the run's traffic
    gate, its judge of failures and its spec; returns the last key. `configure(None)` leaves
    nothing."""
    global _configured_key, _configured_spec, _traffic, _keep
    previous, _configured_key, _traffic, _keep = _configured_key, api_key, traffic, keep
    _configured_spec = spec
    return previous


@functools.cache
def _packaged_spec() -> Spec:
    return load_spec()


def _spec() -> Spec:
    """The run's spec; with plain schemathesis, the packaged openapi.yaml."""
    return _configured_spec or _packaged_spec()


@schemathesis.hook
def before_call(context: schemathesis.HookContext, case: schemathesis.Case, kwargs: Any) -> None:
    """Every schemathesis request spends the run's budget and keeps its pace."""
    if _traffic is not None:
        _traffic.admit()


@schemathesis.hook
def after_call(
    context: schemathesis.HookContext, case: schemathesis.Case, response: schemathesis.Response
) -> None:
    if _traffic is None:
        return
    ok = 200 <= response.status_code < 300
    body = _json(response) if ok else None
    operation_id = _operation(case).get("operationId", "")
    _traffic.answered(
        case.method.upper(),
        case.path,
        response.status_code,
        _header(response, "retry-after"),
        issued=isinstance(body, dict) and "accessToken" in body,
        started=ok and operation_id == REDEEM_TOKEN,
    )


@schemathesis.hook
def filter_failure(
    context: schemathesis.HookContext,
    failure: Failure,
    case: schemathesis.Case,
    response: schemathesis.Response | None,
) -> bool:
    """A 429 is the gateway asking us to slow down (Traffic does), not a broken rule. A
    failure only our assumptions ask for is taken by the run as a WARN and dropped here, so
    that it does not take the one place schemathesis keeps per kind of failure (a broken
    documented rule met later would go unreported)."""
    if response is not None and response.status_code == THROTTLED:
        return False
    return _keep is None or _keep(failure, case, response)


def expected_key() -> str | None:
    return _configured_key or os.environ.get(API_KEY_VARIABLE) or None


def seen(case: schemathesis.Case, response: schemathesis.Response) -> Seen:
    """The exchange schemathesis made, as the core's judge reads it: the request as it was
    really sent (`response.request`), the answer as it came."""
    request = response.request
    url = urlsplit(str(request.url))
    body = request.body if isinstance(request.body, bytes) else str(request.body or "").encode()
    return Seen(
        method=str(request.method).upper(),
        path=case.path,  # the spec's path (the contract's paths have no templates)
        query=url.query,
        request_headers=tuple((k.lower(), _text(v)) for k, v in request.headers.items()),
        request_body=body,
        status=response.status_code,
        response_headers=tuple(
            (name.lower(), value)
            for name, values in response.headers.items()
            for value in (values if isinstance(values, list) else [values])
        ),
        response_body=response.content or b"",
        base_url=f"{url.scheme}://{url.netloc}",
    )


def wrong_key(response: schemathesis.Response) -> bool:
    """Whether the request carried a well-formed bearer key other than the run's."""
    header = response.request.headers.get("Authorization")
    key = bearer_credential(_text(header)) if header is not None else None
    expected = expected_key()
    return key is not None and expected is not None and key != expected


def platform_findings(case: schemathesis.Case, response: schemathesis.Response) -> list[Finding]:
    """The core judge's findings on the platform's side of one schemathesis exchange."""
    operation_id = _operation(case).get("operationId", "")
    spec = _spec()
    operation = spec.operations.get(operation_id)
    if operation is None:
        return []
    found = judge(
        spec, seen(case, response), asked=Asked(wrong_key=wrong_key(response)), operation=operation
    )
    return [finding for finding in found if finding.side is Side.PLATFORM]


def _text(value: Any) -> str:
    return value.decode("latin-1") if isinstance(value, bytes) else str(value)


def _operation(case: schemathesis.Case) -> dict[str, Any]:
    return case.operation.definition.raw


def _header(response: schemathesis.Response, name: str) -> str | None:
    for key, values in response.headers.items():
        if key.lower() == name:
            return values[0] if isinstance(values, list) and values else str(values)
    return None


def _json(response: schemathesis.Response) -> Any:
    try:
        return response.json()
    except Exception:
        return None


def _raise_for(case: schemathesis.Case, response: schemathesis.Response, *rules: str) -> None:
    """The judge's violations of `rules` in this exchange, as schemathesis's failure."""
    found = platform_findings(case, response)
    broken = [f for f in found if f.rule in rules and f.is_violation]
    if broken:
        raise AssertionError("; ".join(f"{f.expected}: {f.seen}" for f in broken))


@schemathesis.check
def auth_first(
    ctx: schemathesis.CheckContext, response: schemathesis.Response, case: schemathesis.Case
) -> None:
    """Without a valid bearer key, 401 with the documented body comes before anything else."""
    header = response.request.headers.get("Authorization")
    keyless = header is None or bearer_credential(_text(header)) is None
    if keyless or wrong_key(response):
        # The 401 itself is the documented one: its body is judged by the same judge.
        _raise_for(case, response, AUTH_FIRST, CONTENT_TYPE, RESPONSE_SCHEMA)
    return None


@schemathesis.check
def no_credential_echo(
    ctx: schemathesis.CheckContext, response: schemathesis.Response, case: schemathesis.Case
) -> None:
    """A response never carries a credential its request presented (the core's rule)."""
    _raise_for(case, response, NO_CREDENTIAL_ECHO)
    return None


@schemathesis.check
class unique_ids:
    """No two responses carry the same accessToken or callId."""

    def __init__(self) -> None:
        self._seen: dict[tuple[str, str], schemathesis.Response] = {}
        self._lock = threading.Lock()

    def after_response(
        self,
        ctx: schemathesis.CheckContext,
        response: schemathesis.Response,
        case: schemathesis.Case,
    ) -> None:
        if not 200 <= response.status_code < 300:
            return None
        body = _json(response)
        if not isinstance(body, dict) or "accessToken" not in body:
            return None
        with self._lock:
            for name in TOKEN_FIELDS:
                value = body.get(name)
                if not isinstance(value, str):
                    continue
                first = self._seen.setdefault((name, value), response)
                # The same response may be checked again while replaying; that is no repeat.
                if first is not response:
                    raise AssertionError(f"{name} {value!r} was issued twice")
        return None
