"""`mockplatform`: serve the mock. Every failure is one line on stderr and exit status 2."""

from __future__ import annotations

import argparse
import gc
import json
import logging
import math
import os
import socket
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from starlette.applications import Starlette

from mockplatform.core.errors import ConfigError, MockPlatformError
from mockplatform.core.server_limits import (
    DEFAULT_HEADER_TIMEOUT,
    DEFAULT_KEEP_ALIVE_TIMEOUT,
    DEFAULT_MAX_CONNECTIONS,
    DEFAULT_MAX_HEADER_BYTES,
    LimitedConfig,
    LimitedHttpToolsProtocol,
    guard_logs,
)
from mockplatform.core.spec import Spec, load_spec
from mockplatform.server.app import Settings, create_app
from mockplatform.server.scenario_coverage import scenario_coverage
from mockplatform.server.scenario_library import DEFAULT_SCENARIO, ScenarioLibrary, build_library
from mockplatform.server.scenario_loader import ScenarioError, read_scenario
from mockplatform.server.world import World, default_world

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8080
STORE_ENV = "MOCKPLATFORM_STORE"  # the store URL, when --store is not given
# How `serve --workers N` hands its own arguments to the worker processes it spawns.
_WORKER_ARGV_ENV = "MOCKPLATFORM_WORKER_ARGV"


def main(argv: Sequence[str] | None = None) -> int:
    parser = _parser()
    argv = list(sys.argv[1:] if argv is None else argv)
    args = parser.parse_args(argv)
    args.argv = argv
    try:
        return args.run(args)
    except MockPlatformError as exc:
        print(f"mockplatform: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="mockplatform", description="A spec-driven mock of the widget token API."
    )
    commands = parser.add_subparsers(required=True, metavar="COMMAND")
    serve = commands.add_parser("serve", help="start the mock server")
    serve.add_argument("--host", default=DEFAULT_HOST, help="interface (default %(default)s)")
    serve.add_argument("--port", type=int, default=DEFAULT_PORT, help="port (default %(default)s)")
    serve.add_argument(
        "--admin-token",
        help="let non-loopback callers use /_mock/ when they send this in X-Mock-Admin-Token",
    )
    serve.add_argument(
        "--cors-origin",
        action="append",
        default=[],
        metavar="ORIGIN",
        help="allow this browser origin besides localhost (repeatable)",
    )
    serve.add_argument("--log-level", default="info", choices=["debug", "info", "warning", "error"])
    serve.add_argument(
        "--store",
        metavar="URL",
        help=f"where state lives: memory (default, one process) or redis://HOST:PORT/DB, "
        f"shared by every worker and host pointed at it (default: ${STORE_ENV} or memory)",
    )
    serve.add_argument(
        "--workers",
        type=int,
        default=1,
        metavar="N",
        help="uvicorn worker processes sharing the port; more than 1 needs --store redis://",
    )
    serve.add_argument(
        "--scenario",
        default=DEFAULT_SCENARIO,
        metavar="NAME_OR_PATH",
        help="the scenario to start with: a name, or a path to a scenario file",
    )
    serve.add_argument(
        "--call-pace-ms",
        type=int,
        metavar="MS",
        help="pause between a simulated call's events, for every scenario "
        "(default: the scenario's call: pace_ms); 0 plays a call at once, for e2e tests",
    )
    _limit_options(serve)
    serve.add_argument(
        "--forwarded-allow-ips",
        metavar="IPS",
        help="trust X-Forwarded-For/-Proto from these proxy addresses (comma-separated, as "
        "uvicorn reads it); by default forwarded headers are never trusted, whatever "
        "FORWARDED_ALLOW_IPS says",
    )
    _scenarios_dir_option(serve)
    serve.set_defaults(run=_serve)

    proxy = commands.add_parser(
        "proxy", help="stand between an app and a platform, judging every exchange by the spec"
    )
    proxy.add_argument("--upstream", required=True, metavar="URL", help="the platform (staging)")
    proxy.add_argument("--host", default=DEFAULT_HOST, help="interface (default %(default)s)")
    proxy.add_argument("--port", type=int, default=DEFAULT_PORT, help="port (default %(default)s)")
    proxy.add_argument(
        "--record",
        type=Path,
        metavar="FILE",
        help="write what the platform showed as a scenario file the mock replays (no API key)",
    )
    proxy.add_argument(
        "--upstream-timeout",
        type=float,
        default=30.0,
        metavar="SECONDS",
        help="answer 504 when the upstream is slower than this (default %(default)s)",
    )
    proxy.add_argument(
        "--admin-token",
        help="let non-loopback callers use /_mock/ when they send this in X-Mock-Admin-Token",
    )
    proxy.add_argument("--log-level", default="info", choices=["debug", "info", "warning", "error"])
    proxy.add_argument("--spec", help="path to openapi.yaml (default: the repository's)")
    _limit_options(proxy)
    proxy.set_defaults(run=_proxy)

    listing = commands.add_parser("scenarios", help="list the available scenarios")
    listing.add_argument(
        "--coverage",
        action="store_true",
        help="show which documented responses the scenarios produce, and which none does",
    )
    _scenarios_dir_option(listing)
    listing.set_defaults(run=_scenarios)

    validate = commands.add_parser(
        "validate", help="check scenario files; exit 1 on the first bad one"
    )
    validate.add_argument("files", nargs="+", type=Path, metavar="FILE")
    _scenarios_dir_option(validate)
    validate.set_defaults(run=_validate)

    sdk = commands.add_parser("sdk", help="the SDK stand-in as an npm package")
    sdk_commands = sdk.add_subparsers(required=True, metavar="ACTION")
    pack = sdk_commands.add_parser(
        "pack",
        help="write zentrix-voice-sdk-VERSION.tgz for your app to commit and install as "
        '"file:vendor/…" (npm ci then never needs the mock)',
    )
    pack.add_argument(
        "--base-url",
        default="",
        metavar="URL",
        help="the mock's URL packed in as the default (default: none: the app's baseUrl, "
        "VITE_ZENTRIX_MOCK_URL / ZENTRIX_MOCK_URL at build time, else http://127.0.0.1:8080)",
    )
    pack.add_argument(
        "--out", default=Path("."), type=Path, metavar="DIR", help="folder (default: here)"
    )
    pack.add_argument("--spec", help="path to openapi.yaml (default: the repository's)")
    pack.set_defaults(run=_sdk_pack)
    return parser


def _limit_options(parser: argparse.ArgumentParser) -> None:
    """What keeps one client from holding the server (server_limits.py): `serve` and `proxy`."""
    parser.add_argument(
        "--max-connections",
        type=int,
        default=DEFAULT_MAX_CONNECTIONS,
        metavar="N",
        help="connections held at once per worker; at the cap a new one closes the longest "
        "idle, or is answered 503 if every one is busy (default %(default)s)",
    )
    parser.add_argument(
        "--max-header-bytes",
        type=int,
        default=DEFAULT_MAX_HEADER_BYTES,
        metavar="BYTES",
        help="a request's line and headers together; more is answered 431 and the "
        "connection closed (default %(default)s)",
    )
    parser.add_argument(
        "--header-timeout",
        type=float,
        default=DEFAULT_HEADER_TIMEOUT,
        metavar="SECONDS",
        help="a request's line and headers must arrive within this; else 408 and the "
        "connection closed (default %(default)g)",
    )
    parser.add_argument(
        "--keep-alive-timeout",
        type=float,
        default=DEFAULT_KEEP_ALIVE_TIMEOUT,
        metavar="SECONDS",
        help="an idle connection is closed after this (default %(default)g)",
    )


def _scenarios_dir_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--scenarios-dir",
        action="append",
        default=[],
        type=Path,
        metavar="DIR",
        help="a directory of your own scenario files (repeatable; a name there overrides)",
    )
    parser.add_argument("--spec", help="path to openapi.yaml (default: the repository's)")


def _library(args: argparse.Namespace) -> ScenarioLibrary:
    return build_library(load_spec(args.spec), default_world(), scenarios_dirs=args.scenarios_dir)


def _scenarios(args: argparse.Namespace) -> int:
    library = _library(args)
    scenarios = sorted(library.all(), key=lambda s: s.name)
    width = max(len(s.name) for s in scenarios)
    for scenario in scenarios:
        print(f"{scenario.name:<{width}}  {scenario.description}")
    if args.coverage:
        rows = scenario_coverage(library.spec, scenarios, library.world_base())
        print("\ndocumented responses and the scenarios that produce them on demand:")
        for row in rows:
            print(f"  {row.label:<42} {', '.join(row.scenarios) or '-'}")
        missing = [row.label for row in rows if not row.scenarios]
        print("\nproduced by no scenario (only by the request itself: bad input, bad key, reused")
        print("or expired token):" if missing else "every documented response is produced.")
        for label in missing:
            print(f"  {label}")
    return 0


def _validate(args: argparse.Namespace) -> int:
    library = _library(args)
    known = {s.name for s in library.all()} | {path.stem for path in args.files}
    for path in args.files:
        try:
            read_scenario(path, library.spec, library.world_base()).check_references(known)
        except ScenarioError as exc:
            print(exc, file=sys.stderr)
            return 1
        print(f"{path}: ok")
    return 0


def _sdk_pack(args: argparse.Namespace) -> int:
    from urllib.parse import urlsplit

    from mockplatform.server.sdk_package import pack

    if args.base_url:
        parts = urlsplit(args.base_url)
        if parts.scheme not in ("http", "https") or not parts.netloc:
            raise ConfigError(
                f"--base-url {args.base_url!r}: give an http(s) URL, e.g. http://127.0.0.1:8080"
            )
    target = pack(load_spec(args.spec), args.out, args.base_url)
    print(target)
    return 0


def _serve(args: argparse.Namespace) -> int:
    import uvicorn

    limits = _limits(args)  # a bad limit is one line, before anything is started or printed
    store_url = _store_url(args)
    if args.workers < 1:
        raise ConfigError(f"--workers {args.workers}: must be at least 1")
    if args.workers > 1 and store_url is None:
        raise ConfigError(
            f"--workers {args.workers} needs a shared store: each worker would keep its own "
            "tokens, calls and clock, so single use and expiry would not hold; add --store "
            f"redis://HOST:PORT/DB (or set {STORE_ENV})"
        )
    app = _app(args)
    if store_url is not None:
        from mockplatform.server.redis_store import check_reachable

        check_reachable(store_url)
    listener = _listen(args.host, args.port)
    logging.basicConfig(level=args.log_level.upper(), format="%(levelname)s: %(message)s")
    host, port = listener.getsockname()[:2]
    platform = app.state.platform
    url = f"http://{_url_host(host)}:{port}"
    print(banner(platform.spec, platform.world, url, platform.startup_scenario), flush=True)
    if store_url is not None:
        store = platform.store.location
        print(f"  store: {store}, shared by {args.workers} worker(s) here", flush=True)
    options = server_options(args.log_level, **limits)
    if args.workers == 1:
        config = LimitedConfig(app, **options)
        guard_logs()  # after uvicorn has configured its loggers
        config.load()  # uvicorn's protocol modules, imported now so the freeze covers them
        settle_heap()
        uvicorn.Server(config).run(sockets=[listener])
        return 0
    from uvicorn.supervisors import Multiprocess

    # Workers are spawned, so they rebuild the app from the same arguments.
    os.environ[_WORKER_ARGV_ENV] = json.dumps(args.argv)
    config = LimitedConfig(f"{__name__}:worker_app", factory=True, workers=args.workers, **options)
    Multiprocess(config, sockets=[listener]).run()
    return 0


def _proxy(args: argparse.Namespace) -> int:
    import uvicorn

    from mockplatform.proxy.recorder import Recorder
    from mockplatform.proxy.relay import SERVER_OPTIONS
    from mockplatform.proxy.validation_proxy import ProxyConfig, ValidationProxy, check_upstream

    limits = _limits(args)
    upstream = check_upstream(args.upstream)
    if not args.upstream_timeout > 0:
        raise ConfigError(f"--upstream-timeout {args.upstream_timeout:g}: must be more than 0")
    config = ProxyConfig(upstream, args.upstream_timeout, args.admin_token)
    app = ValidationProxy(config, load_spec(args.spec))
    if args.record is not None:
        app.recorder = Recorder(args.record, app.shown_upstream)
        try:
            app.recorder.save()
        except OSError as exc:
            raise ConfigError(f"--record {args.record}: cannot write it ({exc.strerror})") from None
    listener = _listen(args.host, args.port)
    logging.basicConfig(level=args.log_level.upper(), format="%(levelname)s: %(message)s")
    host, port = listener.getsockname()[:2]
    url = f"http://{_url_host(host)}:{port}"
    print(
        f"mockplatform proxy: {url} -> {app.shown_upstream}, every exchange judged by "
        f"{app.spec.path.name}\n  violations: printed here, and GET {url}/_mock/violations"
        + (f"\n  recording: {args.record}" if args.record else ""),
        flush=True,
    )
    options = server_options(args.log_level, **limits) | SERVER_OPTIONS
    served = LimitedConfig(app, lifespan="on", **options)
    guard_logs()  # after uvicorn has configured its loggers: a live call's ?key= masked
    uvicorn.Server(served).run(sockets=[listener])
    return 0


def settle_heap() -> None:
    """Freeze what start-up built (spec, schemas, world, imports) out of the collector's way.

    Those objects live as long as the server; left in the heap, every full collection
    walks them all again, a pause that shows up as the p99 latency under load.
    """
    gc.collect()
    gc.freeze()


def server_options(
    log_level: str = "info",
    *,
    max_connections: int = DEFAULT_MAX_CONNECTIONS,
    max_header_bytes: int = DEFAULT_MAX_HEADER_BYTES,
    header_timeout: float = DEFAULT_HEADER_TIMEOUT,
    keep_alive_timeout: float = DEFAULT_KEEP_ALIVE_TIMEOUT,
    forwarded_allow_ips: str | None = None,
) -> dict[str, Any]:
    """`LimitedConfig`'s settings for the mock: uvloop + httptools, the fastest uvicorn offers,
    with the limits of server_limits.py, and forwarded headers trusted only when asked for (uvicorn
    would trust whatever FORWARDED_ALLOW_IPS says, and the control API's idea of a local
    caller comes from the client address those headers rewrite).

    bench/ serves its bare baseline endpoint with these same settings.
    """
    return dict(
        loop="uvloop",
        http=LimitedHttpToolsProtocol,
        access_log=False,
        log_level=log_level,
        timeout_graceful_shutdown=2,
        # uvicorn answers 503 to a request once connections reach its limit; one more than
        # ours, so it never does while the protocol turns the connection past ours away.
        limit_concurrency=max_connections + 1,
        h11_max_incomplete_event_size=max_header_bytes,
        header_timeout=header_timeout,
        timeout_keep_alive=keep_alive_timeout,
        proxy_headers=forwarded_allow_ips is not None,
        forwarded_allow_ips=forwarded_allow_ips or "",
    )


def _limits(args: argparse.Namespace) -> dict[str, Any]:
    for flag, value in (
        ("--max-connections", args.max_connections),
        ("--max-header-bytes", args.max_header_bytes),
    ):
        if value < 1:
            raise ConfigError(f"{flag} {value}: must be at least 1")
    for flag, seconds in (
        ("--header-timeout", args.header_timeout),
        ("--keep-alive-timeout", args.keep_alive_timeout),
    ):
        if not 0 < seconds < math.inf:
            raise ConfigError(f"{flag} {seconds:g}: must be a number of seconds above 0")
    return dict(
        max_connections=args.max_connections,
        max_header_bytes=args.max_header_bytes,
        header_timeout=args.header_timeout,
        keep_alive_timeout=args.keep_alive_timeout,
        forwarded_allow_ips=getattr(args, "forwarded_allow_ips", None),
    )


def _store_url(args: argparse.Namespace) -> str | None:
    """The shared store's URL, or None for the in-memory store; a bad URL is one clear line."""
    url = args.store or os.environ.get(STORE_ENV) or "memory"
    if url == "memory":
        return None
    from mockplatform.server.redis_store import is_redis_url

    if not is_redis_url(url):
        source = "--store" if args.store else STORE_ENV
        raise ConfigError(f"{source} {url!r}: expected memory or redis://HOST:PORT/DB")
    return url


def _app(args: argparse.Namespace) -> Starlette:
    """The app `serve` runs, built the same way in the parent and in each worker."""
    settings = Settings(
        spec_path=args.spec,
        admin_token=args.admin_token,
        cors_origins=args.cors_origin,
        scenario=args.scenario,
        scenarios_dirs=args.scenarios_dir,
        call_pace_ms=args.call_pace_ms,
    )
    store_url = _store_url(args)
    if store_url is None:
        return create_app(settings)
    from mockplatform.server.redis_store import RedisStore

    return create_app(settings, store=RedisStore(store_url))


def worker_app() -> Starlette:
    """uvicorn's factory in each `--workers` process: the parent's arguments, rebuilt."""
    args = _parser().parse_args(json.loads(os.environ[_WORKER_ARGV_ENV]))
    logging.basicConfig(level=args.log_level.upper(), format="%(levelname)s: %(message)s")
    guard_logs()
    app = _app(args)
    settle_heap()
    return app


def _listen(host: str, port: int) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    listener = socket.socket(family, socket.SOCK_STREAM)
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        listener.bind((host, port))
    except OSError as exc:
        listener.close()
        raise MockPlatformError(
            f"cannot listen on {host}:{port}: {exc.strerror}; choose another --port"
        ) from None
    listener.listen(2048)
    listener.setblocking(False)
    return listener


def _url_host(host: str) -> str:
    return f"[{host}]" if ":" in host else host


def banner(spec: Spec, world: World, base_url: str, scenario: str) -> str:
    """What a developer needs to point their backend at the mock, printed at start-up."""
    lines = [
        f"mockplatform: serving {spec.path.name} at {base_url} (scenario: {scenario})",
        f"  POST {base_url}/api/widget/token   (tokens live "
        f"{spec.token_lifetime_seconds:g} s, single use)",
        f"  control API: {base_url}/_mock/   (loopback only unless --admin-token)",
        f"  demo page: {base_url}/   SDK stand-in: {base_url}/sdk/voice-client.js",
        "  API keys:",
    ]
    for account in world.accounts:
        effect = "" if account.subscription.allows_calls else " -> 403"
        if account.scenario:
            effect += f" (follows scenario {account.scenario})"
        lines.append(f"    {account.api_key:<26} {account.subscription}{effect}")
    lines.append("  agents:")
    for agent in world.agents.values():
        state = "active" if agent.active else "inactive -> 404"
        lines.append(f"    {agent.id}  {agent.name} ({state})")
    lines.append("  instances:")
    for instance in world.instances.values():
        agent_name = world.agents[instance.agent_id].name
        lines.append(f"    {instance.id}  {instance.company_name} ({agent_name})")
    return "\n".join(lines)


if __name__ == "__main__":
    sys.exit(main())
