"""The platform's own endpoints: issuing a widget token, and redeeming it to start a call.

Each handler is a row of stages that end the request early by raising `Rejection`. The
order is the contract's precedence: 401, then 400 (and 413/415), then 403, then 404, then
anything else. A scenario's rule that forces a status takes effect at that status's stage,
so a forced 500 never hides a malformed request and a forced 404 never leaks to a caller
without a valid key.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.types import Message, Receive, Scope, Send

from mockplatform.core.errors import Rejection
from mockplatform.core.headers import decode_headers, header_dict
from mockplatform.core.spec import CREATE_TOKEN, REDEEM_TOKEN, Spec
from mockplatform.server._fast_path import json_response, token_response
from mockplatform.server.auth import authenticate
from mockplatform.server.calls import CallRecord, CallStatus, Redemption
from mockplatform.server.faults import Fault, FaultResponse, loses_answer
from mockplatform.server.intake import read_json_body
from mockplatform.server.journal_entry import JournalEntry
from mockplatform.server.scenario_library import ScenarioLibrary
from mockplatform.server.scenarios import RequestView, Respond, Rule, Scenario, select_rule
from mockplatform.server.store import ANY_SCENARIO, Store
from mockplatform.server.tokens import key_digest, new_access_token, new_call_id, new_live_key
from mockplatform.server.world import Account, Agent, Instance, World

LIVE_CALL_ROUTE = "live-call"  # the WebSocket a started call's events stream over (live_call.py)
SCENARIO_PARAM = "scenario"  # the callUrl names the scenario the call follows (its token's)
SCENARIO_HEADER = b"x-mock-scenario"
_PREFER_CODE = re.compile(r"(?:^|[;,\s])code=(\d{3})\b")
_PREFER_EXAMPLE = re.compile(r"(?:^|[;,\s])example=([\w-]+)")
INTAKE_STATUSES = (400, 413, 415)


@dataclass
class Platform:
    """What every handler needs, built once by `create_app` and kept on `app.state.platform`."""

    spec: Spec
    store: Store
    scenarios: ScenarioLibrary
    startup_scenario: str
    max_body_bytes: int
    # The active scenario's name (None inside: the start-up one) as the store last gave it;
    # None until asked. A token request is answered under it, unread, and the store checks
    # it in the step that issues the token (`Exchange.keep`): no round trip to read it.
    last_scenario: tuple[str | None] | None = None

    async def active_scenario(self) -> Scenario:
        """The scenario switched to at run time, else the start-up one."""
        return self.scenario_switched_to(await self.store.get_scenario())

    def scenario_switched_to(self, name: str | None) -> Scenario:
        """The scenario named as the store keeps it (None: none), else the start-up one."""
        return self.scenarios.get(name or self.startup_scenario) or self._startup()

    def _startup(self) -> Scenario:
        scenario = self.scenarios.get(self.startup_scenario)
        assert scenario is not None, "create_app checks the start-up scenario exists"
        return scenario

    @property
    def world(self) -> World:
        """The start-up scenario's world (what the banner and /_mock/world show)."""
        return self._startup().world


def platform_of(request: Request) -> Platform:
    return request.app.state.platform


def render_rejection(spec: Spec, rejection: Rejection) -> Response:
    body = spec.error_body(
        rejection.operation_id,
        rejection.status,
        example=rejection.example,
        field=rejection.field,
        detail=rejection.detail,
    )
    return json_response(body, rejection.status)


@dataclass(slots=True)
class Exchange:
    """One request to a platform operation, as its stages see it.

    Starlette's `Request` would serve, but the stages read little of it; this holds just
    what they read: the headers as the server gave them (names lower-case bytes, the first
    of repeats wins; a stage decodes the few values it reads, the journal keeps the dict as
    it is), the way to the body, and the notes the journal keeps (`scenario`, `fault`) in
    the scope's state.
    """

    platform: Platform
    scope: Scope
    receive: Receive
    headers: dict[bytes, bytes]
    rule: Rule | None = None  # the scenario rule that applies: its latency and fault follow
    seen: list[bytes] = field(default_factory=list)  # the body's chunks, as they were read
    again: bool = False  # answered again: the scenario moved while it was first answered
    # The active scenario's name, as taken unread from `Platform.last_scenario`: whatever the
    # request is told must be checked against the store's before it goes out.
    unread: tuple[str | None] | None = None
    # The token answered, its call, and the answer that goes out once the store keeps them.
    issued: tuple[str, CallRecord, Response] | None = None

    async def keep(self, entry: JournalEntry | None) -> Response:
        """The token answer, once the store has kept the token and `entry` (the request's
        journal entry, its status set here) in one step: one round trip to a shared store.
        If the scenario the answer was made under is no longer active, nothing is kept and
        the request is answered again under the active one: a token answer kept then with
        no check (the store has just named it), anything else returned, `entry` unkept."""
        assert self.issued is not None
        token, call, response = self.issued
        unread = self.unread
        if entry is not None:
            entry["status"] = response.status_code
        expected = ANY_SCENARIO if unread is None else unread[0]
        moved = await self.platform.store.issue_token(token, call, entry, expected)
        if moved is None:
            return response
        self.platform.last_scenario = (moved.name,)
        again = await PlatformEndpoint(self.platform, create_widget_token).answer_again(self)
        if isinstance(again, Response):
            return again
        if entry is not None:
            entry["scenario"] = self.scope["state"]["scenario"]
        return await again.keep(entry)

    def header(self, name: bytes) -> str | None:
        value = self.headers.get(name)
        return None if value is None else value.decode("latin-1")

    def note(self, name: str, value: str) -> None:
        """Keep `value` for the journal (it reads the scope's state after the response)."""
        self.scope.setdefault("state", {})[name] = value

    @property
    def request(self) -> Request:
        """Starlette's view of the request, for what only it offers (URLs)."""
        return Request(self.scope, self.receive)


@dataclass(frozen=True)
class PlatformEndpoint:
    """A platform handler as a plain ASGI app, plus what its rule adds: latency, a fault.

    Plain ASGI (a callable object, not a function, so Starlette's `Route` does not wrap it
    again); the pipeline (`pipeline.Pipeline`) calls `answer` itself.
    """

    platform: Platform
    handler: Callable[[Exchange], Awaitable[Response]]

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        answer = await self.answer(scope, receive, header_dict(scope), [])
        response = answer if isinstance(answer, Response) else await answer.keep(None)
        await response(scope, receive, send)

    async def answer(
        self,
        scope: Scope,
        receive: Receive,
        headers: dict[bytes, bytes],
        seen: list[bytes],
        again: bool = False,
    ) -> Response | Exchange:
        """The response, the body's chunks added to `seen` as they are read (the journal's);
        a token answer still to be kept (the `Exchange`: `Exchange.keep`)."""
        exchange = Exchange(self.platform, scope, receive, headers, None, seen, again)
        try:
            response = await self.handler(exchange)
        except Rejection as rejection:
            if exchange.unread is not None and not await scenario_holds(exchange):
                return await self.answer_again(exchange)
            response = render_rejection(self.platform.spec, rejection)
        except _ScenarioMoved:
            return await self.answer_again(exchange)
        rule = exchange.rule
        if rule is not None:
            if rule.latency_ms:
                await asyncio.sleep(rule.latency_ms / 1000)
            if rule.fault:  # what is sent is the fault's: the journal keeps it afterwards
                if exchange.issued is not None:
                    response = await exchange.keep(None)
                exchange.note("fault", rule.fault)
                return FaultResponse(response, rule.fault, rule.trickle_ms)
        if exchange.issued is not None:  # the token is kept with the journal entry
            return exchange
        return response

    async def answer_again(self, exchange: Exchange) -> Response | Exchange:
        """The scenario moved while the request was answered: answered again under the one
        now active (`Platform.last_scenario`), from the body as it was read."""
        seen = exchange.seen
        receive = _replay(b"".join(seen), exchange.receive) if seen else exchange.receive
        seen.clear()
        return await self.answer(exchange.scope, receive, exchange.headers, seen, again=True)


class _ScenarioMoved(Exception):
    """The scenario taken unread is not the active one: the request is answered again."""


def _replay(body: bytes, receive: Receive) -> Receive:
    """A `receive` that gives the body already read, whole, then hands over to `receive`."""
    given = False

    async def replayed() -> Message:
        nonlocal given
        if given:
            return await receive()
        given = True
        return {"type": "http.request", "body": body, "more_body": False}

    return replayed


async def scenario_holds(exchange: Exchange) -> bool:
    """Whether the scenario taken unread is the active one (read now, and remembered)."""
    holds = exchange.unread == await read_active_scenario(exchange.platform)
    exchange.unread = None
    return holds


async def read_active_scenario(platform: Platform) -> tuple[str | None]:
    """The active scenario's name as the store gives it now, remembered as the last."""
    last = platform.last_scenario = (await platform.store.get_scenario(),)
    return last


def forced_rejection(operation_id: str, rule: Rule | None) -> Rejection | None:
    """What a rule's `respond:` forces, or None (the usual request); the handler raises it
    at the stage where its status belongs."""
    if rule is None or rule.respond is None:
        return None
    return rule.respond.rejection(operation_id)


def raise_at_stage(forced: Rejection, *statuses: int) -> None:
    """Raise `forced` at the stage of the contract's precedence its status belongs to."""
    if forced.status in statuses:
        raise forced


async def choose_rule(
    exchange: Exchange,
    operation_id: str,
    scenario: Scenario,
    api_key: str | None,
    body: Mapping[str, Any],
) -> Rule | None:
    """Prism's `Prefer: code=NNN` first, then the scenario's rules (which see a `RequestView`)."""
    prefer = exchange.header(b"prefer") or ""
    code = _PREFER_CODE.search(prefer)
    if code is not None:
        status = int(code.group(1))
        operation = exchange.platform.spec.operation(operation_id)
        if status not in operation.responses:
            raise Rejection(
                operation_id,
                400,
                field="Prefer",
                detail=f"Prefer: code={status} is not a documented response of "
                f"{operation.title} (documented: {', '.join(map(str, operation.responses))})",
            )
        if status >= 400:
            example = _PREFER_EXAMPLE.search(prefer)
            name = example.group(1) if example else None
            names = operation.example_names(status)
            if name is not None and name not in names:
                raise Rejection(
                    operation_id,
                    400,
                    field="Prefer",
                    detail=f"Prefer: example={name} is not a documented example of "
                    f"{operation.title} -> {status} (documented: {', '.join(names) or 'none'})",
                )
            return Rule(
                operation=operation_id,
                respond=Respond(status, example=name, detail="Prefer header"),
            )
    if not scenario.rules:
        return None
    if exchange.unread is not None and not await scenario_holds(exchange):
        raise _ScenarioMoved  # (its rules count requests: the right scenario's must)
    view = RequestView(api_key, body, decode_headers(exchange.headers))
    rule = await select_rule(scenario, operation_id, view, exchange.platform.store)
    exchange.rule = rule
    return rule


def may_choose_rule(exchange: Exchange, scenario: Scenario) -> bool:
    """Whether `choose_rule` has anything to choose from; the usual request skips it."""
    return bool(scenario.rules) or b"prefer" in exchange.headers


def scenario_for(exchange: Exchange, operation_id: str) -> Scenario:
    """The scenario named by `X-Mock-Scenario`, else the active one: as the store last
    named it (`Platform.last_scenario`, read first if it never did: `read_active_scenario`)."""
    platform = exchange.platform
    platform.scenarios.refresh()
    named = exchange.headers.get(SCENARIO_HEADER)
    if named is None:
        last = platform.last_scenario
        assert last is not None, "read_active_scenario reads it first"
        if not exchange.again:  # taken unread: checked as the answer is kept
            exchange.unread = last
        scenario: Scenario | None = platform.scenario_switched_to(last[0])
    else:
        name = named.decode("latin-1")
        scenario = platform.scenarios.get(name)
    if scenario is None:
        known = ", ".join(sorted(s.name for s in platform.scenarios.all()))
        raise Rejection(
            operation_id,
            400,
            field="X-Mock-Scenario",
            detail=f"no scenario named {name!r} (known: {known})",
        )
    exchange.note("scenario", scenario.name)
    return scenario


def follow_binding(exchange: Exchange, scenario: Scenario, bound_to: str) -> Scenario:
    """An API key bound to a scenario follows its rules, unless the request names one itself."""
    if SCENARIO_HEADER in exchange.headers:
        return scenario
    bound = exchange.platform.scenarios.get(bound_to) or scenario
    exchange.note("scenario", bound.name)
    return bound


async def create_widget_token(exchange: Exchange) -> Response:
    platform = exchange.platform
    operation = platform.spec.operations[CREATE_TOKEN]
    if platform.last_scenario is None:
        await read_active_scenario(platform)
    scenario = scenario_for(exchange, CREATE_TOKEN)
    account = authenticate(exchange.headers, scenario.world, CREATE_TOKEN)
    if account.scenario is not None:
        scenario = follow_binding(exchange, scenario, account.scenario)
    try:
        body = await read_json_body(
            exchange.headers, exchange.receive, operation, platform.max_body_bytes, exchange.seen
        )
        malformed = None
    except Rejection as rejection:
        body, malformed = {}, rejection
    rule = forced = None
    if may_choose_rule(exchange, scenario):
        # A recording's account is known by its key's digest alone: its rules match that.
        key = account.api_key or account.key_digest
        rule = await choose_rule(exchange, CREATE_TOKEN, scenario, key, body)
        forced = forced_rejection(CREATE_TOKEN, rule)
    if forced is not None:  # (each stage's check guarded: the usual request makes no call)
        raise_at_stage(forced, 401)
    if malformed is not None:
        raise malformed
    if forced is not None:
        raise_at_stage(forced, *INTAKE_STATUSES)
    if not account.subscription.allows_calls:
        raise Rejection(CREATE_TOKEN, 403, detail=f"the subscription is {account.subscription}")
    if forced is not None:
        raise_at_stage(forced, 403)
    agent, instance = find_agent(scenario.world, body["agentId"], body.get("instanceId"))
    if forced is not None:  # 404, or any other status: once the request's own checks passed
        raise forced
    lifetime = platform.spec.token_lifetime_seconds
    if rule is not None and rule.token_lifetime_seconds is not None:
        lifetime = rule.token_lifetime_seconds
    call = new_call(account, agent, instance, body, 0.0, lifetime, scenario)  # times: the store's
    token = new_access_token()
    response = token_response(token, call.call_id, agent.name)
    exchange.issued = (token, call, response)  # kept by `Exchange.keep`, before it goes out
    return response


def new_call(
    account: Account,
    agent: Agent,
    instance: Instance | None,
    body: dict,
    now: float,
    lifetime: float,
    scenario: Scenario,
) -> CallRecord:
    """The call a token request opens, as the call log keeps it from the token's issue on."""
    caller_name, language = body.get("callerName"), body["language"]
    return CallRecord(  # in the fields' order: keywords cost a token request twice as much
        new_call_id(),  # call_id
        account.masked_key,  # account
        agent.id,  # agent_id
        agent.name,  # agent_name
        instance.id if instance else None,  # instance_id
        language,
        caller_name,
        agent.prompt_template,
        scenario.world.prompt_variables(agent, instance, language),
        now,  # token_issued_at
        now + lifetime,  # token_expires_at
        scenario.name,  # scenario
    )


def find_agent(
    world: World, agent_id: str, instance_id: str | None
) -> tuple[Agent, Instance | None]:
    """The active agent and, if asked for, its instance; anything else is the documented 404."""
    agent = world.agents.get(agent_id)
    if agent is None:
        raise Rejection(CREATE_TOKEN, 404, field="agentId", detail=f"no agent {agent_id}")
    if not agent.active:
        raise Rejection(CREATE_TOKEN, 404, field="agentId", detail=f"agent {agent_id} is inactive")
    if instance_id is None:
        return agent, None
    instance = world.instances.get(instance_id)
    if instance is None:
        raise Rejection(CREATE_TOKEN, 404, field="instanceId", detail=f"no instance {instance_id}")
    if instance.agent_id != agent.id:
        raise Rejection(
            CREATE_TOKEN,
            404,
            field="instanceId",
            detail=f"instance {instance_id} belongs to another agent",
        )
    return agent, instance


async def redeem_widget_token(exchange: Exchange) -> Response:
    """The redeem follows the scenario its token was issued under (as the call does), unless
    it names one itself: an app cannot add headers to the SDK's own requests. A status a
    rule forces answers before the token is used; a fault that loses the answer uses it,
    and the call log says the answer was lost (no call left `started` for ever)."""
    platform = exchange.platform
    operation = platform.spec.operations[REDEEM_TOKEN]
    named = SCENARIO_HEADER in exchange.headers
    scenario = scenario_for(exchange, REDEEM_TOKEN) if named else None
    body = await read_json_body(
        exchange.headers, exchange.receive, operation, platform.max_body_bytes, exchange.seen
    )
    if scenario is None:
        scenario = await token_scenario(exchange, body["accessToken"])
    rule = None
    if may_choose_rule(exchange, scenario):
        rule = await choose_rule(exchange, REDEEM_TOKEN, scenario, None, body)
    forced = forced_rejection(REDEEM_TOKEN, rule)
    if forced is not None:
        raise forced
    live_key = new_live_key()
    outcome, call = await platform.store.redeem_token(body["accessToken"], key_digest(live_key))
    if outcome is Redemption.UNKNOWN:
        raise Rejection(REDEEM_TOKEN, 401, example="unknown", detail="no such access token")
    assert call is not None
    if outcome is not Redemption.ACCEPTED:
        refusal = redeem_refusal(outcome)
        await log_failed_redeem(platform, call, refusal)
        raise refusal
    if rule is not None and rule.fault is not None and loses_answer(rule.fault):
        await log_lost_answer(platform, call, rule.fault)
    # The store started the call in the redeem's own step: nothing is left here to fail.
    return json_response(
        {
            "callId": call.call_id,
            "agentName": call.agent_name,
            "status": "started",
            "callUrl": live_call_url(exchange, call.call_id, live_key, call.scenario),
        },
        status_code=201,
    )


async def token_scenario(exchange: Exchange, token: str) -> Scenario:
    """The scenario the token was issued under, else (an unknown token) the active one."""
    platform = exchange.platform
    platform.scenarios.refresh()
    name = await platform.store.token_scenario(token)
    scenario = (platform.scenarios.get(name) if name else None) or await platform.active_scenario()
    exchange.note("scenario", scenario.name)
    return scenario


async def log_lost_answer(platform: Platform, call: CallRecord, fault: Fault) -> None:
    """The token is used, but the SDK never got the callUrl: the call will never be joined.
    The log says so at once, instead of a call `started` for ever."""
    call.status = CallStatus.ENDED
    call.ended_at = await platform.store.now()
    call.end_reason = f"failed: the redeem's answer was lost in transit ({fault})"
    await platform.store.save_call(call)


def redeem_refusal(outcome: Redemption) -> Rejection:
    """Why a known token starts no call (a new exception each time: raised, it keeps its
    traceback)."""
    if outcome is Redemption.EXPIRED:
        return Rejection(
            REDEEM_TOKEN, 401, example="expired", detail="the access token's lifetime has passed"
        )
    return Rejection(REDEEM_TOKEN, 409, detail="each access token starts one call")


async def log_failed_redeem(platform: Platform, call: CallRecord, refusal: Rejection) -> None:
    """The call log keeps each refused redeem with the platform's message; a token refused
    before its call started (expired) leaves a call that never will: `redeem_failed`."""
    reason = platform.spec.error_body(REDEEM_TOKEN, refusal.status, example=refusal.example)
    failure = {"at": await platform.store.now(), "reason": reason["error"]}
    call.redeem_failures = (*call.redeem_failures, failure)
    if call.status is CallStatus.TOKEN_ISSUED:
        call.status = CallStatus.REDEEM_FAILED
        call.end_reason = f"failed: {reason['error']}"
    await platform.store.save_call(call)


def live_call_url(
    exchange: Exchange, call_id: str, live_key: str, token_scenario: str | None
) -> str:
    """ws(s)://…/sdk/calls/{callId}?key=…: where the SDK listens to the call it just started."""
    url = exchange.request.url_for(LIVE_CALL_ROUTE, call_id=call_id)
    scheme = "wss" if url.scheme == "https" else "ws"
    params = {"key": live_key}
    scenario = token_scenario
    if scenario is None or SCENARIO_HEADER in exchange.headers:  # the redeem's own choice
        scenario = exchange.scope.get("state", {}).get("scenario")  # set by scenario_for
    if scenario:
        params[SCENARIO_PARAM] = scenario
    return str(url.replace(scheme=scheme).include_query_params(**params))
