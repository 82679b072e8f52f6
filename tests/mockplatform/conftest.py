"""Fixtures for the shared store: one real `redis-server` for the session."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.mockplatform.processes import RedisServer


@pytest.fixture(scope="session")
def redis_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RedisServer]:
    server = RedisServer(tmp_path_factory.mktemp("redis")).start()
    try:
        yield server
    finally:
        server.stop()
