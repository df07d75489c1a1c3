"""IAM policy documents for the secrets and their key, built with awacs.

The secrets' resource policy (deny-only), the key policy, and the consumer
contract: the managed policy a reader attaches. Each statement has a Sid that
says what it is for, so that policy tests and an operator reading the
console can find it by name.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from awacs import kms as kms_actions
from awacs import secretsmanager as secretsmanager_actions
from awacs.aws import (
    Action,
    Allow,
    ArnLike,
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

from generator import naming
from generator.environments import Environment
from generator.stack_parameters import (
    BREAK_GLASS_ROLE,
    DEPLOYER_ROLES,
    HAS_DEPLOYERS,
    HAS_OPERATORS,
    HAS_READER_ALLOW_LIST,
    OPERATOR_ROLES,
    READER_ROLES,
)

POLICY_VERSION = "2012-10-17"

ACCOUNT_ROOT = Sub("arn:${AWS::Partition}:iam::${AWS::AccountId}:root")
# What a self-managed stack set acts as in each target account.
STACK_SET_EXECUTION_ROLE = "AWSCloudFormationStackSetExecutionRole"
SECRETS_MANAGER_IN_REGION = Sub("secretsmanager.${AWS::Region}.amazonaws.com")
# Fn::Join's delimiter must be a literal, so the patterns of a list of role
# names cannot carry this account's id: they match the name in any account.
# DenyPrincipalsOutsideAccount, in every secret's resource policy, denies
# every other account everything first (rule E9115 keeps the two together).
# "role*/<name>" matches role/<name> and role/<path>/<name> alike: ArnLike's *
# matches any run of characters, "/" included, and a name is the last segment.
ANY_ACCOUNT_ROLE_UNDER_ANY_PATH = "arn:*:iam::*:role*/"


def pinned_role_arn(name: str) -> AWSHelperFn:
    """One role of this account under any path: aws:PrincipalArn of an assumed role carries the role's path.

    IAM Identity Center roles always have one; "role*/" matches role/<name>
    and role/<path>/<name> alike. `name` is a role name, or ${Parameter}. A
    role name is unique in an account whatever its path.
    """
    return Sub(f"arn:${{AWS::Partition}}:iam::${{AWS::AccountId}}:role*/{name}")


def listed_role_arns(parameter: str) -> AWSHelperFn:
    """Comma-separated ARN patterns, one per role named in `parameter`, each matching it under any path."""
    prefix = ANY_ACCOUNT_ROLE_UNDER_ANY_PATH
    return Join("", [prefix, Join("," + prefix, Split(",", Ref(parameter)))])


BREAK_GLASS_ROLE_ARN = pinned_role_arn(f"${{{BREAK_GLASS_ROLE}}}")


def _principal_list(
    always: list[AWSHelperFn], optional: Sequence[tuple[str, AWSHelperFn]] = ()
) -> AWSHelperFn:
    """aws:PrincipalArn values: `always`, plus each optional part where its condition holds.

    Where it does not, the slot repeats the first of `always`: a repeated value
    changes nothing, while an empty parameter joined in would put an empty
    string, which is no ARN, in the list.
    """
    slots = [*always, *(If(condition, part, always[0]) for condition, part in optional)]
    return Split(",", Join(",", slots))


def _deployers(env: Environment) -> list[AWSHelperFn]:
    """Whom CloudFormation acts as: the named deployers, and in a stack set each account's execution role."""
    named = [listed_role_arns(DEPLOYER_ROLES)]
    return (
        [*named, pinned_role_arn(STACK_SET_EXECUTION_ROLE)]
        if env.deployed_as_stack_set
        else named
    )


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


def deny_delete_or_copy_except_break_glass() -> Statement:
    """Only the break-glass role may delete the secret, or copy its value into another account.

    AssociateCrossAccountReplica links the secret to a replica in another
    account and keeps copying its value there (Secrets Manager API, in
    botocore's service model); no deployer or operator needs it.
    """
    return _deny_everybody(
        "DenyDeleteOrCrossAccountCopyExceptBreakGlass",
        [
            secretsmanager_actions.DeleteSecret,
            secretsmanager_actions.Action("AssociateCrossAccountReplica"),
        ],
        Condition(ArnNotLike({"aws:PrincipalArn": BREAK_GLASS_ROLE_ARN})),
    )


def deny_policy_change_except_break_glass_and_deployers(env: Environment) -> Statement:
    """The delete guard cannot be taken down quietly; CloudFormation, acting as a deployer, can still update and roll back."""
    return _deny_everybody(
        "DenyPolicyChangeExceptBreakGlassAndDeployers",
        [
            secretsmanager_actions.PutResourcePolicy,
            secretsmanager_actions.DeleteResourcePolicy,
        ],
        Condition(
            ArnNotLike(
                {
                    "aws:PrincipalArn": _principal_list(
                        [BREAK_GLASS_ROLE_ARN, *_deployers(env)]
                    )
                }
            )
        ),
    )


def deny_read_outside_allow_list(env: Environment) -> Statement:
    """Only the listed readers may read the value, and the operators and CloudFormation.

    CloudFormation's own read and update of a secret call GetSecretValue (the
    resource type's handler permissions), so the deployers are exempt too.
    """
    optional = [(HAS_OPERATORS, listed_role_arns(OPERATOR_ROLES))]
    deployers = _deployers(env)
    if env.deny_delete_except_break_glass:
        always = [listed_role_arns(READER_ROLES), *deployers]
    else:
        # Where naming a deployer is optional, the exemption holds only once one is named.
        always = [listed_role_arns(READER_ROLES), *deployers[1:]]
        optional.append((HAS_DEPLOYERS, deployers[0]))
    return _deny_everybody(
        "DenyReadOutsideAllowList",
        [secretsmanager_actions.GetSecretValue],
        Condition(ArnNotLike({"aws:PrincipalArn": _principal_list(always, optional)})),
    )


def secret_resource_policy(env: Environment) -> dict[str, Any]:
    """The resource policy of one secret; every statement is a Deny, so it can never widen access.

    The allow-list statement is present only when ReaderRoleNames is set: an
    Fn::If on that one statement, so the others are written once.
    """
    statements: list[Any] = [deny_principals_outside_account()]
    if env.deny_delete_except_break_glass:
        statements += [
            deny_delete_or_copy_except_break_glass(),
            deny_policy_change_except_break_glass_and_deployers(env),
        ]
    statements.append(
        If(HAS_READER_ALLOW_LIST, deny_read_outside_allow_list(env), NoValue)
    )
    return {"Version": POLICY_VERSION, "Statement": statements}


def this_stacks_alarms(env: Environment) -> dict[str, Any]:
    """Conditions that hold only for this stack's alarms, in this account: CloudWatch supports them."""
    return {
        "Condition": Condition(
            [
                StringEquals({"aws:SourceAccount": AccountId}),
                ArnLike(
                    {
                        "aws:SourceArn": Sub(
                            "arn:${AWS::Partition}:cloudwatch:${AWS::Region}:${AWS::AccountId}:alarm:"
                            + naming.resource_name(env, "*")
                        )
                    }
                ),
            ]
        )
    }


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
