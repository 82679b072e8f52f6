"""Access tokens and call ids: unguessable, from `secrets`, never derived from request data."""

from __future__ import annotations

import secrets

TOKEN_PREFIX = "rt_test_"
CALL_PREFIX = "call_"


def new_access_token() -> str:
    """256 random bits; the `rt_test_` prefix marks it as the mock's, never a live token."""
    return TOKEN_PREFIX + secrets.token_urlsafe(32)


def new_call_id() -> str:
    return CALL_PREFIX + secrets.token_hex(12)
