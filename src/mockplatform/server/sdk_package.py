"""The SDK stand-in as an npm package: the same bytes whatever address the mock is reached at.

`mockplatform sdk pack --out vendor` writes `zentrix-voice-sdk-<version>.tgz` for a team to
commit and install as `"zentrix-voice-sdk": "file:vendor/…"`, so its lockfile records no mock
address and `npm ci` never needs a mock; `npm install http://127.0.0.1:8080/sdk/zentrix-voice-sdk.tgz`
gives the same package. Either way the platform's own `import { ZentrixVoiceClient } from
"zentrix-voice-sdk"` works in every bundler. Where the mock is comes at run time (a `baseUrl`,
a build-time VITE_ZENTRIX_MOCK_URL / ZENTRIX_MOCK_URL, else the mock's default address; see
`static/voice-client.js`), unless a team packs one in with `--base-url`. Two lines of that
file are written in: that packed URL, and the platform's refusal messages with the SDK's
error codes (openapi.yaml's `x-sdk-error` on the redeem's responses). Everything else is the
file and its types as they are (one source of the client, not two).

The tarball is deterministic (fixed times, owners and modes; gzip without a time stamp),
which npm's lockfile integrity relies on.
"""

from __future__ import annotations

import functools
import gzip
import io
import json
import tarfile
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any

from mockplatform.core.resources import DISTRIBUTION
from mockplatform.core.spec import REDEEM_TOKEN, Spec

PACKAGE_NAME = "zentrix-voice-sdk"
TARBALL_PATH = f"/sdk/{PACKAGE_NAME}.tgz"
STATIC_DIR = Path(__file__).parent / "static"
CLIENT_SOURCE = STATIC_DIR / "voice-client.js"
TYPES_SOURCE = STATIC_DIR / "voice-client.d.ts"
BASE_URL_LINE = 'const PACKAGED_BASE_URL = "";'  # in CLIENT_SOURCE, once
ERRORS_LINE = "const PLATFORM_ERRORS = {};"  # in CLIENT_SOURCE, once
SDK_ERROR_MARK = "x-sdk-error"
# npm's own packing time (1985-10-26): a time stamp that says "not a real one".
_PACKED_AT = 499162500


def package_version() -> str:
    """The mock's version, marked as the mock's: never mistaken for a release of the SDK."""
    try:
        return f"{version(DISTRIBUTION)}-mockplatform"
    except PackageNotFoundError:  # run from a checkout without installing
        return "0.0.0-mockplatform"


def platform_errors(spec: Spec) -> str:
    """The redeem's refusal messages and the SDK's code for each (`x-sdk-error` on a response
    or on one of its named examples), as the JSON the client reads."""
    operation = spec.operation(REDEEM_TOKEN)
    codes: dict[str, str] = {}
    for status, response in operation.responses.items():
        named = _json_examples(response)
        for name in operation.example_choices(status):
            example = named.get(name, {}) if name is not None else {}
            code = example.get(SDK_ERROR_MARK) or response.get(SDK_ERROR_MARK)
            if isinstance(code, str):
                codes[operation.example(status, name)["error"]] = code
    return json.dumps(codes, sort_keys=True, ensure_ascii=False)


def _json_examples(response: dict[str, Any]) -> dict[str, dict[str, Any]]:
    media = response.get("content", {}).get("application/json", {})
    return media.get("examples", {}) if isinstance(media, dict) else {}


@functools.lru_cache(maxsize=16)  # one per spec and packed URL: a few in a process
def client_source(errors: str, base_url: str = "") -> str:
    """voice-client.js with the platform's refusals (`platform_errors`) and, when a team packs
    one in, a default base URL."""
    source = CLIENT_SOURCE.read_text(encoding="utf-8")
    for line in (BASE_URL_LINE, ERRORS_LINE):
        if source.count(line) != 1:
            raise RuntimeError(f"{CLIENT_SOURCE}: expected the line {line!r} once")
    source = source.replace(ERRORS_LINE, f"const PLATFORM_ERRORS = {errors};")
    return source.replace(BASE_URL_LINE, f"const PACKAGED_BASE_URL = {json.dumps(base_url)};")


def package_json() -> dict[str, object]:
    return {
        "name": PACKAGE_NAME,
        "version": package_version(),
        "description": "mockplatform's stand-in for the Voice Web SDK: simulated calls "
        "against a local mock",
        "type": "module",
        "main": "./index.js",
        "types": "./index.d.ts",
        "exports": {".": {"types": "./index.d.ts", "default": "./index.js"}},
        "sideEffects": False,
    }


def tarball_name() -> str:
    """What `npm pack` would call it: the file a team commits."""
    return f"{PACKAGE_NAME}-{package_version()}.tgz"


def package_readme(base_url: str) -> str:
    where = (
        f"talks to the mock at {base_url} by default"
        if base_url
        else "talks to the mock named by `baseUrl`, or VITE_ZENTRIX_MOCK_URL / ZENTRIX_MOCK_URL "
        "at build time, else http://127.0.0.1:8080"
    )
    return f"""# {PACKAGE_NAME} (mockplatform's stand-in)

Not the platform's SDK: a stand-in with the same surface, for simulated calls against a local
mock (mockplatform). `new ZentrixVoiceClient()` {where}.

To point it at a mock elsewhere: `new ZentrixVoiceClient({{ baseUrl: "http://HOST:PORT" }})`.
It says so in the console (once); a production build says it louder. For production,
install the platform's own `{PACKAGE_NAME}` instead.
"""


@functools.lru_cache(maxsize=4)  # the served one, and a pack or two
def package_tarball(errors: str, base_url: str = "") -> bytes:
    """The npm tarball: package/{package.json, index.js, index.d.ts, README.md}."""
    files = {
        "package.json": json.dumps(package_json(), indent=2) + "\n",
        "index.js": client_source(errors, base_url),
        "index.d.ts": TYPES_SOURCE.read_text(encoding="utf-8"),
        "README.md": package_readme(base_url),
    }
    archive = io.BytesIO()
    with tarfile.open(fileobj=archive, mode="w", format=tarfile.USTAR_FORMAT) as tar:
        for name, text in files.items():
            data = text.encode("utf-8")
            info = tarfile.TarInfo(f"package/{name}")
            info.size, info.mtime, info.mode = len(data), _PACKED_AT, 0o644
            tar.addfile(info, io.BytesIO(data))
    return gzip.compress(archive.getvalue(), mtime=0)


def pack(spec: Spec, out_dir: Path, base_url: str = "") -> Path:
    """`mockplatform sdk pack`: the tarball written to `out_dir`, for a team to commit."""
    out_dir.mkdir(parents=True, exist_ok=True)
    target = out_dir / tarball_name()
    target.write_bytes(package_tarball(platform_errors(spec), base_url))
    return target
