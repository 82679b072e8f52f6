"""`python -m bench.proxy_clients`: which HTTP client the proxy's upstream leg should use.

The proxy's cost is mostly its client of the upstream. This sends the same token POST to the
mock (`mockplatform serve`, a subprocess) from each candidate in this one process, on uvloop
as the proxy runs: httpx (the proxy's client until issue 22), aiohttp (where installed: it is
no dependency of ours) and the proxy's own `mockplatform.proxy.upstream` (asyncio + httptools).
Each is read as it would be by the proxy: status, raw headers, body streamed part by part.

Rounds alternate the candidates, so a neighbour's load on a shared machine falls on all of
them alike; the figures are the medians of the rounds, with their spread (min-max). Per
candidate: this process's CPU per request (the figure the choice rests on: it is what the
proxy's event loop spends) at 1 connection and at 32, and p50 latency at 1 connection.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import sys
import time
from collections.abc import Awaitable, Callable
from typing import Any

import uvloop

from bench._common import (
    HOST,
    TOKEN_BODY,
    TOKEN_PATH,
    free_port,
    mock_command,
    start_server,
)
from mockplatform.proxy.upstream import UpstreamPool
from mockplatform.server.world import DEFAULT_API_KEY

HEADERS = {
    "authorization": f"Bearer {DEFAULT_API_KEY}",
    "content-type": "application/json",
}
Send = Callable[[], Awaitable[int]]


async def httpx_client(port: int, connections: int) -> tuple[Send, Callable[[], Awaitable[None]]]:
    import httpx

    client = httpx.AsyncClient(limits=httpx.Limits(max_keepalive_connections=connections))
    url = f"http://{HOST}:{port}{TOKEN_PATH}"

    async def send() -> int:
        request = client.build_request("POST", url, headers=HEADERS, content=TOKEN_BODY)
        response = await client.send(request, stream=True)
        async for _ in response.aiter_raw():
            pass
        await response.aclose()
        return response.status_code

    return send, client.aclose


async def aiohttp_client(port: int, connections: int) -> tuple[Send, Callable[[], Awaitable[None]]]:
    import aiohttp

    session = aiohttp.ClientSession(
        connector=aiohttp.TCPConnector(limit=connections), auto_decompress=False
    )
    url = f"http://{HOST}:{port}{TOKEN_PATH}"

    async def send() -> int:
        async with session.post(url, headers=HEADERS, data=TOKEN_BODY.encode()) as response:
            async for _ in response.content.iter_any():
                pass
            return response.status

    return send, session.close


async def raw_client(port: int, connections: int) -> tuple[Send, Callable[[], Awaitable[None]]]:
    pool = UpstreamPool("http", HOST, port, timeout=30)
    body = TOKEN_BODY.encode()
    headers = [(b"host", f"{HOST}:{port}".encode())] + [
        (k.encode(), v.encode()) for k, v in HEADERS.items()
    ]
    headers.append((b"content-length", str(len(body)).encode()))

    async def send() -> int:
        response = await pool.request("POST", TOKEN_PATH.encode(), headers, body)
        try:
            async for _ in response.stream():
                pass
        finally:
            response.release()
        return response.status

    async def close() -> None:
        pool.close()

    return send, close


CANDIDATES: dict[str, Callable[[int, int], Awaitable[tuple[Send, Callable[[], Awaitable[None]]]]]]
CANDIDATES = {"httpx": httpx_client, "aiohttp": aiohttp_client, "raw httptools": raw_client}


async def one_run(make: Any, port: int, connections: int, requests: int) -> dict[str, float]:
    send, close = await make(port, connections)
    try:
        for _ in range(50):  # warm: connections opened, code paths taken
            await send()
        latencies: list[float] = []

        async def worker(count: int) -> None:
            for _ in range(count):
                started = time.perf_counter()
                status = await send()
                latencies.append(time.perf_counter() - started)
                assert status == 200, status

        cpu, wall = time.process_time(), time.perf_counter()
        await asyncio.gather(*(worker(requests // connections) for _ in range(connections)))
        cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
    finally:
        await close()
    done = len(latencies)
    return {
        "cpu_us": cpu / done * 1e6,
        "p50_ms": statistics.median(latencies) * 1000,
        "per_second": done / wall,
    }


def available() -> list[str]:
    names = []
    for name in CANDIDATES:
        try:
            if name == "aiohttp":
                import aiohttp  # noqa: F401
        except ImportError:
            print("aiohttp: not installed, left out", file=sys.stderr)
            continue
        names.append(name)
    return names


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.proxy_clients", description=__doc__)
    parser.add_argument("--rounds", type=int, default=5, help="alternating rounds (5)")
    parser.add_argument("--requests", type=int, default=2000, help="per run (2000)")
    args = parser.parse_args(argv)
    port = free_port()
    mock = start_server("mock", mock_command(port, "--log-level", "warning"), port)
    names = available()
    results: dict[tuple[str, int], list[dict[str, float]]] = {}
    try:
        for round_ in range(args.rounds):
            order = names if round_ % 2 == 0 else names[::-1]
            for connections in (1, 32):
                for name in order:
                    run = uvloop.run(one_run(CANDIDATES[name], port, connections, args.requests))
                    results.setdefault((name, connections), []).append(run)
    finally:
        mock.stop()
    load = os.getloadavg()
    print(f"{args.rounds} alternating rounds of {args.requests} token POSTs to the mock; "
          f"load average {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}; median (min-max)")  # fmt: skip
    for (name, connections), runs in sorted(results.items(), key=lambda item: item[0][1]):
        figures = []
        for figure, unit in (("cpu_us", "us CPU/req"), ("p50_ms", "ms p50"), ("per_second", "/s")):
            values = [run[figure] for run in runs]
            figures.append(
                f"{statistics.median(values):8.2f} ({min(values):.2f}-{max(values):.2f}) {unit}"
            )
        print(f"  {name:14} c{connections:<3}" + "  ".join(figures))
    return 0


if __name__ == "__main__":
    sys.exit(main())
