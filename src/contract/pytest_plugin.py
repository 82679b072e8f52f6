"""The harness as pytest tests: `pytest --contract-base-url URL --contract-api-key KEY`.

Registered under the `pytest11` entry point, so it loads in every pytest run of this
environment: it stays inert (no import of schemathesis, no test added) unless
`--contract-base-url` is given. Then one test per check of contract.registry is added to
the session, selectable like any test (`-k`, deselection): the first to run runs the harness
once with only the selected checks, so what is deselected is not sent either. Each test
reports its own check: FAIL fails with the rule, curl and response; WARN passes, listed in
the session's summary; NOT VERIFIED is a skip (WARN and NOT VERIFIED fail with
--contract-strict). A target that could not be tested is an ERROR of every test, apart from
any violation.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from _pytest._code.code import TracebackStyle

_REPORT_KEY = pytest.StashKey[Any]()
_WARNINGS_KEY = pytest.StashKey[list[str]]()


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("contract", "contract harness (runs only with --contract-base-url)")
    group.addoption("--contract-base-url", help="check the implementation at this URL")
    group.addoption("--contract-api-key", help="an API key with an active subscription")
    group.addoption("--contract-agent-id", help="an active agent (default: the spec's example)")
    group.addoption("--contract-spec", help="openapi.yaml (default: the repository's)")
    group.addoption(
        "--contract-inactive-key",
        action="append",
        default=[],
        help="a key whose subscription is inactive (repeatable)",
    )
    group.addoption(
        "--contract-expiry", default="auto", help="auto, fast, realtime or jwt (see contract run)"
    )
    group.addoption("--contract-inactive-agent-id", help="an inactive agent: expect 404")
    group.addoption("--contract-instance-id", help="an instance of the agent: expect 200")
    group.addoption(
        "--contract-other-instance-id", help="an instance of another agent: expect 404 (assumed)"
    )
    group.addoption(
        "--contract-no-redeem", action="store_true", help="the target has no redeem: send none"
    )
    group.addoption("--contract-strict", action="store_true", help="WARN and NOT VERIFIED fail")
    group.addoption(
        "--contract-allow",
        action="append",
        default=[],
        help="a check --contract-strict spares (CHECK:STATUS: its WARNs at that status)",
    )
    group.addoption("--contract-max-requests", type=int, help="send at most N requests")
    group.addoption("--contract-rate", type=float, help="at most N requests per second")
    group.addoption("--contract-max-examples", type=int, help="schemathesis examples per phase")
    group.addoption("--contract-phases", help="schemathesis phases, comma-separated")


def pytest_configure(config: pytest.Config) -> None:
    if config.getoption("contract_base_url") and not config.getoption("contract_api_key"):
        raise pytest.UsageError("--contract-base-url needs --contract-api-key")


def pytest_terminal_summary(terminalreporter: Any, config: pytest.Config) -> None:
    """WARN: the target chose otherwise where the spec states our assumption, or was lenient."""
    said = config.stash.get(_WARNINGS_KEY, [])
    if said:
        terminalreporter.section("contract WARN (passed; failures with --contract-strict)")
        for line in said:
            terminalreporter.line(f"WARN {line}")


@pytest.hookimpl(tryfirst=True)  # before -k / -m deselect: our tests are selectable like any
def pytest_collection_modifyitems(
    session: pytest.Session, config: pytest.Config, items: list[pytest.Item]
) -> None:
    if not config.getoption("contract_base_url"):
        return
    from contract.registry import CHECKS

    for check in CHECKS:
        node = f"contract[{check.name}]"
        items.append(ContractItem.from_parent(session, name=node, nodeid=node, check=check.name))


class ContractItem(pytest.Item):
    """One check of the harness's report, run as a test."""

    def __init__(self, *, check: str, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.check = check

    def setup(self) -> None:
        report = _report(self.session)
        if isinstance(report, str):  # could not test: failing setup is an ERROR, not a FAIL
            pytest.fail(f"contract: could not test: {report}", pytrace=False)

    def runtest(self) -> None:
        from contract.outcomes import Outcome

        report = _report(self.session)
        check = report.get(self.check)
        if check is None:
            pytest.skip(f"{self.check} did not run (no schemathesis phase, or not selected)")
        if check.outcome is Outcome.FAIL:
            raise ContractFailure([check])
        if check.outcome is Outcome.WARN:
            if report.counts_as_failure(check):
                raise ContractFailure([check])
            # Not a Python warning: a project running with filterwarnings=error would turn it
            # into a failure. A property (JUnit shows it) and a line in the session's summary.
            from contract.render import WARN_PROPERTY

            for warning in check.warnings:
                self.user_properties.append((WARN_PROPERTY, f"{check.name}: {warning.rule}"))
            said = f"{check.name}: {check.warnings[0].rule}"
            self.config.stash.setdefault(_WARNINGS_KEY, []).append(said)
        if check.outcome is Outcome.NOT_VERIFIED:
            why = f"NOT VERIFIED: {check.name}: {check.note}"
            if report.counts_as_failure(check):
                pytest.fail(f"{why} (--contract-strict)", pytrace=False)
            pytest.skip(why)

    def repr_failure(
        self, excinfo: pytest.ExceptionInfo[BaseException], style: TracebackStyle | None = None
    ) -> str:
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


def _report(session: pytest.Session) -> Any:
    """Run the harness once per session, only the selected checks; the report, or the
    one-line reason it could not test."""
    config = session.config
    if _REPORT_KEY not in config.stash:
        from contract.registry import check_allowance
        from contract.runner import run
        from contract.settings import ContractError, ExpiryMode, Settings

        option = config.getoption
        selected = frozenset(item.check for item in session.items if isinstance(item, ContractItem))
        try:
            for allowed in option("contract_allow"):
                check_allowance(allowed)
            settings = Settings(
                base_url=option("contract_base_url"),
                api_key=option("contract_api_key"),
                agent_id=option("contract_agent_id"),
                instance_id=option("contract_instance_id"),
                inactive_agent_id=option("contract_inactive_agent_id"),
                other_instance_id=option("contract_other_instance_id"),
                spec_path=Path(option("contract_spec")) if option("contract_spec") else None,
                inactive_keys=tuple(option("contract_inactive_key")),
                expiry=ExpiryMode(option("contract_expiry")),
                no_redeem=option("contract_no_redeem"),
                strict=option("contract_strict"),
                allow=frozenset(option("contract_allow")),
                max_requests=option("contract_max_requests"),
                rate=option("contract_rate"),
                only=selected,
            )
            if option("contract_max_examples"):
                settings.max_examples = option("contract_max_examples")
            if option("contract_phases") is not None:
                settings.phases = tuple(filter(None, option("contract_phases").split(",")))
            config.stash[_REPORT_KEY] = run(settings)
        except (ContractError, ValueError) as exc:
            config.stash[_REPORT_KEY] = str(exc)
    return config.stash[_REPORT_KEY]
