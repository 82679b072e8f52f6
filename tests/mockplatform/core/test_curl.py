"""The judge's curl replays the request as printed: a shell-expression stand-in is expanded
by the shell, a literal one (the proxy's masked form) stays text, and a body too long to
print is read from a file that holds no secret."""

from __future__ import annotations

import shlex
import subprocess

from mockplatform.core.judge import MAX_BODY_PRINTED, BodyFiles, Seen, curl

KEY = "nas_live_s3cr3t_key"


def seen(body: bytes) -> Seen:
    return Seen(
        method="POST",
        path="/api/widget/token",
        query="",
        request_headers=(("authorization", f"Bearer {KEY}"), ("content-type", "application/json")),
        request_body=body,
        status=401,
        base_url="http://127.0.0.1:9",
    )


def arguments(command: str) -> list[str]:
    """What the shell hands curl, with the key exported."""
    script = "printf '%s\\n' " + command.removeprefix("curl ")
    env = {"CONTRACT_API_KEY": KEY, "PATH": "/usr/bin:/bin"}
    ran = subprocess.run(["sh", "-c", script], env=env, capture_output=True, text=True)
    return ran.stdout.splitlines()


def test_a_shell_expression_is_expanded_and_a_literal_stand_in_is_not() -> None:
    command = curl(seen(b'{"callerName": "O\'Brien"}'), {KEY: "$CONTRACT_API_KEY"})
    assert KEY not in command
    assert f"authorization: Bearer {KEY}" in arguments(command)
    assert '{"callerName": "O\'Brien"}' in arguments(command)
    masked = curl(seen(b"{}"), {KEY: "nas_…_key"})
    assert "authorization: Bearer nas_…_key" in shlex.split(masked)


def test_a_long_body_goes_to_a_file_without_its_secrets(tmp_path) -> None:
    body = b'{"agentId": "%s", "callerName": "%s"}' % (KEY.encode(), b"x" * MAX_BODY_PRINTED)
    files = BodyFiles(tmp_path / "reports")
    command = curl(seen(body), {KEY: "$CONTRACT_API_KEY"}, files)
    words = arguments(command)
    written = words[words.index("--data-binary") + 1]
    assert written.startswith("@") and "x" * 100 not in command
    kept = (tmp_path / "reports").joinpath(written[1:].rsplit("/", 1)[-1]).read_bytes()
    assert kept == body.replace(KEY.encode(), b"$CONTRACT_API_KEY")
    assert curl(seen(body), {KEY: "$CONTRACT_API_KEY"}, files) == command  # written once
    assert len(list((tmp_path / "reports").iterdir())) == 1


def test_bodies_beyond_the_limit_are_counted_not_written(tmp_path) -> None:
    files = BodyFiles(tmp_path, limit=1)
    long = [b"y" * (MAX_BODY_PRINTED + 1), b"z" * (MAX_BODY_PRINTED + 1)]
    assert "--data-binary" in curl(seen(long[0]), {}, files)
    assert "bytes in all" in curl(seen(long[1]), {}, files)
    assert files.dropped == 1
    assert "--data-binary" in curl(seen(b"\x00\xff"), {}, BodyFiles(tmp_path / "b"))
