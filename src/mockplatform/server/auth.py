"""Who is calling: the bearer API key, checked before anything else about the request."""

from __future__ import annotations

from collections.abc import Mapping

from mockplatform.core.errors import Rejection
from mockplatform.core.spec import bearer_credential
from mockplatform.server.world import Account, World


def authenticate(headers: Mapping[bytes, bytes], world: World, operation_id: str) -> Account:
    """The caller's account, or the documented 401, before anything else is looked at."""
    header = headers.get(b"authorization")
    if header is None:
        raise Rejection(operation_id, 401, detail="the Authorization header is missing")
    api_key = bearer_credential(header.decode("latin-1"))
    if api_key is None:
        raise Rejection(operation_id, 401, detail="expected 'Authorization: Bearer <api key>'")
    account = world.account_for_key(api_key)
    if account is None:
        raise Rejection(operation_id, 401, detail="the API key is not known")
    return account
