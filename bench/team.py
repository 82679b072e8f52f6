"""The team row: `mockplatform serve --workers N --store redis://…` against the same bare endpoint.

A shared store costs round trips to Redis on every request; more workers spread the rest
over the cores. This measures what a team gets: a throwaway `redis-server` on a loopback
port (no persistence), the mock with N uvicorn workers on it, and the bare endpoint,
alternating wrk runs exactly like the main throughput figure, so the ratio is comparable.
"""

from __future__ import annotations

import shutil
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import redis

from bench._common import (
    BenchError,
    WrkRun,
    bare_command,
    free_port,
    median,
    mock_command,
    rss_bytes,
    start_server,
    token_load,
)

MB = 1024 * 1024


@contextmanager
def redis_server() -> Iterator[tuple[str, int]]:
    """A throwaway redis-server on a free loopback port; yields its URL and process id."""
    binary = shutil.which("redis-server")
    if binary is None:
        raise BenchError(
            "redis-server is not installed: `make test` installs it (SYSTEM_DEPS), "
            "or apt-get install redis-server; or skip the team row with --team-workers 0"
        )
    port = free_port()
    with tempfile.TemporaryDirectory(prefix="bench-redis-") as directory:
        command = [binary, "--bind", "127.0.0.1", "--port", str(port), "--dir", directory]
        process = subprocess.Popen(
            [*command, "--save", "", "--appendonly", "no"],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        try:
            _wait_for_ping(port, process)
            yield f"redis://127.0.0.1:{port}/0", process.pid
        finally:
            process.terminate()
            process.wait(timeout=10)


def _wait_for_ping(port: int, process: subprocess.Popen[bytes], timeout: float = 10) -> None:
    deadline = time.monotonic() + timeout
    client = redis.Redis(port=port, socket_connect_timeout=0.2)
    try:
        while True:
            try:
                if client.ping():
                    return
            except redis.RedisError:
                pass
            if process.poll() is not None or time.monotonic() > deadline:
                raise BenchError(f"redis-server on port {port} did not answer PING")
            time.sleep(0.01)
    finally:
        client.close()


def team_throughput(workers: int, duration: float, rounds: int, connections: int) -> dict[str, Any]:
    """wrk against N workers sharing Redis, alternating with the bare endpoint."""
    with redis_server() as (url, redis_pid):
        bare = start_server("bare", bare_command(port := free_port()), port)
        extra = ["--workers", str(workers), "--store", url, "--log-level", "warning"]
        team = start_server("team", mock_command(port := free_port(), *extra), port)
        # the CPU a request costs the team: supervisor, workers and Redis (last) together
        pids = {"bare": [bare.process.pid], "team": [*_tree(team.process.pid), redis_pid]}
        try:
            for server in (bare, team):  # warm up both (each worker's pool, Redis's scripts)
                _load(server.url, min(2.0, duration), connections, pids[server.name])
            runs: dict[str, list[WrkRun]] = {"bare": [], "team": []}
            for round_no in range(rounds):
                order = (bare, team) if round_no % 2 == 0 else (team, bare)
                for server in order:
                    run = _load(server.url, duration, connections, pids[server.name])
                    runs[server.name].append(run)
            rss = sum(rss_bytes(pid) for pid in _tree(team.process.pid))
        finally:
            team.stop()
            bare.stop()
    summary: dict[str, Any] = {"workers": workers, "store": "redis (loopback, no persistence)"}
    for name, name_runs in runs.items():
        summary[name] = {
            "requests_per_second": round(median([r.requests_per_second for r in name_runs])),
            "p50_ms": median([r.figures["p50_us"] for r in name_runs]) / 1000,
            "p99_ms": median([r.figures["p99_us"] for r in name_runs]) / 1000,
            "cpu_us_per_request": median([r.figures["cpu_us_per_request"] for r in name_runs]),
            "redis_cpu_us_per_request": median(
                [r.figures["last_process_cpu_us_per_request"] for r in name_runs]
            )
            if name == "team"
            else 0.0,
            "runs": [r.figures for r in name_runs],
        }
    summary["ratio"] = round(
        summary["team"]["requests_per_second"] / summary["bare"]["requests_per_second"], 3
    )
    summary["non_2xx"] = sum(r.figures["non_2xx"] for r in runs["team"])
    summary["socket_errors"] = sum(r.errors + r.timeouts for r in runs["team"])
    summary["rss_all_processes_mb"] = round(rss / MB, 1)
    return summary


def _load(url: str, duration: float, connections: int, pids: list[int]) -> WrkRun:
    """One wrk run, and the CPU time per request of `pids` (Redis's own share apart)."""
    run, used = token_load(url, duration, connections, pids)
    run.figures["cpu_us_per_request"] = round(sum(used), 1)
    run.figures["last_process_cpu_us_per_request"] = round(used[-1], 1)
    return run


def _tree(pid: int) -> list[int]:
    """The supervisor and its direct children: uvicorn's workers (Linux /proc)."""
    children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
    return [pid, *map(int, children)]
