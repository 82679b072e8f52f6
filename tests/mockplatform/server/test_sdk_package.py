"""The SDK as an npm package, tried as a frontend developer would, with the real tools.

`sdk_app/` is a customer's app: the platform docs' client snippet as they print it
(`src/seed-client.js`), and the README's hardened one (`src/hardened-client.js`), bundled with
esbuild and with Vite (pinned in its package.json and lockfile, installed from the npm
registry by `npm ci`, kept under `.cache/` by the lockfile's hash so a run with the same
lockfile copies it instead), and the docs' backend route, served with the
built page from its own loopback origin (`server.mjs`). The package is the one
`mockplatform sdk pack` writes, installed as `file:` (a team's vendored copy); the builds are
told the mock's URL as a team's would (a define, a VITE_ variable); the calls run in Debian's
headless Chromium; tsc checks an app against the package's types.
"""

from __future__ import annotations

import gzip
import hashlib
import io
import json
import os
import shutil
import subprocess
import tarfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import Browser, ConsoleMessage, Page

from mockplatform import create_app
from mockplatform.cli import main as mockplatform_cli
from mockplatform.core.spec import Spec
from mockplatform.server import sdk_package
from mockplatform.server.app import Settings
from mockplatform.server.sdk_package import PACKAGE_NAME, TARBALL_PATH, tarball_name
from mockplatform.server.world import DEFAULT_AGENT_ID, DEFAULT_API_KEY
from mockplatform.testing import serve_in_thread

APP_SOURCE = Path(__file__).parents[1] / "sdk_app"
# node_modules as `npm ci` installed it, one directory per lockfile (git ignores .cache/)
NODE_MODULES_CACHE = Path(__file__).parents[3] / ".cache" / "sdk-app-node-modules"
BUNDLERS = ("esbuild", "vite")
PACE_MS = 5
TIMEOUT_MS = 15_000
NPM_TIMEOUT = 300  # seconds: npm ci from a cold cache
TSC = ["npx", "--no-install", "tsc", "--noEmit", "--strict", "--target", "es2022"]
TSC += ["--module", "nodenext", "--moduleResolution", "nodenext"]

# npm ci, the builds and a browser: more than the suite's usual two minutes on a cold cache.
pytestmark = pytest.mark.timeout(NPM_TIMEOUT + 120)


NOTICE = "zentrix-voice-sdk here is mockplatform's stand-in, not the platform's SDK"


def run(command: list[str], cwd: Path, timeout: float = NPM_TIMEOUT, **env: str) -> str:
    """Run a node tool; its own output is the failure message."""
    done = subprocess.run(
        command,
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
        env={**os.environ, **env},
    )
    assert done.returncode == 0, f"{' '.join(command)}:\n{done.stdout}\n{done.stderr}"
    return done.stdout


@pytest.fixture(scope="session")
def npm_app(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The app with its locked dependencies installed: `npm ci` once per lockfile, its
    node_modules copied from the cache after that (a copy: the tests install the mock's
    package into it)."""
    app = tmp_path_factory.mktemp("sdk-app") / "app"
    ignored = shutil.ignore_patterns("node_modules", "dist-*")
    shutil.copytree(APP_SOURCE, app, ignore=ignored)
    lock = hashlib.sha256((APP_SOURCE / "package-lock.json").read_bytes()).hexdigest()[:16]
    cached = NODE_MODULES_CACHE / lock
    if not cached.is_dir():
        run(["npm", "ci", "--no-audit", "--no-fund"], app)
        filling = NODE_MODULES_CACHE / f"{lock}.{os.getpid()}"
        shutil.copytree(app / "node_modules", filling, symlinks=True)
        try:
            filling.rename(cached)  # whole or not at all, whoever finishes first
        except OSError:
            shutil.rmtree(filling)
        return app
    shutil.copytree(cached, app / "node_modules", symlinks=True)
    return app


@pytest.fixture(scope="module")
def mock_url() -> Iterator[str]:
    with serve_in_thread(create_app(Settings(call_pace_ms=PACE_MS))) as url:
        yield url


@pytest.fixture(scope="module")
def app(npm_app: Path) -> Path:
    """The app with the package `mockplatform sdk pack` wrote, vendored, as the README says."""
    assert mockplatform_cli(["sdk", "pack", "--out", str(npm_app / "vendor")]) == 0
    vendored = f"file:vendor/{tarball_name()}"
    run(["npm", "install", "--no-save", "--offline", "--no-audit", "--no-fund", vendored], npm_app)
    return npm_app


@pytest.fixture(scope="module")
def built(app: Path, mock_url: str) -> dict[str, Path]:
    """Each bundler's build of the app, told where the mock is as a team's build is (a
    define for esbuild, a VITE_ variable for Vite): the directory the app's server serves."""
    run(["npm", "run", "build:esbuild"], app, ZENTRIX_MOCK_URL=mock_url)
    run(["npm", "run", "build:vite"], app, VITE_ZENTRIX_MOCK_URL=mock_url)
    return {bundler: app / f"dist-{bundler}" for bundler in BUNDLERS}


@pytest.fixture
def page(browser: Browser, mock_url: str) -> Iterator[Page]:
    httpx.post(f"{mock_url}/_mock/reset").raise_for_status()
    context = browser.new_context()
    context.set_default_timeout(TIMEOUT_MS)
    yield context.new_page()
    context.close()


@contextmanager
def app_server(app: Path, dist: Path, mock_url: str, **env: str) -> Iterator[str]:
    """`node server.mjs DIST`: the built page and the backend route, on their own origin."""
    environment = {
        **os.environ,
        "NEURA_API_BASE": mock_url,
        "NEURA_API_KEY": DEFAULT_API_KEY,
        # The snippet's 'your-agent-uuid' is a placeholder the backend fills in.
        "AGENT_ID": DEFAULT_AGENT_ID,
        **env,
    }
    process = subprocess.Popen(
        ["node", "server.mjs", str(dist)],
        cwd=app,
        env=environment,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stdout is not None
        url = process.stdout.readline().strip()
        assert url.startswith("http://127.0.0.1:"), process.stderr.read() if process.stderr else ""
        yield url
    finally:
        process.terminate()
        process.wait(timeout=10)
        for stream in (process.stdout, process.stderr):
            if stream is not None:
                stream.close()


def console_of(page: Page) -> list[tuple[str, str]]:
    """(type, text) of every console message the page writes, from now on."""
    messages: list[tuple[str, str]] = []

    def keep(message: ConsoleMessage) -> None:
        messages.append((message.type, message.text))

    page.on("console", keep)
    return messages


def wait_for_console(page: Page, messages: list[tuple[str, str]], text: str) -> None:
    for _ in range(TIMEOUT_MS // 20):
        if any(text in seen for _, seen in messages):
            return
        page.wait_for_timeout(20)
    raise AssertionError(f"no console message {text!r} in {messages}")


def last_call(mock_url: str) -> dict:
    return httpx.get(f"{mock_url}/_mock/calls").json()["calls"][0]


def node_module(script: str, cwd: Path, **env: str) -> str:
    """Run `script` as an ES module in Node (the app's packages importable); its stderr."""
    done = subprocess.run(
        ["node", "--input-type=module", "-e", script],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
        env={**os.environ, **env},
    )
    return done.stderr


def tarball_files(content: bytes) -> dict[str, str]:
    with tarfile.open(fileobj=io.BytesIO(gzip.decompress(content))) as archive:
        return {m.name: archive.extractfile(m).read().decode() for m in archive.getmembers()}  # type: ignore[union-attr]


def test_the_tarball_is_an_npm_package_the_same_at_every_address(mock_url: str, spec: Spec) -> None:
    """No address is written in: a teammate who reached the mock elsewhere gets the same
    bytes (the lockfile's integrity); the platform's refusals carry their codes."""
    tarball = httpx.get(f"{mock_url}{TARBALL_PATH}")
    assert tarball.status_code == 200
    files = tarball_files(tarball.content)
    assert sorted(files) == [f"package/{name}" for name in sorted(files_expected())]
    package = json.loads(files["package/package.json"])
    assert package["name"] == PACKAGE_NAME
    assert package["type"] == "module"
    assert package["exports"]["."] == {"types": "./index.d.ts", "default": "./index.js"}
    assert 'const PACKAGED_BASE_URL = "";' in files["package/index.js"]
    expired = spec.operation("redeemWidgetToken").example(401, "expired")["error"]
    assert f'"{expired}": "token_expired"' in files["package/index.js"]
    assert httpx.get(f"{mock_url}{TARBALL_PATH}").content == tarball.content
    other = httpx.get(f"{mock_url}{TARBALL_PATH}", headers={"Host": "mock.internal:9000"})
    assert other.content == tarball.content


def test_a_vendored_pack_keeps_the_lockfile_free_of_the_mock(tmp_path: Path) -> None:
    """`sdk pack` + `file:vendor/…`: the lockfile records no address, and `npm ci` installs
    with no mock running at all (and no registry: --offline)."""
    project = tmp_path / "team-app"
    assert mockplatform_cli(["sdk", "pack", "--out", str(project / "vendor")]) == 0
    dependency = f"file:vendor/{tarball_name()}"
    manifest = {"name": "team-app", "private": True, "dependencies": {PACKAGE_NAME: dependency}}
    (project / "package.json").write_text(json.dumps(manifest))
    npm = ["--offline", "--no-audit", "--no-fund"]
    run(["npm", "install", *npm], project)
    lock = (project / "package-lock.json").read_text()
    assert "http://" not in lock and "127.0.0.1" not in lock
    assert json.loads(lock)["packages"][f"node_modules/{PACKAGE_NAME}"]["resolved"] == dependency
    shutil.rmtree(project / "node_modules")
    run(["npm", "ci", *npm], project)
    installed = json.loads((project / "node_modules" / PACKAGE_NAME / "package.json").read_text())
    assert installed["name"] == PACKAGE_NAME


def test_a_pack_with_a_base_url_talks_to_it_by_default(tmp_path: Path, app: Path) -> None:
    assert (
        mockplatform_cli(
            ["sdk", "pack", "--out", str(tmp_path), "--base-url", "http://127.0.0.1:9"]
        )
        == 0
    )
    files = tarball_files((tmp_path / tarball_name()).read_bytes())
    assert 'const PACKAGED_BASE_URL = "http://127.0.0.1:9";' in files["package/index.js"]
    assert mockplatform_cli(["sdk", "pack", "--out", str(tmp_path), "--base-url", "ftp://x"]) == 2


def files_expected() -> list[str]:
    return ["README.md", "index.d.ts", "index.js", "package.json"]


@pytest.mark.parametrize("bundler", BUNDLERS)
def test_the_seed_snippet_bundled_runs_a_call(
    bundler: str, built: dict[str, Path], app: Path, mock_url: str, page: Page
) -> None:
    console = console_of(page)
    with app_server(app, built[bundler], mock_url) as app_url:
        page.goto(app_url)
        page.locator("body[data-ready=true]").wait_for(state="attached")
        page.get_by_role("button", name="Call").click()
        wait_for_console(page, console, "Call ended")
    assert ("log", "Call connected") in console
    assert [kind for kind, _ in console if kind == "error"] == []
    call = last_call(mock_url)
    assert (call["status"], call["endReason"]) == ("ended", "completed")
    # The stand-in says what it is, once, naming the mock the build was told of; Vite's
    # production build says it louder.
    notices = [(kind, text) for kind, text in console if NOTICE in text]
    assert len(notices) == 1 and mock_url in notices[0][1]
    kind, text = notices[0]
    if bundler == "vite":
        assert kind == "warning" and "PRODUCTION build" in text
    else:
        assert kind == "info" and "PRODUCTION" not in text


def test_a_backend_choosing_dropped_call_drops_the_call_and_says_so(
    built: dict[str, Path], app: Path, mock_url: str, page: Page
) -> None:
    """The scenario rides on the backend's token request; the seed listens to no `error`,
    and the page still says what happened (console.error)."""
    dropped = create_app().state.platform.scenarios.get("dropped-call").call
    console = console_of(page)
    with app_server(app, built["esbuild"], mock_url, MOCK_SCENARIO="dropped-call") as app_url:
        page.goto(app_url)
        page.locator("body[data-ready=true]").wait_for(state="attached")
        page.get_by_role("button", name="Call").click()
        wait_for_console(page, console, "Call ended")
    errors = [text for kind, text in console if kind == "error"]
    assert len(errors) == 1 and dropped.error in errors[0]
    assert [text for kind, text in console if kind == "log"] == ["Call connected", "Call ended"]
    call = last_call(mock_url)
    assert (call["scenario"], call["endReason"]) == ("dropped-call", f"failed: {dropped.error}")


def test_a_refused_token_request_is_not_a_blank_page(
    built: dict[str, Path], app: Path, mock_url: str, page: Page
) -> None:
    """The seed's backend passes the platform's 403 on as a body without a token; the seed
    calls startCall with none, and listens to no `error`: the console says what went wrong."""
    console = console_of(page)
    cancelled = {"NEURA_API_KEY": "nas_test_cancelled"}
    with app_server(app, built["vite"], mock_url, **cancelled) as app_url:
        page.goto(app_url)
        page.locator("body[data-ready=true]").wait_for(state="attached")
        page.get_by_role("button", name="Call").click()
        wait_for_console(page, console, "ZentrixVoiceClient error")
    errors = [text for kind, text in console if kind == "error"]
    assert len(errors) == 1
    assert "startCall needs { accessToken }" in errors[0]
    assert "did the token request fail?" in errors[0]


def test_the_page_cannot_fetch_a_token_itself(
    built: dict[str, Path], app: Path, mock_url: str, page: Page
) -> None:
    """The platform docs' warning, made real: the key belongs on the backend."""
    with app_server(app, built["esbuild"], mock_url) as app_url:
        page.goto(app_url)
        outcome = page.evaluate(
            """async ([url, key, agentId]) => {
              try {
                const response = await fetch(url, {
                  method: "POST",
                  headers: { Authorization: `Bearer ${key}`, "Content-Type": "application/json" },
                  body: JSON.stringify({ agentId }),
                });
                return `answered ${response.status}`;
              } catch (error) {
                return `refused: ${error.message}`;
              }
            }""",
            [f"{mock_url}/api/widget/token", DEFAULT_API_KEY, DEFAULT_AGENT_ID],
        )
    assert outcome.startswith("refused: ")
    entry = httpx.get(f"{mock_url}/_mock/requests").json()["requests"][0]
    assert (entry["method"], entry["path"]) == ("OPTIONS", "/api/widget/token")
    assert f"(Origin: {app_url})" in entry["warning"]
    assert "API key is exposed to the page" in entry["warning"]


def test_an_unheard_error_goes_to_the_console(page: Page, mock_url: str, spec: Spec) -> None:
    """A pre-fetched token used after its lifetime: no `error` listener, yet not silent."""
    expired = spec.operation("redeemWidgetToken").example(401, "expired")["error"]
    issued = httpx.post(f"{mock_url}/demo/start-call", json={}).json()
    seconds = spec.token_lifetime_seconds + 1
    httpx.post(f"{mock_url}/_mock/clock/advance", json={"seconds": seconds}).raise_for_status()
    console = console_of(page)
    page.goto(mock_url)
    page.evaluate(
        """async (accessToken) => {
          const { ZentrixVoiceClient } = await import("/sdk/voice-client.js");
          await new ZentrixVoiceClient().startCall({ accessToken });
        }""",
        issued["accessToken"],
    )
    errors = [text for kind, text in console if kind == "error" and "ZentrixVoiceClient" in text]
    assert len(errors) == 1 and expired in errors[0]


def test_a_copy_that_cannot_reach_the_mock_says_where_it_tried(app: Path) -> None:
    """`baseUrl` overrides the packaged URL; a wrong one is named, with the way to fix it."""
    script = """
      import { ZentrixVoiceClient } from "zentrix-voice-sdk";
      const client = new ZentrixVoiceClient({ baseUrl: "http://127.0.0.1:9" });
      await client.startCall({ accessToken: "rt_x" });
    """
    stderr = node_module(script, app)
    assert "http://127.0.0.1:9/api/widget/calls" in stderr
    assert "new ZentrixVoiceClient({ baseUrl:" in stderr


def test_tsc_checks_an_app_against_the_package_types(app: Path) -> None:
    """One tsc run over both files: the sample passes clean, each marked mistake is an error."""
    done = subprocess.run(
        [*TSC, "types/sample.ts", "types/mistakes.ts"],
        cwd=app,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode != 0
    expected = [
        ("types/mistakes.ts", n)
        for n, line in enumerate((app / "types/mistakes.ts").read_text().splitlines(), 1)
        if "expect error" in line and not line.startswith("//")
    ]
    reported = sorted(
        {
            (line.split("(")[0], int(line.split("(")[1].split(",")[0]))
            for line in done.stdout.splitlines()
            if line.startswith("types/")
        }
    )
    assert reported == expected, done.stdout  # nothing in sample.ts
    assert "'\"eror\"' is not assignable" in done.stdout


def test_a_copy_bundled_as_an_iife_takes_the_url_from_the_environment(
    app: Path, tmp_path: Path
) -> None:
    """voice-client.js copied into an app and bundled as a classic script: no import.meta
    (esbuild leaves it empty), no crash either; ZENTRIX_MOCK_URL says where the mock is, and
    a mock not there is named with where the URL came from and the fix."""
    bundle = tmp_path / "sdk.iife.js"
    source = sdk_package.CLIENT_SOURCE
    esbuild = ["npx", "--no-install", "esbuild", str(source), "--bundle", "--format=iife"]
    run([*esbuild, "--global-name=SDK", "--log-level=error", f"--outfile={bundle}"], app)
    script = f"""{bundle.read_text()}
      const client = new SDK.ZentrixVoiceClient();
      await client.startCall({{ accessToken: "rt_x" }});
    """
    stderr = node_module(script, app, ZENTRIX_MOCK_URL="http://127.0.0.1:9")
    assert "http://127.0.0.1:9/api/widget/calls (from ZENTRIX_MOCK_URL)" in stderr
    assert "new ZentrixVoiceClient({ baseUrl:" in stderr


README = Path(__file__).parents[3] / "README.md"
HARDENED = ("src/hardened-client.js", "src/hardened-route.js")


def test_the_readme_prints_the_hardened_snippet_the_tests_run() -> None:
    readme = README.read_text(encoding="utf-8")
    for name in HARDENED:
        assert (APP_SOURCE / name).read_text(encoding="utf-8") in readme, name


def test_the_hardened_snippet_survives_every_shipped_scenario(
    built: dict[str, Path], app: Path, mock_url: str, page: Page
) -> None:
    """Each scenario chosen by the backend's token request (the call and the redeem follow
    the token): the page never throws, and the user sees either a call that ended or an
    error with its code."""
    thrown: list[str] = []
    page.on("pageerror", lambda error: thrown.append(str(error)))
    console = console_of(page)
    scenarios = sorted(s.name for s in create_app().state.platform.scenarios.all())
    outcomes: dict[str, str] = {}
    with app_server(app, built["esbuild"], mock_url, BACKEND="hardened") as app_url:
        for scenario in scenarios:
            console.clear()
            cookie = {"name": "mock-scenario", "value": scenario, "url": app_url}
            page.context.add_cookies([cookie])  # server.mjs: the token request's scenario
            page.goto(f"{app_url}/hardened.html")
            page.locator("body[data-ready=true]").wait_for(state="attached")
            page.get_by_role("button", name="Call").click()
            outcomes[scenario] = outcome(page, console, scenario)
    assert thrown == []
    assert outcomes["default"] == "Call ended (completed)"
    assert outcomes["network-faults"].startswith("Shown to the user: 502 Token request failed")
    assert outcomes["microphone-denied"].endswith("[microphone_denied]")
    assert outcomes["lost-connection"].endswith("[connection_lost]")
    assert outcomes["redeem-failures"].endswith("[platform_error]")
    assert outcomes["platform-failure"].startswith("Shown to the user: 500 Voice platform error")


def outcome(page: Page, console: list[tuple[str, str]], scenario: str) -> str:
    """What the user was shown first: a call that ended, or an error."""
    for _ in range(TIMEOUT_MS // 20):
        shown = [t for _, t in console if t.startswith(("Call ended", "Shown to the user"))]
        if shown:
            page.wait_for_timeout(50)  # whatever follows it, thrown or not
            return shown[0]
        page.wait_for_timeout(20)
    raise AssertionError(f"{scenario}: neither an end nor an error in {console}")
