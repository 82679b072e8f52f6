"""`python -m bench.proxy` (or `make bench-proxy`): what `mockplatform proxy` costs a request.

The mock (`mockplatform serve`) is the upstream; `mockplatform proxy` stands in front of it,
and so does Prism's validating proxy where it is installed (`prism` on PATH, or PRISM=path).
wrk sends the same token POST to the mock directly and through each proxy, in alternating
runs: one connection (each request's own latency: the figure an app feels) and 32
(throughput under load). The added latency is the difference of the medians; each figure is
the median of the rounds, with the spread (min-max) beside it.

Then what must not grow: the proxy's memory over 100 requests with a 250 KB body (each a
finding kept), and over gzip bombs (a 200 MB answer gzipped to about 200 KB, from an upstream
of this script's own); and while either goes on, how long another client's small request
takes through the same proxy.
"""

from __future__ import annotations

import argparse
import asyncio
import gzip
import http.client
import json
import os
import re
import shutil
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

from bench._common import (
    HOST,
    REPO,
    TOKEN_PATH,
    Server,
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
from mockplatform.server.world import DEFAULT_AGENT_ID, DEFAULT_API_KEY

BIG_BODY = 250 * 1024
BOMB_INFLATED = 200 * 1024 * 1024


def proxy_command(port: int, upstream: str) -> list[str]:
    binary = str(Path(sys.executable).parent / "mockplatform")
    return [binary, "proxy", "--upstream", upstream, "--port", str(port), "--log-level", "warning"]


def prism_command(port: int, upstream: str) -> list[str] | None:
    binary = os.environ.get("PRISM") or shutil.which("prism")
    if binary is None:
        return None
    spec = str(REPO / "openapi.yaml")
    return [binary, "proxy", spec, upstream, "--host", HOST, "--port", str(port), "--errors"]


def spread(values: list[float]) -> dict[str, float]:
    return {"median": median(values), "min": min(values), "max": max(values)}


def measure(args: argparse.Namespace) -> dict[str, Any]:
    load_before = os.getloadavg()
    mock_port = free_port()
    mock = start_server("mock", mock_command(mock_port, "--log-level", "warning"), mock_port)
    servers: list[Server] = []
    printed = tempfile.TemporaryFile()  # noqa: SIM115 (closed below) the proxy's summary
    try:
        port = free_port()
        proxy = start_server("proxy", proxy_command(port, mock.url), port, output=printed)
        servers.append(proxy)
        targets = {"direct": mock, "ours": proxy}
        prism = prism_command(prism_port := free_port(), mock.url)
        if prism is not None:
            servers.append(start_server("prism", prism, prism_port, timeout=60))
            targets["prism"] = servers[-1]
        results: dict[str, Any] = {"commit": git_commit(), "at": now_utc(), **machine()}
        for connections in (1, args.connections):
            runs: dict[str, list[WrkRun]] = {name: [] for name in targets}
            proxy_cpu: list[float] = []  # our proxy process's CPU per request, us
            for round_ in range(args.rounds):
                order = list(targets) if round_ % 2 == 0 else list(targets)[::-1]
                for name in order:
                    pids = [mock.process.pid, targets[name].process.pid]
                    run, cpu = token_load(targets[name].url, args.duration, connections, pids)
                    runs[name].append(run)
                    if name == "ours":
                        proxy_cpu.append(cpu[1])
            results[f"c{connections}"] = {
                name: {
                    "requests_per_second": spread([r.requests_per_second for r in rs]),
                    "p50_ms": spread([r.figures["p50_us"] / 1000 for r in rs]),
                    "p99_ms": spread([r.figures["p99_us"] / 1000 for r in rs]),
                    "non_2xx": sum(r.figures["non_2xx"] for r in rs),
                }
                for name, rs in runs.items()
            }
            results[f"c{connections}"]["proxy_cpu_us_per_request"] = median(proxy_cpu)
        results["big_bodies"] = big_bodies(proxy)
        proxy.stop()
        printed.seek(0)
        results["judging"] = judging(printed.read().decode("utf-8", "replace"))
        results["gzip_bomb"] = gzip_bombs()
        results["load_average"] = {"before": load_before[0], "after": os.getloadavg()[0]}
        return results
    finally:
        for server in servers:
            server.stop()
        mock.stop()
        printed.close()


def judging(summary: str) -> dict[str, Any]:
    """How many exchanges the proxy judged over the whole run (both loads and the large
    bodies) and how many it passed on unjudged, by why: read from the summary it prints as
    it stops. Judging is never sampled, so at 32 connections this must stay 0."""
    judged = re.search(r"proxy: (\d+) exchanges judged", summary)
    passed = re.findall(r"(\d+) exchange\(s\) passed on but not judged: (.+)", summary)
    not_judged = {why.strip(): int(count) for count, why in passed}
    return {
        "judged": int(judged.group(1)) if judged else -1,
        "not_judged": sum(not_judged.values()),
        "not_judged_by_why": not_judged,
    }


class OtherClient:
    """Small requests to `path` one after another, in a thread: the slowest is what matters."""

    def __init__(self, port: int, path: str, body: bytes = b"") -> None:
        self.port, self.path, self.body = port, path, body
        self.slowest = 0.0
        self.count = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self) -> OtherClient:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(30)

    def _run(self) -> None:
        while not self._stop.is_set():
            started = time.perf_counter()
            send(self.port, "POST", self.path, self.body)
            self.slowest = max(self.slowest, time.perf_counter() - started)
            self.count += 1


def send(port: int, method: str, path: str, body: bytes = b"") -> int:
    connection = http.client.HTTPConnection(HOST, port, timeout=30)
    try:
        headers = {"Authorization": f"Bearer {DEFAULT_API_KEY}", "Content-Type": "application/json"}
        connection.request(method, path, body=body, headers=headers)
        response = connection.getresponse()
        response.read()
        return response.status
    finally:
        connection.close()


def big_bodies(proxy: Server) -> dict[str, float]:
    """RSS growth over 100 token POSTs with a 250 KB body (a client finding each)."""
    body = json.dumps({"agentId": DEFAULT_AGENT_ID, "callerName": "R" * BIG_BODY}).encode()
    small = json.dumps({"agentId": DEFAULT_AGENT_ID}).encode()
    before = proxy.rss_bytes()
    with OtherClient(proxy.port, TOKEN_PATH, small) as other:
        for _ in range(100):
            send(proxy.port, "POST", TOKEN_PATH, body)
    return {
        "rss_growth_mb": (proxy.rss_bytes() - before) / 2**20,
        "other_client_slowest_ms": other.slowest * 1000,
        "other_client_requests": other.count,
    }


def gzip_bombs() -> dict[str, float]:
    """RSS growth of a proxy in front of an upstream whose every answer to /bomb is a gzip
    bomb, over 20 of them; and the slowest small request of another client meanwhile."""
    bomb = gzip.compress(b"\0" * BOMB_INFLATED, compresslevel=9)
    head = (
        b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-encoding: gzip\r\n"
        b"content-length: %d\r\n\r\n" % len(bomb)
    )
    small = b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: 2\r\n\r\n{}"

    async def serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while True:
                request = await reader.readuntil(b"\r\n\r\n")
                length = next(
                    (int(line.split(b":")[1]) for line in request.lower().split(b"\r\n")
                     if line.startswith(b"content-length:")),
                    0,
                )  # fmt: skip
                await reader.readexactly(length)
                writer.write(head + bomb if b" /bomb " in request else small)
                await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError):
            writer.close()

    loop = asyncio.new_event_loop()
    threading.Thread(target=loop.run_forever, daemon=True).start()
    server = asyncio.run_coroutine_threadsafe(asyncio.start_server(serve, HOST, 0), loop).result(10)
    upstream = f"http://{HOST}:{server.sockets[0].getsockname()[1]}"
    port = free_port()
    proxy = start_server("proxy (bomb)", proxy_command(port, upstream), port)
    try:
        before = proxy.rss_bytes()
        with OtherClient(port, "/small") as other:
            for _ in range(20):
                send(port, "GET", "/bomb")
        return {
            "bomb_wire_kb": len(bomb) / 1024,
            "rss_growth_mb": (proxy.rss_bytes() - before) / 2**20,
            "other_client_slowest_ms": other.slowest * 1000,
            "other_client_requests": other.count,
        }
    finally:
        proxy.stop()
        loop.call_soon_threadsafe(server.close)
        loop.call_soon_threadsafe(loop.stop)


def table(results: dict[str, Any]) -> str:
    load = results.get("load_average", {})
    lines = [
        f"mockplatform proxy in front of the mock, commit {results['commit']} "
        f"(load average {load.get('before', 0):.2f} before, {load.get('after', 0):.2f} after); "
        "median (min-max) of the rounds"
    ]
    for key in sorted(k for k in results if k.startswith("c") and k[1:].isdigit()):
        row = results[key]
        names = [n for n in ("direct", "ours", "prism") if n in row]
        lines.append(f"{key[1:]} connection(s):")
        for figure, unit in (("p50_ms", "ms"), ("p99_ms", "ms"), ("requests_per_second", "/s")):
            cells = []
            for name in names:
                s = row[name][figure]
                cells.append(f"{name} {s['median']:.2f} ({s['min']:.2f}-{s['max']:.2f})")
            lines.append(f"  {figure.removesuffix('_ms'):>20} {unit:3} " + "   ".join(cells))
        direct, ours = row["direct"], row["ours"]
        added = ours["p50_ms"]["median"] - direct["p50_ms"]["median"]
        ratio = ours["requests_per_second"]["median"] / direct["requests_per_second"]["median"]
        lines.append(
            f"  {'ours vs direct':>24} p50 {added:+.2f} ms, throughput {ratio:.2f}x; "
            f"our CPU/request {row['proxy_cpu_us_per_request']:.0f} us"
        )
        if "prism" not in row:
            lines.append(f"  {'prism':>24} not installed (PRISM=path or prism on PATH)")
    judged = results["judging"]
    why = "; ".join(f"{n} {reason}" for reason, n in judged["not_judged_by_why"].items())
    lines.append(
        f"judging, over both loads and the large bodies: {judged['judged']} exchanges judged, "
        f"{judged['not_judged']} not judged" + (f" ({why})" if why else "")
    )
    for key, what in (
        ("big_bodies", "100 requests with a 250 KB body"),
        ("gzip_bomb", "20 gzip bombs (200 MB inflated)"),
    ):
        figures = results[key]
        lines.append(
            f"{what}: proxy RSS {figures['rss_growth_mb']:+.1f} MB; another client's slowest "
            f"request {figures['other_client_slowest_ms']:.0f} ms "
            f"(of {figures['other_client_requests']:.0f})"
        )
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
