"""IAM policy documents, built with awacs: the secrets' resource policy, the key policy, the topic policy.

Each statement has a Sid that says what it is for, so that policy tests and
an operator reading the console can find it by name.
"""

from __future__ import annotations

from awacs import kms as kms_actions
from awacs import secretsmanager as secretsmanager_actions
from awacs import sns as sns_actions
from awacs.aws import (
    Allow,
    ArnEquals,
    ArnNotLike,
    AWSPrincipal,
    Bool,
    Condition,
    Deny,
    Everybody,
    PolicyDocument,
    Principal,
    Statement,
    StringEquals,
    StringNotEquals,
)
from troposphere import AccountId, AWSHelperFn, Ref, Split, Sub

POLICY_VERSION = "2012-10-17"
READER_PRINCIPALS_PARAMETER = "ReaderPrincipalArns"
BREAK_GLASS_ROLE_PARAMETER = "BreakGlassRoleName"

ACCOUNT_ROOT = Sub("arn:${AWS::Partition}:iam::${AWS::AccountId}:root")
BREAK_GLASS_ROLE_ARN = Sub(
    "arn:${AWS::Partition}:iam::${AWS::AccountId}:role/${RoleName}",
    RoleName=Ref(BREAK_GLASS_ROLE_PARAMETER),
)

# Key administration without the data-plane actions: the account may manage
# the key, but can decrypt only through Secrets Manager (statement below).
KEY_ADMINISTRATION_ACTIONS = [
    kms_actions.CancelKeyDeletion,
    kms_actions.CreateAlias,
    kms_actions.DeleteAlias,
    kms_actions.DescribeKey,
    kms_actions.DisableKey,
    kms_actions.DisableKeyRotation,
    kms_actions.EnableKey,
    kms_actions.EnableKeyRotation,
    kms_actions.GetKeyPolicy,
    kms_actions.GetKeyRotationStatus,
    kms_actions.ListAliases,
    kms_actions.ListResourceTags,
    kms_actions.PutKeyPolicy,
    kms_actions.RotateKeyOnDemand,
    kms_actions.ScheduleKeyDeletion,
    kms_actions.TagResource,
    kms_actions.UntagResource,
    kms_actions.UpdateAlias,
    kms_actions.UpdateKeyDescription,
]
KEY_USE_ACTIONS = [
    kms_actions.Decrypt,
    kms_actions.DescribeKey,
    kms_actions.Encrypt,
    kms_actions.GenerateDataKey,
    kms_actions.ReEncryptFrom,
    kms_actions.ReEncryptTo,
]


def deny_principals_outside_account() -> Statement:
    """No principal of another account may do anything with the secret."""
    return Statement(
        Sid="DenyPrincipalsOutsideAccount",
        Effect=Deny,
        Principal=Principal(Everybody),
        Action=[secretsmanager_actions.Action("*")],
        Resource=["*"],
        Condition=Condition(StringNotEquals({"aws:PrincipalAccount": AccountId})),
    )


def deny_delete_except_break_glass() -> Statement:
    """Only the break-glass role may delete the secret."""
    return Statement(
        Sid="DenyDeleteExceptBreakGlass",
        Effect=Deny,
        Principal=Principal(Everybody),
        Action=[secretsmanager_actions.DeleteSecret],
        Resource=["*"],
        Condition=Condition(ArnNotLike({"aws:PrincipalArn": BREAK_GLASS_ROLE_ARN})),
    )


def deny_read_outside_allow_list() -> Statement:
    """Only the principals listed in ReaderPrincipalArns may read the value."""
    return Statement(
        Sid="DenyReadOutsideAllowList",
        Effect=Deny,
        Principal=Principal(Everybody),
        Action=[secretsmanager_actions.GetSecretValue],
        Resource=["*"],
        Condition=Condition(ArnNotLike({"aws:PrincipalArn": Split(",", Ref(READER_PRINCIPALS_PARAMETER))})),
    )


def secret_resource_policy(*, deny_delete: bool, restrict_readers: bool) -> PolicyDocument:
    """The resource policy of one secret; every statement is a Deny, so it can never widen access."""
    statements = [deny_principals_outside_account()]
    if deny_delete:
        statements.append(deny_delete_except_break_glass())
    if restrict_readers:
        statements.append(deny_read_outside_allow_list())
    return PolicyDocument(Version=POLICY_VERSION, Statement=statements)


def key_policy() -> PolicyDocument:
    """The account administers the key; data-plane use only through Secrets Manager, plus EventBridge for alerts."""
    return PolicyDocument(
        Version=POLICY_VERSION,
        Statement=[
            Statement(
                Sid="AllowAccountToAdministerKey",
                Effect=Allow,
                Principal=AWSPrincipal(ACCOUNT_ROOT),
                Action=KEY_ADMINISTRATION_ACTIONS,
                Resource=["*"],
            ),
            Statement(
                Sid="AllowUseThroughSecretsManagerOnly",
                Effect=Allow,
                Principal=AWSPrincipal(ACCOUNT_ROOT),
                Action=KEY_USE_ACTIONS,
                Resource=["*"],
                Condition=Condition(
                    StringEquals(
                        {
                            "kms:CallerAccount": AccountId,
                            "kms:ViaService": Sub("secretsmanager.${AWS::Region}.amazonaws.com"),
                        }
                    )
                ),
            ),
            # EventBridge must encrypt what it publishes to the encrypted alert topic.
            Statement(
                Sid="AllowEventBridgeToPublishToEncryptedTopic",
                Effect=Allow,
                Principal=Principal("Service", ["events.amazonaws.com"]),
                Action=[kms_actions.Decrypt, kms_actions.Action("GenerateDataKey*")],
                Resource=["*"],
            ),
        ],
    )


def alert_topic_policy(topic_arn: AWSHelperFn, rule_arns: list[AWSHelperFn]) -> PolicyDocument:
    """Only this stack's EventBridge rules may publish, and only over TLS."""
    return PolicyDocument(
        Version=POLICY_VERSION,
        Statement=[
            Statement(
                Sid="AllowStackRulesToPublish",
                Effect=Allow,
                Principal=Principal("Service", ["events.amazonaws.com"]),
                Action=[sns_actions.Publish],
                Resource=[topic_arn],
                Condition=Condition(ArnEquals({"aws:SourceArn": rule_arns})),
            ),
            Statement(
                Sid="DenyPublishWithoutTls",
                Effect=Deny,
                Principal=Principal(Everybody),
                Action=[sns_actions.Publish],
                Resource=[topic_arn],
                Condition=Condition(Bool({"aws:SecureTransport": "false"})),
            ),
        ],
    )

