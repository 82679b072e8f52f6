"""Access tokens and call ids: unguessable, never derived from request data.

Their bits come straight from `os.urandom`, the source `secrets` draws on; going through
`secrets.token_urlsafe` and `token_hex` cost a token request six Python calls for the same
bytes and the same text.
"""

from __future__ import annotations

import binascii
import hashlib
import os

TOKEN_PREFIX = "rt_test_"
CALL_PREFIX = "call_"
_URLSAFE = bytes.maketrans(b"+/", b"-_")


def new_access_token() -> str:
    """256 random bits; the `rt_test_` prefix marks it as the mock's, never a live token."""
    return TOKEN_PREFIX + _urlsafe(os.urandom(32))


def new_call_id() -> str:
    return CALL_PREFIX + os.urandom(12).hex()


def new_live_key() -> str:
    """The key in a started call's WebSocket URL, known only to whoever redeemed the token."""
    return _urlsafe(os.urandom(24))


def key_digest(key: str) -> str:
    """What the call log keeps of a live key: enough to check one, useless to an onlooker."""
    return hashlib.sha256(key.encode("utf-8", "surrogatepass")).hexdigest()


def _urlsafe(raw: bytes) -> str:
    """As `secrets.token_urlsafe` writes bytes: URL-safe base64 without padding."""
    return binascii.b2a_base64(raw, newline=False).translate(_URLSAFE).rstrip(b"=").decode()
