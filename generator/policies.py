"""IAM policy documents for the secrets and their key, built with awacs.

The secrets' resource policy (deny-only), the key policy, and the consumer
contract: the managed policy a reader attaches. Each statement has a Sid that
says what it is for, so that policy tests and an operator reading the
console can find it by name.
"""

from __future__ import annotations

from typing import Any

from awacs import kms as kms_actions
from awacs import secretsmanager as secretsmanager_actions
from awacs.aws import (
    Action,
    Allow,
    ArnNotLike,
    Condition,
    Deny,
    Everybody,
    PolicyDocument,
    Principal,
    Statement,
    StringEquals,
    StringNotEquals,
)
from troposphere import AccountId, AWSHelperFn, If, Join, NoValue, Ref, Split, Sub

from generator.stack_parameters import (
    BREAK_GLASS_ROLE,
    HAS_READER_ALLOW_LIST,
    OPERATOR_PRINCIPALS,
    READER_PRINCIPALS,
)

POLICY_VERSION = "2012-10-17"

ACCOUNT_ROOT = Sub("arn:${AWS::Partition}:iam::${AWS::AccountId}:root")
# aws:PrincipalArn of an assumed role is the role's ARN with its path
# (IAM Identity Center roles always have one), so the role is named under any
# path. A role name is unique in an account whatever its path.
BREAK_GLASS_ROLE_ARNS = [
    Sub(
        "arn:${AWS::Partition}:iam::${AWS::AccountId}:role/${RoleName}",
        RoleName=Ref(BREAK_GLASS_ROLE),
    ),
    Sub(
        "arn:${AWS::Partition}:iam::${AWS::AccountId}:role/*/${RoleName}",
        RoleName=Ref(BREAK_GLASS_ROLE),
    ),
]
SECRETS_MANAGER_IN_REGION = Sub("secretsmanager.${AWS::Region}.amazonaws.com")


def _deny_everybody(sid: str, actions: list[Action], condition: Condition) -> Statement:
    """A Deny to every principal that `condition` matches: resource policies here only ever deny."""
    return Statement(
        Sid=sid,
        Effect=Deny,
        Principal=Principal(Everybody),
        Action=actions,
        Resource=["*"],
        Condition=condition,
    )


def deny_principals_outside_account() -> Statement:
    """No principal of another account may do anything with the secret."""
    return _deny_everybody(
        "DenyPrincipalsOutsideAccount",
        [secretsmanager_actions.Action("*")],
        Condition(StringNotEquals({"aws:PrincipalAccount": AccountId})),
    )


def _principals_or(*lists: AWSHelperFn | list[AWSHelperFn]) -> AWSHelperFn:
    """One list of principal ARNs from fixed ARNs and comma-separated parameters (an empty parameter adds a harmless "")."""
    parts: list[AWSHelperFn] = []
    for item in lists:
        parts.extend(item if isinstance(item, list) else [item])
    return Split(",", Join(",", parts))


def deny_delete_except_break_glass() -> Statement:
    """Only the break-glass role may delete the secret."""
    return _deny_everybody(
        "DenyDeleteExceptBreakGlass",
        [secretsmanager_actions.DeleteSecret],
        Condition(ArnNotLike({"aws:PrincipalArn": BREAK_GLASS_ROLE_ARNS})),
    )


def deny_policy_change_except_break_glass_and_operators() -> Statement:
    """The guard above cannot be taken down quietly: only break glass and the operators (who deploy) may change this policy."""
    return _deny_everybody(
        "DenyPolicyChangeExceptBreakGlassAndOperators",
        [
            secretsmanager_actions.PutResourcePolicy,
            secretsmanager_actions.DeleteResourcePolicy,
        ],
        Condition(
            ArnNotLike(
                {
                    "aws:PrincipalArn": _principals_or(
                        BREAK_GLASS_ROLE_ARNS, Ref(OPERATOR_PRINCIPALS)
                    )
                }
            )
        ),
    )


def deny_read_outside_allow_list() -> Statement:
    """Only the listed readers, and the operators who check and rotate the value, may read it."""
    return _deny_everybody(
        "DenyReadOutsideAllowList",
        [secretsmanager_actions.GetSecretValue],
        Condition(
            ArnNotLike(
                {
                    "aws:PrincipalArn": _principals_or(
                        Ref(READER_PRINCIPALS), Ref(OPERATOR_PRINCIPALS)
                    )
                }
            )
        ),
    )


def secret_resource_policy(*, deny_delete: bool) -> dict[str, Any]:
    """The resource policy of one secret; every statement is a Deny, so it can never widen access.

    The allow-list statement is present only when ReaderPrincipalArns is set:
    an Fn::If on that one statement, so the others are written once.
    """
    statements: list[Any] = [deny_principals_outside_account()]
    if deny_delete:
        statements += [
            deny_delete_except_break_glass(),
            deny_policy_change_except_break_glass_and_operators(),
        ]
    statements.append(
        If(HAS_READER_ALLOW_LIST, deny_read_outside_allow_list(), NoValue)
    )
    return {"Version": POLICY_VERSION, "Statement": statements}


def reader_policy(secret_arn: AWSHelperFn, key_arn: AWSHelperFn) -> PolicyDocument:
    """What a consumer needs to read one secret, and nothing more: CDK's grantRead."""
    return PolicyDocument(
        Version=POLICY_VERSION,
        Statement=[
            Statement(
                Sid="ReadTheSecret",
                Effect=Allow,
                Action=[
                    secretsmanager_actions.GetSecretValue,
                    secretsmanager_actions.DescribeSecret,
                ],
                Resource=[secret_arn],
            ),
            Statement(
                Sid="DecryptThroughSecretsManager",
                Effect=Allow,
                Action=[kms_actions.Decrypt],
                Resource=[key_arn],
                Condition=Condition(
                    StringEquals({"kms:ViaService": SECRETS_MANAGER_IN_REGION})
                ),
            ),
        ],
    )
