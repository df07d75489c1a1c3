"""The key policies of the two customer-managed keys, the secrets' and the alerting's, built with awacs."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from awacs import kms as kms_actions
from awacs.aws import (
    Action,
    Allow,
    AWSPrincipal,
    Condition,
    PolicyDocument,
    Principal,
    Statement,
    StringEquals,
)
from troposphere import AccountId

from generator.environments import Environment
from generator.policies import (
    ACCOUNT_ROOT,
    POLICY_VERSION,
    SECRETS_MANAGER_IN_REGION,
    this_stacks_alarms,
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


def _account_may(sid: str, actions: Sequence[Action], **condition: Any) -> Statement:
    """An Allow to the account, which delegates to its IAM policies: a caller needs both."""
    return Statement(
        Sid=sid,
        Effect=Allow,
        Principal=AWSPrincipal(ACCOUNT_ROOT),
        Action=list(actions),
        Resource=["*"],
        **condition,
    )


def key_policy() -> PolicyDocument:
    """The secrets' key: the account administers it; data-plane use only through Secrets Manager."""
    return PolicyDocument(
        Version=POLICY_VERSION,
        Statement=[
            _account_may("AllowAccountToAdministerKey", KEY_ADMINISTRATION_ACTIONS),
            _account_may(
                "AllowUseThroughSecretsManagerOnly",
                KEY_USE_ACTIONS,
                Condition=Condition(
                    StringEquals(
                        {
                            "kms:CallerAccount": AccountId,
                            "kms:ViaService": SECRETS_MANAGER_IN_REGION,
                        }
                    )
                ),
            ),
        ],
    )


PUBLISH_ENCRYPTED = [kms_actions.Decrypt, kms_actions.Action("GenerateDataKey*")]


def alerts_key_policy(env: Environment) -> PolicyDocument:
    """The alerting's own key: the account administers it; EventBridge and this stack's alarms publish with it.

    Apart from the secrets' key, so that disabling or scheduling the deletion
    of that key can still be reported: SNS cannot publish to a topic whose key
    refuses GenerateDataKey.
    """
    return PolicyDocument(
        Version=POLICY_VERSION,
        Statement=[
            _account_may("AllowAccountToAdministerKey", KEY_ADMINISTRATION_ACTIONS),
            # SNS does not support source conditions for EventBridge publishing to an
            # encrypted topic, so this statement has none.
            Statement(
                Sid="AllowEventBridgeToPublishToEncryptedTopic",
                Effect=Allow,
                Principal=Principal("Service", ["events.amazonaws.com"]),
                Action=PUBLISH_ENCRYPTED,
                Resource=["*"],
            ),
            # CloudWatch alarms do support them: only this stack's alarms, in this account.
            Statement(
                Sid="AllowStackAlarmsToPublishToEncryptedTopic",
                Effect=Allow,
                Principal=Principal("Service", ["cloudwatch.amazonaws.com"]),
                Action=PUBLISH_ENCRYPTED,
                Resource=["*"],
                **this_stacks_alarms(env),
            ),
        ],
    )
