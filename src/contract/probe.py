"""Talking to the target: every request the scripted checks send goes through one `Probe`.

The probe records each exchange (so `no_credential_echo` can look at all of them), has the
core's judge (`mockplatform.core.judge`) weigh a response against what the request asked for
and openapi.yaml, and turns a broken rule into a `Violation` with the request as curl and
the keys masked.
"""

from __future__ import annotations

import json
import os
import re
import tempfile
import threading
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Any

import httpx

from contract.outcomes import MAX_SENT_KEPT, CheckResult, Exchange, Violation
from contract.settings import Settings
from contract.traffic import THROTTLED, Throttled, Traffic
from mockplatform.core.json_text import JSON_MEDIA_TYPE
from mockplatform.core.judge import (
    ANSWERS,
    AUTH_FIRST,
    CONTENT_TYPE,
    EXPECTED_STATUS,
    RESPONSE_SCHEMA,
    UNAUTHENTICATED,
    Asked,
    BodyFiles,
    Finding,
    Side,
    judge,
)
from mockplatform.core.spec import CREATE_TOKEN, REDEEM_TOKEN, Operation

API_KEY_VARIABLE = "CONTRACT_API_KEY"
INACTIVE_KEY_VARIABLE = "CONTRACT_INACTIVE_KEY"
KEY_HINT = (
    "keys are shown as $CONTRACT_API_KEY / $CONTRACT_INACTIVE_KEY (the second --inactive-key "
    "as $CONTRACT_INACTIVE_KEY_2...; a --header's value as $CONTRACT_HEADER_NAME): export them "
    "to replay"
)
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
        # A request body too long for a curl to carry: written next to the reports.
        default = Path(tempfile.gettempdir()) / f"contract-bodies-{os.getpid()}"
        self.bodies = BodyFiles(settings.bodies_dir or default)
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
            headers.setdefault("Content-Type", JSON_MEDIA_TYPE)
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

    def findings(
        self,
        operation: Operation,
        exchange: Exchange,
        statuses: set[int],
        *,
        wrong_key: bool = False,
        rule: str | None = None,
    ) -> list[Finding]:
        """What the core's judge finds on the platform's side of an exchange we sent on
        purpose: we are the client, so our own deliberate faults are not reported."""
        asked = Asked(frozenset(statuses), wrong_key=wrong_key, rule=rule)
        found = judge(self.spec, exchange.seen(), asked=asked, operation=operation)
        return [finding for finding in found if finding.side is Side.PLATFORM]

    def expect(
        self,
        operation: Operation,
        exchange: Exchange,
        statuses: set[int],
        *,
        wrong_key: bool = False,
    ) -> str | None:
        """The broken rule if the response is not one of `statuses` with its documented body
        (a note of the judge's included)."""
        found = self.findings(operation, exchange, statuses, wrong_key=wrong_key)
        return "; ".join(described(operation, finding) for finding in found) or None

    def require(
        self,
        result: CheckResult,
        operation: Operation,
        exchange: Exchange,
        statuses: set[int],
        what: str,
        *,
        wrong_key: bool = False,
        rule: str | None = None,
    ) -> bool:
        """Count the exchange in `result`; unless it is one of `statuses` with its documented
        body, judge `what: <the rule broken>` as the core's judge weighs it: a FAIL for a
        violation, a WARN where only a note (our assumptions, leniency). True when the
        exchange conforms."""
        result.requests += 1
        if len(result.sent) < MAX_SENT_KEPT:
            result.sent.append(
                (exchange.curl(self.secrets, self.bodies), exchange.response_text(self.secrets))
            )
        found = self.findings(operation, exchange, statuses, wrong_key=wrong_key, rule=rule)
        if not found:
            return True
        violations = [finding for finding in found if finding.is_violation]
        shown = "; ".join(described(operation, finding) for finding in violations or found)
        violation = self.violation(f"{what}: {shown}", exchange)
        if violations:
            result.fail(violation)
        else:
            result.warn(violation)
        return False

    def violation(self, rule: str, exchange: Exchange | None = None) -> Violation:
        if exchange is None:
            return Violation(rule=rule)
        return Violation(
            rule=rule,
            curl=exchange.curl(self.secrets, self.bodies),
            response=exchange.response_text(self.secrets),
            status=exchange.status,
        )


def _body_keys(exchange: Exchange) -> set[str]:
    body = exchange.json()
    return set(body) if isinstance(body, dict) else set()


def described(operation: Operation, finding: Finding) -> str:
    """A finding as a report's sentence."""
    title, seen = operation.title, finding.seen
    if finding.rule == ANSWERS:
        return f"{title} must answer; the request failed: {seen.removeprefix('no answer: ')}"
    if finding.rule == AUTH_FIRST:
        return f"expected {UNAUTHENTICATED}, got {seen}"
    if finding.rule == EXPECTED_STATUS:
        return f"expected {finding.expected}, got {seen}"
    if finding.rule == RESPONSE_SCHEMA:
        status = finding.exchange.status
        return f"{title} {status}: the body does not match the spec's schema: {seen}"
    if finding.rule == CONTENT_TYPE:
        return f"{title} {finding.exchange.status} must be {JSON_MEDIA_TYPE} (spec): {seen}"
    return f"{title}: {finding.expected}: {seen}"


def error_message(exchange: Exchange) -> str | None:
    """The `error` of a JSON error body, if it has one."""
    body = exchange.json()
    return body.get("error") if isinstance(body, dict) else None
