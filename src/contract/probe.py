"""Talking to the target: every request the scripted checks send goes through one `Probe`.

The probe records each exchange (so `no_credential_echo` can look at all of them), judges a
response against openapi.yaml (documented status, JSON content type, schema), and turns a
broken rule into a `Violation` with the request as curl and the keys masked.
"""

from __future__ import annotations

import json
import re
import threading
from dataclasses import dataclass
from functools import cached_property
from typing import Any

import httpx

from contract.outcomes import MAX_SENT_KEPT, CheckResult, Exchange, Violation
from contract.settings import Settings
from contract.traffic import THROTTLED, Throttled, Traffic
from mockplatform.core.spec import (
    CREATE_TOKEN,
    REDEEM_TOKEN,
    Operation,
    RuleKind,
    response_kind,
)

API_KEY_VARIABLE = "CONTRACT_API_KEY"
INACTIVE_KEY_VARIABLE = "CONTRACT_INACTIVE_KEY"
KEY_HINT = (
    "keys are shown as $CONTRACT_API_KEY / $CONTRACT_INACTIVE_KEY (the second --inactive-key "
    "as $CONTRACT_INACTIVE_KEY_2...; a --header's value as $CONTRACT_HEADER_NAME): export them "
    "to replay"
)
JSON = "application/json"
UNROUTED = (404, 405)  # what a server answers on a path or method it does not route
REDEEM_OFFERED = "redeem_offered"  # the check that says whether the target offers the redeem


@dataclass(frozen=True)
class Issued:
    """A token the target issued, with the exchange that issued it."""

    token: str
    call_id: str
    exchange: Exchange


def near_miss(key: str) -> str:
    """The key with its last character changed: a wrong key that a prefix match would accept."""
    return key[:-1] + ("x" if key[-1] != "x" else "y")


def wrong_keys(key: str) -> dict[str, tuple[str, str]]:
    """Keys that are wrong by a little, each with the shell expression that yields it from
    $CONTRACT_API_KEY: what a comparison of only the first or last characters lets through."""
    variable = API_KEY_VARIABLE
    off = near_miss(key)
    return {
        "a key one character off": (off, f"${{{variable}%?}}{off[-1]}"),
        "the key with characters added": (key + "x", f"${{{variable}}}x"),
        "a prefix of the key": (key[:-1], f"${{{variable}%?}}"),
    }


def inactive_key_variable(position: int) -> str:
    """$CONTRACT_INACTIVE_KEY for the first --inactive-key, $CONTRACT_INACTIVE_KEY_2 after."""
    return INACTIVE_KEY_VARIABLE + (f"_{position + 1}" if position else "")


class Probe:
    """An HTTP client of the target that remembers what it sent and received (thread-safe)."""

    def __init__(self, settings: Settings, traffic: Traffic | None = None) -> None:
        self.settings = settings
        self.traffic = traffic or Traffic(settings.max_requests, settings.rate)
        self.spec = settings.spec
        self.create = self.spec.operation(CREATE_TOKEN)
        self.redeem_op = self.spec.operation(REDEEM_TOKEN)
        self.exchanges: list[Exchange] = []
        self._lock = threading.Lock()
        self._client = httpx.Client(
            base_url=settings.base_url, timeout=settings.timeout, follow_redirects=False
        )
        # Each key the run knows, of any length, and every variant of it we send, printed as
        # shell expressions (matched as whole tokens, so a short key scrambles no words).
        self.secrets = {settings.api_key: f"${API_KEY_VARIABLE}"}
        for position, key in enumerate(settings.inactive_keys):
            self.secrets.setdefault(key, f"${inactive_key_variable(position)}")
        for wrong, expression in wrong_keys(settings.api_key).values():
            self.secrets.setdefault(wrong, expression)
        # A gateway's --header may carry a credential of its own: shown as a variable too.
        for name, value in settings.headers.items():
            if value:
                variable = re.sub(r"[^A-Z0-9]", "_", name.upper())
                self.secrets.setdefault(value, f"$CONTRACT_HEADER_{variable}")

    def close(self) -> None:
        self._client.close()

    def add_inactive_key(self, key: str) -> None:
        """A key found during the run (the mock's inactive ones) is used and masked like a
        given one."""
        settings = self.settings
        self.secrets[key] = f"${inactive_key_variable(len(settings.inactive_keys))}"
        settings.inactive_keys = (*settings.inactive_keys, key)

    # -- sending ---------------------------------------------------------------------------

    def send(
        self,
        method: str,
        path: str,
        *,
        headers: dict[str, str] | None = None,
        json_body: Any = None,
        content: bytes | None = None,
        record: bool = True,
    ) -> Exchange:
        """Send one request through the run's `Traffic` (budget, pace, 429 back-off); a
        transport failure becomes an Exchange without a status."""
        headers = {**self.settings.headers, **(headers or {})}
        if json_body is not None:
            content = json.dumps(json_body, ensure_ascii=False).encode()
            headers.setdefault("Content-Type", JSON)
        request = self._client.build_request(method, path, headers=headers, content=content)
        while True:
            exchange = self._send_once(method, request, headers, content)
            if exchange.status != THROTTLED:
                break
            if self.traffic.gave_up is not None:
                raise Throttled(self.traffic.gave_up)
        if record:
            with self._lock:
                self.exchanges.append(exchange)
        return exchange

    def _send_once(
        self, method: str, request: httpx.Request, headers: dict[str, str], content: bytes | None
    ) -> Exchange:
        self.traffic.admit()
        try:
            response = self._client.send(request)
            exchange = Exchange(
                method=method,
                url=str(request.url),
                headers=headers,
                body=content,
                status=response.status_code,
                response_headers={k.lower(): v for k, v in response.headers.items()},
                response_body=response.content,
            )
        except httpx.HTTPError as exc:
            exchange = Exchange(
                method=method,
                url=str(request.url),
                headers=headers,
                body=content,
                transport_error=f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__,
            )
            return exchange
        path = request.url.path
        ok = 200 <= response.status_code < 300
        issued = ok and path == self.create.path and "accessToken" in _body_keys(exchange)
        started = ok and path == self.redeem_op.path
        self.traffic.answered(
            method,
            path,
            response.status_code,
            response.headers.get("retry-after"),
            issued=issued,
            started=started,
        )
        return exchange

    def auth(self, api_key: str | None = None) -> dict[str, str]:
        return {"Authorization": f"Bearer {api_key or self.settings.api_key}"}

    def token_body(self, **overrides: Any) -> dict[str, Any]:
        """A minimal valid token request (our agent, nothing optional), with `overrides` applied."""
        body = {"agentId": self.settings.agent_id, **overrides}
        return {name: value for name, value in body.items() if value is not None}

    def request_token(
        self,
        *,
        headers: dict[str, str] | None = None,
        body: Any = None,
        content: bytes | None = None,
        **sent: Any,
    ) -> Exchange:
        headers = self.auth() if headers is None else headers
        if content is not None:
            return self.send(
                self.create.method, self.create.path, headers=headers, content=content, **sent
            )
        payload = self.token_body() if body is None else body
        return self.send(
            self.create.method, self.create.path, headers=headers, json_body=payload, **sent
        )

    def issue(self, **sent: Any) -> Issued | None:
        """A fresh token with the default key and agent, or None if the target gave none."""
        exchange = self.request_token(**sent)
        body = exchange.json()
        if exchange.status != 200 or not isinstance(body, dict):
            return None
        token, call_id = body.get("accessToken"), body.get("callId")
        if not isinstance(token, str) or not token:
            return None
        return Issued(token, call_id if isinstance(call_id, str) else "", exchange)

    def redeem(self, token: str) -> Exchange:
        return self.send(
            self.redeem_op.method, self.redeem_op.path, json_body={"accessToken": token}
        )

    # -- what the target offers ------------------------------------------------------------

    @cached_property
    def is_mock(self) -> bool:
        """Whether the target answers the mock's control API (GET /_mock/)."""
        exchange = self.send("GET", "/_mock/", record=False)
        body = exchange.json()
        return exchange.status == 200 and isinstance(body, dict) and "endpoints" in body

    @cached_property
    def redeem_presence(self) -> Exchange | None:
        """The redeem of a freshly issued token, which decides whether the target offers the
        operation (a token it never issued could be refused with any status, 404 included).
        None when not asked (--no-redeem) or when the target issued no token."""
        if self.settings.no_redeem:
            return None
        issued = self.issue()
        return None if issued is None else self.redeem(issued.token)

    @cached_property
    def redeem_available(self) -> bool:
        """Whether the target serves the redeem operation: it answered a fresh token's
        redeem, with anything but the 404 or 405 of a path it does not route."""
        presence = self.redeem_presence
        return presence is not None and presence.status not in UNROUTED

    def redeem_absence(self) -> str:
        """Why the redeem operation is taken as absent (for a NOT VERIFIED note)."""
        title = self.redeem_op.title
        if self.settings.no_redeem:
            return f"--no-redeem: the target declares no {title}"
        presence = self.redeem_presence
        if presence is None:
            return f"the target issued no token, so {title} could not be tried"
        return f"the target does not serve {title} ({presence.status} for a fresh token)"

    def without_redeem(self, result: CheckResult) -> bool:
        """True, leaving `result` NOT VERIFIED because of it, when there is no redeem: under
        --strict that is excused only by `--allow redeem_offered`, never by the check's name."""
        if self.redeem_available:
            return False
        result.not_verified(self.redeem_absence())
        result.blocked_by = REDEEM_OFFERED
        return True

    @cached_property
    def has_clock(self) -> bool:
        """Whether the target exposes the mock's controllable clock."""
        exchange = self.send("POST", "/_mock/clock/advance", json_body={"seconds": 0}, record=False)
        return exchange.status == 200

    def advance_clock(self, seconds: float) -> Exchange:
        return self.send(
            "POST", "/_mock/clock/advance", json_body={"seconds": seconds}, record=False
        )

    # -- judging ---------------------------------------------------------------------------

    def problem(self, operation: Operation, exchange: Exchange) -> str | None:
        """What is wrong with a response by the spec alone (status, media type, schema)."""
        if exchange.status is None:
            return f"{operation.title} must answer; the request failed: {exchange.transport_error}"
        if exchange.status not in operation.responses:
            documented = ", ".join(str(status) for status in sorted(operation.responses))
            return (
                f"{operation.title} answered {exchange.status}, which the spec does not document "
                f"(documented: {documented})"
            )
        content_type = exchange.response_headers.get("content-type", "")
        if content_type.split(";")[0].strip() != JSON:
            return (
                f"{operation.title} {exchange.status} must be {JSON} "
                f"(spec), not {content_type or 'no content type'}"
            )
        body = exchange.json()
        if body is None:
            return f"{operation.title} {exchange.status}: the body is not valid JSON"
        invalid = operation.validate_response(exchange.status, body)
        if invalid is not None:
            return (
                f"{operation.title} {exchange.status}: the body does not match the spec's schema: "
                f"{invalid.detail}"
            )
        return None

    def expect(self, operation: Operation, exchange: Exchange, statuses: set[int]) -> str | None:
        """The broken rule if the response is not one of `statuses` with its documented body."""
        if exchange.status is not None and exchange.status not in statuses:
            wanted = " or ".join(str(status) for status in sorted(statuses))
            message = error_message(exchange)
            got = f"{exchange.status}" + (f" {message!r}" if message else "")
            return f"expected {wanted}, got {got}"
        problem = self.problem(operation, exchange)
        if problem is not None:
            return problem
        return self.documented_message(operation, exchange)

    def require(
        self,
        result: CheckResult,
        operation: Operation,
        exchange: Exchange,
        statuses: set[int],
        what: str,
    ) -> bool:
        """Count the exchange in `result`; unless it is one of `statuses` with its documented
        body, judge `what: <the rule broken>`: a WARN where only our assumptions say so (see
        `assumed`), else a FAIL. True when the exchange conforms."""
        result.requests += 1
        if len(result.sent) < MAX_SENT_KEPT:
            result.sent.append((exchange.curl(self.secrets), exchange.response_text(self.secrets)))
        rule = self.expect(operation, exchange, statuses)
        if rule is None:
            return True
        violation = self.violation(f"{what}: {rule}", exchange)
        if self.assumed(operation, exchange, statuses):
            result.warn(violation)
        else:
            result.fail(violation)
        return False

    def assumed(self, operation: Operation, exchange: Exchange, statuses: set[int]) -> bool:
        """Whether only our assumptions (x-contract: assumed) ask for what the target did not
        do: every status we expected is an assumed response (413 for an oversized body, 415,
        400), or the status we expected came with another body where the body is assumed.
        No response, a 5xx or an accepted invalid request is never an assumption's matter."""
        status = exchange.status
        if status is None or status >= 500 or status < 300:
            return False
        judged = {status} if status in statuses else statuses
        return all(response_kind(operation, code) is RuleKind.ASSUMED for code in judged)

    def documented_message(self, operation: Operation, exchange: Exchange) -> str | None:
        """An error response must carry exactly the documented `error` message."""
        if exchange.status is None:
            return None
        documented = operation.documented_errors(exchange.status)
        if not documented:  # an undocumented status is problem()'s to report
            return None
        message = error_message(exchange)
        if message not in documented:
            wanted = " or ".join(repr(text) for text in documented)
            return f"{operation.title} {exchange.status} must say error {wanted}, not {message!r}"
        return None

    def violation(self, rule: str, exchange: Exchange | None = None) -> Violation:
        if exchange is None:
            return Violation(rule=rule)
        return Violation(
            rule=rule,
            curl=exchange.curl(self.secrets),
            response=exchange.response_text(self.secrets),
            status=exchange.status,
        )


def _body_keys(exchange: Exchange) -> set[str]:
    body = exchange.json()
    return set(body) if isinstance(body, dict) else set()


def error_message(exchange: Exchange) -> str | None:
    """The `error` of a JSON error body, if it has one."""
    body = exchange.json()
    return body.get("error") if isinstance(body, dict) else None
