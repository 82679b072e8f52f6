"""Reports never print a key, yet their curl commands replay the request."""

from __future__ import annotations

import subprocess

from contract.outcomes import (
    CheckResult,
    Exchange,
    Outcome,
    Report,
    Violation,
    mask,
)
from contract.probe import near_miss

KEY = "nas_live_s3cr3t"
SECRETS = {KEY: "$CONTRACT_API_KEY", near_miss(KEY): "${CONTRACT_API_KEY%?}x"}


def exchange(authorization: str) -> Exchange:
    return Exchange(
        method="POST",
        url="http://127.0.0.1:9/api/widget/token",
        headers={"Authorization": authorization, "Content-Type": "application/json"},
        body=b'{"callerName": "O\'Brien"}',
        status=401,
        response_headers={"content-type": "application/json"},
        response_body=f'{{"error": "Invalid API key", "echo": "{KEY}"}}'.encode(),
    )


def replay_headers(curl: str) -> str:
    """What the shell makes of the curl command's arguments, with the key exported."""
    script = "printf '%s\\n' " + curl.removeprefix("curl ")
    env = {"CONTRACT_API_KEY": KEY, "PATH": "/usr/bin:/bin"}
    return subprocess.run(["sh", "-c", script], env=env, capture_output=True, text=True).stdout


def test_curl_masks_the_key_and_the_shell_restores_it() -> None:
    curl = exchange(f"Bearer {KEY}").curl(SECRETS)
    assert KEY not in curl
    assert '"$CONTRACT_API_KEY"' in curl
    args = replay_headers(curl).splitlines()
    assert f"Authorization: Bearer {KEY}" in args
    assert '{"callerName": "O\'Brien"}' in args


def test_near_miss_key_is_masked_too() -> None:
    curl = exchange(f"Bearer {near_miss(KEY)}").curl(SECRETS)
    assert KEY[:-1] not in curl
    assert f"Authorization: Bearer {near_miss(KEY)}" in replay_headers(curl).splitlines()


def test_response_text_masks_an_echoed_key() -> None:
    text = exchange("Bearer x").response_text(SECRETS)
    assert text.startswith("HTTP 401 application/json")
    assert KEY not in text and "$CONTRACT_API_KEY" in text


def test_a_failure_wins_when_two_sources_judge_one_check() -> None:
    report = Report(base_url="http://127.0.0.1:9")
    report.add(CheckResult("auth_first", "scripted"))
    failed = CheckResult("auth_first", "schemathesis hook")
    failed.fail(Violation("must get 401"))
    report.add(failed)
    assert [check.outcome for check in report.checks] == [Outcome.FAIL]
    assert report.exit_code == 1


def test_not_verified_passes_unless_strict() -> None:
    report = Report(base_url="http://127.0.0.1:9")
    unverified = CheckResult("token_lifetime", "lifetime")
    unverified.not_verified("opaque token")
    report.add(unverified)
    assert report.exit_code == 0
    report.strict = True
    assert report.exit_code == 1


def test_a_long_body_full_of_a_secret_is_masked_without_recursion() -> None:
    body = ("x " * 2500).encode()
    curl = Exchange("POST", "http://127.0.0.1:9/", {}, body).curl({"x": "$X"})
    assert curl.count('"$X"') == 2500  # no folder for long bodies: the whole body inline


def test_a_key_of_any_length_is_masked_as_a_whole_token() -> None:
    """A two-character key is masked where it stands alone, not inside longer words."""
    sent = Exchange("POST", "http://127.0.0.1:9/", {"Authorization": "Bearer k7"}, b"{}")
    assert "k7" not in sent.curl({"k7": "$CONTRACT_API_KEY"}).replace("$CONTRACT_API_KEY", "")
    assert mask("the key k7 was wrong; k7x and xk7 are other words", {"k7": "$K"}) == (
        "the key $K was wrong; k7x and xk7 are other words"
    )
    # Whether an answer echoes a key is the core judge's question (tests/mockplatform/core).
