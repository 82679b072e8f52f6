"""The SDK stand-in as an npm package, built as it is downloaded, with the mock's URL in it.

`npm install http://127.0.0.1:8080/sdk/zentrix-voice-sdk.tgz` gives an app the platform's
own import, `import { ZentrixVoiceClient } from "zentrix-voice-sdk"`, which every bundler
resolves. A bundled copy cannot find the mock from its own URL (that is the app's), so the
mock writes the URL it was downloaded from into the package: the one line of
`static/voice-client.js` that says where the mock is. Everything else is that file and its
types as they are (one source of the client, not two).

The tarball is deterministic (fixed times, owners and modes; gzip without a time stamp):
the same mock URL gives the same bytes, which npm's lockfile integrity relies on.
"""

from __future__ import annotations

import functools
import gzip
import io
import json
import tarfile
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

from mockplatform.core.resources import DISTRIBUTION

PACKAGE_NAME = "zentrix-voice-sdk"
TARBALL_PATH = f"/sdk/{PACKAGE_NAME}.tgz"
STATIC_DIR = Path(__file__).parent / "static"
CLIENT_SOURCE = STATIC_DIR / "voice-client.js"
TYPES_SOURCE = STATIC_DIR / "voice-client.d.ts"
BASE_URL_LINE = 'const PACKAGED_BASE_URL = "";'  # in CLIENT_SOURCE, once
# npm's own packing time (1985-10-26): a time stamp that says "not a real one".
_PACKED_AT = 499162500


def package_version() -> str:
    """The mock's version, marked as the mock's: never mistaken for a release of the SDK."""
    try:
        return f"{version(DISTRIBUTION)}-mockplatform"
    except PackageNotFoundError:  # run from a checkout without installing
        return "0.0.0-mockplatform"


def packaged_client(base_url: str) -> str:
    """voice-client.js with `base_url` as the URL it talks to by default."""
    source = CLIENT_SOURCE.read_text(encoding="utf-8")
    if source.count(BASE_URL_LINE) != 1:
        raise RuntimeError(f"{CLIENT_SOURCE}: expected the line {BASE_URL_LINE!r} once")
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


def package_readme(base_url: str) -> str:
    return f"""# {PACKAGE_NAME} (mockplatform's stand-in)

Not the platform's SDK: a stand-in with the same surface, served by the mock at {base_url}.
Calls are simulated by that mock; `new ZentrixVoiceClient()` talks to it by default.

To point a copy at a mock elsewhere: `new ZentrixVoiceClient({{ baseUrl: "http://HOST:PORT" }})`.
For production, install the platform's own `{PACKAGE_NAME}` instead.
"""


@functools.lru_cache(maxsize=16)  # one per URL the mock is reached at; a few in practice
def package_tarball(base_url: str) -> bytes:
    """The npm tarball: package/{package.json, index.js, index.d.ts, README.md}."""
    files = {
        "package.json": json.dumps(package_json(), indent=2) + "\n",
        "index.js": packaged_client(base_url),
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
