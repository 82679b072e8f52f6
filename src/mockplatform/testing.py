"""Serving the mock (or any ASGI app) on a real port inside a test, the way httpx's suite does.

The server runs in a thread on a socket bound to a free loopback port; signal handlers stay
with the main thread. `chromium` opens Debian's headless Chromium for browser tests. Used by
the project's own tests and available to yours.
"""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any, Literal

import uvicorn
from starlette.types import ASGIApp

if TYPE_CHECKING:
    from playwright.sync_api import Browser


@contextmanager
def serve_in_thread(
    app: ASGIApp,
    host: str = "127.0.0.1",
    lifespan: Literal["auto", "on", "off"] = "off",
    **options: Any,
) -> Iterator[str]:
    """Yield the base URL of `app` served by uvicorn on a free port; stop it afterwards
    (`lifespan="on"` runs the app's start-up and shutdown, e.g. to close a Redis store;
    `options` are uvicorn's others, `uvicorn.Config`'s)."""
    listener = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET)
    listener.bind((host, 0))
    port = listener.getsockname()[1]
    settings = {"log_level": "warning", "access_log": False, **options}
    config = uvicorn.Config(app, lifespan=lifespan, **settings)
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [listener]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError("the test server did not start")
        time.sleep(0.01)
    try:
        url_host = f"[{host}]" if ":" in host else host
        yield f"http://{url_host}:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        listener.close()


CHROMIUM_PATH = "/usr/bin/chromium"  # Debian's package (the Makefile's SYSTEM_DEPS)
CHROMIUM_ARGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
)


@contextmanager
def chromium(executable_path: str = CHROMIUM_PATH) -> Iterator[Browser]:
    """Headless Chromium driven by Playwright (the `dev` extra), never downloading a browser.

    Debian's own build is used through `executable_path`, with background networking off so
    the browser talks to nothing but the pages a test opens.
    """
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=executable_path, args=list(CHROMIUM_ARGS)
        )
        try:
            yield browser
        finally:
            browser.close()
