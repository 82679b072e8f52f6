"""`python -m bench.fuzz` (or `make fuzz`): schemathesis's CLI against a running mock.

Every phase (examples, coverage, fuzzing, stateful over the spec's links), positive and
negative data, every check, a fixed seed; then, from the HAR of every request sent, the
figures: how many requests, which statuses, how many 5xx (none expected: the default
scenario never asks for one), and whether each response body matches openapi.yaml for its
status (checked again here, independently of schemathesis's own checks).

Then a hostile phase schemathesis cannot generate (it sends only text UTF-8 can carry, and
knows nothing of the control API): seeded random JSON of any shape (lone surrogates, deep
nesting, numbers past a float, duplicate keys, NaN, BOMs, invalid UTF-8) in the token
request, in the redeem (with real tokens and `Prefer` headers too), and in every control
request's body and parameters; each answer must be below 500, and the control API's reads
must answer 200 throughout.
"""

from __future__ import annotations

import argparse
import json
import random
import subprocess
import sys
from collections import Counter
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlsplit

import httpx

from bench._common import (
    RESULTS_DIR,
    BenchError,
    free_port,
    git_commit,
    machine,
    mock_command,
    now_utc,
    run_and_report,
    start_server,
)
from mockplatform.core.spec import default_spec_path, load_spec
from mockplatform.server.world import DEFAULT_AGENT_ID, DEFAULT_API_KEY

MIN_REQUESTS = 5000


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m bench.fuzz", description=__doc__.split("\n")[0]
    )
    parser.add_argument("--max-examples", type=int, default=700, help="per operation (700)")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument(
        "--hostile", type=int, default=6000, help="requests in the hostile phase (6000)"
    )
    args = parser.parse_args(argv)
    results = run_and_report("bench.fuzz", "fuzz", run, table, args)
    if results is None:
        return 2
    ok = (
        results["schemathesis_exit"] == 0
        and results["server_errors"] == 0
        and not results["nonconforming"]
        and results["requests"] >= MIN_REQUESTS
        and results["hostile"]["server_errors"] == 0
        and results["hostile"]["control_failures"] == 0
    )
    return 0 if ok else 1


def run(args: argparse.Namespace) -> dict[str, Any]:
    RESULTS_DIR.mkdir(exist_ok=True)
    har = RESULTS_DIR / "fuzz-latest.har"
    har.unlink(missing_ok=True)
    mock = start_server("mock", mock_command(port := free_port(), "--log-level", "warning"), port)
    try:
        command = [
            str(Path(sys.executable).parent / "schemathesis"),
            "run",
            str(default_spec_path()),
            "--url",
            mock.url,
            "-H",
            f"Authorization: Bearer {DEFAULT_API_KEY}",
            "--checks",
            "all",
            "--mode",
            "all",
            "--phases",
            "examples,coverage,fuzzing,stateful",
            "--max-examples",
            str(args.max_examples),
            "--seed",
            str(args.seed),
            "--continue-on-failure",
            "--report",
            "har",
            "--report-har-path",
            str(har),
        ]
        print("bench.fuzz: " + " ".join(command[1:]), file=sys.stderr, flush=True)
        finished = subprocess.run(command, capture_output=True, text=True, cwd=RESULTS_DIR)
        print(f"bench.fuzz: hostile phase, {args.hostile} requests", file=sys.stderr, flush=True)
        hostile = hostile_phase(mock.url, args.hostile, args.seed)
        rss = mock.rss_bytes()
    finally:
        mock.stop()
    if not har.exists():
        raise BenchError(
            f"schemathesis wrote no HAR (exit {finished.returncode}): "
            f"{finished.stderr.strip() or finished.stdout[-2000:]}"
        )
    entries = json.loads(har.read_text())["log"]["entries"]
    statuses = Counter(e["response"]["status"] for e in entries)
    by_operation = Counter(
        f"{e['request']['method']} {urlsplit(e['request']['url']).path} "
        f"-> {e['response']['status']}"
        for e in entries
    )
    return {
        "time": now_utc(),
        "commit": git_commit(),
        "machine": machine(),
        "command": "schemathesis " + " ".join(command[2:]),
        "schemathesis_exit": finished.returncode,
        "schemathesis_summary": _summary(finished.stdout),
        "requests": len(entries),
        "statuses": {str(k): v for k, v in sorted(statuses.items())},
        "by_operation": dict(sorted(by_operation.items())),
        "server_errors": sum(v for k, v in statuses.items() if k >= 500),
        "nonconforming": nonconforming(entries),
        "hostile": hostile,
        "mock_rss_after_mb": round(rss / 1024 / 1024, 1),
    }


# --- the hostile phase ----------------------------------------------------------------------

_ODD_TEXT = ["\ud800", "\udc80x", "a\x00b", "\u2028", "\ufeff", "²", "", "x" * 300, "rt_test_x"]
_RAW_BODIES = [
    b"\xef\xbb\xbf{}",
    b'{"a": 1, "a": 2}',
    b'{"accessToken": NaN}',
    b'{"seconds": 1e999999}',
    b'{"agentId": "\xff\xfe"}',
    b"[" * 3000,
    b'{"accessToken": "' + b"\\ud800" + b'"}',
    b"",
    b"null",
]
_CONTROL = [
    ("POST", "/_mock/clock/advance", "seconds"),
    ("PUT", "/_mock/scenario", "name"),
    ("POST", "/_mock/reset", "x"),
]


def random_json(rng: random.Random, depth: int = 0) -> Any:
    """Any JSON value, odd text and deep nesting included (sent with `ensure_ascii`, so a
    lone surrogate travels as its escape, as a client's JSON library would send it)."""
    kind = rng.randrange(9 if depth < 4 else 6)
    if kind == 0:
        return None
    if kind == 1:
        return rng.random() < 0.5
    if kind == 2:
        return rng.choice([0, -1, 2**63, 2**200, 10**400, 1e308, -1e-308, 1.5])
    if kind in (3, 4, 5):
        if rng.random() < 0.5:
            return rng.choice(_ODD_TEXT)
        return "".join(chr(rng.randrange(0x110000)) for _ in range(rng.randrange(12)))
    if kind == 6 and rng.random() < 0.05:
        nested: Any = 1
        for _ in range(rng.randrange(100, 3000)):
            nested = [nested]
        return nested
    if kind in (6, 7):
        return [random_json(rng, depth + 1) for _ in range(rng.randrange(4))]
    return {rng.choice(_ODD_TEXT): random_json(rng, depth + 1) for _ in range(rng.randrange(4))}


def _body(rng: random.Random, fields: list[str]) -> bytes:
    if rng.random() < 0.1:
        return rng.choice(_RAW_BODIES)
    value = random_json(rng)
    if rng.random() < 0.7:
        value = {rng.choice(fields): value} | (
            {"agentId": DEFAULT_AGENT_ID} if rng.random() < 0.5 else {}
        )
    try:
        return json.dumps(value).encode()
    except (ValueError, RecursionError):  # 10**400 as a float, or deeper than json.dumps goes
        return b"[" * 5000


def hostile_phase(base_url: str, count: int, seed: int) -> dict[str, Any]:
    """`count` hostile requests, spread over the token request, the redeem and the control
    API; returns the statuses, the 5xx count and how often a control read failed after."""
    rng = random.Random(seed)
    retried = 0

    def send(method: str, url: str, **kwargs: Any) -> httpx.Response:
        """One request, sent again once if the connection dropped under it: a keep-alive
        connection the server closed as idle (this process starved of CPU for 5 s) races
        the next request on it. A second failure is the mock's, and ends the run."""
        nonlocal retried
        try:
            return client.request(method, url, **kwargs)
        except (httpx.ReadError, httpx.RemoteProtocolError, httpx.WriteError):
            retried += 1
            return client.request(method, url, **kwargs)

    statuses: Counter[int] = Counter()
    by_target: Counter[str] = Counter()
    control_failures = 0
    auth = {"Authorization": f"Bearer {DEFAULT_API_KEY}", "Content-Type": "application/json"}
    with httpx.Client(base_url=base_url, timeout=30) as client:
        for n in range(count):
            target = rng.randrange(4)
            if target == 0:
                fields = ["agentId", "instanceId", "callerName", "language", "extra"]
                response = send(
                    "POST", "/api/widget/token", content=_body(rng, fields), headers=auth
                )
            elif target == 1:
                headers = {"Content-Type": "application/json"}
                if rng.random() < 0.3:
                    headers["Prefer"] = rng.choice(
                        [
                            "code=401; example=zzz",
                            "code=401; example=expired",
                            "code=999",
                            "code=409",
                        ]
                    )
                body = _body(rng, ["accessToken"])
                if rng.random() < 0.3:
                    issued = send(
                        "POST",
                        "/api/widget/token",
                        json={"agentId": DEFAULT_AGENT_ID},
                        headers=auth,
                    )
                    body = json.dumps({"accessToken": issued.json()["accessToken"]}).encode()
                response = send("POST", "/api/widget/calls", content=body, headers=headers)
            elif target == 2:
                method, path, field = rng.choice(_CONTROL)
                headers = {"Content-Type": rng.choice(["application/json", "text/plain"])}
                if rng.random() < 0.2:
                    headers["Origin"] = rng.choice(["https://evil.example", "null"])
                response = send(method, path, content=_body(rng, [field]), headers=headers)
            else:
                text = (
                    rng.choice(_ODD_TEXT)
                    if rng.random() < 0.5
                    else _body(rng, ["x"])[:50].decode("latin-1")
                )
                escaped = quote(text.encode("utf-8", "surrogatepass"), safe="")
                path = rng.choice(
                    [
                        f"/_mock/calls?limit={escaped}",
                        f"/_mock/requests?limit={escaped}",
                        f"/_mock/calls/{escaped}",
                    ]
                )
                response = send("GET", path)
            statuses[response.status_code] += 1
            by_target[
                f"{['token', 'redeem', 'control body', 'control parameter'][target]}"
                f" -> {response.status_code}"
            ] += 1
            if n % 50 == 0:
                for read in ("/_mock/clock", "/_mock/calls", "/_mock/requests"):
                    control_failures += send("GET", read).status_code != 200
    return {
        "requests": count,
        "statuses": {str(k): v for k, v in sorted(statuses.items())},
        "by_target": dict(sorted(by_target.items())),
        "server_errors": sum(v for k, v in statuses.items() if k >= 500),
        "control_failures": control_failures,
        "retried_after_a_dropped_connection": retried,
    }


def nonconforming(entries: list[dict[str, Any]]) -> list[str]:
    """Responses to documented operations whose body breaks the spec for their status."""
    spec = load_spec()
    operations = {(op.method, op.path): op for op in spec.operations.values()}
    problems = []
    for entry in entries:
        request, response = entry["request"], entry["response"]
        operation = operations.get((request["method"], urlsplit(request["url"]).path))
        if operation is None or response["status"] not in operation.responses:
            continue  # undocumented methods (405) are schemathesis's own checks' business
        text = response.get("content", {}).get("text", "")
        try:
            body = json.loads(text)
        except ValueError:
            problems.append(f"{operation.title} -> {response['status']}: not JSON: {text[:80]!r}")
            continue
        problem = operation.validate_response(response["status"], body)
        if problem is not None:
            problems.append(f"{operation.title} -> {response['status']}: {problem.detail}")
    return problems[:20]


def _summary(stdout: str) -> str:
    lines = [line.strip() for line in stdout.splitlines() if line.strip()]
    keep = [line for line in lines if "generated" in line or "issues" in line.lower()]
    return " | ".join(keep[-3:])


def table(results: dict[str, Any]) -> str:
    statuses = ", ".join(f"{k}: {v:,}" for k, v in results["statuses"].items())
    verdict = "met" if results["requests"] >= MIN_REQUESTS else "MISSED"
    lines = [
        f"mockplatform fuzzing, commit {results['commit']}, {results['time']}",
        f"{results['command']}",
        "",
        f"requests sent              {results['requests']:,}"
        f"   (target >= {MIN_REQUESTS:,}: {verdict})",
        f"statuses                   {statuses}",
        f"5xx responses              {results['server_errors']}",
        f"responses not matching     {len(results['nonconforming'])}",
        f"schemathesis checks        exit {results['schemathesis_exit']}: "
        f"{results['schemathesis_summary']}",
        f"hostile phase              {results['hostile']['requests']:,} requests "
        f"(token, redeem, control API): {results['hostile']['server_errors']} 5xx, "
        f"{results['hostile']['control_failures']} failed control reads, "
        f"{results['hostile']['retried_after_a_dropped_connection']} sent again",
        "  statuses                 "
        + ", ".join(f"{k}: {v:,}" for k, v in results["hostile"]["statuses"].items()),
        f"mock RSS afterwards        {results['mock_rss_after_mb']} MB",
    ]
    lines += [f"  ! {problem}" for problem in results["nonconforming"]]
    return "\n".join(lines)


if __name__ == "__main__":
    sys.exit(main())
