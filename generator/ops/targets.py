"""Where a stack set's instances go: accounts or organizational units, checked; and who acts in them."""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from generator.errors import ConfigurationError
from generator.files import printable, read_regular_text
from generator.ops.release import Release

_ACCOUNT = re.compile(r"[0-9]{12}")
# AWS Organizations' pattern for an organizational unit id.
_ORGANIZATIONAL_UNIT = re.compile(r"ou-[0-9a-z]{4,32}-[a-z0-9]{8,32}")
ACCOUNTS_FILE_MAX_BYTES = 1024 * 1024


def read_accounts(
    accounts: Iterable[str], accounts_file: Path | None
) -> tuple[str, ...]:
    """Account ids from the flag and the file (whitespace or comma separated), checked, in order, once each."""
    listed = list(accounts)
    if accounts_file is not None:
        if not accounts_file.exists():
            raise ConfigurationError(
                f"accounts file {printable(str(accounts_file))} does not exist"
            )
        listed += re.split(
            r"[\s,]+", read_regular_text(accounts_file, ACCOUNTS_FILE_MAX_BYTES).strip()
        )
    wrong = [
        account for account in listed if account and not _ACCOUNT.fullmatch(account)
    ]
    if wrong:
        raise ConfigurationError(
            f"not a 12-digit account id: {printable(wrong[0])}"
            + (f" (and {len(wrong) - 1} more)" if len(wrong) > 1 else "")
        )
    return tuple(dict.fromkeys(account for account in listed if account))


def check_organizational_units(units: Iterable[str]) -> tuple[str, ...]:
    listed = tuple(dict.fromkeys(units))
    if wrong := [unit for unit in listed if not _ORGANIZATIONAL_UNIT.fullmatch(unit)]:
        raise ConfigurationError(
            f"not an organizational unit id (ou-...): {printable(wrong[0])}"
        )
    return listed


# What a service-managed stack set acts as in each target account
# (CloudFormation User Guide, "Configure a custom execution role template for StackSets").
SERVICE_MANAGED_EXECUTION_ROLE = "stacksets-exec-"


@dataclass(frozen=True)
class Targets:
    """Where the instances go: accounts (self-managed) or organizational units (service-managed), and regions."""

    accounts: tuple[str, ...]
    organizational_units: tuple[str, ...]
    regions: tuple[str, ...]

    @property
    def service_managed(self) -> bool:
        return bool(self.organizational_units)

    def described(self) -> str:
        where = (
            f"organizational unit(s) {', '.join(self.organizational_units)}"
            if self.service_managed
            else f"account(s) {', '.join(self.accounts)}"
        )
        return f"{where}, region(s) {', '.join(self.regions)}"


def refuse_unexempted_service_role(release: Release, targets: Targets) -> None:
    """A service-managed set acts as stacksets-exec-<id>; the guards must exempt it, or it is locked out."""
    named = release.parameter_values.get("DeployerRoleNames", "").split(",")
    if targets.service_managed and not any(
        name.startswith(SERVICE_MANAGED_EXECUTION_ROLE) for name in named
    ):
        raise ConfigurationError(
            "a service-managed stack set acts as stacksets-exec-<id> in each account, which the parameter file's "
            "DeployerRoleNames does not name: add stacksets-exec-* to it, build, and deploy again"
        )
