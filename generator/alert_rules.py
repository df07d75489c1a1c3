"""The EventBridge rules that raise alerts, and the CloudTrail event patterns they match.

They match "AWS API Call via CloudTrail" events, which EventBridge receives
only from a CloudTrail trail that logs management events in the rule's region.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from troposphere import GetAtt, Ref, Sub, Tags
from troposphere.events import DeadLetterConfig, Rule, Target
from troposphere.kms import Key
from troposphere.sns import Topic
from troposphere.sqs import Queue

from generator import naming, tagging
from generator.environments import Environment

# Every mutating Secrets Manager call that takes a SecretId (CloudTrail event
# names), by what it changes. Replication copies a value to another region.
_VALUE_CHANGES = ("PutSecretValue", "UpdateSecret", "UpdateSecretVersionStage")
_LIFECYCLE_CHANGES = (
    "DeleteSecret",
    "RestoreSecret",
    "RotateSecret",
    "CancelRotateSecret",
)
_ACCESS_CHANGES = (
    "PutResourcePolicy",
    "DeleteResourcePolicy",
    "TagResource",
    "UntagResource",
)
_REPLICATION_CHANGES = (
    "ReplicateSecretToRegions",
    "RemoveRegionsFromReplication",
    "StopReplicationToReplica",
)
SECRET_CHANGE_EVENTS = tuple(
    sorted(_VALUE_CHANGES + _LIFECYCLE_CHANGES + _ACCESS_CHANGES + _REPLICATION_CHANGES)
)
# Calls that make every secret under the key unreadable, or hide who can use it.
KEY_CHANGE_EVENTS = (
    "DisableKey",
    "DisableKeyRotation",
    "PutKeyPolicy",
    "ScheduleKeyDeletion",
)

# A rule in state ENABLED never sees read-only management events (GetSecretValue
# among them, even when it fails); this state lets it see them too.
MUTATING_EVENTS = "ENABLED"
READ_ONLY_EVENTS_TOO = "ENABLED_WITH_ALL_CLOUDTRAIL_MANAGEMENT_EVENTS"


@dataclass(frozen=True)
class AlertRule:
    """One rule's identity, what it is for, what it matches, and the state that lets it see those events."""

    logical_id: str
    what: str
    pattern: dict[str, Any]
    state: str


def _secret_id_patterns(env: Environment) -> list[dict[str, Any]]:
    """Match this environment's secrets whether the caller named them by name or by ARN."""
    prefix = naming.secret_name_prefix(env)
    arn_prefix = f"arn:${{AWS::Partition}}:secretsmanager:${{AWS::Region}}:${{AWS::AccountId}}:secret:{prefix}"
    return [{"prefix": prefix}, {"prefix": Sub(arn_prefix)}]


def _cloudtrail_pattern(
    service: str, event_names: list[str], **detail: Any
) -> dict[str, Any]:
    return {
        "source": [f"aws.{service}"],
        "detail-type": ["AWS API Call via CloudTrail"],
        "detail": {
            "eventSource": [f"{service}.amazonaws.com"],
            "eventName": event_names,
            **detail,
        },
    }


def _secrets_pattern(
    env: Environment, event_names: list[str], **detail: Any
) -> dict[str, Any]:
    return _cloudtrail_pattern(
        "secretsmanager",
        event_names,
        requestParameters={"secretId": _secret_id_patterns(env)},
        **detail,
    )


def alert_rules(env: Environment, key: Key) -> list[AlertRule]:
    """Changes to the secrets, denied reads, reads of a secret pending deletion, and changes that break the key."""
    return [
        AlertRule(
            "SecretChangeRule",
            "Any change to",
            _secrets_pattern(env, list(SECRET_CHANGE_EVENTS)),
            MUTATING_EVENTS,
        ),
        AlertRule(
            "SecretAccessDeniedRule",
            "Denied GetSecretValue on",
            _secrets_pattern(
                env,
                ["GetSecretValue"],
                errorCode=["AccessDenied", "AccessDeniedException"],
            ),
            READ_ONLY_EVENTS_TOO,
        ),
        AlertRule(
            # A read of a secret scheduled for deletion means a consumer still
            # depends on it: restore it before the window closes.
            "PendingDeletionAccessRule",
            "GetSecretValue on a pending-deletion secret of",
            _secrets_pattern(
                env,
                ["GetSecretValue"],
                errorCode=["InvalidRequestException"],
                errorMessage=[{"wildcard": "*marked for deletion*"}],
            ),
            READ_ONLY_EVENTS_TOO,
        ),
        AlertRule(
            # CloudTrail names the key in `resources` whatever the caller passed (id, ARN or alias).
            "KeyChangeRule",
            "Disabling, deleting or re-permissioning the key of",
            _cloudtrail_pattern(
                "kms", list(KEY_CHANGE_EVENTS), resources={"ARN": [GetAtt(key, "Arn")]}
            ),
            MUTATING_EVENTS,
        ),
    ]


def rule_resources(
    env: Environment, key: Key, topic: Topic, dead_letters: Queue
) -> list[Rule]:
    """Each alert rule, targeting the topic, with the dead-letter queue for what cannot be delivered."""
    return [
        Rule(
            rule.logical_id,
            Description=f"{rule.what} {env.project} {env.name} secrets",
            EventPattern=rule.pattern,
            State=rule.state,
            Targets=[
                Target(
                    Id="AlertTopic",
                    Arn=Ref(topic),
                    DeadLetterConfig=DeadLetterConfig(Arn=GetAtt(dead_letters, "Arn")),
                )
            ],
            Tags=Tags(**tagging.common_tags(env)),
        )
        for rule in alert_rules(env, key)
    ]
