"""Tokens on live traffic: when each was issued, when it was redeemed, and how that went.

The proxy sees a token issued (the token request's answer) and redeemed (the redeem's
request), so it can hold the spec's `x-token-lifetime-seconds` and single use to both sides
in real time. Ages are bounds, never guesses: a token was issued at the platform between the
token request coming in and its answer going out, so

    least age = redeem request in  - token answer out   (the platform's view is older)
    most age  = redeem answer out  - token request in

A platform that accepts a token whose *least* age is past the lifetime broke the contract;
one that calls a token expired whose *most* age is within it did too. An app that redeems a
token whose least age is past the lifetime pre-fetched it (the seed's docs: "do not pre-fetch
tokens"). Only digests of tokens are kept: the watch never holds a usable credential.
"""

from __future__ import annotations

import hashlib
from collections import OrderedDict
from dataclasses import dataclass
from typing import Any

MAX_WATCHED = 10_000  # tokens (and call ids) remembered, the oldest forgotten first


@dataclass
class Issued:
    requested: float  # monotonic: the token request came in
    answered: float  # monotonic: its answer began
    redeemed: float | None = None  # monotonic: the redeem the platform accepted came in


@dataclass(frozen=True)
class Observation:
    """What the watch concluded: a rule (one of the judge's) and what happened."""

    rule: str
    detail: str


# The rules the watch can conclude; judge.py registers them with their sides.
UNIQUE_IDS = "unique_ids"
TOKEN_LIFETIME = "token_lifetime"
SINGLE_USE = "single_use"
PREFETCHED_TOKEN = "prefetched_token"
TOKEN_REUSED = "token_reused"


class TokenWatch:
    def __init__(self, lifetime: float) -> None:
        self.lifetime = lifetime
        self._tokens: OrderedDict[bytes, Issued] = OrderedDict()
        self._call_ids: OrderedDict[bytes, None] = OrderedDict()

    def issued(
        self, token: str, call_id: str | None, requested: float, answered: float
    ) -> list[Observation]:
        found = []
        token_digest = digest(token)
        if token_digest in self._tokens:
            found.append(Observation(UNIQUE_IDS, "this accessToken was issued before"))
        if call_id is not None:
            call_digest = digest(call_id)
            if call_digest in self._call_ids:
                found.append(Observation(UNIQUE_IDS, f"callId {call_id} was issued before"))
            _remember(self._call_ids, call_digest, None)
        _remember(self._tokens, token_digest, Issued(requested, answered))
        return found

    def redeemed(
        self,
        token: str,
        accepted: bool,
        said_expired: bool,
        requested: float,
        answered: float,
        said_used: bool = False,
    ) -> list[Observation]:
        """Judge one redeem of `token`: accepted by the platform, or refused (as expired, or
        as already used?)."""
        issued = self._tokens.get(digest(token))
        if issued is None:  # not issued through this proxy: its age is unknown
            return []
        least, most = requested - issued.answered, answered - issued.requested
        lifetime = f"(lifetime {self.lifetime:g} s)"
        if issued.redeemed is not None:
            used = f"first redeemed {requested - issued.redeemed:.1f} s earlier"
            if accepted:
                return [Observation(SINGLE_USE, f"accepted a token already used, {used}")]
            return [Observation(TOKEN_REUSED, f"redeemed a token already used, {used}")]
        found = []
        if said_used:  # and no redeem of it was ever accepted here
            found.append(
                Observation(
                    SINGLE_USE,
                    "called a token already used that was never redeemed "
                    f"(issued {least:.1f} s before, no redeem of it accepted since)",
                )
            )
        if accepted:
            issued.redeemed = requested
            if least > self.lifetime:
                return [
                    Observation(
                        TOKEN_LIFETIME,
                        f"accepted a token at least {least:.1f} s old {lifetime}",
                    )
                ]
            return []
        if least > self.lifetime:
            return [
                *found,
                Observation(
                    PREFETCHED_TOKEN,
                    f"redeemed a token {least:.1f} s after it was issued {lifetime}: "
                    "fetch it when the user clicks, not before",
                ),
            ]
        if said_expired and most < self.lifetime:
            return [
                Observation(
                    TOKEN_LIFETIME,
                    f"called a token expired when it was at most {most:.1f} s old {lifetime}",
                )
            ]
        return found


def digest(secret: str) -> bytes:
    return hashlib.blake2s(secret.encode("utf-8", "surrogatepass")).digest()


def _remember(kept: OrderedDict[bytes, Any], key: bytes, value: Any) -> None:
    kept[key] = value
    kept.move_to_end(key)
    while len(kept) > MAX_WATCHED:
        kept.popitem(last=False)
