"""The harness through the validation proxy: one judge, one verdict.

`contract run` (the real command line) is pointed at the proxy on a port, which passes its
traffic to a platform another team wrote from the seed's docs (tests/contract/fake_platform.py,
one `Behaviour` knob per legitimate choice or defect). The run exits 1 exactly when the proxy
lists a violation on the platform's side, and neither blames a correct platform. The harness
is the client here, and it breaks client rules on purpose (no key, text/plain, `[]`, a 101-
character callerName, a token redeemed twice): the proxy lists those on the client's side,
which is never the platform's fault.
"""

from __future__ import annotations

import copy
import json
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml

from contract.cli import main
from contract.probe import Probe
from mockplatform.core.spec import REDEEM_TOKEN, Spec, load_spec
from mockplatform.proxy.relay import SERVER_OPTIONS
from mockplatform.proxy.validation_proxy import ProxyConfig, ValidationProxy
from mockplatform.server.world import DEFAULT_AGENT_ID
from mockplatform.testing import serve_in_thread
from tests.conftest import SHORT_LIFETIME
from tests.contract import seed_platform
from tests.contract.fake_platform import (
    ACTIVE_KEY,
    INACTIVE_AGENT_ID,
    INACTIVE_KEY,
    INSTANCE_ID,
    Behaviour,
    create_fake_app,
)
from tests.contract.seed_platform import Flaws, create_seed_platform
from tests.contract.targets import fake_settings

PROXY_SERVER = {**SERVER_OPTIONS, "lifespan": "on"}
SCRIPTED = ""  # --phases "": our scripted checks only, a second or two a run

# Correct platforms, each with legitimate choices the docs leave open.
CORRECT = {
    "opaque tokens, every documented answer": (Behaviour(), SCRIPTED),
    # A gateway's 429 with Retry-After; 422 with its own body for an invalid request (a
    # 101-character callerName among them); `"language": null` read as absent; no limit on
    # callerName; JWT tokens; Application/JSON; extra fields.
    "every choice at once, and schemathesis's generated requests": (
        Behaviour(
            throttle_every=7,
            unprocessable=True,
            null_as_absent=True,
            documented_only=True,
            jwt=True,
            shouted_media_type=True,
            extra_fields=True,
            not_found_before_forbidden=True,
            size_as_400=True,
        ),
        "examples,coverage",
    ),
}
# Faulty platforms: one defect each, a rule the proxy sees on live traffic too.
FAULTY = {
    "a request without a key accepted": Behaviour(keyless=True),
    "the agent looked up (404) before the key": Behaviour(agent_before_auth=True),
    "a documented 500 to a valid request (unicode callerName)": Behaviour(unicode_crash=True),
    "a 401 that echoes the key it was sent": Behaviour(echo_key=True),
    "a token usable twice": Behaviour(reusable=True),
    "the same token for every call": Behaviour(fixed_token=True),
    "a token that lives 300 s (on the clock the run moved)": Behaviour(lifetime=300),
    "a 200 without agentName": Behaviour(drop_field="agentName"),
}


@contextmanager
def through_the_proxy(spec: Spec, behaviour: Behaviour) -> Iterator[tuple[str, ValidationProxy]]:
    fake = create_fake_app(spec, behaviour, DEFAULT_AGENT_ID)
    with serve_in_thread(fake) as upstream:
        proxy = ValidationProxy(ProxyConfig(upstream, 10.0), spec, print_line=lambda line: None)
        with serve_in_thread(proxy, **PROXY_SERVER) as url:
            yield url, proxy


def settled(proxy: ValidationProxy) -> list[dict[str, Any]]:
    """Every finding, once every answered request is judged."""
    ledger = proxy.ledger
    deadline = time.monotonic() + 10
    while (
        proxy.forwarded != ledger.exchanges + ledger.upstream_failures + ledger.not_judged.total()
    ):
        assert time.monotonic() < deadline, "the proxy did not judge in time"
        time.sleep(0.01)
    return list(ledger.kept)


def harness(url: str, phases: str, spec_path: Path | None = None, *more: str) -> int:
    """`contract run` as a CI job runs it, small and seeded."""
    arguments = [
        "run", "--base-url", url, "--api-key", ACTIVE_KEY, "--inactive-key", INACTIVE_KEY,
        "--instance-id", INSTANCE_ID, "--inactive-agent-id", INACTIVE_AGENT_ID,
        "--phases", phases, "--max-examples", "5", "--seed", "7", "--quiet", *more,
    ]  # fmt: skip
    if spec_path is not None:
        arguments += ["--spec", str(spec_path)]
    return main(arguments)


def verdicts(
    spec: Spec, behaviour: Behaviour, phases: str, spec_path: Path | None = None, *more: str
) -> tuple[int, list[str], list[dict[str, Any]]]:
    with through_the_proxy(spec, behaviour) as (url, proxy):
        code = harness(url, phases, spec_path, *more)
        findings = settled(proxy)
    platform = sorted({f["rule"] for f in findings if f["side"] == "platform" and f["violation"]})
    return code, platform, findings


@pytest.mark.parametrize(("behaviour", "phases"), CORRECT.values(), ids=list(CORRECT))
def test_a_correct_platform_is_blamed_by_neither(
    spec: Spec, behaviour: Behaviour, phases: str, tmp_path: Path, capsys: Any
) -> None:
    report = tmp_path / "report.json"
    code, platform, findings = verdicts(spec, behaviour, phases, None, "--json", str(report))
    capsys.readouterr()
    assert (code, platform) == (0, [])
    # The harness's deliberate faults are the client's, and documented ones are violations.
    client = {f["rule"] for f in findings if f["side"] == "client" and f["violation"]}
    assert {"missing_credentials", "request_content_type", "request_schema"} <= client
    if behaviour.throttle_every:  # the gateway's 429s were met, backed off from, blamed on nobody
        assert json.loads(report.read_text())["counts"]["throttled (429)"] > 0
    if behaviour.unprocessable:
        # A request only our assumptions forbid (schemathesis's 101-character callerName) was
        # answered 422: a note on both sides, and so was accepting a null as absent.
        notes = {(f["side"], f["rule"]) for f in findings if not f["violation"]}
        assert {("client", "request_schema"), ("platform", "rejects_invalid_request")} <= notes


@pytest.mark.parametrize("behaviour", FAULTY.values(), ids=list(FAULTY))
def test_a_faulty_platform_is_blamed_by_both(spec: Spec, behaviour: Behaviour, capsys: Any) -> None:
    code, platform, _ = verdicts(spec, behaviour, SCRIPTED)
    capsys.readouterr()
    assert code == 1
    assert platform, "the harness failed it, so the proxy must list a platform violation"


def test_a_documented_response_without_a_body_is_judged_alike(
    spec: Spec, tmp_path: Path, capsys: Any
) -> None:
    """A spec whose 409 (already used) has no body: neither demands one."""
    document = copy.deepcopy(spec.document)
    redeem = spec.operation(REDEEM_TOKEN)
    del document["paths"][redeem.path][redeem.method.lower()]["responses"]["409"]["content"]
    path = tmp_path / "openapi.yaml"
    path.write_text(yaml.safe_dump(document, sort_keys=False), encoding="utf-8")
    bodiless = load_spec(path)
    code, platform, _ = verdicts(bodiless, Behaviour(), SCRIPTED, path)
    capsys.readouterr()
    assert (code, platform) == (0, [])


def test_a_moved_clock_ages_tokens_alike(spec: Spec, capsys: Any) -> None:
    """The run moves the fake's clock past the lifetime; the proxy ages tokens by as much, so
    the platform's "expired" is right for both (without it the proxy would say a 0.1 s old
    token was called expired)."""
    with through_the_proxy(spec, Behaviour()) as (url, proxy):
        code = harness(url, SCRIPTED, None, "--checks", "token_lifetime")
        findings = settled(proxy)
        offset = httpx.post(f"{url}/_mock/clock/advance", json={"seconds": 0}).json()
    capsys.readouterr()
    assert code == 0
    assert offset["offsetSeconds"] > spec.token_lifetime_seconds
    assert proxy.judge.memory.clock_offset == offset["offsetSeconds"]
    assert not [f for f in findings if f["side"] == "platform"]


CLIENT_FAULTS: dict[str, dict[str, Any]] = {
    "agentId a number": {"body": {"agentId": 5}},
    "agentId missing": {"body": {"callerName": "Rahul"}},
    'language "fr"': {"body": {"agentId": DEFAULT_AGENT_ID, "language": "fr"}},
    "a body that is not JSON": {"content": b"{not json"},
}


@pytest.mark.parametrize(
    "behaviour",
    [Behaviour(), Behaviour(unprocessable=True), Behaviour(any_language=True)],
    ids=["400", "422", "lenient"],
)
def test_a_clients_fault_weighs_the_same_whatever_the_platform_answers(
    spec: Spec, behaviour: Behaviour
) -> None:
    """Four documented client faults: a violation on the client's side in the proxy whatever
    the platform answered (400, 422, or 200 for "fr"), and in neither a platform failure."""
    with through_the_proxy(spec, behaviour) as (url, proxy):
        probe = Probe(fake_settings(url))
        try:
            for sent in CLIENT_FAULTS.values():
                headers = {**probe.auth(), "Content-Type": "application/json"}
                exchange = probe.request_token(headers=headers, **sent)
                assert not [
                    f
                    for f in probe.findings(probe.create, exchange, set(probe.create.responses))
                    if f.is_violation
                ]
        finally:
            probe.close()
        findings = settled(proxy)
    client = [f for f in findings if f["side"] == "client"]
    assert len(client) == len(CLIENT_FAULTS)
    assert all(f["rule"] == "request_schema" and f["violation"] for f in client)
    assert not [f for f in findings if f["side"] == "platform" and f["violation"]]


SEED_PLATFORMS = {
    "correct, with its own choices": (Flaws(token_lifetime=SHORT_LIFETIME), 0),
    "a reworded 404 message": (
        Flaws(not_found_message="Agent does not exist", token_lifetime=SHORT_LIFETIME),
        1,
    ),
}


@pytest.mark.parametrize(("flaws", "exit_code"), SEED_PLATFORMS.values(), ids=list(SEED_PLATFORMS))
def test_a_platform_that_never_read_our_spec(
    short_spec: Spec, flaws: Flaws, exit_code: int, capsys: Any
) -> None:
    """tests/contract/seed_platform.py reads no line of openapi.yaml: its messages are the
    seed's table, its choices its own (422 bodies, JWT tokens, no clock). Harness and proxy
    agree on it too: exit 1 exactly when the proxy lists a platform-side violation."""
    with serve_in_thread(create_seed_platform(flaws)) as upstream:
        proxy = ValidationProxy(
            ProxyConfig(upstream, 10.0), short_spec, print_line=lambda line: None
        )
        with serve_in_thread(proxy, **PROXY_SERVER) as url:
            code = main(
                [
                    "run", "--base-url", url, "--api-key", seed_platform.KEY,
                    "--inactive-key", seed_platform.LAPSED_KEY,
                    "--agent-id", seed_platform.AGENT_ID,
                    "--instance-id", seed_platform.INSTANCE_ID,
                    "--inactive-agent-id", seed_platform.INACTIVE_AGENT_ID,
                    "--phases", SCRIPTED, "--quiet", "--spec", str(short_spec.path),
                ]
            )  # fmt: skip
            findings = settled(proxy)
    capsys.readouterr()
    platform = {f["rule"] for f in findings if f["side"] == "platform" and f["violation"]}
    assert code == exit_code, platform
    assert bool(platform) == bool(exit_code)
