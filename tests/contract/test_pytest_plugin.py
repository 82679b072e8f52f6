"""The pytest plugin: inert without its options; with them, one test per check of a real run."""

from __future__ import annotations

import contextlib

import httpx
import pytest

from contract.runner import run
from mockplatform.core.spec import Spec
from mockplatform.server.world import DEFAULT_AGENT_ID, DEFAULT_API_KEY
from mockplatform.testing import serve_in_thread
from tests.contract.conftest import started
from tests.contract.fake_platform import (
    ACTIVE_KEY,
    CANCELLED_KEY,
    INACTIVE_KEY,
    Behaviour,
    create_fake_app,
)
from tests.contract.targets import fake_settings

pytest_plugins = ["pytester"]
QA_SUITE = "def test_qa_own_check():\n    assert True\n"


@pytest.fixture(autouse=True, scope="module")
def warm_imports(spec: Spec) -> None:
    """Import what a run imports lazily (httpcore's connection code, schemathesis's engine and
    phases) before pytester snapshots sys.modules. Modules first imported inside one in-process
    run are dropped after it, and imported again they are new objects that the modules kept
    still know only the old ones of: a re-imported httpcore raises exceptions httpx no longer
    recognises, and after a re-imported schemathesis engine a later run in this process
    generated no requests at all (test_faults, run after this file)."""
    with contextlib.suppress(httpx.HTTPError):
        httpx.post("http://127.0.0.1:1", timeout=1)
    fake = create_fake_app(spec, Behaviour(), DEFAULT_AGENT_ID)
    with serve_in_thread(fake) as url:
        run(fake_settings(url, phases=("examples", "coverage", "fuzzing"), max_examples=2))


class Ran:
    def __init__(self, result: pytest.RunResult) -> None:
        self.returncode = int(result.ret)
        self.stdout = result.stdout.str()


def pytest_in(pytester: pytest.Pytester, *args: str) -> Ran:
    """A QA project of its own: one test file, our plugin found by its entry point."""
    pytester.makepyfile(test_qa=QA_SUITE)
    return Ran(pytester.runpytest_inprocess("-p", "no:cacheprovider", "-rfEs", *args))


def test_inert_without_its_options(pytester) -> None:
    ran = pytest_in(pytester, "-q", "-p", "no:randomly")
    assert ran.returncode == 0, ran.stdout + ran.stderr
    assert "1 passed" in ran.stdout
    assert "contract[" not in ran.stdout


def test_runs_the_checks_as_tests_against_the_mock(pytester, harness_mock_url) -> None:
    ran = pytest_in(
        pytester, "-v", "--contract-base-url", harness_mock_url,
        "--contract-api-key", DEFAULT_API_KEY, "--contract-phases", "",
        "--contract-expiry", "fast",
    )  # fmt: skip
    assert ran.returncode == 0, ran.stdout + ran.stderr
    assert "contract[auth_first] PASSED" in ran.stdout
    assert "contract[token_lifetime] PASSED" in ran.stdout
    assert "test_qa_own_check PASSED" in ran.stdout
    # With no schemathesis phase, its checks did not run: skipped, never passed.
    assert "contract[not_a_server_error] SKIPPED" in ran.stdout


def test_deselected_checks_send_nothing(pytester, serve_fake) -> None:
    """`-k` decides what is sent, not only what is shown."""
    url = serve_fake()
    ran = pytest_in(
        pytester, "-v", "--contract-base-url", url, "--contract-api-key", ACTIVE_KEY,
        "-k", "unknown_agent",
    )  # fmt: skip
    assert ran.returncode == 0, ran.stdout
    assert "contract[unknown_agent] PASSED" in ran.stdout
    assert "contract[single_use]" not in ran.stdout
    platform = started[url]
    assert len(platform.tokens) == 1  # the preflight's; no schemathesis, no other check
    assert platform.sent <= 4


def test_a_violation_fails_its_test_with_the_rule(pytester, serve_fake) -> None:
    url = serve_fake(Behaviour(reusable=True))
    ran = pytest_in(
        pytester, "--contract-base-url", url, "--contract-api-key", ACTIVE_KEY,
        "--contract-phases", "",
    )  # fmt: skip
    assert ran.returncode == 1
    assert "FAILED contract[single_use]" in ran.stdout
    assert "a token is single use; the second redeem" in ran.stdout
    assert "contract[unique_ids]" not in ran.stdout.split("short test summary")[-1]


def test_unreachable_target_is_an_error_not_a_violation(pytester) -> None:
    ran = pytest_in(
        pytester, "--contract-base-url", "http://127.0.0.1:1", "--contract-api-key", "k"
    )
    assert ran.returncode == 1
    assert "could not test: cannot reach http://127.0.0.1:1" in ran.stdout
    assert "ERROR contract[auth_first]" in ran.stdout
    assert "FAILED contract[" not in ran.stdout


def test_a_warning_passes_with_a_warning_unless_strict(pytester, serve_fake) -> None:
    """400 for an oversized body: our assumption (413) differs, the documentation is silent."""
    url = serve_fake(Behaviour(size_as_400=True))
    args = [
        "-v", "--contract-base-url", url, "--contract-api-key", ACTIVE_KEY,
        "--contract-phases", "", "-k", "documented_errors",
    ]  # fmt: skip
    ran = pytest_in(pytester, *args, "--junitxml", "qa.xml")
    assert ran.returncode == 0, ran.stdout
    assert "contract[documented_errors] PASSED" in ran.stdout
    assert "WARN documented_errors: an oversized body" in ran.stdout
    junit = (pytester.path / "qa.xml").read_text()
    assert '<property name="contract WARN" value="documented_errors: an oversized body' in junit
    strict = pytest_in(pytester, *args, "--contract-strict")
    assert strict.returncode == 1
    assert "FAILED contract[documented_errors]" in strict.stdout


def test_the_new_options_reach_the_run(pytester, serve_fake) -> None:
    """--contract-inactive-key is repeatable (each checked), --contract-no-redeem sends no
    redeem, and --contract-allow takes CHECK:STATUS (a bad one is an ERROR, not a run)."""
    url = serve_fake(Behaviour(cancelled_ok=True))
    args = ["--contract-base-url", url, "--contract-api-key", ACTIVE_KEY, "--contract-phases", ""]
    keys = ["--contract-inactive-key", INACTIVE_KEY, "--contract-inactive-key", CANCELLED_KEY]
    ran = pytest_in(pytester, "-v", *args, *keys, "--contract-no-redeem")
    assert "FAILED contract[inactive_subscription]" in ran.stdout
    assert "SKIPPED" in ran.stdout and "--no-redeem: the target declares no" in ran.stdout
    assert not any(token.used for token in started[url].tokens.values())
    bad = pytest_in(pytester, *args, "--contract-allow", "auth_first:teapot")
    assert "write CHECK:STATUS with an HTTP status" in bad.stdout
