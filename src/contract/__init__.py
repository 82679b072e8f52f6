"""The contract harness: does the implementation at a base URL honour openapi.yaml?"""

from contract.outcomes import CheckResult, Outcome, Report, Violation
from contract.runner import run
from contract.settings import ContractError, CouldNotTest, ExpiryMode, Settings

__all__ = [
    "CheckResult",
    "ContractError",
    "CouldNotTest",
    "ExpiryMode",
    "Outcome",
    "Report",
    "Settings",
    "Violation",
    "run",
]
