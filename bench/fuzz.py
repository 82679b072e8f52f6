"""`python -m bench.fuzz` (or `make fuzz`): schemathesis's CLI against a running mock.

Every phase (examples, coverage, fuzzing, stateful over the spec's links), positive and
negative data, every check, a fixed seed; then, from the HAR of every request sent, the
figures: how many requests, which statuses, how many 5xx (none expected: the default
scenario never asks for one), and whether each response body matches openapi.yaml for its
status (checked again here, independently of schemathesis's own checks).
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from collections import Counter
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

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
from mockplatform.spec import default_spec_path, load_spec
from mockplatform.world import DEFAULT_API_KEY

MIN_REQUESTS = 5000


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m bench.fuzz", description=__doc__.split("\n")[0]
    )
    parser.add_argument("--max-examples", type=int, default=700, help="per operation (700)")
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args(argv)
    results = run_and_report("bench.fuzz", "fuzz", run, table, args)
    if results is None:
        return 2
    ok = (
        results["schemathesis_exit"] == 0
        and results["server_errors"] == 0
        and not results["nonconforming"]
        and results["requests"] >= MIN_REQUESTS
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
        "mock_rss_after_mb": round(rss / 1024 / 1024, 1),
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
        f"mock RSS afterwards        {results['mock_rss_after_mb']} MB",
    ]
    lines += [f"  ! {problem}" for problem in results["nonconforming"]]
    return "\n".join(lines)


if __name__ == "__main__":
    sys.exit(main())
