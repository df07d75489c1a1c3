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
    # Keeps copying the value into a replica in another account, or stops it.
    "AssociateCrossAccountReplica",
    "DisassociateCrossAccountReplica",
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

# Secrets Manager's own events, not API calls: a version deleted for good, or a
# rotation that ran (Secrets Manager User Guide, "Log AWS Secrets Manager events
# with AWS CloudTrail").
SERVICE_EVENTS = (
    "CancelSecretVersionDelete",
    "EndSecretVersionDelete",
    "RotationAbandoned",
    "RotationFailed",
    "RotationStarted",
    "RotationSucceeded",
    "StartSecretVersionDelete",
)
# The calls that change the alert path itself, by the service that logs them
# (CloudTrail event names): a rule redirected or switched off, a target removed,
# the topic's policy, key or subscribers changed, the dead-letter queue purged,
# an alarm silenced. Each changes nothing about a secret, yet can stop every
# alert; rule E9123 holds the same list, and a unit test holds both to
# botocore's service models.
ALERT_PATH_CALLS: dict[str, tuple[str, ...]] = {
    "events": ("DeleteRule", "DisableRule", "PutRule", "PutTargets", "RemoveTargets"),
    "sns": (
        "AddPermission",
        "DeleteTopic",
        "RemovePermission",
        "SetSubscriptionAttributes",
        "SetTopicAttributes",
        "Subscribe",
        "Unsubscribe",
    ),
    "sqs": (
        "AddPermission",
        "DeleteQueue",
        "PurgeQueue",
        "RemovePermission",
        "SetQueueAttributes",
    ),
    "cloudwatch": ("DeleteAlarms", "DisableAlarmActions", "PutMetricAlarm"),
}
# The steps of trading-secrets itself that change the alert path by design:
# alerts-test's temporary subscription, and the dead-letter queue's purge once
# its messages are read. The tool names itself in its user agent for those
# calls (generator/ops/aws.py), and the rule does not match them.
TOOL_ALERT_PATH_STEPS = {"sns": ("Subscribe", "Unsubscribe"), "sqs": ("PurgeQueue",)}
TOOL_USER_AGENT = naming.TOOL_USER_AGENT
# CloudFormation's own calls on every deploy (PutRule, PutTargets, Subscribe,
# SetTopicAttributes...) carry this, set by AWS (CloudTrail User Guide,
# "CloudTrail userIdentity element", invokedBy).
CLOUDFORMATION = "cloudformation.amazonaws.com"

CLOUDTRAIL_API_CALL = "AWS API Call via CloudTrail"
CLOUDTRAIL_SERVICE_EVENT = "AWS Service Event via CloudTrail"

# A rule in state ENABLED never sees read-only management events (GetSecretValue
# among them, even when it fails); this state lets it see them too.
MUTATING_EVENTS = "ENABLED"
READ_ONLY_EVENTS_TOO = "ENABLED_WITH_ALL_CLOUDTRAIL_MANAGEMENT_EVENTS"


@dataclass(frozen=True)
class AlertRule:
    """One rule's identity and name, what it is for, what it matches, and the state that lets it see those events."""

    logical_id: str
    name: str
    what: str
    pattern: dict[str, Any]
    state: str
    # Where its events go: the alert topic, or straight into the dead-letter
    # queue when the topic itself depends on what the rule watches.
    to_queue: bool = False


def _secret_arn_prefix(env: Environment) -> dict[str, Any]:
    prefix = naming.secret_name_prefix(env)
    return {
        "prefix": Sub(
            f"arn:${{AWS::Partition}}:secretsmanager:${{AWS::Region}}:${{AWS::AccountId}}:secret:{prefix}"
        )
    }


def _secret_id_patterns(env: Environment) -> list[dict[str, Any]]:
    """Match this environment's secrets whether the caller named them by name or by ARN."""
    return [{"prefix": naming.secret_name_prefix(env)}, _secret_arn_prefix(env)]


def _cloudtrail_pattern(
    service: str,
    event_names: list[str],
    detail_type: str = CLOUDTRAIL_API_CALL,
    **detail: Any,
) -> dict[str, Any]:
    return {
        "source": [f"aws.{service}"],
        "detail-type": [detail_type],
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


def _key_pattern(key: Key) -> dict[str, Any]:
    # CloudTrail names the key in `resources` whatever the caller passed (id, ARN or alias).
    return _cloudtrail_pattern(
        "kms", list(KEY_CHANGE_EVENTS), resources={"ARN": [GetAtt(key, "Arn")]}
    )


def _alert_path_pattern(
    env: Environment, topic: Topic, dead_letters: Queue
) -> dict[str, Any]:
    """Every call in ALERT_PATH_CALLS on this stack's rules, topic, queue and alarms, but CloudFormation's and the tool's own."""
    named = [{"prefix": naming.resource_name(env, "")}]
    # Named by the caller's URL, whose host can differ (legacy endpoints): match its account and name.
    queue = [
        {
            "suffix": Sub(
                f"/${{AWS::AccountId}}/{naming.alert_dead_letter_queue_name(env)}"
            )
        }
    ]
    subscription = [{"prefix": Sub(f"${{{topic.title}}}:")}]
    by_what = {
        ("events", "name"): named,
        ("events", "rule"): named,
        ("sns", "topicArn"): [Ref(topic)],
        ("sns", "subscriptionArn"): subscription,
        ("sqs", "queueUrl"): queue,
        ("cloudwatch", "alarmName"): named,
        ("cloudwatch", "alarmNames"): named,
    }
    # Which request parameter names the resource, per call (CloudTrail records the request's parameters in camel case).
    parameter = {
        ("events", "PutTargets"): "rule",
        ("events", "RemoveTargets"): "rule",
        ("sns", "SetSubscriptionAttributes"): "subscriptionArn",
        ("sns", "Unsubscribe"): "subscriptionArn",
        ("cloudwatch", "PutMetricAlarm"): "alarmName",
        ("cloudwatch", "DeleteAlarms"): "alarmNames",
        ("cloudwatch", "DisableAlarmActions"): "alarmNames",
    }
    default = {"events": "name", "sns": "topicArn", "sqs": "queueUrl"}
    branches: dict[tuple[str, str, bool], list[str]] = {}
    for service, calls in ALERT_PATH_CALLS.items():
        for call in calls:
            key = parameter.get((service, call), default.get(service, ""))
            by_tool = call in TOOL_ALERT_PATH_STEPS.get(service, ())
            branches.setdefault((service, key, by_tool), []).append(call)
    alternatives = []
    for (service, key, by_tool), names in sorted(branches.items()):
        # No eventSource: the pattern's source names the services, and each
        # request parameter below is one service's.
        branch: dict[str, Any] = {
            "eventName": sorted(names),
            "requestParameters": {key: by_what[(service, key)]},
        }
        if by_tool:
            # botocore puts the tool's own words at the end of its user agent, and
            # CloudTrail records the user agent as sent (CloudTrail User Guide,
            # "CloudTrail record contents", userAgent).
            branch["userAgent"] = [{"anything-but": {"suffix": TOOL_USER_AGENT}}]
        alternatives.append(branch)
    return {
        "source": sorted(f"aws.{service}" for service in ALERT_PATH_CALLS),
        "detail-type": [CLOUDTRAIL_API_CALL],
        "detail": {
            "userIdentity": {
                "invokedBy": [{"anything-but": CLOUDFORMATION}, {"exists": False}]
            },
            "$or": alternatives,
        },
    }


def alert_rules(
    env: Environment,
    secrets_key: Key,
    alerts_key: Key,
    topic: Topic,
    dead_letters: Queue,
) -> list[AlertRule]:
    """Changes to the secrets, denied reads, reads of a secret pending deletion, Secrets Manager's own events,
    changes that break either key, and changes to the alert path itself."""
    return [
        AlertRule(
            "SecretChangeRule",
            naming.resource_name(env, "changes"),
            "Any change to",
            _secrets_pattern(env, list(SECRET_CHANGE_EVENTS)),
            MUTATING_EVENTS,
        ),
        AlertRule(
            "SecretAccessDeniedRule",
            naming.resource_name(env, "denied-reads"),
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
            naming.resource_name(env, "pending-deletion-reads"),
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
            # Service events name the secret by ARN only (medium confidence: the
            # field follows AWS's rotation examples), and need no read-only state.
            "SecretServiceEventRule",
            naming.resource_name(env, "service-events"),
            "Version deletion or rotation of",
            _cloudtrail_pattern(
                "secretsmanager",
                list(SERVICE_EVENTS),
                CLOUDTRAIL_SERVICE_EVENT,
                additionalEventData={"SecretId": [_secret_arn_prefix(env)]},
            ),
            MUTATING_EVENTS,
        ),
        AlertRule(
            "KeyChangeRule",
            naming.resource_name(env, "key-changes"),
            "Disabling, deleting or re-permissioning the key of",
            _key_pattern(secrets_key),
            MUTATING_EVENTS,
        ),
        AlertRule(
            # The topic is encrypted with this key: once it is disabled or pending
            # deletion, SNS can publish nothing, this alert included. So it goes
            # where no key is needed, the SQS-managed dead-letter queue, whose
            # alarm and `trading-secrets status` then say so.
            "AlertsKeyChangeRule",
            naming.resource_name(env, "alerts-key-changes"),
            "Disabling, deleting or re-permissioning the alerting key of",
            _key_pattern(alerts_key),
            MUTATING_EVENTS,
            to_queue=True,
        ),
        AlertRule(
            # A rule, topic, subscription, queue or alarm of the alert path
            # changed: the topic may be what changed, so straight to the queue,
            # where `trading-secrets status` tells it from an undelivered alert.
            "AlertPathChangeRule",
            naming.resource_name(env, "alert-path-changes"),
            "Changes to the alert path of",
            _alert_path_pattern(env, topic, dead_letters),
            MUTATING_EVENTS,
            to_queue=True,
        ),
    ]


def _target(rule: AlertRule, topic: Topic, dead_letters: Queue) -> Target:
    if rule.to_queue:
        return Target(Id="AlertDeadLetterQueue", Arn=GetAtt(dead_letters, "Arn"))
    return Target(
        Id="AlertTopic",
        Arn=Ref(topic),
        DeadLetterConfig=DeadLetterConfig(Arn=GetAtt(dead_letters, "Arn")),
    )


def rule_resources(
    env: Environment, rules: list[AlertRule], topic: Topic, dead_letters: Queue
) -> list[Rule]:
    """Each alert rule, targeting the topic (with the dead-letter queue for what cannot be delivered) or the queue."""
    return [
        Rule(
            rule.logical_id,
            Name=rule.name,
            Description=f"{rule.what} {env.project} {env.name} secrets",
            EventPattern=rule.pattern,
            State=rule.state,
            Targets=[_target(rule, topic, dead_letters)],
            Tags=Tags(**tagging.common_tags(env)),
        )
        for rule in rules
    ]
