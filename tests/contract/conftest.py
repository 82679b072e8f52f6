"""Targets for the harness: the real mock, and the small fake platform with one knob turned."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import ExitStack

import pytest

from mockplatform import create_app
from mockplatform.core.spec import Spec
from mockplatform.server.world import DEFAULT_AGENT_ID
from mockplatform.testing import serve_in_thread
from tests.contract.fake_platform import Behaviour, FakePlatform, create_fake_app

# The fakes a test started, by URL: what they were sent is the proof of what was sent.
started: dict[str, FakePlatform] = {}


@pytest.fixture(scope="module")
def harness_mock_url(spec: Spec) -> Iterator[str]:
    """A mock of the harness's own: fast expiry moves its clock, which must not disturb others."""
    with serve_in_thread(create_app(spec=spec)) as url:
        yield url


@pytest.fixture
def serve_fake(spec: Spec) -> Iterator[Callable[..., str]]:
    """Start the fake platform (Behaviour knobs, optionally another spec); returns its URL."""
    with ExitStack() as stack:

        def start(behaviour: Behaviour | None = None, fake_spec: Spec | None = None) -> str:
            app = create_fake_app(fake_spec or spec, behaviour or Behaviour(), DEFAULT_AGENT_ID)
            url = stack.enter_context(serve_in_thread(app))
            started[url] = app.state.platform
            return url

        started.clear()

        yield start
