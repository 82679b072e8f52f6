"""`contract run`: exit 0 conformant, 1 contract violated, 2 could not test (one line on stderr)."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import NoReturn

from contract.settings import (
    DEFAULT_MAX_EXAMPLES,
    DEFAULT_SEED,
    PHASES,
    ContractError,
    ExpiryMode,
    Settings,
)

EXIT_CONFORMANT = 0
EXIT_VIOLATED = 1
EXIT_COULD_NOT_TEST = 2


class _Parser(argparse.ArgumentParser):
    """argparse, but a usage error is one line and exit status 2 (like every other refusal)."""

    def error(self, message: str) -> NoReturn:
        print(f"contract: {message} (see contract run --help)", file=sys.stderr)
        sys.exit(EXIT_COULD_NOT_TEST)


def parser() -> argparse.ArgumentParser:
    root = _Parser(
        prog="contract",
        description="Check an implementation of the widget token API against openapi.yaml.",
    )
    commands = root.add_subparsers(required=True, metavar="COMMAND", parser_class=_Parser)
    run = commands.add_parser(
        "run",
        help="run every check against a base URL",
        description="Exit status: 0 conformant, 1 contract violated, 2 could not test.",
    )
    run.add_argument(
        "--base-url", required=True, help="the implementation, e.g. http://127.0.0.1:8080"
    )
    run.add_argument("--api-key", required=True, help="an API key with an active subscription")
    run.add_argument("--agent-id", help="an active agent (default: the spec example's agentId)")
    run.add_argument("--spec", type=Path, help="openapi.yaml (default: the repository's)")
    run.add_argument("--inactive-key", help="a key whose subscription is inactive: expect 403")
    run.add_argument(
        "--expiry",
        type=ExpiryMode,
        choices=list(ExpiryMode),
        default=ExpiryMode.AUTO,
        help="how to observe the token lifetime: fast (the mock's clock), realtime (wait it), "
        "jwt (read exp/iat); default: the first that applies",
    )
    run.add_argument("--strict", action="store_true", help="NOT VERIFIED counts as a failure")
    run.add_argument("--junit", type=Path, metavar="FILE", help="write a JUnit XML report here")
    run.add_argument(
        "--max-examples",
        type=int,
        default=DEFAULT_MAX_EXAMPLES,
        metavar="N",
        help="schemathesis examples per operation and phase (default %(default)s)",
    )
    run.add_argument(
        "--seed", type=int, default=DEFAULT_SEED, help="schemathesis seed (default %(default)s)"
    )
    run.add_argument(
        "--phases",
        default=",".join(PHASES),
        help="schemathesis phases to run, comma-separated; empty for none (default %(default)s)",
    )
    run.add_argument("--quiet", action="store_true", help="no progress lines, just the summary")
    run.set_defaults(command=_run)
    return root


def main(argv: Sequence[str] | None = None) -> int:
    args = parser().parse_args(argv)
    try:
        return args.command(args)
    except ContractError as exc:
        print(f"contract: could not test: {exc}", file=sys.stderr)
        return EXIT_COULD_NOT_TEST
    except KeyboardInterrupt:
        print("contract: interrupted", file=sys.stderr)
        return EXIT_COULD_NOT_TEST
    except Exception as exc:  # a fault of the harness itself: still one line, still "not tested"
        print(f"contract: could not test: internal error: {exc!r}", file=sys.stderr)
        return EXIT_COULD_NOT_TEST


def _run(args: argparse.Namespace) -> int:
    from contract.render import summary, write_junit
    from contract.runner import run

    settings = Settings(
        base_url=args.base_url,
        api_key=args.api_key,
        agent_id=args.agent_id,
        spec_path=args.spec,
        inactive_key=args.inactive_key,
        expiry=args.expiry,
        strict=args.strict,
        max_examples=args.max_examples,
        seed=args.seed,
        phases=tuple(filter(None, (phase.strip() for phase in args.phases.split(",")))),
    )

    def progress(message: str) -> None:
        if not args.quiet:
            print(f"[contract] {message}", file=sys.stderr, flush=True)

    report = run(settings, progress)
    print(summary(report))
    if args.junit:
        try:
            write_junit(report, args.junit)
        except OSError as exc:
            raise ContractError(f"cannot write --junit {args.junit}: {exc.strerror}") from None
    return EXIT_CONFORMANT if report.conformant else EXIT_VIOLATED


if __name__ == "__main__":
    sys.exit(main())
