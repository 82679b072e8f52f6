"""openapi.yaml, loaded once into an index every request stage shares.

The spec is the single source of truth: request validators are compiled from its schemas,
error bodies come from its examples, and the token lifetime from its
`x-token-lifetime-seconds` extension. Nothing here re-reads the YAML per request.
"""

from __future__ import annotations

import copy
import functools
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import Any

import jsonschema_rs
import yaml
from jsonschema import Draft202012Validator, FormatChecker, ValidationError
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012

from mockplatform.core.errors import SpecError
from mockplatform.core.resources import SPEC_FILE, packaged

# libyaml's safe loader where PyYAML was built with it: the same documents, read much
# faster, and reading them is most of the mock's start-up (openapi.yaml and every scenario file).
YAML_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
SPEC_URI = "urn:mockplatform:openapi"
HTTP_METHODS = ("get", "put", "post", "delete", "options", "head", "patch", "trace")
_MAX_SHOWN_VALUE = 60
# The operations both halves address by id (openapi.yaml's operationId).
CREATE_TOKEN = "createWidgetToken"
REDEEM_TOKEN = "redeemWidgetToken"


def default_spec_path() -> Path:
    """The openapi.yaml shipped inside the package (the repository root's, in a checkout)."""
    return packaged(SPEC_FILE)


@dataclass(frozen=True)
class Invalid:
    """Why a JSON document does not match a schema: the field at fault and a short sentence."""

    field: str
    detail: str


@dataclass(frozen=True)
class Operation:
    """One documented operation, with everything a request stage needs precompiled."""

    operation_id: str
    method: str
    path: str
    document: dict[str, Any]
    request_validator: Draft202012Validator | None
    request_defaults: dict[str, Any]
    responses: dict[int, dict[str, Any]]
    response_validators: dict[int, Draft202012Validator] = field(repr=False)
    # The hot path's check, compiled (Rust) from the same schema: answers "valid?" in well
    # under a microsecond. Only a body it rejects goes through `request_validator`, which
    # words the error; so the fast check can only ever make an answer faster, not different.
    request_check: Callable[[Any], bool] | None = field(default=None, repr=False, compare=False)
    # The same for each documented response body: the proxy judges every answer that passes.
    response_checks: dict[int, Callable[[Any], bool]] = field(
        default_factory=dict, repr=False, compare=False
    )

    requires_auth: bool = True
    # The whole contract, for the `$ref`s inside a response (`documented_errors`).
    root: dict[str, Any] = field(default_factory=dict, repr=False, compare=False)

    def extension(self, name: str, default: Any = None) -> Any:
        return self.document.get(name, default)

    def validate_request(self, body: Any) -> Invalid | None:
        if self.request_validator is None:
            return None
        return _checked(self.request_check, self.request_validator, body)

    def validate_response(self, status: int, body: Any) -> Invalid | None:
        """Check a response body against the documented schema for `status`."""
        if status not in self.responses:
            return Invalid("", f"{status} is not a documented response of {self.title}")
        validator = self.response_validators.get(status)
        if validator is None:
            return None
        return _checked(self.response_checks.get(status), validator, body)

    def example_names(self, status: int) -> list[str]:
        media = _json_media(self.responses.get(status, {}))
        return list(media.get("examples", {}))

    def example_choices(self, status: int) -> list[str | None]:
        """Each named example of `status`, or `[None]`: its one example, unnamed."""
        return [*self.example_names(status)] or [None]

    def example(self, status: int, name: str | None = None) -> dict[str, Any]:
        """The documented example body for `status` (a named one where several exist)."""
        media = _json_media(self.responses[status])
        examples = media.get("examples")
        if examples:
            chosen = examples[name] if name else next(iter(examples.values()))
            return copy.deepcopy(chosen["value"])
        return copy.deepcopy(media["example"])

    def documented_errors(self, status: int) -> list[str]:
        """The `error` of each documented example of `status` (none if it documents none)."""
        return documented_errors(self.root, self.responses.get(status, {}))

    @property
    def title(self) -> str:
        return f"{self.method} {self.path}"


@dataclass(frozen=True)
class Spec:
    """The loaded contract: its operations by id, and the facts both halves read from it."""

    path: Path
    document: dict[str, Any]
    operations: dict[str, Operation]

    def operation(self, operation_id: str) -> Operation:
        try:
            return self.operations[operation_id]
        except KeyError:
            raise SpecError(
                f"{self.path}: no operation with operationId {operation_id!r}"
            ) from None

    def error_body(
        self,
        operation_id: str,
        status: int,
        *,
        example: str | None = None,
        field: str | None = None,
        detail: str | None = None,
    ) -> dict[str, Any]:
        """The documented body for an error: the example's `error`, plus field and detail."""
        body = {"error": self.operation(operation_id).example(status, example)["error"]}
        if field is not None:
            body["field"] = field
        if detail is not None:
            body["detail"] = detail
        return body

    @functools.cached_property
    def token_lifetime_seconds(self) -> float:
        return float(self.operation(CREATE_TOKEN).extension("x-token-lifetime-seconds"))


def read_yaml(read: Callable[..., Any], text: str) -> Any:
    """`read` (`yaml.load` or `yaml.compose`) with libyaml; a document it refuses is read
    again by PyYAML's own loader, which words the error (line, column, problem)."""
    try:
        return read(text, Loader=YAML_LOADER)
    except yaml.YAMLError:
        return read(text, Loader=yaml.SafeLoader)


def load_spec(path: str | Path | None = None) -> Spec:
    """Read, check and index openapi.yaml; any problem becomes a `SpecError` naming the file."""
    spec_path = Path(path) if path is not None else default_spec_path()
    try:
        text = spec_path.read_text(encoding="utf-8")
    except OSError as exc:
        raise SpecError(f"{spec_path}: cannot read the spec ({exc.strerror})") from None
    try:
        document = read_yaml(yaml.load, text)
    except yaml.YAMLError as exc:
        raise SpecError(f"{spec_path}: not valid YAML: {exc}") from None
    if not isinstance(document, dict) or "paths" not in document:
        raise SpecError(f"{spec_path}: not an OpenAPI document (no `paths`)")
    registry = Registry().with_resource(
        SPEC_URI, Resource.from_contents(document, default_specification=DRAFT202012)
    )
    fast_registry = jsonschema_rs.Registry([(SPEC_URI, document)])
    operations = {}
    for path_name, method, raw in _iter_operations(document):
        op_id = raw.get("operationId")
        if not op_id:
            raise SpecError(f"{spec_path}: {method.upper()} {path_name} has no operationId")
        operations[op_id] = _index_operation(
            spec_path, registry, fast_registry, path_name, method, raw
        )
    spec = Spec(spec_path, document, operations)
    _check_contract_marks(spec_path, document, "")
    lifetime = spec.operation(CREATE_TOKEN).extension("x-token-lifetime-seconds")
    if not isinstance(lifetime, int | float) or lifetime <= 0:
        raise SpecError(
            f"{spec_path}: {CREATE_TOKEN} needs a positive number in x-token-lifetime-seconds"
        )
    return spec


def _iter_operations(document: dict[str, Any]) -> Iterator[tuple[str, str, dict[str, Any]]]:
    for path_name, item in document["paths"].items():
        for method in HTTP_METHODS:
            if method in item:
                yield path_name, method, item[method]


def _index_operation(
    spec_path: Path,
    registry: Registry,
    fast_registry: jsonschema_rs.Registry,
    path_name: str,
    method: str,
    raw: dict[str, Any],
) -> Operation:
    pointer = f"/paths/{_escape(path_name)}/{method}"
    document = registry.contents(SPEC_URI)
    request_validator = None
    request_check = None
    request_defaults: dict[str, Any] = {}
    body = raw.get("requestBody")
    if body is not None:
        body = resolve_ref(document, body)
        if "application/json" not in body.get("content", {}):
            raise SpecError(f"{spec_path}: {method.upper()} {path_name} must accept JSON")
        schema_pointer = f"{pointer}/requestBody/content/application~1json/schema"
        request_validator = _validator(registry, schema_pointer)
        request_check = _fast_check(fast_registry, schema_pointer)
        schema = resolve_ref(document, body["content"]["application/json"]["schema"])
        request_defaults = {
            name: prop["default"]
            for name, prop in schema.get("properties", {}).items()
            if "default" in prop
        }
    responses: dict[int, dict[str, Any]] = {}
    response_validators: dict[int, Draft202012Validator] = {}
    response_checks: dict[int, Callable[[Any], bool]] = {}
    for status, response in raw.get("responses", {}).items():
        code = int(status)
        responses[code] = resolve_ref(document, response)
        if "schema" in _json_media(responses[code]):
            schema_pointer = _schema_pointer(raw, pointer, status)
            response_validators[code] = _validator(registry, schema_pointer)
            response_checks[code] = _fast_check(fast_registry, schema_pointer)
    return Operation(
        operation_id=raw["operationId"],
        method=method.upper(),
        path=path_name,
        document=raw,
        request_validator=request_validator,
        request_defaults=request_defaults,
        responses=responses,
        response_validators=response_validators,
        request_check=request_check,
        response_checks=response_checks,
        requires_auth=requires_auth(document, raw),
        root=document,
    )


def _schema_pointer(raw: dict[str, Any], pointer: str, status: str) -> str:
    """A JSON pointer to a response's JSON schema, following a `$ref`'d response object."""
    response = raw["responses"][status]
    base = (
        response["$ref"].removeprefix("#")
        if "$ref" in response
        else f"{pointer}/responses/{status}"
    )
    return f"{base}/content/application~1json/schema"


def _json_media(response: dict[str, Any]) -> dict[str, Any]:
    return response.get("content", {}).get("application/json", {})


def _validator(registry: Registry, pointer: str) -> Draft202012Validator:
    return Draft202012Validator(
        {"$ref": f"{SPEC_URI}#{pointer}"}, registry=registry, format_checker=FormatChecker()
    )


def _fast_check(registry: jsonschema_rs.Registry, pointer: str) -> Callable[[Any], bool]:
    """A compiled yes/no check of the schema at `pointer` (it may raise on what it cannot take)."""
    validator = jsonschema_rs.Draft202012Validator(
        {"$ref": f"{SPEC_URI}#{pointer}"}, validate_formats=True, registry=registry
    )
    return validator.is_valid


def requires_auth(document: dict[str, Any], operation: dict[str, Any]) -> bool:
    """Whether `operation` asks for credentials: its own `security`, else the document's."""
    return any(operation.get("security", document.get("security", [])))


def documented_errors(document: dict[str, Any], response: Any) -> list[str]:
    """The `error` of each example of a documented response (`$ref`s followed): the messages
    the contract allows for its status. The mock answers them; the harness holds targets to them."""
    media = _json_media(resolve_ref(document, response) or {})
    examples = [media["example"]] if "example" in media else []
    examples += [
        resolve_ref(document, item).get("value") for item in media.get("examples", {}).values()
    ]
    return [item["error"] for item in examples if isinstance(item, dict) and "error" in item]


def bearer_credential(header: str) -> str | None:
    """The key in an `Authorization: Bearer <key>` header (the contract's security scheme),
    or None when the header is not of that form."""
    scheme, _, key = header.strip().partition(" ")
    key = key.strip()
    return key if scheme.lower() == "bearer" and key else None


def resolve_ref(document: dict[str, Any], node: Any) -> Any:
    """`node`, or what its `$ref` (a local JSON pointer, `#/...`) points to in `document`."""
    while isinstance(node, dict) and "$ref" in node:
        node = walk_pointer(document, node["$ref"])
    return node


def walk_pointer(document: Any, pointer: str) -> Any:
    """What a JSON pointer (RFC 6901, `/a/b~1c`, or a `$ref`'s `#/a/b`) names in `document`:
    the one walk of a pointer (a missing step raises KeyError, IndexError or TypeError)."""
    node = document
    for part in pointer.removeprefix("#").split("/")[1:]:
        step = part.replace("~1", "/").replace("~0", "~")
        node = node[int(step)] if isinstance(node, list) else node[step]
    return node


def _escape(segment: str) -> str:
    return segment.replace("~", "~0").replace("/", "~1")


def _checked(
    check: Callable[[Any], bool] | None, validator: Draft202012Validator, instance: Any
) -> Invalid | None:
    """`instance`'s first problem: none when the compiled check passes it, else jsonschema's
    wording (jsonschema also decides whatever the compiled check cannot take)."""
    try:
        if check is not None and check(instance):
            return None
    except Exception:  # e.g. a number beyond 64 bits: let jsonschema decide
        pass
    return _first_problem(validator, instance)


def _first_problem(validator: Draft202012Validator, instance: Any) -> Invalid | None:
    errors = sorted(validator.iter_errors(instance), key=_error_order)
    return _describe(errors[0]) if errors else None


def _error_order(error: ValidationError) -> tuple[Any, ...]:
    """Report the shallowest error first and, for one field, a wrong type before anything
    else (`callerName: 5` "must be a string", not what a pattern forbids); among equals, in
    a stable order."""
    path = [str(p) for p in error.absolute_path]
    return (len(path), path, error.validator != "type", error.validator)


def _describe(error: ValidationError) -> Invalid:
    """A short sentence naming the field; never echoes a huge value back to the client."""
    where = ".".join(str(part) for part in error.absolute_path)
    kind, expected, value = error.validator, error.validator_value, error.instance
    if kind == "required":
        missing = next(name for name in expected if name not in value)
        name = f"{where}.{missing}" if where else missing
        return Invalid(name, f"{name}: is required")
    if kind == "type" and not where:
        return Invalid("", f"the body must be a JSON {expected}, not {json_type(value)}")
    if kind == "type":
        return Invalid(where, f"{where}: must be a {expected}, not {json_type(value)}")
    if kind == "format":
        return Invalid(where, f"{where}: {_show(value)} is not a valid {expected.upper()}")
    if kind == "enum":
        options = ", ".join(str(option) for option in expected)
        return Invalid(where, f"{where}: {_show(value)} is not one of {options}")
    if kind in ("maxLength", "minLength"):
        bound = "at most" if kind == "maxLength" else "at least"
        return Invalid(where, f"{where}: must be {bound} {expected} characters, not {len(value)}")
    if kind == "not" and isinstance(expected, dict) and "pattern" in expected:
        forbidden = expected["pattern"]
        return Invalid(where, f"{where}: {_show(value)} contains what {forbidden} forbids")
    if kind == "pattern":
        return Invalid(where, f"{where}: {_show(value)} does not match the pattern {expected}")
    return Invalid(where, f"{where or 'body'}: {_shorten(error.message)}")


def json_type(value: Any) -> str:
    """The JSON type name of a parsed value (a bool is a boolean, not a number)."""
    names = {dict: "object", list: "array", str: "string", bool: "boolean", type(None): "null"}
    return names.get(type(value), "number")


def _show(value: Any) -> str:
    return _shorten(repr(value))


def _shorten(text: str) -> str:
    return text if len(text) <= _MAX_SHOWN_VALUE else text[: _MAX_SHOWN_VALUE - 3] + "..."


# -- What the platform documented, and what we assumed (`x-contract`) ------------------------
# The one reader of the classification (openapi.yaml's description states the design): the
# mock keeps enforcing every rule; the harness and the validation proxy ask here how hard to
# judge a target that breaks one.

CONTRACT_MARK = "x-contract"
UNIVERSAL_RULES = "x-contract-universal"


class RuleKind(StrEnum):
    """Who stated a rule: the platform's docs, every implementation, the mock, or us."""

    DOCUMENTED = "documented"
    UNIVERSAL = "universal"
    SIMULATED = "simulated"
    ASSUMED = "assumed"


def rule_kind(
    node: Any, keyword: str | None = None, inherited: RuleKind = RuleKind.DOCUMENTED
) -> RuleKind:
    """The kind of the rules `node` states (an operation, a response or a schema), or of
    its one `keyword` (a schema keyword or a named rule); unmarked means `inherited`."""
    mark = node.get(CONTRACT_MARK) if isinstance(node, dict) else None
    if isinstance(mark, str):
        return RuleKind(mark)
    if isinstance(mark, dict) and keyword is not None and keyword in mark:
        return RuleKind(mark[keyword])
    return inherited


def operation_kind(operation: Operation) -> RuleKind:
    return rule_kind(operation.document)


def response_kind(operation: Operation, status: int) -> RuleKind:
    """The kind of a documented response (its status and body); an undocumented one is
    judged by the operation's kind."""
    return rule_kind(operation.responses.get(status), inherited=operation_kind(operation))


def named_rule_kind(operation: Operation, name: str) -> RuleKind:
    """The kind of a rule a request field's schema names in its mark (`x-contract: {NAME:
    KIND}`, e.g. instanceId's `instance-of-the-agent`); documented when no field names it."""
    media = _json_media(resolve_ref(operation.root, operation.document.get("requestBody", {})))
    schema = resolve_ref(operation.root, media.get("schema", {}))
    for field_schema in schema.get("properties", {}).values():
        mark = field_schema.get(CONTRACT_MARK) if isinstance(field_schema, dict) else None
        if isinstance(mark, dict) and name in mark:
            return RuleKind(mark[name])
    return RuleKind.DOCUMENTED


def universal_rules(spec: Spec) -> dict[str, str]:
    """The rules held of every implementation, by name, each with its sentence."""
    return dict(spec.document.get(UNIVERSAL_RULES, {}))


def documented_schema(spec: Spec, schema: Any) -> Any:
    """`schema` with `$ref`s resolved and every assumed keyword left out: what a request must
    satisfy by the platform's documentation alone."""
    schema = resolve_ref(spec.document, schema)
    if isinstance(schema, list):
        return [documented_schema(spec, item) for item in schema]
    if not isinstance(schema, dict):
        return schema
    return {
        keyword: documented_schema(spec, value)
        for keyword, value in schema.items()
        if keyword != CONTRACT_MARK and rule_kind(schema, keyword) is not RuleKind.ASSUMED
    }


def documented_request_problem(operation: Operation, spec: Spec, body: Any) -> Invalid | None:
    """Why `body` breaks the platform's documented request schema (assumptions aside)."""
    media = _json_media(operation.document.get("requestBody", {}))
    if "schema" not in media:
        return None
    schema = documented_schema(spec, media["schema"])
    return _first_problem(Draft202012Validator(schema, format_checker=FormatChecker()), body)


def _check_contract_marks(spec_path: Path, node: Any, where: str) -> None:
    """Every `x-contract` mark names a kind: a typo must not silently make a rule documented."""
    if isinstance(node, list):
        for index, item in enumerate(node):
            _check_contract_marks(spec_path, item, f"{where}/{index}")
        return
    if not isinstance(node, dict):
        return
    mark = node.get(CONTRACT_MARK)
    kinds = mark.values() if isinstance(mark, dict) else [] if mark is None else [mark]
    for kind in kinds:
        if kind not in set(RuleKind):
            choices = ", ".join(RuleKind)
            raise SpecError(
                f"{spec_path}: {where or '/'}/{CONTRACT_MARK}: {kind!r} is not one of {choices}"
            )
    for key, value in node.items():
        if key != CONTRACT_MARK:
            _check_contract_marks(spec_path, value, f"{where}/{_escape(str(key))}")
