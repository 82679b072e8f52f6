"""The harness as pytest tests: `pytest --contract-base-url URL --contract-api-key KEY`.

Registered under the `pytest11` entry point, so it loads in every pytest run of this
environment: it stays inert (no import of schemathesis, no test added) unless
`--contract-base-url` is given. Then one test per check is added to the session; the first
to run runs the whole harness once, and each test reports its own check: FAIL fails with the
rule, curl and response; NOT VERIFIED is a skip (a failure with --contract-strict).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

# The checks that become tests, known before the run; every schemathesis check is folded
# into one `schemathesis` test.
OUR_CHECKS = (
    "accepts_valid_requests",
    "auth_first",
    "unknown_agent",
    "inactive_subscription",
    "unique_ids",
    "single_use",
    "no_api_key_echo",
    "documented_errors",
    "token_lifetime",
    "stateful_links",
)
SCHEMATHESIS_ITEM = "schemathesis"
_REPORT_KEY = pytest.StashKey[Any]()


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("contract", "contract harness (runs only with --contract-base-url)")
    group.addoption("--contract-base-url", help="check the implementation at this URL")
    group.addoption("--contract-api-key", help="an API key with an active subscription")
    group.addoption("--contract-agent-id", help="an active agent (default: the spec's example)")
    group.addoption("--contract-spec", help="openapi.yaml (default: the repository's)")
    group.addoption("--contract-inactive-key", help="a key whose subscription is inactive")
    group.addoption(
        "--contract-expiry", default="auto", help="auto, fast, realtime or jwt (see contract run)"
    )
    group.addoption("--contract-strict", action="store_true", help="NOT VERIFIED fails")
    group.addoption("--contract-max-examples", type=int, help="schemathesis examples per phase")
    group.addoption("--contract-phases", help="schemathesis phases, comma-separated")


def pytest_configure(config: pytest.Config) -> None:
    if config.getoption("contract_base_url") and not config.getoption("contract_api_key"):
        raise pytest.UsageError("--contract-base-url needs --contract-api-key")


@pytest.hookimpl(tryfirst=True)  # before -k / -m deselect: our tests are selectable like any
def pytest_collection_modifyitems(
    session: pytest.Session, config: pytest.Config, items: list[pytest.Item]
) -> None:
    if not config.getoption("contract_base_url"):
        return
    for name in (*OUR_CHECKS, SCHEMATHESIS_ITEM):
        node = f"contract[{name}]"
        items.append(ContractItem.from_parent(session, name=node, nodeid=node, check=name))


class ContractItem(pytest.Item):
    """One check of the harness's report, run as a test."""

    def __init__(self, *, check: str, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.check = check

    def runtest(self) -> None:
        from contract.outcomes import Outcome

        report = _report(self.config)
        if isinstance(report, str):
            pytest.fail(f"contract: could not test: {report}", pytrace=False)
        if self.check == SCHEMATHESIS_ITEM:
            ours = set(OUR_CHECKS)
            checks = [check for check in report.checks if check.name not in ours]
        else:
            checks = [check for check in report.checks if check.name == self.check]
        if not checks:
            pytest.skip(f"{self.check} did not run")
        failed = [check for check in checks if check.outcome is Outcome.FAIL]
        if failed:
            raise ContractFailure(failed)
        unverified = [check for check in checks if check.outcome is Outcome.NOT_VERIFIED]
        if unverified:
            why = "; ".join(f"{check.name}: {check.note}" for check in unverified)
            if report.strict:
                pytest.fail(f"NOT VERIFIED (--contract-strict): {why}", pytrace=False)
            pytest.skip(f"NOT VERIFIED: {why}")

    def repr_failure(self, excinfo: pytest.ExceptionInfo[BaseException], style=None) -> str:  # type: ignore[no-untyped-def]
        if isinstance(excinfo.value, ContractFailure):
            return excinfo.value.render()
        return str(super().repr_failure(excinfo, style=style))

    def reportinfo(self) -> tuple[Path | str, int | None, str]:
        return self.config.getoption("contract_base_url"), None, self.name


class ContractFailure(Exception):
    def __init__(self, checks: list[Any]) -> None:
        super().__init__(", ".join(check.name for check in checks))
        self.checks = checks

    def render(self) -> str:
        from contract.render import failure_details

        return "\n\n".join(failure_details(check) for check in self.checks)


def _report(config: pytest.Config) -> Any:
    """Run the harness once per session; the report, or the one-line reason it could not test."""
    if _REPORT_KEY not in config.stash:
        from contract.runner import run
        from contract.settings import ContractError, ExpiryMode, Settings

        option = config.getoption
        try:
            settings = Settings(
                base_url=option("contract_base_url"),
                api_key=option("contract_api_key"),
                agent_id=option("contract_agent_id"),
                spec_path=Path(option("contract_spec")) if option("contract_spec") else None,
                inactive_key=option("contract_inactive_key"),
                expiry=ExpiryMode(option("contract_expiry")),
                strict=option("contract_strict"),
            )
            if option("contract_max_examples"):
                settings.max_examples = option("contract_max_examples")
            if option("contract_phases") is not None:
                settings.phases = tuple(filter(None, option("contract_phases").split(",")))
            config.stash[_REPORT_KEY] = run(settings)
        except (ContractError, ValueError) as exc:
            config.stash[_REPORT_KEY] = str(exc)
    return config.stash[_REPORT_KEY]
