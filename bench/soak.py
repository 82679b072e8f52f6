"""`python -m bench.soak` (or `make soak`): 30 s at 32 concurrent connections, loopback only.

wrk sends what a test suite sends (bench/soak.lua): token requests, redeems of the tokens
just issued, and the usual mistakes (bad key, bad JSON, wrong content type, unknown token),
plus control-API reads. The mock's resident memory is sampled every second. Figures: the
requests, the status classes, socket errors, and the memory curve; it should show zero
errors, zero 5xx and memory flat once warm. "Warm" means the mock's bounded state is full
(the newest 10,000 tokens and calls, 1,000 journal entries): a pre-fill of token requests
gets it there first, so the 30 s show whether anything grows beyond those bounds.
"""

from __future__ import annotations

import argparse
import sys
import time
from typing import Any

from bench._common import (
    WrkRun,
    free_port,
    git_commit,
    machine,
    mock_command,
    now_utc,
    run_and_report,
    run_wrk,
    start_server,
    wrk_result,
    wrk_until_limit,
)
from mockplatform.server.store import MAX_TOKENS

MB = 1024 * 1024


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m bench.soak", description=__doc__.split("\n")[0]
    )
    parser.add_argument("--duration", type=float, default=30, help="seconds (30)")
    parser.add_argument("--connections", type=int, default=32, help="concurrent (32)")
    parser.add_argument(
        "--prefill", type=int, default=2 * MAX_TOKENS, help="token requests first (20000)"
    )
    parser.add_argument(
        "--serve-args", default="", metavar="ARGS", help="extra arguments for `mockplatform serve`"
    )
    args = parser.parse_args(argv)
    results = run_and_report("bench.soak", "soak", run, table, args)
    if results is None:
        return 2
    w = results["wrk"]
    clean = results["socket_errors"] == 0 and w["s5xx"] == 0 and w["other"] == 0
    return 0 if clean else 1


def run(args: argparse.Namespace) -> dict[str, Any]:
    mock = start_server("mock", mock_command(port := free_port(), *args.serve_args.split()), port)
    samples = []
    try:
        started_rss = mock.rss_bytes()
        if args.prefill:
            print(f"bench.soak: pre-filling with {args.prefill:,} token requests", file=sys.stderr)
            fill = run_wrk(
                mock.url + "/api/widget/token",
                "token.lua",
                duration=600,
                connections=args.connections,
                env={"BENCH_LIMIT": str(args.prefill)},
                background=True,
            )
            assert not isinstance(fill, WrkRun)
            wrk_until_limit(fill)
        prefilled_rss = mock.rss_bytes()
        process = run_wrk(
            mock.url,
            "soak.lua",
            duration=args.duration,
            connections=args.connections,
            background=True,
        )
        assert not isinstance(process, type(None))
        began = time.monotonic()
        while process.poll() is None:  # type: ignore[union-attr]
            time.sleep(1)
            samples.append(
                {
                    "t_s": round(time.monotonic() - began, 1),
                    "rss_mb": round(mock.rss_bytes() / MB, 1),
                }
            )
        figures = wrk_result(process).figures  # type: ignore[arg-type]
        alive = mock.process.poll() is None
    finally:
        mock.stop()
    warm = [s["rss_mb"] for s in samples]
    return {
        "time": now_utc(),
        "commit": git_commit(),
        "machine": machine(),
        "settings": {
            "duration_s": args.duration,
            "connections": args.connections,
            "wrk": f"-t1 -c{args.connections} -d{args.duration:g}s, bench/soak.lua",
            "serve_args": args.serve_args,
        },
        "wrk": figures,
        "requests_per_second": round(figures["requests"] / (figures["duration_us"] / 1e6)),
        "socket_errors": sum(
            figures[k] for k in ("connect_errors", "read_errors", "write_errors", "timeouts")
        ),
        "server_alive_at_end": alive,
        "rss_at_start_mb": round(started_rss / MB, 1),
        "prefill_requests": args.prefill,
        "rss_after_prefill_mb": round(prefilled_rss / MB, 1),
        "rss_warm_mb": warm[0] if warm else None,
        "rss_end_mb": samples[-1]["rss_mb"] if samples else None,
        "rss_max_mb": max((s["rss_mb"] for s in samples), default=None),
        "rss_growth_after_warm_mb": round(warm[-1] - warm[0], 1) if warm else None,
        "samples": samples,
    }


def table(results: dict[str, Any]) -> str:
    w = results["wrk"]
    return "\n".join(
        [
            f"mockplatform soak, commit {results['commit']}, {results['time']}",
            f"wrk {results['settings']['wrk']}, loopback",
            "",
            f"requests            {w['requests']:,} ({results['requests_per_second']:,}/s)",
            f"2xx / 4xx / 5xx     {w['s2xx']:,} / {w['s4xx']:,} / {w['s5xx']:,}"
            f"   (other: {w['other']})",
            f"socket errors       {results['socket_errors']}   (connect {w['connect_errors']}, "
            f"read {w['read_errors']}, write {w['write_errors']}, timeouts {w['timeouts']})",
            f"latency p50 / p99   {w['p50_us'] / 1000:.2f} / {w['p99_us'] / 1000:.2f} ms"
            f"   (max {w['max_us'] / 1000:.1f} ms)",
            f"RSS                 start {results['rss_at_start_mb']} MB; after "
            f"{results['prefill_requests']:,} pre-fill tokens {results['rss_after_prefill_mb']} MB",
            f"RSS in the soak     first {results['rss_warm_mb']} MB, end "
            f"{results['rss_end_mb']} MB, max {results['rss_max_mb']} MB: growth "
            f"{results['rss_growth_after_warm_mb']} MB",
            f"server alive        {results['server_alive_at_end']}",
        ]
    )


if __name__ == "__main__":
    sys.exit(main())
