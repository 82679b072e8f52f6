"""`mockplatform`: serve the mock. Every failure is one line on stderr and exit status 2."""

from __future__ import annotations

import argparse
import logging
import socket
import sys
from collections.abc import Sequence

from mockplatform.app import Settings, create_app
from mockplatform.errors import MockPlatformError
from mockplatform.spec import Spec
from mockplatform.world import World

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8080


def main(argv: Sequence[str] | None = None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
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
    serve.add_argument("--spec", help="path to openapi.yaml (default: the repository's)")
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
    serve.set_defaults(run=_serve)
    return parser


def _serve(args: argparse.Namespace) -> int:
    import uvicorn

    settings = Settings(
        spec_path=args.spec, admin_token=args.admin_token, cors_origins=args.cors_origin
    )
    app = create_app(settings)
    listener = _listen(args.host, args.port)
    logging.basicConfig(level=args.log_level.upper(), format="%(levelname)s: %(message)s")
    host, port = listener.getsockname()[:2]
    platform = app.state.platform
    print(banner(platform.spec, platform.world, f"http://{_url_host(host)}:{port}"), flush=True)
    config = uvicorn.Config(
        app,
        loop="uvloop",
        http="httptools",
        access_log=False,
        log_level=args.log_level,
        timeout_graceful_shutdown=2,
    )
    uvicorn.Server(config).run(sockets=[listener])
    return 0


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


def banner(spec: Spec, world: World, base_url: str) -> str:
    """What a developer needs to point their backend at the mock, printed at start-up."""
    lines = [
        f"mockplatform: serving {spec.path.name} at {base_url}",
        f"  POST {base_url}/api/widget/token   (tokens live "
        f"{spec.token_lifetime_seconds:g} s, single use)",
        f"  control API: {base_url}/_mock/   (loopback only unless --admin-token)",
        "  API keys:",
    ]
    for account in world.accounts:
        effect = "" if account.subscription.allows_calls else " -> 403"
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
