"""How the proxy shows a body: a bounded excerpt, never a credential, wherever it falls."""

from __future__ import annotations

from mockplatform.core.credentials import mask_secret
from mockplatform.proxy.exchanges import CREDENTIAL_ROOM, MAX_EXCERPT, excerpt

KEY = "live_key_3c9e7a1f5b2d"
JWT = "eyJhbGciOiJIUzI1NiJ9." + "a" * 3000 + ".sig_0123456789"


def test_a_credential_across_the_cut_is_masked_whole() -> None:
    for secret in (KEY, JWT):
        for start in (MAX_EXCERPT - 20, 5):
            body = ("x " * (start // 2) + secret + " tail" * 100_000).encode()
            shown = excerpt(body, {secret: mask_secret(secret)}, MAX_EXCERPT)
            assert len(shown) <= MAX_EXCERPT
            assert secret[:8] not in shown, (secret[:8], start)  # not even its start


def test_an_excerpt_reads_only_the_start_of_a_large_body() -> None:
    assert len(JWT) <= CREDENTIAL_ROOM  # the longest credential fits in the room past the cut
    shown = excerpt(b"\xff" * 10_000_000, {}, MAX_EXCERPT)
    assert len(shown) == MAX_EXCERPT
