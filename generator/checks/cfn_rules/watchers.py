"""cfn-lint rules: alerts that could not be sent about what they watch, and failures of the alert path nobody sees.

Self-contained on purpose (cfn-lint and the standard library only): plain
`cfn-lint`, editors and pre-commit load this file through `.cfnlintrc`
(`append_rules`) without the rest of this project.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from cfnlint.rules import CloudFormationLintRule, RuleMatch

# The calls after which a key refuses GenerateDataKey: its state is Disabled or PendingDeletion.
KEY_SILENCING_CALLS = frozenset({"DisableKey", "ScheduleKeyDeletion"})


def _as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def _resources(cfn: Any, resource_type: str) -> Iterator[tuple[str, dict[str, Any]]]:
    for logical_id, resource in cfn.template.get("Resources", {}).items():
        if isinstance(resource, dict) and resource.get("Type") == resource_type:
            yield logical_id, resource.get("Properties", {})


def _referenced(value: Any) -> str | None:
    """The logical id behind a Ref or a Fn::GetAtt, if `value` is one."""
    if isinstance(value, dict):
        if isinstance(value.get("Ref"), str):
            return str(value["Ref"])
        attribute = value.get("Fn::GetAtt")
        if isinstance(attribute, list) and attribute and isinstance(attribute[0], str):
            return attribute[0]
    return None


def _mentions(node: Any, logical_id: str) -> bool:
    if isinstance(node, dict):
        return _referenced(node) == logical_id or any(
            _mentions(v, logical_id) for v in node.values()
        )
    if isinstance(node, list):
        return any(_mentions(item, logical_id) for item in node)
    return False


def _statements(document: Any) -> list[dict[str, Any]]:
    if not isinstance(document, dict):
        return []
    return [s for s in _as_list(document.get("Statement", [])) if isinstance(s, dict)]


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
    for _, properties in _resources(cfn, "AWS::CloudWatch::Alarm"):
        if (
            properties.get("Namespace") == namespace
            and properties.get("MetricName") == metric
            and properties.get("AlarmActions")
            and _fires_at_the_first(properties)
        ):
            for item in _as_list(properties.get("Dimensions", [])):
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
        keys = [logical_id for logical_id, _ in _resources(cfn, "AWS::KMS::Key")]
        matches = []
        for rule_id, properties in _resources(cfn, "AWS::Events::Rule"):
            pattern = properties.get("EventPattern")
            detail = pattern.get("detail", {}) if isinstance(pattern, dict) else {}
            names = (
                set(_as_list(detail.get("eventName", [])))
                if isinstance(detail, dict)
                else set()
            )
            if not isinstance(pattern, dict) or "aws.kms" not in _as_list(
                pattern.get("source")
            ):
                continue
            if not names & KEY_SILENCING_CALLS:
                continue
            for index, target in enumerate(_as_list(properties.get("Targets", []))):
                topic_id = (
                    _referenced(target.get("Arn")) if isinstance(target, dict) else None
                )
                topic = resources.get(topic_id) if topic_id else None
                if (
                    not isinstance(topic, dict)
                    or topic.get("Type") != "AWS::SNS::Topic"
                ):
                    continue
                key_id = _referenced(topic.get("Properties", {}).get("KmsMasterKeyId"))
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
            watched.append(_referenced(value) or value)
        queues = {
            _referenced(target.get("DeadLetterConfig", {}).get("Arn"))
            for _, properties in _resources(cfn, "AWS::Events::Rule")
            for target in _as_list(properties.get("Targets", []))
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
            _referenced(value) or value
            for value, _ in _alarms_on(
                cfn, "AWS/Events", "FailedInvocations", "RuleName"
            )
        }
        matches = []
        for rule_id, properties in _resources(cfn, "AWS::Events::Rule"):
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


def _lets_cloudwatch_encrypt(statement: dict[str, Any]) -> bool:
    principal = statement.get("Principal")
    services = (
        _as_list(principal.get("Service", [])) if isinstance(principal, dict) else []
    )
    actions = {
        a.lower() for a in _as_list(statement.get("Action", [])) if isinstance(a, str)
    }
    return (
        statement.get("Effect") == "Allow"
        and "cloudwatch.amazonaws.com" in services
        and bool(
            actions & {"kms:generatedatakey*", "kms:generatedatakey", "kms:*", "*"}
        )
        and bool(actions & {"kms:decrypt", "kms:*", "*"})
    )


class AlarmTopicKeyLetsCloudWatchEncrypt(CloudFormationLintRule):
    id = "E9109"
    shortdesc = (
        "The key of an encrypted topic that alarms notify must let CloudWatch encrypt"
    )
    description = (
        "CloudWatch can publish an alarm to a KMS-encrypted SNS topic only if the key policy lets "
        "cloudwatch.amazonaws.com use kms:Decrypt and kms:GenerateDataKey*; otherwise the alarm changes state "
        "and nobody hears of it. Source: Amazon SNS Developer Guide, 'Key management' (compatibility between "
        "event sources from AWS services and encrypted topics)."
    )
    source_url = "https://docs.aws.amazon.com/sns/latest/dg/sns-key-management.html"
    tags = ["resources", "sns", "kms", "cloudwatch"]

    def match(self, cfn: Any) -> list[RuleMatch]:
        resources = cfn.template.get("Resources", {})
        notified = {
            _referenced(action)
            for _, properties in _resources(cfn, "AWS::CloudWatch::Alarm")
            for action in _as_list(properties.get("AlarmActions", []))
        } - {None}
        matches = []
        for topic_id in sorted(t for t in notified if t):
            topic = resources.get(topic_id, {})
            key_id = _referenced(topic.get("Properties", {}).get("KmsMasterKeyId"))
            key = resources.get(key_id) if key_id else None
            if not isinstance(key, dict) or key.get("Type") != "AWS::KMS::Key":
                continue
            if not any(
                _lets_cloudwatch_encrypt(s)
                for s in _statements(key.get("Properties", {}).get("KeyPolicy"))
            ):
                matches.append(
                    RuleMatch(
                        ["Resources", key_id, "Properties", "KeyPolicy"],
                        f"{key_id} encrypts {topic_id}, which alarms notify, but its policy does not let "
                        "cloudwatch.amazonaws.com use kms:Decrypt and kms:GenerateDataKey*: no alarm would be heard",
                    )
                )
        return matches


def _lets_cloudwatch_publish(statement: dict[str, Any]) -> bool:
    principal = statement.get("Principal")
    services = (
        _as_list(principal.get("Service", [])) if isinstance(principal, dict) else []
    )
    actions = {
        a.lower() for a in _as_list(statement.get("Action", [])) if isinstance(a, str)
    }
    return (
        statement.get("Effect") == "Allow"
        and "cloudwatch.amazonaws.com" in services
        and bool(actions & {"sns:publish", "sns:*", "*"})
    )


class AlarmTopicPolicyLetsCloudWatchPublish(CloudFormationLintRule):
    id = "E9110"
    shortdesc = (
        "A topic policy must let CloudWatch publish when alarms notify that topic"
    )
    description = (
        "A topic policy replaces the topic's default one: when alarms notify the topic, it must allow "
        "cloudwatch.amazonaws.com sns:Publish (scoped with aws:SourceAccount and aws:SourceArn), or every alarm "
        "notification is refused. Source: Amazon SNS Developer Guide, 'Amazon SNS access control case examples' "
        "(CloudWatch alarms publishing to a topic)."
    )
    source_url = (
        "https://docs.aws.amazon.com/sns/latest/dg/sns-access-policy-use-cases.html"
    )
    tags = ["resources", "sns", "cloudwatch"]

    def match(self, cfn: Any) -> list[RuleMatch]:
        notified = {
            _referenced(action)
            for _, properties in _resources(cfn, "AWS::CloudWatch::Alarm")
            for action in _as_list(properties.get("AlarmActions", []))
        } - {None}
        matches = []
        for policy_id, properties in _resources(cfn, "AWS::SNS::TopicPolicy"):
            topics = {
                _referenced(topic) for topic in _as_list(properties.get("Topics", []))
            }
            if not topics & notified:
                continue
            if not any(
                _lets_cloudwatch_publish(s)
                for s in _statements(properties.get("PolicyDocument"))
            ):
                matches.append(
                    RuleMatch(
                        ["Resources", policy_id, "Properties", "PolicyDocument"],
                        f"{policy_id} sets the policy of a topic that alarms notify, but does not let "
                        "cloudwatch.amazonaws.com publish: every alarm notification would be refused",
                    )
                )
        return matches
