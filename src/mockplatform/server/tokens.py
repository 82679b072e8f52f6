"""Access tokens and call ids: unguessable, never derived from request data.

Their bits come from `os.urandom`, the source `secrets` draws on, and each kind is made a
page at a time: a token request needs two identifiers, and asking the kernel for each cost
a system call apiece, and writing each out a few frames more than the rest of making them.
A page is read and written out by C code in one go; handing an identifier out is then a
`next`. Every identifier is handed out once; a forked child starts pages of its own, so two
workers never share one.
"""

from __future__ import annotations

import binascii
import hashlib
import itertools
import os
import struct
from collections.abc import Callable, Iterator

from mockplatform.core.credentials import TOKEN_PREFIX

CALL_PREFIX = "call_"
PAGE = 64  # identifiers made at once, of each kind
_URLSAFE = bytes.maketrans(b"+/", b"-_")


def _urlsafe_page(size: int) -> list[str]:
    """`PAGE` strings of `size` random bytes each, as `secrets.token_urlsafe` writes them
    (URL-safe base64 without padding): each encoded alone, a line apiece, then split."""
    chunks = struct.unpack(f"{size}s" * PAGE, os.urandom(size * PAGE))
    lines = b"".join(map(binascii.b2a_base64, chunks))
    return lines.translate(_URLSAFE, b"=").decode().split()


def _hex_page(size: int) -> list[str]:
    """`PAGE` strings of `size` random bytes each, in hex."""
    return os.urandom(size * PAGE).hex(" ", size).split()


def _supply(page: Callable[[int], list[str]], size: int) -> Iterator[str]:
    """One page after another, each identifier handed out once (by `next`)."""
    return itertools.chain.from_iterable(iter(lambda: page(size), None))


def _start() -> None:
    """Fresh supplies: at import, and in a forked child (which must not hand out its
    parent's unread identifiers)."""
    global _TOKENS, _CALL_IDS, _LIVE_KEYS
    _TOKENS = _supply(_urlsafe_page, 32)
    _CALL_IDS = _supply(_hex_page, 12)
    _LIVE_KEYS = _supply(_urlsafe_page, 24)


_TOKENS: Iterator[str]
_CALL_IDS: Iterator[str]
_LIVE_KEYS: Iterator[str]
_start()
os.register_at_fork(after_in_child=_start)


def new_access_token() -> str:
    """256 random bits; the `rt_test_` prefix marks it as the mock's, never a live token."""
    return TOKEN_PREFIX + next(_TOKENS)


def new_call_id() -> str:
    return CALL_PREFIX + next(_CALL_IDS)


def new_live_key() -> str:
    """The key in a started call's WebSocket URL, known only to whoever redeemed the token."""
    return next(_LIVE_KEYS)


def key_digest(key: str) -> str:
    """What the call log keeps of a live key: enough to check one, useless to an onlooker."""
    return hashlib.sha256(key.encode("utf-8", "surrogatepass")).hexdigest()
