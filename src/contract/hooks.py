"""Our checks as schemathesis checks, judged on every response schemathesis generates.

Loaded by `contract run` and usable with plain schemathesis:

    SCHEMATHESIS_HOOKS=contract.hooks CONTRACT_API_KEY=nas_... \\
        schemathesis run openapi.yaml --url http://127.0.0.1:8080 \\
        -H "Authorization: Bearer $CONTRACT_API_KEY"

  auth_first          a request to an operation that requires the API key, sent without
                      a well-formed bearer key (or, when CONTRACT_API_KEY is set, with
                      another key), gets 401 with the documented `error` — never 400, 403,
                      404 or 200;
  no_credential_echo  no response carries the credential it was sent (any length);
  unique_ids          no two token responses carry the same accessToken or callId.

Under `contract run`, three hooks also put schemathesis's requests through the run's
`Traffic` (budget, pace, 429 back-off, counts) and drop the failures of a 429 answer, which
is the gateway's, not the contract's; with plain schemathesis they do nothing.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable
from typing import Any

import schemathesis

from contract.outcomes import contains_credential
from contract.traffic import THROTTLED, Traffic
from mockplatform.core.spec import REDEEM_TOKEN, bearer_credential, documented_errors
from mockplatform.core.spec import requires_auth as operation_requires_auth

API_KEY_VARIABLE = "CONTRACT_API_KEY"
TOKEN_FIELDS = ("accessToken", "callId")
_configured_key: str | None = None
_traffic: Traffic | None = None
# Under `contract run`: keeps a failure for schemathesis (True), or takes it as a WARN itself.
Keep = Callable[[Any, Any, Any], bool]
_keep: Keep | None = None


def configure(
    api_key: str | None, traffic: Traffic | None = None, keep: Keep | None = None
) -> str | None:
    """The key the run authenticates with (anything else is a wrong key), the run's traffic
    gate and its judge of failures; returns the last key. `configure(None)` leaves nothing."""
    global _configured_key, _traffic, _keep
    previous, _configured_key, _traffic, _keep = _configured_key, api_key, traffic, keep
    return previous


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
def filter_failure(context: schemathesis.HookContext, failure, case, response) -> bool:
    """A 429 is the gateway asking us to slow down (Traffic does), not a broken rule. A
    failure only our assumptions ask for is taken by the run as a WARN and dropped here, so
    that it does not take the one place schemathesis keeps per kind of failure (a broken
    documented rule met later would go unreported)."""
    if response is not None and response.status_code == THROTTLED:
        return False
    return _keep is None or _keep(failure, case, response)


def expected_key() -> str | None:
    return _configured_key or os.environ.get(API_KEY_VARIABLE) or None


def _sent_key(response: schemathesis.Response) -> tuple[bool, str | None]:
    """(well-formed, key) from the Authorization header the request really carried."""
    raw = response.request.headers.get("Authorization")
    if raw is None:
        return False, None
    header = raw.decode("latin-1") if isinstance(raw, bytes) else raw
    key = bearer_credential(header)
    return key is not None, key or header.strip().partition(" ")[2].strip() or None


def _operation(case: schemathesis.Case) -> dict[str, Any]:
    return case.operation.definition.raw


def requires_auth(case: schemathesis.Case) -> bool:
    return operation_requires_auth(case.operation.schema.raw_schema, _operation(case))


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


@schemathesis.check
def auth_first(ctx: schemathesis.CheckContext, response: schemathesis.Response, case) -> None:
    """Without a valid bearer key, 401 with the documented body comes before anything else."""
    if not requires_auth(case):
        return None
    well_formed, key = _sent_key(response)
    expected = expected_key()
    if well_formed and (expected is None or key == expected):
        return None
    what = (
        "a well-formed but wrong key"
        if well_formed
        else "no key"
        if key is None
        else "a malformed Authorization header"
    )
    if response.status_code != 401:
        raise AssertionError(
            f"a request with {what} must get 401 before anything else, not {response.status_code}"
        )
    response_401 = _operation(case).get("responses", {}).get("401")
    messages = documented_errors(case.operation.schema.raw_schema, response_401)
    body = _json(response)
    message = body.get("error") if isinstance(body, dict) else None
    if messages and message not in messages:
        raise AssertionError(f"401 must say error {messages[0]!r}, not {message!r}")
    return None


@schemathesis.check
def no_credential_echo(
    ctx: schemathesis.CheckContext, response: schemathesis.Response, case
) -> None:
    """A response never carries the credential it was sent with, of any length."""
    _, key = _sent_key(response)
    if key is None:
        return None
    headers = "\n".join(f"{name}: {values}" for name, values in response.headers.items())
    text = response.content.decode("utf-8", "replace") + "\n" + headers
    if contains_credential(text, key):
        raise AssertionError("the response echoes the credential it was sent")
    return None


@schemathesis.check
class unique_ids:
    """No two responses carry the same accessToken or callId."""

    def __init__(self) -> None:
        self._seen: dict[tuple[str, str], schemathesis.Response] = {}
        self._lock = threading.Lock()

    def after_response(
        self, ctx: schemathesis.CheckContext, response: schemathesis.Response, case
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
