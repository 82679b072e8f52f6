"""What every benchmark shares: servers in subprocesses, wrk runs, resident memory, results.

Servers run as real subprocesses (`mockplatform serve`, `python -m bench.bare`) on loopback
ports, exactly as a developer would start them; wrk drives them from outside the Python
process, so the load generator never competes with the server for the GIL.
"""

from __future__ import annotations

import http.client
import json
import os
import platform
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, Any

from mockplatform.server.world import DEFAULT_AGENT_ID, DEFAULT_API_KEY, DEFAULT_INSTANCE_ID

BENCH_DIR = Path(__file__).resolve().parent
REPO = BENCH_DIR.parent
RESULTS_DIR = BENCH_DIR / "results"
HOST = "127.0.0.1"  # loopback only, always
TOKEN_PATH = "/api/widget/token"
TOKEN_BODY = json.dumps({"agentId": DEFAULT_AGENT_ID, "callerName": "Rahul Sharma"})
WRK_ENV = {
    "BENCH_BODY": TOKEN_BODY,
    "BENCH_API_KEY": DEFAULT_API_KEY,
    "BENCH_AGENT_ID": DEFAULT_AGENT_ID,
    "BENCH_INSTANCE_ID": DEFAULT_INSTANCE_ID,
}


class BenchError(Exception):
    """The benchmark could not measure (a tool missing, a server that did not start)."""


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind((HOST, 0))
        return probe.getsockname()[1]


def mock_command(port: int, *extra: str) -> list[str]:
    return [str(Path(sys.executable).parent / "mockplatform"), "serve", "--port", str(port), *extra]


def bare_command(port: int) -> list[str]:
    return [sys.executable, "-m", "bench.bare", "--port", str(port)]


def plain_command(port: int) -> list[str]:
    return [sys.executable, "-m", "bench.plain", "--port", str(port)]


@dataclass
class Server:
    """A server subprocess on a loopback port."""

    name: str
    process: subprocess.Popen[bytes]
    port: int
    started_in: float  # seconds from launch to its first 200

    @property
    def url(self) -> str:
        return f"http://{HOST}:{self.port}"

    def rss_bytes(self) -> int:
        return rss_bytes(self.process.pid)

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


def start_server(
    name: str,
    command: Sequence[str],
    port: int,
    timeout: float = 20.0,
    output: IO[bytes] | None = None,
) -> Server:
    """Launch `command` and wait for its first 200 to the token POST; time it. Its standard
    output goes to `output` (else nowhere)."""
    started = time.perf_counter()
    process = subprocess.Popen(
        command,
        cwd=REPO,
        stdout=output or subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        # This tree's code, not whatever the virtual environment has installed: an A/B
        # between trees (PYTHONPATH=<tree>/src python -m bench) measures each tree.
        env={**os.environ, "PYTHONPATH": os.pathsep.join([str(REPO / "src"), str(REPO)])},
    )
    deadline = started + timeout
    while True:
        if process.poll() is not None:
            raise BenchError(f"{name} exited with status {process.returncode}: {' '.join(command)}")
        if post_token(port) == 200:
            return Server(name, process, port, time.perf_counter() - started)
        if time.perf_counter() > deadline:
            process.kill()
            raise BenchError(f"{name} gave no 200 within {timeout:g} s: {' '.join(command)}")
        time.sleep(0.005)


def post_token(port: int) -> int | None:
    """The status of one token POST, or None while nothing listens."""
    connection = http.client.HTTPConnection(HOST, port, timeout=2)
    try:
        connection.request(
            "POST",
            TOKEN_PATH,
            body=TOKEN_BODY,
            headers={
                "Content-Type": "application/json",
                "Authorization": f"Bearer {DEFAULT_API_KEY}",
            },
        )
        return connection.getresponse().status
    except OSError:
        return None
    finally:
        connection.close()


def post_json(url: str, path: str, body: Any) -> Any:
    """A control-API call (loopback)."""
    host, _, port = url.removeprefix("http://").partition(":")
    connection = http.client.HTTPConnection(host, int(port), timeout=10)
    try:
        connection.request(
            "POST", path, body=json.dumps(body), headers={"Content-Type": "application/json"}
        )
        response = connection.getresponse()
        data = response.read()
        if response.status != 200:
            raise BenchError(f"POST {path} -> {response.status}: {data[:200]!r}")
        return json.loads(data)
    finally:
        connection.close()


def rss_bytes(pid: int) -> int:
    """Resident set size of a process, from /proc (Linux)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    raise BenchError(f"no VmRSS for process {pid}")


def cpu_seconds(pid: int) -> float:
    """User + system CPU time a process has used, from /proc (Linux)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def token_load(
    url: str, duration: float, connections: int, pids: Sequence[int]
) -> tuple[WrkRun, list[float]]:
    """wrk's token requests against `url`, and the CPU microseconds each request cost each
    of `pids` (server CPU per request: steadier than req/s on a shared machine)."""
    before = [cpu_seconds(pid) for pid in pids]
    run = run_wrk(url + TOKEN_PATH, "token.lua", duration=duration, connections=connections)
    assert isinstance(run, WrkRun)
    per_request = 1e6 / max(run.figures["requests"], 1)
    used = [
        (cpu_seconds(pid) - start) * per_request for pid, start in zip(pids, before, strict=True)
    ]
    return run, used


def require_wrk() -> str:
    path = shutil.which("wrk")
    if path is None:
        raise BenchError(
            "wrk is not installed: run `make bench` (it installs Debian's wrk), "
            "or apt-get install wrk"
        )
    return path


@dataclass
class WrkRun:
    """One wrk run's summary, as printed by the Lua script's done()."""

    figures: dict[str, Any]
    command: list[str] = field(default_factory=list)

    @property
    def requests_per_second(self) -> float:
        return self.figures["requests"] / (self.figures["duration_us"] / 1e6)

    @property
    def errors(self) -> int:
        f = self.figures
        return sum(f.get(k, 0) for k in ("connect_errors", "read_errors", "write_errors"))

    @property
    def timeouts(self) -> int:
        return self.figures.get("timeouts", 0)


def run_wrk(
    url: str,
    script: str,
    *,
    duration: float,
    connections: int = 32,
    threads: int = 1,
    env: dict[str, str] | None = None,
    timeout_s: int = 5,
    background: bool = False,
) -> WrkRun | subprocess.Popen[str]:
    """Run wrk against `url` with a script from bench/; returns the parsed summary."""
    command = [
        require_wrk(),
        f"-t{threads}",
        f"-c{connections}",
        f"-d{max(1, round(duration))}s",
        f"--timeout={timeout_s}s",
        "-s",
        str(BENCH_DIR / script),
        url,
    ]
    process = subprocess.Popen(
        command,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, **WRK_ENV, **(env or {})},
    )
    if background:
        return process
    return wrk_result(process)


def wrk_until_limit(process: subprocess.Popen[str]) -> WrkRun:
    """Wait for the script's BENCH_LIMIT_REACHED line, then stop wrk early (as Ctrl-C does)."""
    assert process.stdout is not None
    head = []
    for line in process.stdout:
        head.append(line)
        if line.startswith("BENCH_LIMIT_REACHED"):
            process.send_signal(signal.SIGINT)
            break
    return wrk_result(process, "".join(head))


def wrk_result(process: subprocess.Popen[str], head: str = "") -> WrkRun:
    stdout, stderr = process.communicate()
    for line in (head + stdout).splitlines():
        if line.startswith("BENCH_JSON "):
            return WrkRun(json.loads(line.removeprefix("BENCH_JSON ")), list(process.args))
    raise BenchError(f"wrk printed no summary (status {process.returncode}): {stderr.strip()}")


def median(values: Sequence[float]) -> float:
    return statistics.median(values)


def git_commit() -> str:
    try:
        sha = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"], cwd=REPO, capture_output=True, text=True
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "--", "src", "bench"],
            cwd=REPO,
            capture_output=True,
            text=True,
        ).stdout.strip()
    except OSError:
        return "unknown"
    return f"{sha}{'-dirty' if dirty else ''}" if sha else "unknown"


def machine() -> dict[str, Any]:
    return {
        "cpus": os.cpu_count(),
        "load_average": [round(x, 2) for x in os.getloadavg()],
        "python": platform.python_version(),
        "platform": platform.platform(),
    }


def save_results(kind: str, results: dict[str, Any]) -> Path:
    """Write results to bench/results/ (git-ignored): a dated file and `<kind>-latest.json`."""
    RESULTS_DIR.mkdir(exist_ok=True)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    commit = results.get("commit", "unknown")
    path = RESULTS_DIR / f"{kind}-{stamp}-{commit}.json"
    text = json.dumps(results, indent=2) + "\n"
    path.write_text(text)
    (RESULTS_DIR / f"{kind}-latest.json").write_text(text)
    return path


def now_utc() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def run_and_report(
    name: str,
    kind: str,
    run: Callable[[Any], dict[str, Any]],
    table: Callable[[dict[str, Any]], str],
    args: Any,
) -> dict[str, Any] | None:
    """Run one benchmark, print its table and save its JSON; None, after one line on stderr,
    when it could not run (the caller exits 2)."""
    try:
        results = run(args)
    except BenchError as exc:
        print(f"{name}: {exc}", file=sys.stderr)
        return None
    print(table(results))
    path = save_results(kind, results)
    print(f"\nwritten: {path.relative_to(path.parents[2])}")
    return results
