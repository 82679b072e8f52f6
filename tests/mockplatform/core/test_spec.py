"""Loading openapi.yaml: a spec the mock cannot use is refused with the file and the reason."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from mockplatform.core.errors import SpecError
from mockplatform.core.spec import default_spec_path, load_spec


def _write_variant(tmp_path: Path, change) -> Path:
    document = yaml.safe_load(default_spec_path().read_text())
    change(document)
    path = tmp_path / "openapi.yaml"
    path.write_text(yaml.safe_dump(document))
    return path


def test_lifetime_is_read_from_the_spec(tmp_path: Path) -> None:
    def shorten(doc):
        doc["paths"]["/api/widget/token"]["post"]["x-token-lifetime-seconds"] = 5

    assert load_spec(_write_variant(tmp_path, shorten)).token_lifetime_seconds == 5


def test_missing_lifetime_is_refused(tmp_path: Path) -> None:
    def drop(doc):
        del doc["paths"]["/api/widget/token"]["post"]["x-token-lifetime-seconds"]

    with pytest.raises(SpecError, match="x-token-lifetime-seconds"):
        load_spec(_write_variant(tmp_path, drop))


def test_validation_follows_the_spec(tmp_path: Path) -> None:
    """Change the spec and the mock follows: a new language is accepted, no code change."""

    def add_tamil(doc):
        doc["components"]["schemas"]["TokenRequest"]["properties"]["language"]["enum"].append("ta")

    body = {"agentId": "550e8400-e29b-41d4-a716-446655440000", "language": "ta"}
    assert load_spec().operation("createWidgetToken").validate_request(body) is not None
    changed = load_spec(_write_variant(tmp_path, add_tamil))
    assert changed.operation("createWidgetToken").validate_request(body) is None


def test_error_messages_follow_the_spec(tmp_path: Path) -> None:
    def reword(doc):
        doc["paths"]["/api/widget/token"]["post"]["responses"]["401"]["content"][
            "application/json"
        ]["example"] = {"error": "Bad key"}

    changed = load_spec(_write_variant(tmp_path, reword))
    assert changed.error_body("createWidgetToken", 401) == {"error": "Bad key"}
    assert changed.operation("createWidgetToken").documented_errors(401) == ["Bad key"]


def test_documented_errors_are_each_examples_and_none_for_a_success() -> None:
    operation = load_spec().operation("createWidgetToken")
    for status in (code for code in operation.responses if code >= 400):
        wanted = [
            operation.example(status, name)["error"] for name in operation.example_choices(status)
        ]
        assert operation.documented_errors(status) == wanted
    assert operation.documented_errors(200) == []
    assert operation.documented_errors(418) == []


def test_not_openapi_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "x.yaml"
    path.write_text("just: text\n")
    with pytest.raises(SpecError, match=f"{path}: not an OpenAPI document"):
        load_spec(path)
