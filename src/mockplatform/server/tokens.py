"""Access tokens and call ids: unguessable, never derived from request data."""

from __future__ import annotations

import hashlib
import secrets

from mockplatform.core.credentials import TOKEN_PREFIX

CALL_PREFIX = "call_"


def new_access_token() -> str:
    """256 random bits; the `rt_test_` prefix marks it as the mock's, never a live token."""
    return TOKEN_PREFIX + secrets.token_urlsafe(32)


def new_call_id() -> str:
    return CALL_PREFIX + secrets.token_hex(12)


def new_live_key() -> str:
    """The key in a started call's WebSocket URL, known only to whoever redeemed the token."""
    return secrets.token_urlsafe(24)


def key_digest(key: str) -> str:
    """What the call log keeps of a live key: enough to check one, useless to an onlooker."""
    return hashlib.sha256(key.encode("utf-8", "surrogatepass")).hexdigest()
