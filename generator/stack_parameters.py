"""The stack's parameters in one place: names, declarations, conditions and console groups.

Parameter files (`params/<env>/secrets.json`) set exactly these; the build
checks each value against its AllowedPattern.

Principals are named by IAM role name, matched under any path in the stack's
own account, never by ARN: one parameter file then serves every account of a
stack set, and IAM Identity Center roles, whose names end in a suffix that
differs per account, are named with a trailing `*`.
"""

from __future__ import annotations

from typing import Any

from troposphere import Equals, Not, Parameter, Ref

from generator.environments import Environment

READER_ROLES = "ReaderRoleNames"
OPERATOR_ROLES = "OperatorRoleNames"
DEPLOYER_ROLES = "DeployerRoleNames"
ALERT_EMAIL = "AlertEmail"
BREAK_GLASS_ROLE = "BreakGlassRoleName"

HAS_READER_ALLOW_LIST = "HasReaderAllowList"
HAS_OPERATORS = "HasOperators"
HAS_DEPLOYERS = "HasDeployers"
HAS_ALERT_EMAIL = "HasAlertEmail"

# IAM's characters for a role name, less the comma that separates names here;
# a trailing * matches a name's per-account suffix (IAM Identity Center).
_ROLE_NAME = r"[A-Za-z0-9+=.@_-]{1,64}\*?"
ROLE_NAME_LIST = rf"^{_ROLE_NAME}(,{_ROLE_NAME})*$"
OPTIONAL_ROLE_NAME_LIST = rf"^$|{ROLE_NAME_LIST}"
_ROLE_LIST_RULE = (
    "IAM role names separated by commas, without spaces; a trailing * matches a suffix"
)


def _role_names(name: str, description: str, *, required: bool) -> Parameter:
    return Parameter(
        name,
        Type="String",
        **({} if required else {"Default": ""}),
        AllowedPattern=ROLE_NAME_LIST if required else OPTIONAL_ROLE_NAME_LIST,
        ConstraintDescription=("" if required else "empty, or ") + _ROLE_LIST_RULE,
        Description=description,
    )


# Dot-separated labels that cannot hold a dot: one way to split an address, so
# matching is linear in its length.
EMAIL_ADDRESS = r"^[^@\s]+@[^@\s.]+(\.[^@\s.]+)+$"


def _alert_email(env: Environment) -> Parameter:
    """Who the alerts reach; where they must reach a person, not empty."""
    if env.requires_alert_subscriber:
        return Parameter(
            ALERT_EMAIL,
            Type="String",
            AllowedPattern=EMAIL_ADDRESS,
            ConstraintDescription="one email address: the alerts must reach a person",
            Description="Email address subscribed to secret alerts; its owner must confirm the subscription "
            "(the go-live gate fails until then).",
        )
    return Parameter(
        ALERT_EMAIL,
        Type="String",
        Default="",
        AllowedPattern=f"^$|{EMAIL_ADDRESS}",
        ConstraintDescription="empty, or one email address",
        Description="Email address subscribed to secret alerts. Empty: no subscription.",
    )


def declarations(env: Environment) -> list[Parameter]:
    """Stack parameters: who reads, who operates, who deploys, who may delete, who hears alerts."""
    guarded = env.deny_delete_except_break_glass
    # Strings split in the template rather than CommaDelimitedLists: an empty
    # list is then just "", and parameter files hold plain strings.
    result = [
        _role_names(
            READER_ROLES,
            "IAM role names allowed to read the secret values (comma separated), under any path in this "
            "account. Empty: no allow-list, IAM policies alone decide.",
            required=False,
        ),
        _role_names(
            OPERATOR_ROLES,
            "IAM role names of the people who run trading-secrets (status, put, rollback), under any path "
            "in this account. The reader allow-list never blocks them.",
            required=False,
        ),
        _role_names(
            DEPLOYER_ROLES,
            "IAM role names CloudFormation acts as when it deploys this stack (the deployer, or the stack's "
            "service role), under any path in this account. The guards never block them"
            + (
                ", and it must name one: otherwise CloudFormation is locked out of its own stack."
                if guarded
                else "."
            ),
            required=guarded,
        ),
        _alert_email(env),
    ]
    if guarded:
        result.append(
            Parameter(
                BREAK_GLASS_ROLE,
                Type="String",
                AllowedPattern=r"^[A-Za-z0-9+=,.@_-]{1,64}$",
                ConstraintDescription="an IAM role name in this account",
                Description="Name of the IAM role that alone may delete these secrets (break glass).",
            )
        )
    return result


def conditions(env: Environment) -> dict[str, Any]:
    """Which optional parameters are set; where a deployer is required, there is nothing to ask."""
    optional = [
        (HAS_READER_ALLOW_LIST, READER_ROLES),
        (HAS_OPERATORS, OPERATOR_ROLES),
        (HAS_ALERT_EMAIL, ALERT_EMAIL),
    ]
    if not env.deny_delete_except_break_glass:
        optional.append((HAS_DEPLOYERS, DEPLOYER_ROLES))
    return {name: Not(Equals(Ref(parameter), "")) for name, parameter in optional}


def console_interface(env: Environment) -> dict[str, Any]:
    """Groups and labels for the parameters in the CloudFormation console."""
    access = [READER_ROLES, OPERATOR_ROLES, DEPLOYER_ROLES]
    if env.deny_delete_except_break_glass:
        access.append(BREAK_GLASS_ROLE)
    return {
        "AWS::CloudFormation::Interface": {
            "ParameterGroups": [
                {"Label": {"default": "Access control"}, "Parameters": access},
                {"Label": {"default": "Monitoring"}, "Parameters": [ALERT_EMAIL]},
            ],
        }
    }
