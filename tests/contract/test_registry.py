"""One place per check: the registry is what the README's table, the spec and the CLI agree on."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from contract import registry
from contract.settings import ContractError
from mockplatform.core.spec import load_spec, universal_rules

README = Path(__file__).resolve().parents[2] / "README.md"
TABLE = re.compile(r"<!-- checks:begin[^>]*-->\n(.*?)\n<!-- checks:end -->", re.S)


def test_the_readme_table_is_the_registry() -> None:
    found = TABLE.search(README.read_text(encoding="utf-8"))
    assert found is not None, "README.md lost its <!-- checks:begin --> marker"
    assert found.group(1) == registry.markdown_table(), (
        "README's table of checks differs from contract.registry; regenerate it with "
        ".venv/bin/python -c 'from contract.registry import markdown_table; "
        "print(markdown_table())'"
    )


def test_names_are_unique_and_every_check_is_described() -> None:
    names = [check.name for check in registry.CHECKS]
    assert len(names) == len(set(names))
    assert all(check.description for check in registry.CHECKS)


def test_universal_rules_are_the_specs() -> None:
    rules = universal_rules(load_spec())
    claimed = {check.universal for check in registry.CHECKS if check.universal}
    assert claimed and claimed <= set(rules)


def test_checks_that_cannot_apply_to_this_api_are_not_registered() -> None:
    assert not {
        "use_after_free",
        "ensure_resource_availability",
        "object_level_authorization",
    } & set(registry.BY_NAME)


def test_selection() -> None:
    assert registry.select(["auth_first", "unique_ids"], ["unique_ids"]) == {"auth_first"}
    assert registry.select(None, ["auth_first"]) == set(registry.BY_NAME) - {"auth_first"}
    with pytest.raises(ContractError, match="--skip: unknown check 'nope'"):
        registry.select(None, ["nope"])
