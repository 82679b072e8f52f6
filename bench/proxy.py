"""`python -m bench.proxy` (or `make bench-proxy`): what `mockplatform proxy` costs a request.

The mock (`mockplatform serve`) is the upstream; `mockplatform proxy` stands in front of it.
wrk sends the same token POST to the mock directly and through the proxy, in alternating
runs: one connection (each request's own latency: the figure an app feels) and 32
(throughput under load). The proxy's added latency is the difference of the medians.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from bench._common import (
    WrkRun,
    free_port,
    git_commit,
    machine,
    median,
    mock_command,
    now_utc,
    run_and_report,
    start_server,
    token_load,
)


def proxy_command(port: int, upstream: str) -> list[str]:
    binary = str(Path(sys.executable).parent / "mockplatform")
    return [binary, "proxy", "--upstream", upstream, "--port", str(port), "--log-level", "warning"]


def measure(args: argparse.Namespace) -> dict[str, Any]:
    mock_port = free_port()
    mock = start_server("mock", mock_command(mock_port, "--log-level", "warning"), mock_port)
    try:
        port = free_port()
        proxy = start_server("proxy", proxy_command(port, mock.url), port)
        try:
            results: dict[str, Any] = {"commit": git_commit(), "at": now_utc(), **machine()}
            for connections in (1, args.connections):
                runs: dict[str, list[WrkRun]] = {"direct": [], "proxy": []}
                proxy_cpu: list[float] = []  # the proxy process's CPU per request, us
                for _ in range(args.rounds):
                    for name, url in (("direct", mock.url), ("proxy", proxy.url)):
                        pids = [mock.process.pid, proxy.process.pid]
                        run, cpu = token_load(url, args.duration, connections, pids)
                        runs[name].append(run)
                        if name == "proxy":
                            proxy_cpu.append(cpu[1])
                results[f"c{connections}"] = {
                    name: {
                        "requests_per_second": median([r.requests_per_second for r in rs]),
                        "p50_ms": median([r.figures["p50_us"] / 1000 for r in rs]),
                        "p99_ms": median([r.figures["p99_us"] / 1000 for r in rs]),
                        "non_2xx": sum(r.figures["non_2xx"] for r in rs),
                    }
                    for name, rs in runs.items()
                }
                results[f"c{connections}"]["proxy_cpu_us_per_request"] = median(proxy_cpu)
            return results
        finally:
            proxy.stop()
    finally:
        mock.stop()


def table(results: dict[str, Any]) -> str:
    lines = [f"mockplatform proxy in front of the mock, commit {results['commit']}"]
    lines.append(f"{'':34}{'direct':>12}{'via proxy':>12}{'added':>12}")
    for key in sorted(k for k in results if k.startswith("c") and k[1:].isdigit()):
        direct, proxy = results[key]["direct"], results[key]["proxy"]
        for figure, unit in (("p50_ms", "ms"), ("p99_ms", "ms"), ("requests_per_second", "/s")):
            label = f"{key[1:]} connection(s): {figure.removesuffix('_ms')} {unit}"
            added = proxy[figure] - direct[figure]
            lines.append(f"{label:34}{direct[figure]:>12.2f}{proxy[figure]:>12.2f}{added:>+12.2f}")
        cpu = results[key]["proxy_cpu_us_per_request"]
        lines.append(f"{key[1:] + ' connection(s): proxy CPU/request, us':46}{cpu:>12.0f}")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m bench.proxy", description=__doc__.splitlines()[0]
    )
    parser.add_argument("--duration", type=float, default=5, help="seconds per wrk run (5)")
    parser.add_argument("--rounds", type=int, default=3, help="alternating rounds (3)")
    parser.add_argument("--connections", type=int, default=32, help="the loaded run's (32)")
    args = parser.parse_args(argv)
    return 0 if run_and_report("bench.proxy", "proxy", measure, table, args) else 2


if __name__ == "__main__":
    sys.exit(main())
