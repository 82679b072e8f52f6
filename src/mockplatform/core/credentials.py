"""What a credential looks like, and how one is shown when it must be: the API key, the access
token, the admin token. One house for them, so that the mock, the proxy and the harness
recognise and mask the same secrets the same way."""

from __future__ import annotations

import hashlib

TOKEN_PREFIX = "rt_test_"  # the mock's access tokens; masked wherever they appear in text


def mask_secret(secret: str) -> str:
    """`nas_test_active` -> `nas_…tive`: enough to tell keys apart in a log, not to use one."""
    head, underscore, _ = secret.partition("_")
    prefix = head + underscore if underscore and len(head) <= 4 else ""
    if len(secret) <= 8:
        return f"{prefix}…"
    return f"{prefix}…{secret[-4:]}"


KEY_DIGEST_PREFIX = "blake2s:"


def key_digest(key: str) -> str:
    """The form a file keeps of an API key (a recording): its BLAKE2s digest, `blake2s:<hex>`.
    A key is a long random string, so its digest tells nothing of it, yet the mock can
    recognise the key it stands for when an app presents it again."""
    return KEY_DIGEST_PREFIX + hashlib.blake2s(key.encode("utf-8", "surrogatepass")).hexdigest()
