"""`python -m bench` (or `make bench`): the mock's speed, start-up and memory, as figures.

1. Throughput and latency of POST /api/widget/token under wrk (1 thread, 32 connections,
   fixed duration), alternating runs against the mock and a bare Starlette endpoint served
   by the same uvicorn configuration; the ratio of the two is the figure that holds on a
   shared, noisy machine. A third server in the rotation, `bench/plain.py`, does the token
   request's job written plainly: where the mock stands against a simple implementation.
2. Cold start: launching `mockplatform serve` to its first 200, median of several runs.
3. Memory: resident size after start-up, and after 100,000 token issuances with the mock's
   clock advanced between batches so the tokens expire (they must not accumulate).
4. The team row (`bench/team.py`): the same wrk runs against `serve --workers N --store
   redis://…` on a throwaway loopback redis-server, alternating with the bare endpoint.

Prints a table and writes bench/results/bench-<time>-<commit>.json (and bench-latest.json).
Reports figures; with --check, exits 1 when a target is missed.
"""

from __future__ import annotations

import argparse
import sys
import time
from typing import Any

from bench._common import (
    BenchError,
    Server,
    WrkRun,
    bare_command,
    free_port,
    git_commit,
    machine,
    median,
    mock_command,
    now_utc,
    plain_command,
    post_json,
    run_and_report,
    run_wrk,
    start_server,
    token_load,
    wrk_until_limit,
)
from bench.team import team_throughput
from mockplatform.core.spec import load_spec
from mockplatform.server.store import EXPIRED_TOKEN_MEMORY

TARGETS = {
    "throughput_ratio": 0.85,  # at least, of the bare endpoint's req/s (issue 23)
    "team_ratio": 0.5,  # at least: 2 workers sharing Redis, of the bare endpoint's req/s
    "p99_ms": 10.0,  # at most, at 32 concurrent
    "cold_start_s": 1.0,  # at most, median
    "memory_growth_mb": 20.0,  # at most, after 100k tokens
}
MB = 1024 * 1024


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__.splitlines()[0])
    parser.add_argument("--duration", type=float, default=5, help="seconds per wrk run (5)")
    parser.add_argument("--rounds", type=int, default=3, help="alternating rounds (3)")
    parser.add_argument("--connections", type=int, default=32, help="wrk connections (32)")
    parser.add_argument("--cold-runs", type=int, default=5, help="cold starts to time (5)")
    parser.add_argument("--tokens", type=int, default=100_000, help="tokens to issue (100000)")
    parser.add_argument(
        "--serve-args",
        default="",
        metavar="ARGS",
        help="extra arguments for `mockplatform serve`, e.g. '--log-level warning'",
    )
    parser.add_argument(
        "--team-workers",
        type=int,
        default=2,
        metavar="N",
        help="the team row: N workers sharing a local redis-server (2; 0 skips it)",
    )
    parser.add_argument("--check", action="store_true", help="exit 1 if a target is missed")
    args = parser.parse_args(argv)
    results = run_and_report("bench", "bench", run, table, args)
    if results is None:
        return 2
    missed = [name for name, verdict in results["verdicts"].items() if not verdict["met"]]
    if results["throughput"]["mock_non_2xx"] or results.get("team", {}).get("non_2xx"):
        print("bench: the mock answered non-2xx during the run; figures are void", file=sys.stderr)
        return 1
    return 1 if args.check and missed else 0


def run(args: argparse.Namespace) -> dict[str, Any]:
    results: dict[str, Any] = {
        "time": now_utc(),
        "commit": git_commit(),
        "machine": machine(),
        "settings": {
            "wrk": f"-t1 -c{args.connections} -d{args.duration:g}s, bench/token.lua",
            "duration_s": args.duration,
            "rounds": args.rounds,
            "connections": args.connections,
            "cold_runs": args.cold_runs,
            "tokens": args.tokens,
            "serve_args": args.serve_args,
            "team_workers": args.team_workers,
        },
    }
    progress("in process: mock vs bare, a token request's cost without a server")
    results["in_process"] = in_process()
    progress("throughput: mock vs bare (and the job written plainly), alternating")
    results["throughput"] = throughput(args)
    if args.team_workers:
        progress(f"team: {args.team_workers} workers sharing Redis vs bare, alternating")
        results["team"] = team_throughput(
            args.team_workers, args.duration, args.rounds, args.connections
        )
    progress("cold start")
    results["cold_start"] = cold_start(args.cold_runs)
    progress(f"memory: {args.tokens:,} tokens")
    results["memory"] = memory(args.tokens, args.connections)
    results["targets"] = TARGETS
    results["verdicts"] = verdicts(results)
    return results


def progress(message: str) -> None:
    print(f"bench: {message} ...", file=sys.stderr, flush=True)


def in_process() -> dict[str, float]:
    """`bench.in_process`'s figures: microseconds per token request, best round."""
    import asyncio
    import logging

    from bench import in_process as measured
    from bench.bare import app as bare

    logging.disable(logging.CRITICAL)
    try:
        mock = asyncio.run(measured.measure())
        bare_seconds = asyncio.run(measured.measure(app=bare))
    finally:
        logging.disable(logging.NOTSET)
    return {"mock_us": round(mock * 1e6, 1), "bare_us": round(bare_seconds * 1e6, 1)}


def throughput(args: argparse.Namespace) -> dict[str, Any]:
    servers = [
        start_server("bare", bare_command(port := free_port()), port),
        start_server("mock", mock_command(port := free_port(), *args.serve_args.split()), port),
        start_server("plain", plain_command(port := free_port()), port),
    ]
    try:
        for server in servers:  # warm up each: first-call paths, allocator, caches
            load(server, min(2.0, args.duration), args.connections)
        runs: dict[str, list[WrkRun]] = {server.name: [] for server in servers}
        ratios = []
        for round_no in range(args.rounds):
            for server in servers if round_no % 2 == 0 else reversed(servers):
                runs[server.name].append(load(server, args.duration, args.connections))
            ratios.append(
                runs["mock"][-1].requests_per_second / runs["bare"][-1].requests_per_second
            )
        mock_rss = servers[1].rss_bytes()
    finally:
        for server in servers:
            server.stop()
    summary: dict[str, Any] = {"rounds_ratio": [round(r, 3) for r in ratios]}
    for name, name_runs in runs.items():
        summary[name] = {
            "requests_per_second": round(median([r.requests_per_second for r in name_runs])),
            "p50_ms": median([r.figures["p50_us"] for r in name_runs]) / 1000,
            "p99_ms": median([r.figures["p99_us"] for r in name_runs]) / 1000,
            "max_ms": max(r.figures["max_us"] for r in name_runs) / 1000,
            "cpu_us_per_request": median(
                [r.figures["server_cpu_us_per_request"] for r in name_runs]
            ),
            "runs": [r.figures for r in name_runs],
        }
    summary["plain_ratio"] = round(
        summary["plain"]["requests_per_second"] / summary["bare"]["requests_per_second"], 3
    )
    summary["ratio"] = round(
        summary["mock"]["requests_per_second"] / summary["bare"]["requests_per_second"], 3
    )
    summary["ratio_median_of_rounds"] = round(median(ratios), 3)
    # What each server would serve on a core of its own, relative: CPU per request.
    summary["cpu_ratio"] = round(
        summary["bare"]["cpu_us_per_request"] / summary["mock"]["cpu_us_per_request"], 3
    )
    summary["mock_non_2xx"] = sum(r.figures["non_2xx"] for r in runs["mock"])
    summary["mock_socket_errors"] = sum(r.errors + r.timeouts for r in runs["mock"])
    summary["mock_rss_after_mb"] = round(mock_rss / MB, 1)
    return summary


def load(server: Server, duration: float, connections: int) -> WrkRun:
    """One wrk run, plus the server's own CPU time per request (steadier than req/s here)."""
    run, (cpu,) = token_load(server.url, duration, connections, [server.process.pid])
    run.figures["server_cpu_us_per_request"] = round(cpu, 1)
    return run


def cold_start(runs: int) -> dict[str, Any]:
    times: dict[str, list[float]] = {"mock": [], "bare": []}
    for _ in range(runs):
        for name, command in (("mock", mock_command), ("bare", bare_command)):
            server = start_server(name, command(port := free_port()), port)
            server.stop()
            times[name].append(server.started_in)
    return {
        name: {"median_s": round(median(values), 3), "runs_s": [round(v, 3) for v in values]}
        for name, values in times.items()
    }


def memory(tokens: int, connections: int) -> dict[str, Any]:
    """RSS after start-up, then after `tokens` issuances in batches, expiring each batch."""
    lifetime = load_spec().token_lifetime_seconds
    forget_after = lifetime * (1 + EXPIRED_TOKEN_MEMORY) + 1  # expired, then forgotten
    mock = start_server("mock", mock_command(port := free_port()), port)
    try:
        time.sleep(0.5)
        at_start = mock.rss_bytes()
        batch = min(tokens, 10_000)
        issued, samples = 0, []
        while issued < tokens:
            want = min(batch, tokens - issued)
            run = run_wrk(
                mock.url + "/api/widget/token",
                "token.lua",
                duration=120,
                connections=min(connections, want),
                env={"BENCH_LIMIT": str(want)},
                background=True,
            )
            assert not isinstance(run, WrkRun)
            run = wrk_until_limit(run)
            if run.figures["non_2xx"] or run.errors:
                raise BenchError(f"token issuance failed during the memory run: {run.figures}")
            issued += run.figures["requests"]
            post_json(mock.url, "/_mock/clock/advance", {"seconds": forget_after})
            samples.append({"tokens": issued, "rss_mb": round(mock.rss_bytes() / MB, 1)})
        at_end = mock.rss_bytes()
    finally:
        mock.stop()
    return {
        "tokens_issued": issued,
        "clock_advanced_per_batch_s": forget_after,
        "rss_after_startup_mb": round(at_start / MB, 1),
        "rss_after_tokens_mb": round(at_end / MB, 1),
        "growth_mb": round((at_end - at_start) / MB, 1),
        "samples": samples,
    }


def verdicts(results: dict[str, Any]) -> dict[str, dict[str, Any]]:
    t, c, m = results["throughput"], results["cold_start"], results["memory"]
    figures = {
        "throughput_ratio": (t["ratio"], t["ratio"] >= TARGETS["throughput_ratio"]),
        "p99_ms": (t["mock"]["p99_ms"], t["mock"]["p99_ms"] <= TARGETS["p99_ms"]),
        "cold_start_s": (c["mock"]["median_s"], c["mock"]["median_s"] <= TARGETS["cold_start_s"]),
        "memory_growth_mb": (m["growth_mb"], m["growth_mb"] <= TARGETS["memory_growth_mb"]),
    }
    if "team" in results:
        team = results["team"]["ratio"]
        figures["team_ratio"] = (team, team >= TARGETS["team_ratio"])
    return {name: {"value": value, "met": met} for name, (value, met) in figures.items()}


def table(results: dict[str, Any]) -> str:
    t, c, m, v = (results[k] for k in ("throughput", "cold_start", "memory", "verdicts"))
    mach = results["machine"]

    def verdict(name: str) -> str:
        return "met" if v[name]["met"] else "MISSED"

    p = results["in_process"]
    rows = [
        ("", "mock", "bare", "mock/bare", "target", ""),
        (
            "in process, us per token request (best)",
            f"{p['mock_us']:.1f}",
            f"{p['bare_us']:.1f}",
            f"{p['bare_us'] / p['mock_us']:.2f}x",
            "<= 7a2389b's",
            "",
        ),
        (
            "throughput, req/s (median)",
            f"{t['mock']['requests_per_second']:,}",
            f"{t['bare']['requests_per_second']:,}",
            f"{t['ratio']:.2f}x",
            f">= {TARGETS['throughput_ratio']:.2f}x",
            verdict("throughput_ratio"),
        ),
        (
            "server CPU per request, us (as a req/s ratio)",
            f"{t['mock']['cpu_us_per_request']:.0f}",
            f"{t['bare']['cpu_us_per_request']:.0f}",
            f"{t['cpu_ratio']:.2f}x",
            "",
            "",
        ),
        (
            "the job written plainly (bench/plain.py), req/s",
            f"{t['plain']['requests_per_second']:,}",
            f"{t['bare']['requests_per_second']:,}",
            f"{t['plain_ratio']:.2f}x",
            "",
            "",
        ),
        ("latency p50, ms", f"{t['mock']['p50_ms']:.2f}", f"{t['bare']['p50_ms']:.2f}", "", "", ""),
        (
            "latency p99, ms",
            f"{t['mock']['p99_ms']:.2f}",
            f"{t['bare']['p99_ms']:.2f}",
            "",
            f"<= {TARGETS['p99_ms']:g} ms",
            verdict("p99_ms"),
        ),
        (
            "cold start to first 200, s",
            f"{c['mock']['median_s']:.2f}",
            f"{c['bare']['median_s']:.2f}",
            "",
            f"<= {TARGETS['cold_start_s']:g} s",
            verdict("cold_start_s"),
        ),
        ("RSS after start-up, MB", f"{m['rss_after_startup_mb']:.1f}", "", "", "", ""),
        (
            f"RSS after {m['tokens_issued']:,} tokens, MB",
            f"{m['rss_after_tokens_mb']:.1f}",
            "",
            "",
            "",
            "",
        ),
        (
            "RSS growth, MB",
            f"{m['growth_mb']:.1f}",
            "",
            "",
            f"<= {TARGETS['memory_growth_mb']:g} MB",
            verdict("memory_growth_mb"),
        ),
    ]
    if "team" in results:
        rows.extend(team_rows(results["team"], verdict("team_ratio")))
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    lines = [
        f"mockplatform benchmark, commit {results['commit']}, {results['time']}",
        f"{mach['cpus']} CPUs, load average {' '.join(map(str, mach['load_average']))}; "
        f"wrk {results['settings']['wrk']}; {results['settings']['rounds']} alternating rounds, "
        f"per-round ratios {', '.join(f'{r:.2f}' for r in t['rounds_ratio'])}",
        "",
    ]
    for row in rows:
        cells = [row[0].ljust(widths[0])] + [
            cell.rjust(w) for cell, w in zip(row[1:], widths[1:], strict=True)
        ]
        lines.append("  ".join(cells).rstrip())
    return "\n".join(lines)


def team_rows(team: dict[str, Any], verdict: str) -> list[tuple[str, ...]]:
    """The team row's figures in the table's columns (its own bare runs, same settings)."""
    label = f"{team['workers']} worker{'s' if team['workers'] != 1 else ''} + Redis"
    cpu, redis_cpu = team["team"]["cpu_us_per_request"], team["team"]["redis_cpu_us_per_request"]
    return [
        (
            f"{label}: req/s (median)",
            f"{team['team']['requests_per_second']:,}",
            f"{team['bare']['requests_per_second']:,}",
            f"{team['ratio']:.2f}x",
            f">= {TARGETS['team_ratio']:.1f}x",
            verdict,
        ),
        (
            f"{label}: CPU per request, us (of it Redis)",
            f"{cpu:.0f} ({redis_cpu:.0f})",
            f"{team['bare']['cpu_us_per_request']:.0f}",
            f"{team['bare']['cpu_us_per_request'] / cpu:.2f}x",
            "",
            "",
        ),
        (
            f"{label}: p50 / p99, ms",
            f"{team['team']['p50_ms']:.2f} / {team['team']['p99_ms']:.2f}",
            f"{team['bare']['p50_ms']:.2f} / {team['bare']['p99_ms']:.2f}",
            "",
            "",
            "",
        ),
        (f"{label}: RSS, all processes, MB", f"{team['rss_all_processes_mb']:.1f}", "", "", "", ""),
    ]


if __name__ == "__main__":
    sys.exit(main())
