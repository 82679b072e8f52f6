"""`contract diff` against live targets: the mock, and a platform another team wrote from the
seed's documentation (tests/contract/seed_platform.py), correct or with one release's flaw.

A spec whose tokens live 2 s (the same contract otherwise) keeps the real-time expiry short:
the seed platform has no controllable clock, so both sides wait once, in parallel. A correct
seed platform's tokens live as long as that spec says; the flawed one's 150 times longer.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from contract.cli import main
from mockplatform import create_app
from mockplatform.core.spec import Spec
from mockplatform.server.world import DEFAULT_AGENT_ID, DEFAULT_API_KEY
from mockplatform.testing import serve_in_thread
from tests.conftest import SHORT_LIFETIME
from tests.contract import seed_platform
from tests.contract.seed_platform import Flaws, create_seed_platform


@pytest.fixture
def mock_url(short_spec: Spec) -> Iterator[str]:
    """A mock of its own (its clock is moved) on the short-lived spec."""
    with serve_in_thread(create_app(spec=short_spec)) as url:
        yield url


def diff(
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
    short_spec: Spec,
    a: str,
    b: str,
    *extra: str,
) -> tuple[int, str, dict]:
    report = tmp_path / "diff.json"
    code = main(
        [
            "diff",
            "--base-url",
            a,
            "--api-key",
            DEFAULT_API_KEY,
            "--agent-id",
            DEFAULT_AGENT_ID,
            "--against",
            b,
            "--spec",
            str(short_spec.path),
            "--max-examples",
            "3",
            "--json",
            str(report),
            "--junit",
            str(tmp_path / "diff.xml"),
            "--quiet",
            *extra,
        ]
    )
    captured = capsys.readouterr()
    out = captured.out + captured.err
    return code, out, json.loads(report.read_text())


def against_seed(*flaws: str) -> list[str]:
    return [
        "--against-api-key",
        seed_platform.KEY,
        "--against-agent-id",
        seed_platform.AGENT_ID,
        "--against-instance-id",
        seed_platform.INSTANCE_ID,
        "--against-inactive-key",
        seed_platform.LAPSED_KEY,
        "--against-inactive-agent-id",
        seed_platform.INACTIVE_AGENT_ID,
        *flaws,
    ]


def differences(report: dict, outcome: str | None = None) -> list[str]:
    return [
        item["rule"]
        for check in report["checks"]
        for item in check["violations"] + check["warnings"]
        if outcome is None or check["outcome"] == outcome
    ]


def test_the_mock_against_itself_differs_in_nothing(capsys, tmp_path, short_spec, mock_url) -> None:
    """Tokens, call ids and timestamps differ on every answer: never a difference."""
    code, out, report = diff(
        capsys, tmp_path, short_spec, mock_url, mock_url, "--against-api-key", DEFAULT_API_KEY
    )
    assert code == 0, out
    assert differences(report) == []
    assert report["tables"]["differences by kind"] == {
        "universal": 0,
        "documented": 0,
        "simulated": 0,
        "assumed": 0,
    }
    assert all(check["requests"] > 0 for check in report["checks"]), report["checks"]


def test_legitimate_choices_are_listed_as_assumed_and_pass(
    capsys, tmp_path, short_spec, mock_url
) -> None:
    with serve_in_thread(create_seed_platform(Flaws(token_lifetime=SHORT_LIFETIME))) as seed_url:
        code, out, report = diff(capsys, tmp_path, short_spec, mock_url, seed_url, *against_seed())
    assert code == 0, out
    listed = differences(report, "WARN")
    assert listed, out
    assert all(rule.startswith("[assumed]") for rule in listed), listed
    assert any("422" in rule for rule in listed)  # 400 or 422 to an invalid body
    kept_and_more = len(listed) + sum(check["moreViolations"] for check in report["checks"])
    assert report["tables"]["differences by kind"]["assumed"] == kept_and_more
    # tokens and call ids differ by nature (JWTs here, opaque tokens there): never counted
    assert not any("field accessToken" in r or "field callId" in r for r in differences(report))


def test_a_reworded_error_message_fails_naming_both(capsys, tmp_path, short_spec, mock_url) -> None:
    flaws = Flaws(not_found_message="Agent does not exist", token_lifetime=SHORT_LIFETIME)
    with serve_in_thread(create_seed_platform(flaws)) as seed_url:
        code, out, report = diff(capsys, tmp_path, short_spec, mock_url, seed_url, *against_seed())
    assert code == 1, out
    failed = differences(report, "FAIL")
    assert any(
        "'Agent not found'" in rule and "'Agent does not exist'" in rule for rule in failed
    ), failed
    assert any("A conforms, B does not" in rule for rule in failed)


def test_tokens_that_outlive_the_contract_fail(capsys, tmp_path, short_spec, mock_url) -> None:
    flaws = Flaws(token_lifetime=300)  # 150 times the spec's, as 300 s would be against 60 s
    with serve_in_thread(create_seed_platform(flaws)) as seed_url:
        code, out, report = diff(capsys, tmp_path, short_spec, mock_url, seed_url, *against_seed())
    assert code == 1, out
    lifecycle = next(c for c in report["checks"] if c["name"] == "diff_token_lifecycle")
    assert lifecycle["outcome"] == "FAIL", lifecycle
    assert any(
        "past its lifetime" in v["rule"] and "[simulated]" in v["rule"]
        for v in lifecycle["violations"]
    )


def test_a_body_without_call_id_fails(capsys, tmp_path, short_spec, mock_url) -> None:
    with serve_in_thread(
        create_seed_platform(Flaws(drop_call_id=True, token_lifetime=SHORT_LIFETIME))
    ) as seed_url:
        code, out, report = diff(capsys, tmp_path, short_spec, mock_url, seed_url, *against_seed())
    assert code == 1, out
    failed = differences(report, "FAIL")
    assert any(
        "field callId: A string, B absent" in rule and "[documented]" in rule for rule in failed
    ), failed


def test_keys_never_appear_in_reports(capsys, tmp_path, short_spec, mock_url, monkeypatch) -> None:
    """B's keys read from the environment (as on staging), and none of them ever shown."""
    monkeypatch.setenv("B_KEY", seed_platform.KEY)
    monkeypatch.setenv("B_LAPSED_KEY", seed_platform.LAPSED_KEY)
    from_environment = against_seed()
    for option, variable in (
        ("--against-api-key", "B_KEY"),
        ("--against-inactive-key", "B_LAPSED_KEY"),
    ):
        at = from_environment.index(option)
        from_environment[at : at + 2] = [f"{option}-env", variable]
    with serve_in_thread(
        create_seed_platform(Flaws(drop_call_id=True, token_lifetime=SHORT_LIFETIME))
    ) as seed_url:
        code, out, report = diff(
            capsys, tmp_path, short_spec, mock_url, seed_url, *from_environment
        )
    assert code == 1
    inactive = next(c for c in report["checks"] if c["name"] == "diff_documented_errors")
    assert inactive["requests"] >= 4  # the inactive key from B_LAPSED_KEY was sent
    shown = out + json.dumps(report) + (tmp_path / "diff.xml").read_text()
    for key in (DEFAULT_API_KEY, seed_platform.KEY, seed_platform.LAPSED_KEY):
        assert key not in shown
    assert "$CONTRACT_AGAINST_API_KEY" in shown


def test_a_target_that_is_down_could_not_be_tested(capsys, tmp_path, short_spec, mock_url) -> None:
    code, out, report = diff(
        capsys, tmp_path, short_spec, mock_url, "http://127.0.0.1:9", *against_seed()
    )
    assert code == 2, out
    assert report["couldNotTest"]
