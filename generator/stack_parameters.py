"""The stack's parameters in one place: names, declarations, conditions and console groups.

Parameter files (`params/<env>/secrets.json`) set exactly these; the build
checks each value against its AllowedPattern.
"""

from __future__ import annotations

from typing import Any

from troposphere import Equals, Not, Parameter, Ref

from generator.environments import Environment

READER_PRINCIPALS = "ReaderPrincipalArns"
OPERATOR_PRINCIPALS = "OperatorPrincipalArns"
ALERT_EMAIL = "AlertEmail"
BREAK_GLASS_ROLE = "BreakGlassRoleName"

HAS_READER_ALLOW_LIST = "HasReaderAllowList"

# Empty, or IAM principal ARNs (full ARNs, paths included) separated by commas.
_PRINCIPAL_LIST = r"^$|^arn:aws[a-z-]*:iam::[0-9]{12}:[^,\s]+(,arn:aws[a-z-]*:iam::[0-9]{12}:[^,\s]+)*$"
HAS_ALERT_EMAIL = "HasAlertEmail"


def declarations(env: Environment) -> list[Parameter]:
    """Stack parameters: who may read, who may delete, who hears alerts."""
    result = [
        # A String split in the template rather than a CommaDelimitedList:
        # an empty list is then just "", and parameter files hold plain strings.
        Parameter(
            READER_PRINCIPALS,
            Type="String",
            Default="",
            AllowedPattern=_PRINCIPAL_LIST,
            ConstraintDescription="empty, or IAM principal ARNs separated by commas, without spaces",
            Description="IAM principal ARNs allowed to read the secret values (comma separated). "
            "Empty: no allow-list, IAM policies alone decide.",
        ),
        Parameter(
            OPERATOR_PRINCIPALS,
            Type="String",
            Default="",
            AllowedPattern=_PRINCIPAL_LIST,
            ConstraintDescription="empty, or IAM principal ARNs separated by commas, without spaces",
            Description="IAM principal ARNs of the people and roles that deploy this stack and run "
            "trading-secrets (comma separated). The reader allow-list never blocks them; in staging and prod "
            "they may also change the secrets' resource policies.",
        ),
        Parameter(
            ALERT_EMAIL,
            Type="String",
            Default="",
            # Dot-separated labels that cannot hold a dot: one way to split an
            # address, so matching is linear in its length.
            AllowedPattern=r"^$|^[^@\s]+@[^@\s.]+(\.[^@\s.]+)+$",
            ConstraintDescription="empty, or one email address",
            Description="Email address subscribed to secret alerts. Empty: no subscription.",
        ),
    ]
    if env.deny_delete_except_break_glass:
        result.append(
            # A role name, not an ARN, so that one parameter file serves every
            # account of a StackSet.
            Parameter(
                BREAK_GLASS_ROLE,
                Type="String",
                AllowedPattern=r"^[A-Za-z0-9+=,.@_-]{1,64}$",
                ConstraintDescription="an IAM role name in this account",
                Description="Name of the IAM role that alone may delete these secrets (break glass).",
            )
        )
    return result


def conditions() -> dict[str, Any]:
    return {
        HAS_READER_ALLOW_LIST: Not(Equals(Ref(READER_PRINCIPALS), "")),
        HAS_ALERT_EMAIL: Not(Equals(Ref(ALERT_EMAIL), "")),
    }


def console_interface(env: Environment) -> dict[str, Any]:
    """Groups and labels for the parameters in the CloudFormation console."""
    access = [READER_PRINCIPALS, OPERATOR_PRINCIPALS]
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
