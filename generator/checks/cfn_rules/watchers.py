"""cfn-lint rules: alerts that could not be sent about what they watch, and failures of the alert path nobody sees.

Self-contained on purpose (cfn-lint and the standard library only): plain
`cfn-lint`, editors and pre-commit load this file through `.cfnlintrc`
(`append_rules`) without the rest of this project.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from cfnlint.rules import CloudFormationLintRule, RuleMatch

from generator.checks.cfn_rules.reading import as_list, referenced, resources_of_type

# The calls after which a key refuses GenerateDataKey: its state is Disabled or PendingDeletion.
KEY_SILENCING_CALLS = frozenset({"DisableKey", "ScheduleKeyDeletion"})


def _mentions(node: Any, logical_id: str) -> bool:
    if isinstance(node, dict):
        return referenced(node) == logical_id or any(
            _mentions(v, logical_id) for v in node.values()
        )
    if isinstance(node, list):
        return any(_mentions(item, logical_id) for item in node)
    return False


def _fires_at_the_first(properties: dict[str, Any]) -> bool:
    """Threshold and comparison that fire on one datapoint of 1: one undelivered alert is one too many."""
    try:
        threshold = float(properties.get("Threshold", "nan"))
    except (TypeError, ValueError):
        return False
    operator = properties.get("ComparisonOperator")
    return (operator == "GreaterThanOrEqualToThreshold" and threshold <= 1) or (
        operator == "GreaterThanThreshold" and threshold < 1
    )


def _alarms_on(
    cfn: Any, namespace: str, metric: str, dimension: str
) -> Iterator[tuple[Any, dict[str, Any]]]:
    """(dimension value, properties) for each alarm on `metric` that notifies someone and fires at the first."""
    for _, properties in resources_of_type(cfn, "AWS::CloudWatch::Alarm"):
        if (
            properties.get("Namespace") == namespace
            and properties.get("MetricName") == metric
            and properties.get("AlarmActions")
            and _fires_at_the_first(properties)
        ):
            for item in as_list(properties.get("Dimensions", [])):
                if isinstance(item, dict) and item.get("Name") == dimension:
                    yield item.get("Value"), properties


class AlertOnKeyMustNotDependOnThatKey(CloudFormationLintRule):
    id = "E9106"
    shortdesc = "A rule that reports a key's disabling must not deliver to a topic encrypted with that key"
    description = (
        "A disabled key, or one pending deletion, refuses GenerateDataKey, which SNS needs to publish to a topic "
        "encrypted with it: the alert that the key was disabled or scheduled for deletion could then never be "
        "published. Encrypt the alert topic with another key. Source: AWS KMS Developer Guide, 'Key states of "
        "AWS KMS keys'; Amazon SNS Developer Guide, 'Key management'."
    )
    source_url = "https://docs.aws.amazon.com/kms/latest/developerguide/key-state.html"
    tags = ["resources", "events", "kms", "sns"]

    def match(self, cfn: Any) -> list[RuleMatch]:
        resources = cfn.template.get("Resources", {})
        keys = [logical_id for logical_id, _ in resources_of_type(cfn, "AWS::KMS::Key")]
        matches = []
        for rule_id, properties in resources_of_type(cfn, "AWS::Events::Rule"):
            pattern = properties.get("EventPattern")
            detail = pattern.get("detail", {}) if isinstance(pattern, dict) else {}
            names = (
                set(as_list(detail.get("eventName", [])))
                if isinstance(detail, dict)
                else set()
            )
            if not isinstance(pattern, dict) or "aws.kms" not in as_list(
                pattern.get("source")
            ):
                continue
            if not names & KEY_SILENCING_CALLS:
                continue
            for index, target in enumerate(as_list(properties.get("Targets", []))):
                topic_id = (
                    referenced(target.get("Arn")) if isinstance(target, dict) else None
                )
                topic = resources.get(topic_id) if topic_id else None
                if (
                    not isinstance(topic, dict)
                    or topic.get("Type") != "AWS::SNS::Topic"
                ):
                    continue
                key_id = referenced(topic.get("Properties", {}).get("KmsMasterKeyId"))
                if key_id in keys and _mentions(pattern, key_id):
                    matches.append(
                        RuleMatch(
                            ["Resources", rule_id, "Properties", "Targets", index],
                            f"{rule_id} reports the disabling of {key_id} to {topic_id}, which {key_id} encrypts: "
                            "a disabled key cannot encrypt the alert that it was disabled",
                        )
                    )
        return matches


class DeadLetterQueueHasAnAlarm(CloudFormationLintRule):
    id = "E9107"
    shortdesc = "An alert rule's dead-letter queue needs an alarm on its depth that notifies someone"
    description = (
        "An alert that EventBridge could not deliver waits in the dead-letter queue, seen by nobody unless an "
        "alarm watches the queue's ApproximateNumberOfMessagesVisible (dimension QueueName) and fires at the "
        "first message. Source: Amazon SQS Developer Guide, 'Available CloudWatch metrics for Amazon SQS'."
    )
    source_url = "https://docs.aws.amazon.com/AWSSimpleQueueService/latest/SQSDeveloperGuide/sqs-available-cloudwatch-metrics.html"
    tags = ["resources", "events", "sqs", "cloudwatch"]

    def match(self, cfn: Any) -> list[RuleMatch]:
        resources = cfn.template.get("Resources", {})
        watched = []
        for value, _ in _alarms_on(
            cfn, "AWS/SQS", "ApproximateNumberOfMessagesVisible", "QueueName"
        ):
            watched.append(referenced(value) or value)
        queues = {
            referenced(target.get("DeadLetterConfig", {}).get("Arn"))
            for _, properties in resources_of_type(cfn, "AWS::Events::Rule")
            for target in as_list(properties.get("Targets", []))
            if isinstance(target, dict)
            and isinstance(target.get("DeadLetterConfig"), dict)
        } - {None}
        matches = []
        for queue_id in sorted(q for q in queues if q):
            literal = resources.get(queue_id, {}).get("Properties", {}).get("QueueName")
            if queue_id not in watched and (literal is None or literal not in watched):
                matches.append(
                    RuleMatch(
                        ["Resources", queue_id],
                        f"{queue_id} holds undelivered alerts, but no alarm on its "
                        "ApproximateNumberOfMessagesVisible fires at the first one and notifies anyone",
                    )
                )
        return matches


class RuleFailuresHaveAnAlarm(CloudFormationLintRule):
    id = "E9108"
    shortdesc = (
        "Every alert rule needs an alarm on its FailedInvocations that notifies someone"
    )
    description = (
        "EventBridge reports an event it matched but could not deliver only in the rule's FailedInvocations "
        "metric (namespace AWS/Events, dimension RuleName): without an alarm that fires at the first one, a "
        "broken alert path stays silent. Source: Amazon EventBridge User Guide, 'Monitoring Amazon EventBridge'."
    )
    source_url = (
        "https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-monitoring.html"
    )
    tags = ["resources", "events", "cloudwatch"]

    def match(self, cfn: Any) -> list[RuleMatch]:
        watched = {
            referenced(value) or value
            for value, _ in _alarms_on(
                cfn, "AWS/Events", "FailedInvocations", "RuleName"
            )
        }
        matches = []
        for rule_id, properties in resources_of_type(cfn, "AWS::Events::Rule"):
            if not properties.get("Targets"):
                continue
            if rule_id not in watched and properties.get("Name") not in watched:
                matches.append(
                    RuleMatch(
                        ["Resources", rule_id],
                        f"{rule_id} has no alarm on its FailedInvocations (dimension RuleName) that fires at the "
                        "first one and notifies anyone",
                    )
                )
        return matches
