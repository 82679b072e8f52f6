"""`contract run`: exit 0 conformant, 1 contract violated, 2 could not test (one line on stderr)."""

from __future__ import annotations

import argparse
import importlib.util
import os
import signal
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import NoReturn

from contract.outcomes import EXIT_COULD_NOT_TEST
from contract.settings import (
    DEFAULT_MAX_EXAMPLES,
    DEFAULT_SEED,
    DEFAULT_TIMEOUT,
    PHASES,
    ContractError,
    ExpiryMode,
    Settings,
)
from mockplatform.core.resources import DISTRIBUTION

# What `pip install "mockplatform-contract[contract]"` adds; the mock alone installs without them.
CONTRACT_EXTRA = ("schemathesis", "hypothesis")


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
    key = run.add_mutually_exclusive_group(required=True)
    key.add_argument(
        "--api-key",
        help="an API key with an active subscription (visible in ps: prefer --api-key-env)",
    )
    key.add_argument(
        "--api-key-env", metavar="VAR", help="read the API key from this environment variable"
    )
    run.add_argument("--agent-id", help="an active agent (default: the spec example's agentId)")
    run.add_argument(
        "--instance-id",
        help="an instance of that agent, sent in a valid request that must get 200 "
        "(default: on the mock, from /_mock/world; else the spec example's)",
    )
    run.add_argument(
        "--inactive-agent-id", help="an inactive agent: expect 404 (on the mock: found itself)"
    )
    run.add_argument(
        "--other-instance-id",
        help="an instance of another agent, sent with --agent-id: expect 404 (assumed: a 200 "
        "is a WARN; on the mock: found itself)",
    )
    run.add_argument("--spec", type=Path, help="openapi.yaml (default: the repository's)")
    run.add_argument(
        "--inactive-key",
        action="append",
        default=[],
        help="a key whose subscription is inactive: expect 403 (repeatable: a trial expired, "
        "a cancelled one; on the mock: found itself)",
    )
    run.add_argument(
        "--inactive-key-env",
        action="append",
        default=[],
        metavar="VAR",
        help="read an --inactive-key from this variable (repeatable)",
    )
    run.add_argument(
        "--header",
        action="append",
        default=[],
        metavar="'NAME: VALUE'",
        help="send this header with every request (repeatable; e.g. a gateway's)",
    )
    run.add_argument(
        "--expiry",
        type=ExpiryMode,
        choices=list(ExpiryMode),
        default=ExpiryMode.AUTO,
        help="how to observe the token lifetime: fast (the mock's clock), realtime (wait it), "
        "jwt (read the claims only: never a PASS); default: fast where it applies, else realtime",
    )
    run.add_argument(
        "--no-redeem",
        action="store_true",
        help="the target has no redeem operation (its SDK redeems out of sight): send none; "
        "the checks that need it are NOT VERIFIED (--strict: --allow redeem_offered)",
    )
    run.add_argument(
        "--checks", metavar="A,B", help="run (and send the requests of) only these checks"
    )
    run.add_argument("--skip", metavar="A,B", help="do not run (nor send) these checks")
    run.add_argument(
        "--strict", action="store_true", help="WARN and NOT VERIFIED count as failures too"
    )
    run.add_argument(
        "--allow",
        action="append",
        default=[],
        metavar="CHECK[:STATUS]",
        help="with --strict: this check may end WARN or NOT VERIFIED (repeatable); "
        "CHECK:STATUS spares only its WARNs about responses with that status",
    )
    _shared_options(
        run,
        budget="a hard budget: send at most N requests in all (checks and schemathesis)",
        examples="schemathesis examples per operation and phase",
    )
    run.add_argument(
        "--phases",
        default=",".join(PHASES),
        help="schemathesis phases to run, comma-separated; empty for none (default %(default)s)",
    )
    run.set_defaults(command=_run)
    _diff_parser(commands)
    return root


def _shared_options(command: argparse.ArgumentParser, budget: str, examples: str) -> None:
    """The options `run` and `diff` share: budget and pace, reports, generation, progress."""
    command.add_argument("--max-requests", type=int, metavar="N", help=budget)
    command.add_argument("--rate", type=float, metavar="N", help="at most N requests per second")
    command.add_argument(
        "--timeout",
        type=float,
        default=DEFAULT_TIMEOUT,
        metavar="S",
        help="seconds to wait for each response (default %(default)s)",
    )
    command.add_argument("--junit", type=Path, metavar="FILE", help="write a JUnit XML report here")
    command.add_argument("--json", type=Path, metavar="FILE", help="write a JSON report here")
    command.add_argument(
        "--html", type=Path, metavar="FILE", help="write a self-contained HTML report here"
    )
    command.add_argument(
        "--max-examples",
        type=int,
        default=DEFAULT_MAX_EXAMPLES,
        metavar="N",
        help=f"{examples} (default %(default)s)",
    )
    command.add_argument(
        "--seed", type=int, default=DEFAULT_SEED, help="generation seed (default %(default)s)"
    )
    command.add_argument("--quiet", action="store_true", help="no progress lines, just the summary")


def _diff_parser(commands: argparse._SubParsersAction) -> None:
    diff = commands.add_parser(
        "diff",
        help="send the same requests to two implementations and compare the answers",
        description="Exit status: 0 no difference the contract weighs (assumed differences are "
        "listed), 1 a documented, universal or simulated difference, 2 could not test.",
    )
    for prefix, label in (("", "A, the reference"), ("against-", "B, compared with A")):
        name = "--against" if prefix else "--base-url"
        diff.add_argument(name, required=True, help=f"{label}: e.g. http://127.0.0.1:8080")
        key = diff.add_mutually_exclusive_group(required=True)
        key.add_argument(f"--{prefix}api-key", help=f"{label}: an active API key")
        key.add_argument(
            f"--{prefix}api-key-env", metavar="VAR", help=f"{label}: read its key from VAR"
        )
        same = " (default: A's)" if prefix else ""
        diff.add_argument(f"--{prefix}agent-id", help=f"{label}: an active agent{same}")
        diff.add_argument(f"--{prefix}instance-id", help=f"{label}: an instance of it{same}")
        diff.add_argument(
            f"--{prefix}inactive-key",
            action="append",
            default=[],
            help=f"{label}: a key whose subscription is inactive (repeatable)",
        )
        diff.add_argument(
            f"--{prefix}inactive-key-env",
            action="append",
            default=[],
            metavar="VAR",
            help=f"{label}: read an inactive key from VAR (repeatable)",
        )
        diff.add_argument(f"--{prefix}inactive-agent-id", help=f"{label}: an inactive agent{same}")
    diff.add_argument("--spec", type=Path, help="openapi.yaml (default: the packaged one)")
    _shared_options(
        diff,
        budget="send at most N requests to each side",
        examples="generated requests of each kind, valid and invalid",
    )
    diff.set_defaults(command=_diff)


def main(argv: Sequence[str] | None = None) -> int:
    args = parser().parse_args(argv)
    missing = [name for name in CONTRACT_EXTRA if importlib.util.find_spec(name) is None]
    if missing:
        print(
            f"contract: could not test: {', '.join(missing)} not installed; "
            f'pip install "{DISTRIBUTION}[contract]"',
            file=sys.stderr,
        )
        return EXIT_COULD_NOT_TEST
    try:
        return args.command(args)
    except ContractError as exc:
        print(f"contract: could not test: {exc}", file=sys.stderr)
        return EXIT_COULD_NOT_TEST
    except Exception as exc:  # a fault of the harness itself: still one line, still "not tested"
        print(f"contract: could not test: internal error: {exc!r}", file=sys.stderr)
        return EXIT_COULD_NOT_TEST


def _run(args: argparse.Namespace) -> int:
    from contract import registry
    from contract.outcomes import Report
    from contract.render import check_outputs, summary, write_reports
    from contract.runner import run

    outputs = {"junit": args.junit, "json": args.json, "html": args.html}
    check_outputs(outputs)
    only = registry.select(_names(args.checks), _names(args.skip))
    for allowed in args.allow:
        registry.check_allowance(allowed)
    settings = Settings(
        base_url=args.base_url,
        api_key=_secret(args.api_key, args.api_key_env, "--api-key-env") or "",
        agent_id=args.agent_id,
        instance_id=args.instance_id,
        inactive_agent_id=args.inactive_agent_id,
        other_instance_id=args.other_instance_id,
        spec_path=args.spec,
        inactive_keys=(
            *args.inactive_key,
            *(_secret(None, name, "--inactive-key-env") or "" for name in args.inactive_key_env),
        ),
        expiry=args.expiry,
        no_redeem=args.no_redeem,
        strict=args.strict,
        allow=frozenset(args.allow),
        max_examples=args.max_examples,
        seed=args.seed,
        timeout=args.timeout,
        max_requests=args.max_requests,
        rate=args.rate,
        headers=_headers(args.header),
        bodies_dir=next((path.parent for path in outputs.values() if path is not None), None),
        phases=tuple(filter(None, (phase.strip() for phase in args.phases.split(",")))),
        only=None if only == frozenset(registry.BY_NAME) else only,
    )

    def progress(message: str) -> None:
        if not args.quiet:
            print(f"[contract] {message}", file=sys.stderr, flush=True)

    report = Report(base_url=settings.base_url)
    previous = signal.signal(signal.SIGTERM, _terminated)
    try:
        run(settings, progress, report)
    except KeyboardInterrupt:
        report.could_not_test = "interrupted (SIGINT or SIGTERM): the checks that ran are reported"
    except ContractError:
        pass  # report.could_not_test says why
    finally:
        signal.signal(signal.SIGTERM, previous)
        write_reports(report, outputs)
    if report.checks:
        print(summary(report))
    if report.could_not_test is not None:
        print(f"contract: could not test: {report.could_not_test}", file=sys.stderr)
    return report.exit_code


def _diff(args: argparse.Namespace) -> int:
    from contract.diff import run_diff
    from contract.outcomes import Report
    from contract.render import check_outputs, summary, write_reports

    outputs = {"junit": args.junit, "json": args.json, "html": args.html}
    check_outputs(outputs)

    def side(prefix: str, base_url: str) -> Settings:
        option = prefix.replace("_", "-")

        def given(name: str) -> str | None:
            value = getattr(args, f"{prefix}{name}")
            return value if value is not None or not prefix else getattr(args, name)

        return Settings(
            base_url=base_url,
            api_key=_secret(
                getattr(args, f"{prefix}api_key"),
                getattr(args, f"{prefix}api_key_env"),
                f"--{option}api-key-env",
            )
            or "",
            agent_id=given("agent_id"),
            instance_id=given("instance_id"),
            inactive_keys=(
                *getattr(args, f"{prefix}inactive_key"),
                *(
                    _secret(None, name, f"--{option}inactive-key-env") or ""
                    for name in getattr(args, f"{prefix}inactive_key_env")
                ),
            ),
            inactive_agent_id=given("inactive_agent_id"),
            spec_path=args.spec,
            max_examples=args.max_examples,
            seed=args.seed,
            timeout=args.timeout,
            max_requests=args.max_requests,
            rate=args.rate,
        )

    def progress(message: str) -> None:
        if not args.quiet:
            print(f"[contract diff] {message}", file=sys.stderr, flush=True)

    report = Report(base_url=f"{args.base_url} (A) against {args.against} (B)")
    previous = signal.signal(signal.SIGTERM, _terminated)
    try:
        run_diff(side("", args.base_url), side("against_", args.against), progress, report)
    except KeyboardInterrupt:
        report.could_not_test = (
            "interrupted (SIGINT or SIGTERM): the requests compared are reported"
        )
    except ContractError as exc:
        report.could_not_test = report.could_not_test or str(exc)
    finally:
        signal.signal(signal.SIGTERM, previous)
        write_reports(report, outputs)
    print(summary(report))
    if report.could_not_test is not None:
        print(f"contract: could not test: {report.could_not_test}", file=sys.stderr)
    return report.exit_code


def _terminated(signum: int, frame: object) -> None:
    raise KeyboardInterrupt  # unwinds the run like ^C, so the reports are still written


def _names(option: str | None) -> list[str] | None:
    return [name.strip() for name in option.split(",") if name.strip()] if option else None


def _secret(value: str | None, variable: str | None, option: str) -> str | None:
    if variable is None:
        return value
    found = os.environ.get(variable)
    if not found:
        raise ContractError(f"{option} {variable}: the variable is not set or empty")
    return found


def _headers(lines: list[str]) -> dict[str, str]:
    headers = {}
    for line in lines:
        name, colon, value = line.partition(":")
        if not colon or not name.strip() or any(c.isspace() for c in name.strip()):
            raise ContractError(f"--header {line!r}: write it as 'Name: value'")
        headers[name.strip()] = value.strip()
    return headers


if __name__ == "__main__":
    sys.exit(main())
