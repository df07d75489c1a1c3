"""AWS Organizations for the local engine, as much of it as service-managed stack sets read: LocalStack 4.10
community has no Organizations at all.

An organization is given to the proxy as data: its management account, the
accounts registered as delegated administrators for StackSets, and each
organizational unit's accounts. The answers take the shapes of the
Organizations API Reference (DescribeOrganization,
ListDelegatedAdministrators, ListAccountsForParent); anything else is
AWSOrganizationsNotInUseException, as an account outside an organization hears.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from devtools.engine_proxy.wire import Caller, Reply, json_error, json_reply

# The service principal StackSets registers delegated administrators under
# (CloudFormation User Guide, "Register a delegated administrator").
STACKSETS_SERVICE_PRINCIPAL = "member.org.stacksets.cloudformation.amazonaws.com"
ORGANIZATION_ID = "o-tradingtest1"


@dataclass
class Organization:
    management_account: str
    delegated_administrators: tuple[str, ...] = ()
    # Organizational unit id -> its accounts. A test may move an account in or out.
    units: dict[str, list[str]] = field(default_factory=dict)

    def members(self) -> set[str]:
        return {
            self.management_account,
            *(a for accounts in self.units.values() for a in accounts),
        }

    def accounts_in(self, unit: str) -> list[str] | None:
        return self.units.get(unit)

    def is_delegated_administrator(self, account: str) -> bool:
        return account in self.delegated_administrators

    def handle(self, who: Caller, action: str, params: dict[str, Any]) -> Reply:
        if (
            who.access_key not in self.members()
            and who.access_key not in self.delegated_administrators
        ):
            return json_error(
                "AWSOrganizationsNotInUseException",
                "Your account is not a member of an organization.",
            )
        if action == "DescribeOrganization":
            return json_reply(
                {
                    "Organization": {
                        "Id": ORGANIZATION_ID,
                        "Arn": f"arn:aws:organizations::{self.management_account}:organization/{ORGANIZATION_ID}",
                        "MasterAccountId": self.management_account,
                        "MasterAccountArn": f"arn:aws:organizations::{self.management_account}:account/"
                        f"{ORGANIZATION_ID}/{self.management_account}",
                        "FeatureSet": "ALL",
                    }
                }
            )
        if action == "ListDelegatedAdministrators":
            principal = params.get("ServicePrincipal")
            administrators = (
                self.delegated_administrators
                if principal in (None, STACKSETS_SERVICE_PRINCIPAL)
                else ()
            )
            return json_reply(
                {
                    "DelegatedAdministrators": [
                        {"Id": account, "Status": "ACTIVE"}
                        for account in administrators
                    ]
                }
            )
        if action == "ListAccountsForParent":
            accounts = self.accounts_in(str(params.get("ParentId", "")))
            if accounts is None:
                return json_error("ParentNotFoundException", "parent not found")
            return json_reply(
                {
                    "Accounts": [
                        {"Id": account, "Status": "ACTIVE"} for account in accounts
                    ]
                }
            )
        return json_error(
            "UnsupportedAPIEndpointException", f"{action} is not emulated here"
        )
