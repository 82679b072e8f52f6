"""Access tokens and call ids: unguessable, never derived from request data.

Their bits come from `os.urandom`, the source `secrets` draws on, read a page at a time: a
token request needs two identifiers, and asking the kernel for each cost a system call
apiece (more than the rest of making them). Every byte is handed out once; a forked child
starts a page of its own, so two workers never share one.
"""

from __future__ import annotations

import binascii
import hashlib
import os

from mockplatform.core.credentials import TOKEN_PREFIX

CALL_PREFIX = "call_"
_URLSAFE = bytes.maketrans(b"+/", b"-_")


class RandomPool:
    """`os.urandom`, read `size` bytes at a time and handed out in order, each byte once."""

    __slots__ = ("_page", "_used", "size")

    def __init__(self, size: int = 4096) -> None:
        self.size = size
        self._page = b""
        self._used = 0

    def take(self, count: int) -> bytes:
        start = self._used
        end = start + count
        if end > len(self._page):
            self._page, start, end = os.urandom(max(self.size, count)), 0, count
        self._used = end
        return self._page[start:end]

    def discard(self) -> None:
        """Forget the unread bytes (a forked child must not hand out its parent's)."""
        self._page = b""
        self._used = 0


_POOL = RandomPool()
os.register_at_fork(after_in_child=_POOL.discard)


def new_access_token() -> str:
    """256 random bits; the `rt_test_` prefix marks it as the mock's, never a live token."""
    return TOKEN_PREFIX + _urlsafe(_POOL.take(32))


def new_call_id() -> str:
    return CALL_PREFIX + _POOL.take(12).hex()


def new_live_key() -> str:
    """The key in a started call's WebSocket URL, known only to whoever redeemed the token."""
    return _urlsafe(_POOL.take(24))


def key_digest(key: str) -> str:
    """What the call log keeps of a live key: enough to check one, useless to an onlooker."""
    return hashlib.sha256(key.encode("utf-8", "surrogatepass")).hexdigest()


def _urlsafe(raw: bytes) -> str:
    """As `secrets.token_urlsafe` writes bytes: URL-safe base64 without padding."""
    return binascii.b2a_base64(raw, newline=False).translate(_URLSAFE).rstrip(b"=").decode()
