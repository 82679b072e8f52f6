"""The mock's exceptions, in one tree.

    MockPlatformError             anything the mock reports to its operator
     +-- SpecError                openapi.yaml is missing, unreadable or not what the mock needs
     +-- ConfigError              a command-line option or setting is unusable
     +-- StoreUnavailable         the shared store (Redis) cannot be reached: a 503 mid-run
    Rejection                     a request the platform answers with a documented error

`Rejection` is not an operator error: it is the normal way a request stage ends the request
with one of the spec's documented responses (401, 400, 403, ...). Stages raise it; the app
renders it from openapi.yaml, so no stage spells out a status body by hand.
"""

from __future__ import annotations


class MockPlatformError(Exception):
    """An error the command line prints as one line, without a traceback."""


class SpecError(MockPlatformError):
    """openapi.yaml cannot drive the mock; the message names the file and what is wrong."""


class ConfigError(MockPlatformError):
    """A setting given on the command line or to `create_app` cannot be used."""


class StoreUnavailable(MockPlatformError):
    """The store behind the mock failed; the message names it (never its password).

    At start-up the command line prints it as one line; mid-run the mock answers 503
    (`store_guard`). It is a failure of the mock itself, so it is not one of the platform's
    documented responses.
    """

    def __init__(self, store: str, reason: str) -> None:
        super().__init__(f"the store {store} is unavailable: {reason}")
        self.store = store
        self.reason = reason


class Rejection(Exception):
    """End the request with the documented response `status` of operation `operation_id`.

    `example` picks one of several named examples (e.g. `expired` for a 401 on redeem);
    `field` and `detail` are added to the documented body to say exactly what was wrong.
    """

    def __init__(
        self,
        operation_id: str,
        status: int,
        *,
        example: str | None = None,
        field: str | None = None,
        detail: str | None = None,
    ) -> None:
        super().__init__(f"{operation_id} -> {status}: {detail or example or ''}")
        self.operation_id = operation_id
        self.status = status
        self.example = example
        self.field = field
        self.detail = detail
