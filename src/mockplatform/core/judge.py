"""The one judge of an exchange: which rules of openapi.yaml it broke, on whose side, and how
much each weighs. The harness's scripted checks, its schemathesis hooks and the validation
proxy all ask here; none of them weighs a rule itself.

Input: one exchange (request and answer), what a `Memory` of earlier exchanges knows (tokens
issued and redeemed, keys refused with 401, the target's clock offset), and, from a caller
that wrote the request on purpose, what it asked for (`Asked`: the statuses a correct
platform answers, and whether the key is one the platform never issued).

Output: `Finding`s, each with its rule, its side (platform or client), its kind (read from
the spec's `x-contract` marks through `mockplatform.core.spec`), what was expected, what was
seen, and the exchange (shown as a curl with every credential masked).

The weights, decided here once:
- A client's fault weighs by the rule it broke (documented or assumed), never by what the
  platform answered.
- A request without a valid key is answered 401 before anything else (universal), and that
  401 is the documented one, whatever else the request got wrong.
- Otherwise, when a request broke a documented rule, the platform's answer is held only to
  the universal rules (no 5xx, no credential echo): anything else about it is a note. When
  it broke only our assumptions, a refusal (4xx) is held to them: a note too.
- A 429 is a throttle, never a finding on either side.
- A 5xx is always the platform's side (a documented 500 included), unless the request asked
  for it (`Prefer: code=N`, the mock's scenario header).
- A documented response without a body has no body to judge.
- A token's age is measured on the target's clock (`Memory.clock_offset`).
"""

from __future__ import annotations

import hashlib
import json
import shlex
import threading
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import Any

from mockplatform.core.credentials import mask_secret
from mockplatform.core.json_text import JSON_MEDIA_TYPE, media_type
from mockplatform.core.redaction import SECRET_FIELDS, mask_header, mask_values, values_pattern
from mockplatform.core.spec import (
    CREATE_TOKEN,
    REDEEM_TOKEN,
    Operation,
    RuleKind,
    Spec,
    bearer_credential,
    documented_request_problem,
    named_rule_kind,
    operation_kind,
    response_kind,
)
from mockplatform.core.token_watch import (
    MAX_WATCHED,
    PREFETCHED_TOKEN,
    SINGLE_USE,
    TOKEN_LIFETIME,
    TOKEN_REUSED,
    UNIQUE_IDS,
    TokenWatch,
    digest,
)

THROTTLED = 429  # RFC 6585: slow down; a gateway's, never a broken rule
UNAUTHENTICATED = 401  # RFC 9110: the request lacks valid credentials
EXPIRED_EXAMPLE = "expired"  # the spec's name for the example of an expired token
SDK_ERROR, USED_SDK_ERROR = "x-sdk-error", "token_used"  # the spec's mark of "already used"
# A request may ask for a documented answer: Prism's `Prefer: code=N`, the mock's scenarios.
PREFER = "prefer"
SCENARIO_HEADER = "x-mock-scenario"
# A credential shorter than this is not looked for in answers: a generated `"0"` would be
# "found" in any body. Longer ones are matched as whole tokens (not inside a longer word).
MIN_CREDENTIAL_LENGTH = 8
NOT_JSON: Any = object()
_UNREAD: Any = object()  # not worked out yet


class Side(StrEnum):
    PLATFORM = "platform"
    CLIENT = "client"


@dataclass(frozen=True)
class Rule:
    name: str
    side: Side
    says: str
    kind: RuleKind | None = None  # None: the spec's mark where the rule is broken


RULES: dict[str, Rule] = {}


def _rule(name: str, side: Side, says: str, kind: RuleKind | None = None) -> str:
    RULES[name] = Rule(name, side, says, kind)
    return name


# The app's side: the platform documented each (the seed marks Authorization and
# `Content-Type: application/json` Required, and lists the fields and their formats).
MISSING_CREDENTIALS = _rule(
    "missing_credentials",
    Side.CLIENT,
    "send the API key as `Authorization: Bearer <key>`",
    RuleKind.DOCUMENTED,
)
REQUEST_CONTENT_TYPE = _rule(
    "request_content_type", Side.CLIENT, f"send the body as {JSON_MEDIA_TYPE}", RuleKind.DOCUMENTED
)
REQUEST_SCHEMA = _rule("request_schema", Side.CLIENT, "the body matches the request schema")
_rule(PREFETCHED_TOKEN, Side.CLIENT, "redeem a token within its lifetime")
_rule(TOKEN_REUSED, Side.CLIENT, "redeem a token once")
# The platform's side.
ANSWERS = _rule(
    "answers_every_request", Side.PLATFORM, "every request gets an HTTP answer", RuleKind.UNIVERSAL
)
AUTH_FIRST = _rule(
    "auth_first",
    Side.PLATFORM,
    f"a request without a valid key gets {UNAUTHENTICATED}, before anything else is judged",
    RuleKind.UNIVERSAL,
)
NO_SERVER_ERROR = _rule(
    "no_server_error", Side.PLATFORM, "no 5xx for a client's input", RuleKind.UNIVERSAL
)
NO_CREDENTIAL_ECHO = _rule(
    "no_credential_echo",
    Side.PLATFORM,
    "no credential a caller presented comes back in an answer",
    RuleKind.UNIVERSAL,
)
EXPECTED_STATUS = _rule("expected_status", Side.PLATFORM, "the status the contract gives")
DOCUMENTED_STATUS = _rule(
    "documented_status", Side.PLATFORM, "the status is documented for the operation"
)
CONTENT_TYPE = _rule("content_type", Side.PLATFORM, f"the answer is {JSON_MEDIA_TYPE}")
RESPONSE_SCHEMA = _rule(
    "response_schema", Side.PLATFORM, "the body matches the documented schema for its status"
)
ACCEPTS_INVALID = _rule(
    "rejects_invalid_request", Side.PLATFORM, "a request that breaks the contract is refused"
)
_rule(UNIQUE_IDS, Side.PLATFORM, "tokens and call ids are unique", RuleKind.UNIVERSAL)
_rule(TOKEN_LIFETIME, Side.PLATFORM, "a token lives x-token-lifetime-seconds, no more")
_rule(SINGLE_USE, Side.PLATFORM, "a token is redeemed once (x-token-single-use)")


@dataclass(frozen=True)
class Seen:
    """One exchange as the judge reads it: the request as sent, the answer as received."""

    method: str
    path: str
    query: str
    request_headers: tuple[tuple[str, str], ...]  # names lower-case, repeats kept
    request_body: bytes
    status: int | None  # None: no HTTP answer (the transport failed)
    response_headers: tuple[tuple[str, str], ...] = ()
    response_body: bytes = b""  # its content coding undone
    at: float = 0.0  # wall clock when the request was sent (shown)
    sent: float = 0.0  # monotonic: the request went out
    answered: float = 0.0  # monotonic: its answer began
    base_url: str = ""  # where it was sent, for the curl
    transport_error: str = ""
    # An answer longer than the caller kept (a proxy keeps 256 KB): its body is not judged on
    # a part of it; the rest (status, authentication, echo) is.
    response_cut: bool = False

    # What the rules read of an exchange, each worked out once however many rules ask (the
    # judge, the proxy's showing of its findings, the recorder): the bodies parsed, the
    # request's headers by name, the bearer key. Kept in the instance's own dict (a frozen
    # dataclass's fields stay as they are); `functools.cached_property` takes a lock on
    # every read in Python 3.11, which cost more than the parsing it saved.

    def header(self, name: str) -> str | None:
        named = self.__dict__.get("_named")
        if named is None:
            named = self.__dict__["_named"] = {}
            for key, value in self.request_headers:
                named.setdefault(key, value)  # the first of repeats
        return named.get(name)

    def response_header(self, name: str) -> str | None:
        return _first(self.response_headers, name)

    def request_json(self) -> Any:
        cached = self.__dict__.get("_request_json", _UNREAD)
        if cached is _UNREAD:
            cached = self.__dict__["_request_json"] = json_or_not(self.request_body)
        return cached

    def response_json(self) -> Any:
        cached = self.__dict__.get("_response_json", _UNREAD)
        if cached is _UNREAD:
            cached = self.__dict__["_response_json"] = json_or_not(self.response_body)
        return cached

    def bearer(self) -> str | None:
        """The credential of `Authorization: Bearer <credential>`, if that is what was sent."""
        cached = self.__dict__.get("_bearer", _UNREAD)
        if cached is _UNREAD:
            cached = self.__dict__["_bearer"] = bearer_credential(
                self.header("authorization") or ""
            )
        return cached


@dataclass(frozen=True)
class Asked:
    """What a caller that wrote the request on purpose knows of it beyond the spec."""

    statuses: frozenset[int] | None = None  # what a correct platform answers (None: the spec)
    why: str = ""  # the rule, in words ("an unknown agent gets 404"), shown as expected
    wrong_key: bool = False  # its bearer key is not one the platform issued
    # The spec's named rule of a request field the statuses rest on (`x-contract: {NAME:
    # KIND}`, e.g. instanceId's `instance-of-the-agent`): its kind weighs a wrong status.
    rule: str | None = None


@dataclass(frozen=True)
class Finding:
    """A broken rule in one exchange. A violation (a failure in the harness) unless its kind
    is `assumed`, which makes a note (a WARN)."""

    rule: str
    side: Side
    kind: RuleKind
    expected: str
    seen: str
    operation: str  # its operationId
    exchange: Seen = field(repr=False, compare=False)

    @property
    def is_violation(self) -> bool:
        return self.kind is not RuleKind.ASSUMED

    @property
    def curl(self) -> str:
        """The request as a curl command, every credential in it masked."""
        return curl(self.exchange, masks(self.exchange))


@dataclass
class Memory:
    """What the judge knows from earlier exchanges of one target: its tokens (digests only),
    the keys it refused with 401 (digests), and how far its clock was moved."""

    spec: Spec
    clock_offset: float = 0.0  # seconds the target's clock runs ahead of ours
    watch: TokenWatch = field(init=False)
    refused_keys: set[bytes] = field(default_factory=set)

    def __post_init__(self) -> None:
        self.watch = TokenWatch(self.spec.token_lifetime_seconds)


def judge(
    spec: Spec,
    seen: Seen,
    memory: Memory | None = None,
    asked: Asked | None = None,
    operation: Operation | None = None,
) -> list[Finding]:
    """Every rule `seen` broke, weighed. `memory` is updated (tokens, refused keys)."""
    operation = operation or operation_of(spec, seen.method, seen.path)
    if operation is None:
        return []  # not an operation of the contract (the SDK's files, the control API...)
    found: list[Finding] = []

    def add(rule: str, kind: RuleKind, seen_text: str, expected: str | None = None) -> None:
        found.append(
            Finding(
                rule,
                RULES[rule].side,
                kind,
                expected or RULES[rule].says,
                seen_text,
                operation.operation_id,
                seen,
            )
        )

    if seen.status is None:
        add(ANSWERS, RuleKind.UNIVERSAL, f"no answer: {seen.transport_error}")
        return found
    if seen.status == THROTTLED:
        return found  # a throttle: the caller backs off; nobody broke a rule
    client = client_faults(spec, operation, seen)
    for rule, kind, detail in client:
        add(rule, kind, detail)
    keyless = _keyless(operation, seen, memory, asked, client)
    documented_fault = any(
        kind is not RuleKind.ASSUMED for rule, kind, _ in client if rule != MISSING_CREDENTIALS
    )
    assumed_fault = bool(client) and not documented_fault and not keyless
    status = seen.status
    wanted = _asked_for(operation, seen, asked)
    if status >= 500 and (wanted is None or status not in wanted):
        add(NO_SERVER_ERROR, RuleKind.UNIVERSAL, f"{status} {_error(seen)}".rstrip())
    elif keyless:
        if status != UNAUTHENTICATED:
            add(AUTH_FIRST, RuleKind.UNIVERSAL, f"{status} {_error(seen)}".rstrip())
        else:
            _answer(operation, seen, None, add, cap=None)
    else:
        cap = None
        if documented_fault or (assumed_fault and 400 <= status < 500):
            cap = RuleKind.ASSUMED  # held only to the universal rules (or to our assumptions)
        if (documented_fault or assumed_fault) and status < 300:
            broke = "a documented rule" if documented_fault else "only our assumptions"
            add(
                ACCEPTS_INVALID, RuleKind.ASSUMED, f"accepted ({status}) a request breaking {broke}"
            )
        _answer(
            operation,
            seen,
            wanted,
            add,
            cap=cap,
            why=asked.why if asked else "",
            rule=asked.rule if asked else None,
        )
    for credential in echoed(seen):
        shown = mask_secret(credential)
        add(NO_CREDENTIAL_ECHO, RuleKind.UNIVERSAL, f"the answer carries {shown}, which was sent")
    if memory is not None:
        _remember(operation, seen, memory, keyless, client, add)
    return found


def operation_of(spec: Spec, method: str, path: str) -> Operation | None:
    """The spec's operation at `method` `path` (exact paths: the contract has no templates)."""
    for operation in spec.operations.values():
        if operation.method == method.upper() and operation.path == path:
            return operation
    return None


# -- the client's side ---------------------------------------------------------------------


def client_faults(spec: Spec, operation: Operation, seen: Seen) -> list[tuple[str, RuleKind, str]]:
    """What the request got wrong: (rule, the kind of the rule it broke, what)."""
    faults = []
    if operation.requires_auth and seen.bearer() is None:
        sent = (
            "no Authorization header"
            if seen.header("authorization") is None
            else "an Authorization header that is not `Bearer <key>`"
        )
        faults.append((MISSING_CREDENTIALS, RuleKind.DOCUMENTED, f"the request has {sent}"))
    if operation.request_validator is None:
        return faults
    sent_type = media_type(seen.header("content-type"))
    if sent_type != JSON_MEDIA_TYPE:
        problem = f"Content-Type is {sent_type or 'missing'}, not {JSON_MEDIA_TYPE}"
        faults.append((REQUEST_CONTENT_TYPE, RuleKind.DOCUMENTED, problem))
    body = seen.request_json()
    if body is NOT_JSON:
        faults.append((REQUEST_SCHEMA, RuleKind.DOCUMENTED, "the body is not JSON"))
    elif (invalid := operation.validate_request(body)) is not None:
        documented = documented_request_problem(operation, spec, body)
        kind = RuleKind.ASSUMED if documented is None else operation_kind(operation)
        faults.append((REQUEST_SCHEMA, kind, (documented or invalid).detail))
    return faults


def _keyless(
    operation: Operation,
    seen: Seen,
    memory: Memory | None,
    asked: Asked | None,
    client: list[tuple[str, RuleKind, str]],
) -> bool:
    """Whether the request carried no valid key: none, malformed, one the caller knows is
    wrong, or one this platform refused with 401 before (and has not accepted since)."""
    if not operation.requires_auth:
        return False
    if any(rule == MISSING_CREDENTIALS for rule, _, _ in client):
        return True
    if asked is not None and asked.wrong_key:
        return True
    key = seen.bearer()
    refused = memory.refused_keys if memory is not None else set()
    return bool(refused) and key is not None and digest(key) in refused


def _asked_for(operation: Operation, seen: Seen, asked: Asked | None) -> frozenset[int] | None:
    """The statuses the request asked for: the caller's, or `Prefer: code=N` (Prism's
    convention), or any documented one under the mock's scenario header."""
    if asked is not None and asked.statuses is not None:
        return asked.statuses
    prefer = seen.header(PREFER) or ""
    for part in prefer.split(","):
        name, _, value = part.strip().partition("=")
        if name.strip().lower() == "code" and value.strip().isdigit():
            return frozenset({int(value.strip())})
    if seen.header(SCENARIO_HEADER) is not None:
        return frozenset(operation.responses)
    return None


# -- the platform's side -------------------------------------------------------------------


def _answer(
    operation: Operation,
    seen: Seen,
    wanted: frozenset[int] | None,
    add: Any,
    cap: RuleKind | None,
    why: str = "",
    rule: str | None = None,
) -> None:
    """The answer's status and body against what was wanted (and `why`) and what the spec
    documents; every finding `cap`ped (a note) where the request already broke a rule."""
    status = seen.status
    assert status is not None

    def weigh(kind: RuleKind) -> RuleKind:
        return cap or kind

    if wanted is not None and status not in wanted:
        judged = {status} if status in operation.responses else set(wanted)
        kinds = {response_kind(operation, code) for code in judged}
        kind = RuleKind.ASSUMED if kinds == {RuleKind.ASSUMED} else operation_kind(operation)
        if rule is not None and named_rule_kind(operation, rule) is RuleKind.ASSUMED:
            kind = RuleKind.ASSUMED
        wanted_text = " or ".join(str(code) for code in sorted(wanted))
        wanted_text = f"{why}: {wanted_text}" if why else wanted_text
        add(EXPECTED_STATUS, weigh(kind), f"{status} {_error(seen)}".rstrip(), wanted_text)
        return
    if status not in operation.responses:
        documented = ", ".join(str(code) for code in sorted(operation.responses))
        add(
            DOCUMENTED_STATUS,
            weigh(operation_kind(operation)),
            f"{status} is not documented (documented: {documented})",
        )
        return
    if "content" not in operation.responses[status]:
        return  # documented without a body: there is no body to judge
    kind = weigh(response_kind(operation, status))
    answered = media_type(seen.response_header("content-type"))
    if answered != JSON_MEDIA_TYPE:
        add(CONTENT_TYPE, kind, f"Content-Type is {answered or 'missing'}, not {JSON_MEDIA_TYPE}")
        return
    if seen.response_cut:
        return
    body = seen.response_json()
    if body is NOT_JSON:
        add(RESPONSE_SCHEMA, kind, "the body is not JSON")
        return
    invalid = operation.validate_response(status, body)
    if invalid is not None:
        add(RESPONSE_SCHEMA, kind, invalid.detail)


def _remember(
    operation: Operation,
    seen: Seen,
    memory: Memory,
    keyless: bool,
    client: list[tuple[str, RuleKind, str]],
    add: Any,
) -> None:
    """Keys refused, tokens issued and redeemed: what later exchanges are judged with."""
    status = seen.status
    assert status is not None
    key = seen.bearer()
    if operation.requires_auth and key is not None:
        if status == UNAUTHENTICATED:
            if len(memory.refused_keys) >= MAX_WATCHED:  # a flood of wrong keys stays bounded
                memory.refused_keys.clear()
            memory.refused_keys.add(digest(key))
        elif status < 300 and memory.refused_keys:
            memory.refused_keys.discard(digest(key))  # it works (again): not ours to judge
    if keyless or any(kind is not RuleKind.ASSUMED for _, kind, _ in client):
        return
    # On the target's clock: a run that moved it ages its tokens by as much.
    sent, answered = seen.sent + memory.clock_offset, seen.answered + memory.clock_offset
    observations = []
    body = seen.response_json()
    if operation.operation_id == CREATE_TOKEN and status < 300 and isinstance(body, dict):
        token, call_id = body.get("accessToken"), body.get("callId")
        if isinstance(token, str):
            call = call_id if isinstance(call_id, str) else None
            observations = memory.watch.issued(token, call, sent, answered)
    sent_body = seen.request_json()
    if operation.operation_id == REDEEM_TOKEN and isinstance(sent_body, dict):
        token = sent_body.get("accessToken")
        if isinstance(token, str):
            expired, used = says_expired(operation, seen), says_used(operation, seen)
            observations = memory.watch.redeemed(
                token, status < 300, expired, sent, answered, said_used=used
            )
    for observation in observations:
        rule = RULES[observation.rule]
        add(observation.rule, rule.kind or operation_kind(operation), observation.detail)


def says_used(operation: Operation, seen: Seen) -> bool:
    """Whether the answer is the spec's "already used" (the response whose SDK error is
    `token_used`)."""
    response = operation.responses.get(seen.status) if seen.status is not None else None
    return isinstance(response, dict) and response.get(SDK_ERROR) == USED_SDK_ERROR


def says_expired(operation: Operation, seen: Seen) -> bool:
    """Whether the answer is the spec's example named `expired` (its status and message)."""
    if seen.status is None or EXPIRED_EXAMPLE not in operation.example_names(seen.status):
        return False
    body = seen.response_json()
    message = operation.example(seen.status, EXPIRED_EXAMPLE).get("error")
    return isinstance(body, dict) and body.get("error") == message


# -- credentials: presented, echoed, masked ------------------------------------------------


def presented_credentials(seen: Seen) -> list[str]:
    """What the request presented as a credential: the Authorization header's (a bearer key,
    another scheme's credential, a bare key) and every secret field of its JSON body."""
    found = []
    header = (seen.header("authorization") or "").strip()
    if header:
        found.append(seen.bearer() or header.partition(" ")[2].strip() or header)
    body = seen.request_json()
    if isinstance(body, dict):
        found += [body[name] for name in SECRET_FIELDS if isinstance(body.get(name), str)]
    return [item for item in found if len(item) >= MIN_CREDENTIAL_LENGTH]


def echoed(seen: Seen) -> list[str]:
    """The presented credentials the answer carries (body or headers), as whole tokens."""
    haystack = seen.response_body.decode("utf-8", "replace") + "\n"
    haystack += "\n".join(f"{name}: {value}" for name, value in seen.response_headers)
    return [item for item in presented_credentials(seen) if contains_credential(haystack, item)]


def contains_credential(haystack: str, credential: str) -> bool:
    """Whether `credential` appears in `haystack` as a whole token."""
    if len(credential) < MIN_CREDENTIAL_LENGTH or credential not in haystack:
        return False  # the plain search first: no pattern compiled for a fresh token each time
    pattern = values_pattern([credential])
    return pattern is not None and pattern.search(haystack) is not None


def masks(seen: Seen) -> dict[str, str]:
    """Every credential in the exchange, each with its masked form: the request's, the
    tokens either body carries, a call URL's key, the query's values."""
    found = [*presented_credentials(seen)]
    for body in (seen.request_json(), seen.response_json()):
        if isinstance(body, dict):
            found += [body[name] for name in SECRET_FIELDS if isinstance(body.get(name), str)]
            call_url = body.get("callUrl")
            if isinstance(call_url, str) and "?" in call_url:
                found += [part.partition("=")[2] for part in call_url.split("?", 1)[1].split("&")]
    found += [part.partition("=")[2] for part in seen.query.split("&") if "=" in part]
    return {item: mask_secret(item) for item in found if len(item) >= MIN_CREDENTIAL_LENGTH}


def curl(
    seen: Seen,
    replacements: dict[str, str],
    bodies: BodyFiles | None = None,
    *,
    mask_other_credentials: bool = True,
) -> str:
    """The request as a shell command that replays it as printed. Each secret is replaced
    (whole tokens) by its stand-in: one that is a shell expression (`$CONTRACT_API_KEY`,
    `${CONTRACT_API_KEY%?}x`) stands outside the quotes for the shell to expand; any other
    (`mask_secret`'s form) is plain text. Another credential-carrying header is masked by
    name, unless the caller made every such credential up (the harness's wrong keys). With
    `bodies`, a body too long to print, or not text, goes to a file the command reads
    (`--data-binary @file`)."""
    url = seen.base_url.rstrip("/") + seen.path + (f"?{seen.query}" if seen.query else "")
    parts = ["curl", "-sS", "-X", seen.method, url]
    for name, value in seen.request_headers:
        # A credential the caller named (its key) becomes its stand-in below; any other
        # credential-carrying header (a cookie, a second Authorization) is masked by name.
        shown = mask_values(value, replacements) != value or not mask_other_credentials
        parts += ["-H", f"{name}: {value if shown else mask_header(name, value)}"]
    if seen.request_body:
        parts += _body_arguments(seen.request_body, replacements, bodies)
    return " ".join(_quote(part, replacements) for part in parts)


MAX_BODY_PRINTED = 2000  # characters of a request body a curl carries inline


@dataclass
class BodyFiles:
    """Where request bodies too long to print are written (next to the reports), one file
    per distinct body, named by its digest; at most `limit` files, the rest counted in
    `dropped` (their curl carries the body cut short, saying so)."""

    directory: Path
    limit: int = 200
    dropped: int = 0
    _written: set[str] = field(default_factory=set, repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def write(self, body: bytes) -> Path | None:
        name = f"body-{hashlib.sha256(body).hexdigest()[:16]}.bin"
        with self._lock:
            if name not in self._written:
                if len(self._written) >= self.limit:
                    self.dropped += 1
                    return None
                self.directory.mkdir(parents=True, exist_ok=True)
                (self.directory / name).write_bytes(body)
                self._written.add(name)
        return self.directory / name


def _body_arguments(
    body: bytes, replacements: dict[str, str], bodies: BodyFiles | None
) -> list[str]:
    text = body.decode("utf-8", "surrogateescape")
    if bodies is None or (len(text) <= MAX_BODY_PRINTED and not _binary(text)):
        return ["--data-raw", body.decode("utf-8", "replace")]
    # No secret reaches a file: one in the body is written as its stand-in.
    masked = mask_values(text, replacements).encode("utf-8", "surrogateescape")
    path = bodies.write(masked)
    if path is None:
        cut = body[:MAX_BODY_PRINTED].decode("utf-8", "replace")
        return ["--data-raw", f"{cut}...({len(body)} bytes in all; --data-binary files full)"]
    return ["--data-binary", f"@{path}"]


def _binary(text: str) -> bool:
    """Text a shell argument cannot carry as sent: a NUL, or bytes that are not UTF-8."""
    return "\0" in text or any("\udc80" <= char <= "\udcff" for char in text)


def _quote(part: str, replacements: dict[str, str]) -> str:
    """Shell-quote `part`, each secret replaced by its stand-in; a stand-in that is a shell
    expression is left outside the single quotes, in double quotes, so the shell expands it."""
    expressions = {
        value: stand_in for value, stand_in in replacements.items() if stand_in[:1] == "$"
    }
    pattern = values_pattern(expressions)
    pieces, position = [], 0
    for found in pattern.finditer(part) if pattern is not None else ():
        if found.start() > position:
            pieces.append(mask_values(shlex.quote(part[position : found.start()]), replacements))
        pieces.append(f'"{expressions[found.group()]}"')
        position = found.end()
    if position < len(part) or not pieces:
        pieces.append(mask_values(shlex.quote(part[position:]), replacements))
    return "".join(pieces)


def json_or_not(body: bytes) -> Any:
    """The body as JSON, or `NOT_JSON`."""
    try:
        return json.loads(body)
    except (ValueError, RecursionError):  # nested past the parser's depth: not read as JSON
        return NOT_JSON


def _first(headers: tuple[tuple[str, str], ...], name: str) -> str | None:
    return next((value for key, value in headers if key == name), None)


def _error(seen: Seen) -> str:
    body = seen.response_json()
    message = body.get("error") if isinstance(body, dict) else None
    return repr(message) if isinstance(message, str) else ""
