"""Real processes for the shared-store tests: a `redis-server` and `mockplatform serve`.

Each runs in its own session (process group) on a free loopback port, its output in a file
(a pipe nobody reads would fill and stall it), is waited for by polling, never by a fixed
sleep, and is always stopped, with everything it spawned, however the test ends.
"""

from __future__ import annotations

import os
import random
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import ClassVar

import httpx
import redis

from mockplatform.server.world import DEFAULT_AGENT_ID, DEFAULT_API_KEY

START_TIMEOUT = 20.0


# A port for a server in a subprocess, which binds it after we let it go. One found by
# binding port 0 comes from the kernel's ephemeral range (32768-60999 here), which every
# client connection and every in-thread server (`mockplatform.testing`) also draws from, as
# does the other xdist worker's next `free_port`: in the gap, any of them could take it.
# So each xdist worker picks from a block of its own below that range.
_PORT_BLOCK = 2000
_WORKER = int(os.environ.get("PYTEST_XDIST_WORKER", "gw0").removeprefix("gw") or 0)
_FIRST_PORT = 20000 + (_WORKER % 6) * _PORT_BLOCK


def free_port() -> int:
    """A loopback port no one listens on, from this worker's block."""
    for _ in range(100):
        port = random.randrange(_FIRST_PORT, _FIRST_PORT + _PORT_BLOCK)
        with socket.socket() as probe:
            try:
                probe.bind(("127.0.0.1", port))
            except OSError:
                continue  # a server of this worker's still holds it
            return port
    raise AssertionError(f"no free port in {_FIRST_PORT}-{_FIRST_PORT + _PORT_BLOCK - 1}")


def wait_until(ready, what: str, process: subprocess.Popen, log: Path) -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + START_TIMEOUT
    while not ready():
        if process.poll() is not None:
            raise AssertionError(f"{what} exited ({process.returncode}): {log.read_text()}")
        if time.monotonic() > deadline:
            raise AssertionError(f"{what} not ready in {START_TIMEOUT} s: {log.read_text()}")
        time.sleep(0.02)


def stop(process: subprocess.Popen, sig: int = signal.SIGTERM) -> None:
    """Stop `process` and its whole group (uvicorn's workers too)."""
    if process.poll() is not None:
        return
    try:
        os.killpg(process.pid, sig)
        process.wait(timeout=10)
    except ProcessLookupError:
        pass
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=10)


def _start(
    command: list[str], log: Path, cwd: Path | None = None, env: dict[str, str] | None = None
) -> subprocess.Popen:
    with log.open("ab") as out:
        return subprocess.Popen(
            command, stdout=out, stderr=subprocess.STDOUT, start_new_session=True, cwd=cwd, env=env
        )


@dataclass
class RedisServer:
    """A throw-away `redis-server` on loopback; with `durable`, writes survive a restart."""

    directory: Path
    durable: bool = False
    port: int = field(default_factory=free_port)
    process: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> RedisServer:
        binary = shutil.which("redis-server")
        assert binary, "redis-server is missing: `make test` installs it (SYSTEM_DEPS)"
        options = ["--appendonly", "yes", "--appendfsync", "always"] if self.durable else []
        command = [
            binary,
            "--bind", "127.0.0.1",
            "--port", str(self.port),
            "--dir", str(self.directory),
            "--save", "",
            "--appendonly", "no",
            *options,
        ]  # fmt: skip
        log = self.directory / "redis.log"
        self.process = _start(command, log)
        wait_until(self.answers, "redis-server", self.process, log)
        return self

    def answers(self) -> bool:
        client = redis.Redis(port=self.port, socket_connect_timeout=0.2, socket_timeout=0.5)
        try:
            return bool(client.ping())
        except redis.RedisError:
            return False
        finally:
            client.close()

    def kill(self) -> None:
        """Die as a crash would: SIGKILL, no shutdown save."""
        assert self.process is not None
        stop(self.process, signal.SIGKILL)

    def stop(self) -> None:
        if self.process is not None:
            stop(self.process)


@dataclass
class MockProcess:
    """`mockplatform serve` as a team runs it, against a shared store."""

    args: list[str]
    log: Path
    port: int = field(default_factory=free_port)
    process: subprocess.Popen | None = None
    # How `mockplatform` is run (the checkout's, unless an installed one is named), where
    # and with what environment (this process's unless given).
    cli: tuple[str, ...] = (sys.executable, "-m", "mockplatform.cli")
    cwd: Path | None = None
    env: dict[str, str] | None = None
    # The command and its options before `args`, and the path that answers 200 once it serves.
    command: ClassVar[tuple[str, ...]] = ("serve", "--log-level", "warning")
    ready_path: ClassVar[str] = "/_mock/clock"

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> MockProcess:
        command = [*self.cli, *self.command, "--port", str(self.port), *self.args]
        self.process = _start(command, self.log, self.cwd, self.env)
        wait_until(self.answers, f"mockplatform {self.command[0]}", self.process, self.log)
        return self

    def answers(self) -> bool:
        try:
            return httpx.get(self.url + self.ready_path, timeout=1).status_code == 200
        except httpx.TransportError:
            return False

    def stop(self) -> None:
        if self.process is not None:
            stop(self.process)


@dataclass
class ProxyProcess(MockProcess):
    """`mockplatform proxy` as run; `args` name its upstream (`--upstream URL`)."""

    command: ClassVar[tuple[str, ...]] = ("proxy",)
    ready_path: ClassVar[str] = "/_mock/violations"


@contextmanager
def running(processes: list[MockProcess]) -> Iterator[list[MockProcess]]:
    """Start every process, and stop them all however the block ends."""
    try:
        for process in processes:
            process.start()
        yield processes
    finally:
        for process in processes:
            process.stop()


def issue_token(client: httpx.Client, base_url: str) -> dict[str, str]:
    response = client.post(
        f"{base_url}/api/widget/token",
        json={"agentId": DEFAULT_AGENT_ID},
        headers={"Authorization": f"Bearer {DEFAULT_API_KEY}"},
    )
    assert response.status_code == 200, response.text
    return response.json()


def redeem(client: httpx.Client, base_url: str, token: str) -> httpx.Response:
    return client.post(f"{base_url}/api/widget/calls", json={"accessToken": token})
